"""Clinic fixtures: the demo product at Xiehe with agreement and confirmed risk plan, a course and a unit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.clinic import samples as factories
from cellchain.core import clock
from conftest import PERSONA_PASSWORD

# 09:00 in Shanghai today: the personas' qualifications run from 30 days ago, so the tests live near today.
NOW = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(1, 0), tzinfo=dt.UTC)


@pytest.fixture
def frozen_now() -> Any:
    with clock.frozen(NOW):
        yield NOW


@pytest.fixture
def profile(world: Any, frozen_now: Any) -> Any:
    product = factories.product(world["physician_wang"], world.organisations["shenghe"])
    factories.site_ready(world["physician_wang"], world.sites["xiehe-main"], product, PERSONA_PASSWORD)
    return product


@pytest.fixture
def course(world: Any, profile: Any) -> Any:
    return factories.course(
        world["coordinator_zhou"], world.sites["xiehe-main"], profile, 1, physician=world["physician_wang"]
    )


@pytest.fixture
def unit(world: Any, course: Any) -> Any:
    return factories.unit(world["pharmacist_liu"], course, 1)


@pytest.fixture
def thawed_unit(world: Any, unit: Any) -> Any:
    from cellchain.clinic import services

    services.thaw_record(
        actor=world["nurse_wang"],
        unit=unit,
        started_at=NOW - dt.timedelta(minutes=12),
        ended_at=NOW - dt.timedelta(minutes=5),
        temperature_c=37.0,
        method="water_bath",
        area="Cell therapy prep room",
        device="Thermo bath TB-2",
        appearance_normal=True,
        no_shaking_confirmed=True,
        precautions_acknowledged=True,
    )
    unit.refresh_from_db()
    return unit


@pytest.fixture
def verified_check(world: Any, course: Any, thawed_unit: Any) -> Any:
    from cellchain.clinic import services

    check = services.bedside_scan(
        actor=world["nurse_wang"],
        course=course,
        wristband_scan=course.patient_wristband_id,
        unit_scan=factories.din_barcode(1),
    )
    return services.bedside_verify(
        check=check,
        performer_password=PERSONA_PASSWORD,
        verifier=world["nurse_zhou"],
        verifier_password=PERSONA_PASSWORD,
        wristband_scan=course.patient_wristband_id,
        unit_scan=factories.din_barcode(1),
    )


INFUSION = {
    "route": "intravenous",
    "rate_ml_h": 300.0,
    "infusion_set": "IV-STD-200",
    "set_has_leukocyte_filter": False,
    "volume_ml": 68.0,
    "car_positive_viable_cells": 2.1e8,
    "emergency_contact": "ICU on call, ext. 6120",
    "rescue_staff_present": True,
    "checklist": factories.CHECKLIST_ALL,
}


@pytest.fixture
def infusion(world: Any, course: Any, verified_check: Any) -> Any:
    from cellchain.clinic import services

    return services.infusion_start(actor=world["nurse_wang"], course=course, check=verified_check, **INFUSION)
