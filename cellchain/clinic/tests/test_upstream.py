"""The clinic against the real upstream records: a product unit made, released by QA and handed over by scan;
a quarantine upstream blocks the bedside; the infusion is reported back to manufacturing (T-10.4, T-8.2.6-e)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.clinic import samples, services, upstream
from cellchain.clinic.models import ClinicUnit
from cellchain.core import clock
from cellchain.core.errors import IdentityMismatch
from cellchain.manufacturing.models import ProductUnit
from cellchain.manufacturing.tests.conftest import mfg  # noqa: F401  (the manufacturing test kit)
from cellchain.qc import services as qc
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def released(mfg: Any) -> ProductUnit:  # noqa: F811
    """A patient unit of a batch manufactured, tested and fully released through the services."""
    batch = mfg.ready_for_release(mfg.manufactured())
    qc.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable")
    return batch.units.filter(purpose=ProductUnit.Purpose.PATIENT).first()  # type: ignore[return-value]


@pytest.fixture
def journey_course(world: Any, released: ProductUnit) -> Any:
    doctor = world["physician_wang"]
    coi = released.batch.intake.coi
    keyboard = coi + parse_coi_check(coi)
    _journey, wristband = upstream.patient_wristband(doctor, coi)
    product = samples.adopted_product(world["pharmacist_liu"], released.batch.product_version)
    samples.site_ready(doctor, world.sites["xiehe-main"], product, PERSONA_PASSWORD)
    today = clock.now().date()
    return services.course_plan(
        actor=world["coordinator_zhou"],
        site=world.sites["xiehe-main"],
        product=product,
        journey_ref="J-UP-1",
        coi=keyboard,
        patient_wristband_id=wristband,
        patient_label="Upstream patient",
        physician=doctor,
        lymphodepletion_regimen="Flu/Cy",
        lymphodepletion_start=today - dt.timedelta(days=5),
        lymphodepletion_end=today - dt.timedelta(days=3),
        infusion_window_start=today,
        infusion_window_end=today + dt.timedelta(days=2),
        weight_kg=70.0,
    )


def test_unit_handed_over_by_scan_takes_batch_coi_and_release_from_upstream(
    world: Any, released: ProductUnit, journey_course: Any
) -> None:
    unit = services.unit_admit_scanned(
        actor=world["pharmacist_liu"], course=journey_course, scanned_text=keyboard(released.din)
    )
    assert (unit.batch_number, unit.coi, unit.release) == (
        released.batch.number,
        journey_course.coi,
        ClinicUnit.Release.RELEASED,
    )


def test_plan_with_another_patients_wristband_is_refused(
    world: Any, released: ProductUnit, journey_course: Any
) -> None:
    with pytest.raises(IdentityMismatch, match="another patient"):
        services.course_plan(
            actor=world["coordinator_zhou"],
            site=journey_course.site,
            product=journey_course.product,
            journey_ref="J-UP-2",
            coi=journey_course.coi + parse_coi_check(journey_course.coi),
            patient_wristband_id="WB-SOMEONE-ELSE",
            patient_label="x",
            physician=world["physician_wang"],
            lymphodepletion_regimen="Flu/Cy",
            lymphodepletion_start=journey_course.lymphodepletion_start,
            lymphodepletion_end=journey_course.lymphodepletion_end,
            infusion_window_start=journey_course.infusion_window_start,
            infusion_window_end=journey_course.infusion_window_end,
        )


def keyboard(din: str) -> str:
    """What a person types from the label: the DIN and its check character."""
    return din + parse_coi_check(din)


def parse_coi_check(data: str) -> str:
    from cellchain.domain.identity import mod37_2_check_character

    return mod37_2_check_character(data)


def test_upstream_quarantine_blocks_the_bedside_and_infusion_is_reported_back(
    world: Any, released: ProductUnit, journey_course: Any
) -> None:
    from cellchain.clinic.tests.conftest import INFUSION
    from cellchain.manufacturing.services import product_unit_status_set

    unit = services.unit_admit_scanned(
        actor=world["pharmacist_liu"], course=journey_course, scanned_text=keyboard(released.din)
    )
    now = clock.now()
    services.thaw_record(
        actor=world["nurse_wang"],
        unit=unit,
        started_at=now - dt.timedelta(minutes=9),
        ended_at=now - dt.timedelta(minutes=2),
        temperature_c=37,
        method="water_bath",
        area="A",
        device="D",
        appearance_normal=True,
        no_shaking_confirmed=True,
        precautions_acknowledged=True,
    )
    product_unit_status_set(
        actor=world["qa_li"],
        unit=released,
        status=ProductUnit.Status.QUARANTINED,
        reason="recall investigation",
    )
    blocked = services.bedside_scan(
        actor=world["nurse_wang"],
        course=journey_course,
        wristband_scan=journey_course.patient_wristband_id,
        unit_scan=keyboard(released.din),
    )
    assert [r["code"] for r in blocked.reasons] == ["quarantined"]

    product_unit_status_set(
        actor=world["qa_li"],
        unit=released,
        status=ProductUnit.Status.SHIPPED,
        reason="investigation closed, no impact",
    )
    check = services.bedside_scan(
        actor=world["nurse_wang"],
        course=journey_course,
        wristband_scan=journey_course.patient_wristband_id,
        unit_scan=keyboard(released.din),
    )
    services.bedside_verify(
        check=check,
        performer_password=PERSONA_PASSWORD,
        verifier=world["nurse_zhou"],
        verifier_password=PERSONA_PASSWORD,
        wristband_scan=journey_course.patient_wristband_id,
        unit_scan=keyboard(released.din),
    )
    services.infusion_start(
        actor=world["nurse_wang"],
        course=journey_course,
        check=check,
        **{
            **INFUSION,
            "car_positive_viable_cells": 1.0e8,
            "checklist": samples.checklist_for(journey_course.product),
        },
    )
    released.refresh_from_db()
    assert released.status == ProductUnit.Status.INFUSED and released.infused_at is not None


def test_unit_unknown_upstream_uses_the_clinic_record(world: Any, journey_course: Any) -> None:
    unit = samples.unit(world["pharmacist_liu"], journey_course, 77)
    assert upstream.unit_facts(unit.unit_id) is None
    assert upstream.effective_release(unit) == ClinicUnit.Release.RELEASED


def test_stricter_status_wins() -> None:
    assert upstream.stricter("released", "quarantined") == "quarantined"
    assert upstream.stricter("rejected", "conditionally_released") == "rejected"
    assert upstream.stricter("conditionally_released", "released") == "conditionally_released"
