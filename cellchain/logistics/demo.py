"""Demo shipments (issue 6): a clean LN2 shipment accepted at Xiehe, and one whose logger shows an excursion,
so the receipt quarantines the product and opens a nonconformance at the manufacturer.

The same story builders serve the tests (`cellchain/logistics/tests/`), so what the demo shows is tested.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np

from cellchain.core import clock
from cellchain.logistics import services
from cellchain.logistics.models import Shipment
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


def ship_and_arrive(
    world: Any, *, tag: str, excursion: bool, password: str, now: dt.datetime | None = None
) -> Shipment:
    """Create, pack (two-person check), link a logger, hand over, arrive and import the logger file."""
    now = now or clock.now()
    packer, checker = world["logistics_zhao"], world["logistics_qian"]
    units = (f"W123426{tag}01", f"W123426{tag}02")
    shipment = services.shipment_create(
        actor=packer,
        data=services.ShipmentInput(
            to_site=world.sites["xiehe-main"], kind=Shipment.Kind.LN2_DRY_SHIPPER, coi=f"CHW123426{tag}",
            product_name="赛恩凯特 CAR-T (demo)", batch_number=f"B26-{tag}", expected_units=units,
            container_type="ln2_dry_shipper", container_code=f"DS-{tag}", max_transit_hours=Decimal(72),
            expires_at=now + dt.timedelta(days=180),
        ),
    )  # fmt: skip
    for din in units:
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
    services.shipment_dispatch(
        actor=packer, shipment=shipment, courier="SF Cold Chain", at=armed + dt.timedelta(minutes=20)
    )
    receiver = world["pharmacist_liu"]
    arrived = now - dt.timedelta(hours=2)
    services.shipment_arrive(actor=receiver, shipment=shipment, scanned_text=shipment.number, at=arrived)
    data = logger_csv(link.serial, armed, arrived + dt.timedelta(minutes=30), excursion, seed=int(tag))
    services.logger_file_import(actor=receiver, logger=link, data=data, file_name=f"{link.serial}.csv")
    shipment.refresh_from_db()
    return shipment


def inspect(world: Any, shipment: Shipment, password: str, anomaly_handling: str = "") -> Any:
    """The receiver scans both units, answers every check "yes", and signs the record."""
    receiver = world["pharmacist_liu"]
    inspection = services.receipt_inspect(
        actor=receiver, shipment=shipment, scanned_units=shipment.expected_units, answers=ALL_YES,
        anomaly_handling=anomaly_handling,
    )  # fmt: skip
    return services.receipt_sign(inspection=inspection, signer=SignerCredentials(receiver, password))


def load(world: Any, password: str | None = None) -> None:
    """Idempotent: the two demo shipments are made once (checked by their batch numbers); the accepted one's
    units are stocked at Xiehe. `password` is the personas' (the demo world's by default)."""
    from cellchain.accounts.world import DEMO_PASSWORD

    password = password or DEMO_PASSWORD
    for tag, excursion in (("000901", False), ("000902", True)):
        if Shipment.objects.filter(batch_number=f"B26-{tag}").exists():
            continue
        shipment = ship_and_arrive(world, tag=tag, excursion=excursion, password=password)
        note = (
            "Logger shows an excursion above -150 °C: units quarantined, manufacturer informed."
            if excursion
            else ""
        )
        inspect(world, shipment, password, note)
    stock_accepted(world)


def stock_accepted(world: Any) -> None:
    """Idempotent: Xiehe's LN2 tank, holding the accepted demo shipment's units with a 30-day storage limit
    (T-7.7-e); the quarantined shipment's units stay out of stock (T-8.1.6)."""
    from cellchain.logistics.models import StockEvent, StorageLocation
    from cellchain.logistics.selectors import stock_open_in

    pharmacist = world["pharmacist_liu"]
    tank = StorageLocation.objects.filter(site=pharmacist.site, code="LN2-01").first()
    if tank is None:
        tank = services.storage_location_create(
            actor=pharmacist, code="LN2-01", name="液氮罐 1 / LN2 tank 1", storage_mode="liquid_nitrogen",
            monitoring_reference="TMON-XH-01",
        )  # fmt: skip
    shipment = Shipment.objects.filter(batch_number="B26-000901", status=Shipment.Status.ACCEPTED).first()
    for din in shipment.expected_units if shipment else ():
        if stock_open_in(din, tank.site_id) is None and not StockEvent.objects.filter(din=din).exists():
            services.stock_in(actor=pharmacist, location=tank, scanned_text=din,
                              storage_time_limit=dt.timedelta(days=30))  # fmt: skip
