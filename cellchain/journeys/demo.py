"""Demo journeys (issue 4): one walked from enrolment to receipt at the manufacturer, one labelled and
waiting to be packed (to try a scan, and a wrong-bag scan), and the ethics approval, slots and storage
positions a new user needs to walk a journey of their own through the pages.

Every record is made through the services, so the demo is what the tests exercise. Idempotent: each story
checks for its demo wristband before it runs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from cellchain.accounts.world import DEMO_PASSWORD
from cellchain.core import clock
from cellchain.core.installation import is_hospital
from cellchain.domain.custody import CustodyStep
from cellchain.journeys import services
from cellchain.journeys.models import (
    CollectionSiteCertification,
    EligibilityChecklist,
    EthicsApproval,
    Journey,
    Slot,
    StoragePosition,
    Unit,
)
from cellchain.signatures.services import SignerCredentials

PRODUCT_CODE = "S1395V00"
PRODUCT_NAME = "CAR-T (CD19) demo"
RECEIVED_WRISTBAND = "DEMO-WB-0001"
LABELLED_WRISTBAND = "DEMO-WB-0002"
SHIPPER = "DEMO-SHIP-01"


DEMO_CRITERIA = [
    "CD19+ B-cell lymphoma confirmed",
    "ECOG 0-1",
    "Adequate organ function",
    "No active infection",
]


def _checklist_and_site(world: Any) -> None:
    """The protocol's eligibility checklist (T-9.2.1-2) and Shenghe's certification of Xiehe's apheresis
    site (P-1.3.1-d), without which no demo apheresis is accepted."""
    site = world.sites["xiehe-main"]
    if not EligibilityChecklist.objects.filter(site=site, protocol="CT-DEMO-CD19").exists():
        services.eligibility_checklist_record(
            actor=world["physician_wang"],
            site=site,
            product_code=PRODUCT_CODE,
            protocol="CT-DEMO-CD19",
            criteria=DEMO_CRITERIA,
        )
    if not CollectionSiteCertification.objects.filter(number="CS-DEMO-001").exists():
        today = clock.now().date()
        services.collection_site_certify(
            actor=world["qa_li"],
            site=site,
            number="CS-DEMO-001",
            valid_from=today - dt.timedelta(days=90),
            valid_until=today + dt.timedelta(days=700),
            may_cryopreserve=False,
            evidence="Training and audit of the apheresis unit, demo.",
        )


def _ethics(world: Any) -> EthicsApproval:
    site = world.sites["xiehe-main"]
    existing = EthicsApproval.objects.filter(site=site, number="EC-DEMO-001").first()
    if existing:
        _checklist_and_site(world)
        return existing
    today = clock.now().date()
    approval = services.ethics_approval_record(
        actor=world["physician_wang"],
        site=site,
        product_code=PRODUCT_CODE,
        protocol="CT-DEMO-CD19",
        number="EC-DEMO-001",
        approved_on=today - dt.timedelta(days=90),
        valid_until=today + dt.timedelta(days=700),
    )
    _checklist_and_site(world)
    return approval


def _slot(world: Any, site_code: str, kind: str, starts_at: dt.datetime, opener: str) -> Slot:
    site = world.sites[site_code]
    existing = Slot.objects.filter(site=site, kind=kind, starts_at=starts_at).first()
    return existing or services.slot_open(
        actor=world[opener], site=site, kind=kind, starts_at=starts_at, capacity=3
    )


def open_slots(world: Any, days: int = 7) -> None:
    """Apheresis mornings at Xiehe and manufacturing starts at Shenghe the day after, for the next days."""
    base = clock.now().replace(hour=1, minute=0, second=0, microsecond=0)
    for day in range(1, days + 1):
        _slot(world, "xiehe-main", Slot.Kind.APHERESIS, base + dt.timedelta(days=day), "coordinator_zhou")
        _slot(
            world,
            "shenghe-prod",
            Slot.Kind.MANUFACTURING,
            base + dt.timedelta(days=day, hours=24),
            "logistics_zhao",
        )


def storage_positions(world: Any) -> None:
    site = world.sites["shenghe-prod"]
    for number in range(1, 11):
        if not StoragePosition.objects.filter(
            site=site, tank="LN2-01", rack="R1", box="B1", position=f"P{number:02d}"
        ).exists():
            services.storage_position_create(
                actor=world["logistics_zhao"],
                site=site,
                tank="LN2-01",
                rack="R1",
                box="B1",
                position=f"P{number:02d}",
            )


def labelled_journey(world: Any, *, name: str, wristband: str, password: str = DEMO_PASSWORD) -> Journey:
    """Enrol, consent, assess, book, screen, collect two bags, print and two-person check their labels."""
    _ethics(world)
    physician = world["physician_wang"]
    journey = services.journey_enrol(
        actor=physician,
        hospital_site=world.sites["xiehe-main"],
        manufacturer_site=world.sites["shenghe-prod"],
        product_code=PRODUCT_CODE,
        product_name=PRODUCT_NAME,
        starting_material="fresh",
        patient=services.PatientData(name, dt.date(1968, 4, 12), f"MRN-{wristband[-4:]}", wristband),
    )
    now = clock.now().replace(microsecond=0)
    services.consent_record(
        actor=physician,
        journey=journey,
        form_version="ICF CD19 v3.1",
        signed_on=now.date() - dt.timedelta(days=2),
        signer="patient",
    )
    services.eligibility_assess(
        actor=physician,
        journey=journey,
        answers=dict.fromkeys(DEMO_CRITERIA, True),
    )
    apheresis = _slot(
        world, "xiehe-main", Slot.Kind.APHERESIS, now - dt.timedelta(hours=4), "coordinator_zhou"
    )
    manufacturing = _slot(
        world, "shenghe-prod", Slot.Kind.MANUFACTURING, now + dt.timedelta(hours=20), "logistics_zhao"
    )
    services.booking_book(actor=world["logistics_zhao"], journey=journey, slot=manufacturing)
    services.booking_book(actor=world["coordinator_zhou"], journey=journey, slot=apheresis)
    journey.refresh_from_db()
    for marker in ("hiv_1_2", "hbv", "hcv", "syphilis", "cmv"):
        services.screening_result_record(
            actor=world["nurse_wang"],
            journey=journey,
            marker=marker,
            outcome="non_reactive",
            tested_on=now.date() - dt.timedelta(days=3),
        )
    services.collection_record(
        actor=world["apheresis_sun"],
        journey=journey,
        data=services.CollectionInput(
            collected_at=now - dt.timedelta(hours=2),
            anticoagulant_ratio=12,
            processed_blood_volume_ml=12_000,
            cycles=7,
            collected_volume_ml=200,
            mnc_count=Decimal("2.4e9"),
            starting_material="fresh",
            bag_volumes_ml=(100, 100),
            pre_assessment="BP 118/76, HR 72, no arrhythmia",
        ),
    )
    for unit in journey.units.order_by("din"):
        label = services.label_print(actor=world["apheresis_sun"], unit=unit)
        services.unit_label_verify(
            unit=unit,
            scanned_text=label.record.payload,
            performer=SignerCredentials(world["apheresis_sun"], password),
            verifier=SignerCredentials(world["nurse_wang"], password),
        )
        # The label is on the bag: its fate balances the label reconciliation (FACT-JACIE CM7.2.2.1).
        services.label_disposition_record(
            actor=world["apheresis_sun"], unit=unit, label=label.record, fate="used"
        )
    return journey


def received_journey(world: Any, *, password: str = DEMO_PASSWORD) -> Journey:
    """A journey walked to receipt at the manufacturer, including one wrong-bag scan that was blocked."""
    journey = labelled_journey(world, name="张伟", wristband=RECEIVED_WRISTBAND, password=password)
    first, second = Unit.objects.filter(journey=journey).order_by("din")
    other = Unit.objects.exclude(journey=journey).order_by("din").first()
    if other is not None:  # the mix-up the scan stops
        services.unit_custody_scan(
            actor=world["apheresis_sun"],
            unit=first,
            step=CustodyStep.PACK,
            scanned_text=other.din_keyboard,
            details=services.ScanDetails(shipper_code=SHIPPER),
        )
    for unit in (first, second):
        for actor, step, details in (
            ("apheresis_sun", CustodyStep.PACK, services.ScanDetails(shipper_code=SHIPPER)),
            (
                "apheresis_sun",
                CustodyStep.HAND_TO_COURIER,
                services.ScanDetails(condition="2-8 °C box sealed"),
            ),
            (
                "logistics_zhao",
                CustodyStep.RECEIVE_AT_MANUFACTURER,
                services.ScanDetails(condition="bag intact, no leak, 5.1 °C"),
            ),
        ):
            services.unit_custody_scan(
                actor=world[actor], unit=unit, step=step, scanned_text=unit.din_keyboard, details=details
            )
    return journey


def load(world: Any, password: str = DEMO_PASSWORD) -> None:
    _ethics(world)
    open_slots(world)
    storage_positions(world)
    if not is_hospital():
        # A manufacturer's installation keeps no identity, by which these stories are found again (issue 12
        # item 4); its journeys are those of the manufacturing demo's batches.
        return
    if not Journey.objects.filter(patient_identity__wristband_id=LABELLED_WRISTBAND).exists():
        labelled_journey(world, name="李娜", wristband=LABELLED_WRISTBAND, password=password)
    if not Journey.objects.filter(patient_identity__wristband_id=RECEIVED_WRISTBAND).exists():
        received_journey(world, password=password)
