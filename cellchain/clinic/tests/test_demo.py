"""The clinic demo: patients at every stage, loaded through the services, idempotent."""

from __future__ import annotations

from typing import Any

import pytest

from cellchain.clinic import demo, selectors
from cellchain.clinic.models import AdverseEvent, BedsideCheck, TreatmentCourse
from cellchain.core import clock
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def test_demo_shows_every_stage_and_loads_once(world: Any) -> None:
    demo.load(world, password=PERSONA_PASSWORD)
    demo.load(world, password=PERSONA_PASSWORD)
    viewer, today = world["nurse_wang"], clock.now().date()
    stages = {course.journey_ref[-2:]: stage for course, stage in selectors.courses_with_stage(viewer, today)}
    assert TreatmentCourse.objects.count() == 11  # ten stories and Nordcell's journey 0020 (issue 12 item 3)
    assert set(stages.values()) == set(selectors.STAGE_LABELS)
    assert AdverseEvent.objects.get(category="crs").grade == 3
    assert BedsideCheck.objects.filter(verdict="blocked").exclude(deviation_number="").exists()
    assert selectors.overdue_duties(viewer, clock.now())
    assert selectors.overdue_follow_up(viewer, today) and selectors.overdue_monitoring(viewer, today)


def test_demo_profile_is_adopted_from_the_manufacturers_approved_version(world: Any) -> None:
    """T-7.4: the demo product's values come from the manufacturing demo's information package, and the site's
    risk plan answers the manufacturer's adverse reactions (T-9.1.2)."""
    from cellchain.clinic import services
    from cellchain.clinic.models import ProductUseProfile, RiskPlan
    from cellchain.manufacturing.demo import PRODUCT_CODE

    demo.load(world, password=PERSONA_PASSWORD)
    profile = ProductUseProfile.objects.get(source=ProductUseProfile.Source.PACKAGE)
    assert (profile.source, profile.source_label) == ("package", f"{PRODUCT_CODE} v1")
    assert profile.from_package("usable_after_thaw_min") and profile.from_package("ae_report_hours")
    assert not profile.from_package("rate_high_ml_h")
    assert not services.profiles_status([profile])[0].behind
    plan = RiskPlan.objects.get(product=profile)
    assert plan.confirmation is not None and services.risk_plan_uncovered(plan) == ()


def test_ledger_replays_to_the_clinic_tables_after_the_demo(world: Any) -> None:
    """Every clinic write went through a service that appended to the ledger (STYLE habit 1, REGULATORY 9)."""
    from cellchain.ledger.verify import verify_ledger

    demo.load(world, password=PERSONA_PASSWORD)
    report = verify_ledger()
    assert report.ok, report.lines()


def test_demo_hospital_works_with_two_manufacturers(world: Any) -> None:
    """Issue 12 item 3: two makers with different FINs, product codes and label formats; the foreign maker's
    journey has its unit received from an ISBT 128 label with a DS 040 COI CellChain did not issue, and shows in
    the same worklist."""
    from cellchain.clinic.models import ClinicUnit, Manufacturer

    demo.load(world, password=PERSONA_PASSWORD)
    makers = {m.label_format: m for m in Manufacturer.objects.all()}
    assert set(makers) == {"cellchain", "isbt128-ds040"}
    own, foreign = makers["cellchain"], makers["isbt128-ds040"]
    assert own.fin != foreign.fin and not set(own.product_codes) & set(foreign.product_codes)
    unit = ClinicUnit.objects.get(manufacturer=foreign)
    assert unit.label_format == "isbt128-ds040" and unit.coi.startswith(f"CH{foreign.fin}")
    rows = [
        course for course, _stage in selectors.courses_with_stage(world["nurse_wang"], clock.now().date())
    ]
    assert unit.course in rows
    assert {course.product.manufacturer.name for course in rows} >= {own.name, foreign.name}
