"""Test kit of the logistics context: a manufactured batch of an approved product version, and the demo's
shipment story for it.

The batch is written straight into the manufacturing tables: a real one needs a journey, an apheresis intake
and a whole batch record (the manufacturing kit walks them), while logistics only reads the batch's number,
fill time, collection site, patient units and its product version's information package (through
`manufacturing.selectors.batch_for_shipping`).
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from cellchain.core import clock
from cellchain.ledger.tests.behind import create_unledgered
from cellchain.logistics import demo
from cellchain.logistics.models import Shipment, StorageLocation
from conftest import PERSONA_PASSWORD

FRESH_2_8 = {
    "state": "fresh",
    "storage_transport": {
        "storage_temperature": {"min": "2", "max": "8"},
        "storage_mode": {"zh": "2-8 °C 冷藏", "en": "refrigerated 2-8 °C"},
        "transport_temperature": {"min": "2", "max": "8"},
        "max_transport_hours": "24",
        "containers": ["validated 2-8 °C box"],
        "storage_time_limit_hours": "48",
    },
    "shelf_life_hours": "72",
}
"""Changes to the reference information package that make a fresh product kept and shipped at 2-8 °C."""


def information(**changes: Any) -> dict[str, Any]:
    """The reference product's information package with top-level or storage_transport keys changed."""
    from cellchain.manufacturing.reference_product import INFORMATION

    info = copy.deepcopy(INFORMATION)
    for key, value in changes.items():
        if key == "storage_transport":
            info["storage_transport"].update(value)
        else:
            info[key] = value
    return info


def keyboard(din: str) -> str:
    """A DIN as typed from the eye-readable label: the 13 characters and the check character (T-10.6)."""
    from cellchain.domain.identity import mod37_2_check_character

    return din + mod37_2_check_character(din)


def units_of(tag: str) -> tuple[str, str, str]:
    """Two patient units and a QC unit of the tag's batch (13-character DINs)."""
    return f"W123426{tag}", f"W123427{tag}", f"W123428{tag}"


def coi_of(tag: str) -> str:
    """The chain-of-identity identifier (15 data characters) of the tag's batch."""
    return f"CHW123426{tag}"


RELEASED = "releasable"
CONDITIONAL = "conditionally_releasable"


def product_batch(
    world: Any,
    tag: str,
    *,
    product: str = "cart-logistics",
    info: dict[str, Any] | None = None,
    manufactured_at: dt.datetime | None = None,
    filled: bool = True,
    release: str | None = RELEASED,
    pending: tuple[str, ...] = ("sterility", "mycoplasma"),
) -> str:
    """A batch B26-<tag> of version 1 (approved) of `product`, filled 5 days ago, made from an apheresis unit
    collected at Xiehe (COI `coi_of(tag)`), with two patient units and a QC unit, and QA's release decision
    `release` (full by default; conditional with `pending` tests; None: not released yet). Returns the batch
    number."""
    from cellchain.manufacturing.models import ApheresisIntake, Batch, Product, ProductUnit, ProductVersion
    from cellchain.manufacturing.reference_product import PROCESS, SPECIFICATION
    from cellchain.qc.models import ReleaseDecision

    now = clock.now()
    qa, site, xiehe = world["qa_li"], world.sites["shenghe-prod"], world.sites["xiehe-main"]
    row = Product.objects.filter(code=product).first() or create_unledgered(
        Product, code=product, name_zh="CAR-T", name_en="CAR-T", site=site, isbt_product_code="S1395V00"
    )
    version = ProductVersion.objects.filter(product=row, version=1).first() or create_unledgered(
        ProductVersion, product=row, version=1,
        status=ProductVersion.Status.APPROVED, process=PROCESS, specification=SPECIFICATION,
        information=info or information(), created_at=now, created_by=qa, approved_at=now, approved_by=qa,
    )  # fmt: skip
    intake = create_unledgered(ApheresisIntake,
        din=f"W200126{tag}", coi=coi_of(tag), collection_site=xiehe, collected_at=now - dt.timedelta(days=20),
        received_at=now - dt.timedelta(days=19), received_by=world["logistics_zhao"], starting_material="fresh",
        bag_intact=True, temperature_ok=True,
    )  # fmt: skip
    batch = create_unledgered(Batch,
        number=f"B26-{tag}", product_version=version, intake=intake, site=site,
        status=STATUS_OF_RELEASE[release], started_at=now - dt.timedelta(days=18), started_by=world["operator_chen"],
        manufactured_at=(manufactured_at or now - dt.timedelta(days=5)) if filled else None,
    )  # fmt: skip
    patient, second, qc_unit = units_of(tag)
    for din, purpose in ((patient, "patient"), (second, "patient"), (qc_unit, "qc")):
        create_unledgered(ProductUnit, batch=batch, din=din, purpose=purpose, holder_site=site)
    if release is not None:
        create_unledgered(ReleaseDecision,
            batch=batch, outcome=release, pending=list(pending) if release == CONDITIONAL else [],
            evaluation={"outcome": release}, decided_at=now - dt.timedelta(days=1), decided_by=qa,
        )  # fmt: skip
    return batch.number


STATUS_OF_RELEASE = {
    RELEASED: "released",
    CONDITIONAL: "conditionally_released",
    None: "awaiting_release",
}


def final_label_scans(world: Any, batch_number: str) -> list[str]:
    """What the final product label's DataMatrix of each patient dose carries, built by the function the label
    PDF draws its symbols from (qc.selectors.label_payloads; T-7.5-e, T-10.6)."""
    from cellchain.manufacturing.models import Batch
    from cellchain.manufacturing.reference_product import METHODS
    from cellchain.qc import selectors
    from cellchain.qc import services as qc
    from cellchain.qc.models import AnalyticalMethod

    for method in METHODS:  # the specification names its methods from the method master (Q-2-c)
        if not AnalyticalMethod.objects.filter(code=method["code"]).exists():
            qc.method_register(actor=world["qa_li"], **method)
    batch = Batch.objects.get(number=batch_number)
    zone = world.sites["shenghe-prod"].time_zone
    return [p.encode() for p in selectors.label_payloads(batch, selectors.label_for(batch), zone)]


def ship_and_arrive(
    world: Any,
    *,
    tag: str,
    excursion: bool = False,
    password: str = PERSONA_PASSWORD,
    now: dt.datetime | None = None,
    location: StorageLocation | None = None,
) -> Shipment:
    """The demo story (create from the batch, pack, logger, reservation, hand-off, arrival, logger file) for a
    new batch B26-<tag>."""
    return demo.ship_and_arrive(world, batch_number=product_batch(world, tag), tag=tag, excursion=excursion,
                                password=password, now=now, location=location)  # fmt: skip


def received(world: Any, tag: str, *, excursion: bool = False, sign: bool = True) -> Shipment:
    """A shipment inspected at Xiehe (every check "yes"), signed unless `sign` is False."""
    from cellchain.logistics import services

    shipment = ship_and_arrive(world, tag=tag, excursion=excursion)
    if sign:
        demo.inspect(world, shipment, PERSONA_PASSWORD)
    else:
        services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                 scanned_units=shipment.expected_units, answers=demo.ALL_YES,
                                 monitoring_device=demo.receipt_device(world),
                                 receiving_area=demo.RECEIVING_AREA)  # fmt: skip
    shipment.refresh_from_db()
    return shipment
