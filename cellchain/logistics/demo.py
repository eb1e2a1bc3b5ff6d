"""Demo shipments (issue 6): the QC demo's released batch shipped to Xiehe in an LN2 dry shipper, accepted and
stocked, and its conditionally released batch, whose logger shows an excursion, so the receipt quarantines the
product and opens a nonconformance at the manufacturer. Both shipments take their limits from the batch's
product version (T-7.7), leave only after Xiehe reserved its LN2 tank (T-8.1.2-e), and are received with a
calibrated thermometer (T-8.1.2-c); Xiehe's device register also holds one thermometer overdue for calibration,
which the receipt form does not offer (T-10.12).

The same story builders serve the tests (`cellchain/logistics/tests/`), so what the demo shows is tested.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from cellchain.core import clock
from cellchain.logistics import selectors, services
from cellchain.logistics.models import MonitoringDevice, Shipment, StorageLocation
from cellchain.signatures.services import SignerCredentials

LOGGER_INTERVAL_S = 300
ALL_YES = {
    check: {"answer": "yes", "note": ""}
    for check in (
        [f"T-8.1.3-{x}" for x in "abcdf"]
        + [f"T-8.1.4-{x}" for x in "abcd"]
        + [f"T-8.1.5-{x}" for x in "abcde"]
        + ["T-8.1.6-g"]
    )
}


def logger_csv(serial: str, start: dt.datetime, end: dt.datetime, excursion: bool, seed: int) -> bytes:
    """A generic-format logger export (docs/formats/logger-csv.md), local times in Asia/Shanghai."""
    rng = np.random.default_rng(seed)
    steps = int((end - start).total_seconds() // LOGGER_INTERVAL_S) + 1
    celsius = np.round(-186.0 + rng.normal(0, 0.7, steps), 1)
    if excursion:
        middle = steps // 2
        celsius[middle : middle + 8] = [-158.2, -149.1, -146.0, -143.4, -142.1, -145.7, -149.6, -156.3]
    local = dt.timezone(dt.timedelta(hours=8))
    lines = [
        f"{(start + dt.timedelta(seconds=i * LOGGER_INTERVAL_S)).astimezone(local):%Y-%m-%dT%H:%M:%S},{c:.1f}"
        for i, c in enumerate(celsius.tolist())
    ]
    head = f"# format: cellchain-logger-csv 1\n# logger: {serial}\n# timezone: Asia/Shanghai\n# unit: C\n"
    head += f"# interval_s: {LOGGER_INTERVAL_S}\ntime,temperature\n"
    return (head + "\n".join(lines) + "\n").encode()


TANK = "LN2-01"
RECEIPT_THERMOMETER = "THERM-XH-01"
RECEIVING_AREA = "药剂科细胞治疗接收间 / Pharmacy cell-therapy receiving room"
DEVICES = (
    # code, kind, name, days since calibration (None: never), days until due (negative: overdue)
    ("TMON-XH-01", "continuous_monitor", "液氮罐 1 温度监测 / LN2 tank 1 monitor", 60, 305),
    (RECEIPT_THERMOMETER, "probe_thermometer", "接收用探针温度计 / Receipt probe thermometer", 30, 335),
    ("THERM-XH-02", "probe_thermometer", "探针温度计 2（校准过期）/ Probe thermometer 2 (overdue)", 380, -15),
)


def xiehe_storage(world: Any) -> StorageLocation:
    """Idempotent: Xiehe's temperature-monitoring devices (T-8.1.2-c, T-10.12) and its LN2 tank LN2-01 with
    20 unit positions, monitored by TMON-XH-01 (T-7.7-d, T-8.1.2-e)."""
    pharmacist = world["pharmacist_liu"]
    today = clock.now().date()
    for code, kind, name, since, until in DEVICES:
        if not MonitoringDevice.objects.filter(site=pharmacist.site, code=code).exists():
            services.monitoring_device_register(
                actor=pharmacist, code=code, kind=kind, name=name,
                calibrated_on=today - dt.timedelta(days=since), calibration_due=today + dt.timedelta(days=until),
                calibration_certificate=f"JL-{code}-{today.year}",
            )  # fmt: skip
    tank = StorageLocation.objects.filter(site=pharmacist.site, code=TANK).first()
    if tank is None:
        tank = services.storage_location_create(
            actor=pharmacist, code=TANK, name="液氮罐 1 / LN2 tank 1", storage_mode="liquid_nitrogen",
            monitoring_device=MonitoringDevice.objects.get(site=pharmacist.site, code="TMON-XH-01"), capacity=20,
        )  # fmt: skip
    return tank


def ship_and_arrive(
    world: Any,
    *,
    batch_number: str,
    tag: str,
    excursion: bool,
    password: str,
    now: dt.datetime | None = None,
    location: StorageLocation | None = None,
) -> Shipment:
    """Create the batch's product shipment (limits from its product version, T-7.7), pack it (two-person
    check), link a logger, let Xiehe reserve storage (T-8.1.2-e; the LN2 tank unless `location` is given), hand
    it over, arrive and import the logger file."""
    now = now or clock.now()
    packer, checker = world["logistics_zhao"], world["logistics_qian"]
    receiver = world["pharmacist_liu"]
    tank = location or xiehe_storage(world)
    preview = selectors.batch_shipping_preview(packer, batch_number)
    shipment = services.shipment_create(
        actor=packer,
        data=services.ShipmentInput(batch_number=batch_number, kind=Shipment.Kind.LN2_DRY_SHIPPER,
                                    container_type=preview.containers[0], container_code=f"DS-{tag}"),
    )  # fmt: skip
    for din in shipment.expected_units:
        services.shipment_pack_scan(actor=packer, shipment=shipment, scanned_text=din)
    services.shipment_pack_verify(
        shipment=shipment,
        performer=SignerCredentials(packer, password),
        verifier=SignerCredentials(checker, password),
    )
    armed = now - dt.timedelta(hours=31)
    link = services.logger_link(
        actor=packer, shipment=shipment, serial=f"TL-{tag}", interval_s=LOGGER_INTERVAL_S, armed_at=armed
    )
    services.storage_reservation_create(actor=receiver, shipment=shipment, location=tank)
    services.shipment_dispatch(
        actor=packer, shipment=shipment, courier="SF Cold Chain", at=armed + dt.timedelta(minutes=20)
    )
    arrived = now - dt.timedelta(hours=2)
    services.shipment_arrive(actor=receiver, shipment=shipment, scanned_text=shipment.number, at=arrived)
    data = logger_csv(link.serial, armed, arrived + dt.timedelta(minutes=30), excursion, seed=int(tag))
    services.logger_file_import(actor=receiver, logger=link, data=data, file_name=f"{link.serial}.csv")
    shipment.refresh_from_db()
    return shipment


def receipt_device(world: Any) -> MonitoringDevice:
    xiehe_storage(world)
    return MonitoringDevice.objects.get(site=world["pharmacist_liu"].site, code=RECEIPT_THERMOMETER)


def inspect(world: Any, shipment: Shipment, password: str, anomaly_handling: str = "") -> Any:
    """The receiver scans every unit, answers every check "yes" with the calibrated receipt thermometer in the
    receiving room (T-8.1.2-c/d), and signs the record."""
    receiver = world["pharmacist_liu"]
    inspection = services.receipt_inspect(
        actor=receiver, shipment=shipment, scanned_units=shipment.expected_units, answers=ALL_YES,
        monitoring_device=receipt_device(world), receiving_area=RECEIVING_AREA, anomaly_handling=anomaly_handling,
    )  # fmt: skip
    return services.receipt_sign(inspection=inspection, signer=SignerCredentials(receiver, password))


def _demo_batches(world: Any) -> list[tuple[str, str, bool]]:
    """The QC demo's released batch (clean shipment) and conditionally released one (excursion), if made."""
    from cellchain.manufacturing.selectors import batches_visible_to

    stories = (("released", "000901", False), ("conditionally_released", "000902", True))
    batches = batches_visible_to(world["logistics_zhao"]).filter(
        product_version__product__code="cd19-cart-demo"
    )
    found = []
    for status, tag, excursion in stories:
        batch = batches.filter(status=status).order_by("number").first()
        if batch is not None:
            found.append((batch.number, tag, excursion))
    return found


