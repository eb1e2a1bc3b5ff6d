"""Journeys test helpers: a journey walked through the services to the step a test needs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.journeys import services
from cellchain.journeys.models import Journey, Slot, Unit

REQUIRED = ("hiv_1_2", "hbv", "hcv", "syphilis")


@pytest.fixture
def frozen_now(world: Any):
    """Freeze the clock at the moment the persona world was built (their qualifications start that day)."""
    now = clock.now().replace(microsecond=0)
    with clock.frozen(now):
        yield now


class JourneyKit:
    """Builds journeys for tests through the services only, as a hospital and manufacturer would."""

    def __init__(self, world: Any, now: dt.datetime) -> None:
        self.world = world
        self.now = now
        self.today = now.date()
        self.hospital = world.sites["xiehe-main"]
        self.manufacturer = world.sites["shenghe-prod"]
        self.approval = services.ethics_approval_record(
            actor=world["physician_wang"],
            site=self.hospital,
            product_code="S1395V00",
            protocol="CT-2026-01",
            number="EC-2026-001",
            approved_on=self.today - dt.timedelta(days=60),
            valid_until=self.today + dt.timedelta(days=300),
        )
        self.checklist = services.eligibility_checklist_record(
            actor=world["physician_wang"],
            site=self.hospital,
            product_code="S1395V00",
            protocol="CT-2026-01",
            criteria=["ECOG 0-1", "CD19+ disease"],
        )
        self.certification = services.collection_site_certify(
            actor=world["qa_li"],
            site=self.hospital,
            number=f"CS-{self.hospital.pk}-{now:%Y%m%d%H%M%S%f}",
            valid_from=self.today - dt.timedelta(days=30),
            valid_until=self.today + dt.timedelta(days=335),
            may_cryopreserve=True,
        )
        self._number = 0

    def enrol(self, **patient: Any) -> Journey:
        self._number += 1
        data = services.PatientData(
            name=patient.get("name", f"张三{self._number}"),
            birth_date=dt.date(1970, 1, 1),
            hospital_record_number=f"MRN-{self._number:05d}",
            wristband_id=f"WB-{self._number:05d}",
        )
        return services.journey_enrol(
            actor=self.world["physician_wang"],
            hospital_site=self.hospital,
            manufacturer_site=self.manufacturer,
            product_code="S1395V00",
            product_name="CAR-T demo",
            starting_material="fresh",
            patient=data,
        )

    def eligible(self) -> Journey:
        journey = self.enrol()
        services.consent_record(
            actor=self.world["physician_wang"],
            journey=journey,
            form_version="ICF v2.0",
            signed_on=self.today - dt.timedelta(days=1),
            signer="patient",
        )
        services.eligibility_assess(
            actor=self.world["physician_wang"],
            journey=journey,
            answers={"ECOG 0-1": True, "CD19+ disease": True},
        )
        journey.refresh_from_db()
        return journey

    def slots(self, days_ahead: int = 3) -> tuple[Slot, Slot]:
        aph_at = (self.now + dt.timedelta(days=days_ahead)).replace(hour=1, minute=0, second=0)
        apheresis = Slot.objects.filter(site=self.hospital, kind="apheresis", starts_at=aph_at).first()
        if apheresis is None:
            apheresis = services.slot_open(
                actor=self.world["coordinator_zhou"],
                site=self.hospital,
                kind="apheresis",
                starts_at=aph_at,
                capacity=2,
            )
        man_at = aph_at + dt.timedelta(hours=24)
        manufacturing = Slot.objects.filter(
            site=self.manufacturer, kind="manufacturing", starts_at=man_at
        ).first()
        if manufacturing is None:
            manufacturing = services.slot_open(
                actor=self.world["logistics_zhao"],
                site=self.manufacturer,
                kind="manufacturing",
                starts_at=man_at,
                capacity=2,
            )
        return apheresis, manufacturing

    def scheduled(self) -> Journey:
        journey = self.eligible()
        apheresis, manufacturing = self.slots()
        services.booking_book(actor=self.world["logistics_zhao"], journey=journey, slot=manufacturing)
        services.booking_book(actor=self.world["coordinator_zhou"], journey=journey, slot=apheresis)
        journey.refresh_from_db()
        return journey

    def screened(self, journey: Journey, **outcomes: str) -> None:
        for marker in REQUIRED:
            services.screening_result_record(
                actor=self.world["nurse_wang"],
                journey=journey,
                marker=marker,
                outcome=outcomes.get(marker, "non_reactive"),
                tested_on=self.today - dt.timedelta(days=5),
            )

    def collection_input(self, **overrides: Any) -> services.CollectionInput:
        values: dict[str, Any] = {
            "collected_at": self.now - dt.timedelta(hours=1),
            "anticoagulant_ratio": 12,
            "processed_blood_volume_ml": 10_000,
            "cycles": 6,
            "collected_volume_ml": 180,
            "mnc_count": Decimal("2.1e9"),
            "starting_material": "fresh",
            "bag_volumes_ml": (90, 90),
        }
        values.update(overrides)
        return services.CollectionInput(**values)

    def collected(self) -> Journey:
        journey = self.scheduled()
        self.screened(journey)
        services.collection_record(
            actor=self.world["apheresis_sun"], journey=journey, data=self.collection_input()
        )
        journey.refresh_from_db()
        return journey

    def units(self, journey: Journey) -> list[Unit]:
        return list(journey.units.order_by("din"))


@pytest.fixture
def kit(world: Any, frozen_now: dt.datetime) -> JourneyKit:
    return JourneyKit(world, frozen_now)