def load(world: Any, password: str | None = None) -> None:
    """Idempotent: Xiehe's devices and LN2 tank; the two demo shipments, made once per batch (when the
    manufacturing and QC demos made the batches); the accepted one's units are stocked at Xiehe. `password` is
    the personas' (the demo world's by default)."""
    from cellchain.accounts.world import DEMO_PASSWORD

    password = password or DEMO_PASSWORD
    xiehe_storage(world)
    for batch_number, tag, excursion in _demo_batches(world):
        if Shipment.objects.filter(batch_number=batch_number).exists():
            continue
        shipment = ship_and_arrive(
            world, batch_number=batch_number, tag=tag, excursion=excursion, password=password
        )
        note = (
            "Logger shows an excursion above -150 °C: units quarantined, manufacturer informed."
            if excursion
            else ""
        )
        inspect(world, shipment, password, note)
    stock_accepted(world)


def stock_accepted(world: Any) -> None:
    """Idempotent: the accepted demo shipment's units go into Xiehe's LN2 tank reserved for them, with the
    product's storage time limit (T-7.7-e, T-8.1.2-e); the quarantined shipment's units stay out of stock
    (T-8.1.6)."""
    from cellchain.logistics.models import StockEvent
    from cellchain.logistics.selectors import stock_open_in

    pharmacist = world["pharmacist_liu"]
    tank = xiehe_storage(world)
    shipments = Shipment.objects.filter(
        to_site=pharmacist.site, status=Shipment.Status.ACCEPTED, stock_events__isnull=True
    ).distinct()
    for shipment in shipments.filter(batch_number__in=[b for b, _, _ in _demo_batches(world)]):
        for din in shipment.expected_units:
            if stock_open_in(din, tank.site_id) is None and not StockEvent.objects.filter(din=din).exists():
                services.stock_in(actor=pharmacist, location=tank, scanned_text=din)
