"""Items the system answers from its own records: agreements, the equipment register, training and health
checks (issue 14 item 2; T-8.2.2-h, T-5.2.7, G-6, T-10.12, T-5.1.9-1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.accounts import services as accounts
from cellchain.accounts.models import Qualification
from cellchain.assessment import selectors
from cellchain.assessment.tests.factories import answer, today
from cellchain.manufacturing.services import facility
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def suggestion(site: Any, code: str) -> selectors.SuggestionView:
    (row,) = selectors.checklist(site, today(site), only=code)
    assert row.suggestion is not None
    return row.suggestion


def register(world: Any, site_code: str, code: str, kind: str, calibration_due: dt.date | None) -> Any:
    actor = world["admin_xiehe"] if site_code == "xiehe-main" else world["admin_shenghe"]
    return facility.equipment_register(
        actor=actor,
        site=world.sites[site_code],
        code=code,
        kind=kind,
        name=code,
        calibration_due=calibration_due,
    )


def test_agreement_in_force_answers_t_8_2_2_h(world: Any) -> None:
    """T-8.2.2-h: without an agreement the records say no; the agreement recorded with item h says yes and
    links the page where agreements are shown."""
    from cellchain.clinic import samples

    site = world.sites["xiehe-main"]
    before = suggestion(site, "T-8.2.2-h")
    assert before.answer == "no" and "No agreement" in before.reasons[0]
    product = samples.product(world["physician_wang"], world.organisations["shenghe"])
    samples.site_ready(world["physician_wang"], site, product, PERSONA_PASSWORD)
    after = suggestion(site, "T-8.2.2-h")
    assert after.answer == "yes"
    assert after.records and after.records[0][1] == "/clinic/products/"
    assert suggestion(world.sites["renji-east"], "T-8.2.2-h").answer == "no"  # another hospital's agreement


def test_emergency_devices_in_the_equipment_register_answer_t_5_2_7(world: Any) -> None:
    """T-5.2.7-a: no oxygen device registered: the records cannot tell; one within calibration: yes; a
    suction unit past its calibration: no, naming it."""
    site = world.sites["xiehe-main"]
    assert suggestion(site, "T-5.2.7-a").answer == ""
    register(world, "xiehe-main", "icu-o2-01", "oxygen", today(site) + dt.timedelta(days=90))
    register(world, "xiehe-main", "icu-suc-01", "suction", today(site) - dt.timedelta(days=2))
    oxygen, suction = suggestion(site, "T-5.2.7-a"), suggestion(site, "T-5.2.7-b")
    assert oxygen.answer == "yes" and oxygen.records == (("icu-o2-01", "/manufacturing/equipment/"),)
    assert suction.answer == "no" and "icu-suc-01" in suction.reasons[0]


def test_equipment_calibration_answers_g_6_equipment(world: Any) -> None:
    """G-6-b (T-10.12): an incubator past its calibration makes the answer no; recording the calibration
    turns it to yes."""
    site = world.sites["shenghe-prod"]
    assert suggestion(site, "G-6-b").answer == ""
    incubator = register(world, "shenghe-prod", "inc-07", "incubator", today(site) - dt.timedelta(days=1))
    late = suggestion(site, "G-6-b")
    assert late.answer == "no" and "inc-07" in late.reasons[0]
    facility.equipment_calibration_record(
        actor=world["qa_li"],
        equipment=incubator,
        calibration_due=today(site) + dt.timedelta(days=180),
        reason="calibrated by the metrology institute",
    )
    assert suggestion(site, "G-6-b").answer == "yes"


def test_training_and_health_checks_answer_g_6_personnel(world: Any) -> None:
    """G-6-a (T-5.1.9-1): the demo operators hold trainings but no health check: no, naming each; once both
    have a current health check on file: yes. QA and logistics are not preparation or QC staff."""
    site = world.sites["shenghe-prod"]
    missing = suggestion(site, "G-6-a")
    assert missing.answer == "no"
    assert sorted(label for label, _path in missing.records) == ["吴磊 Wu Lei", "陈强 Chen Qiang"]
    for name in ("operator_chen", "operator_wu"):
        accounts.qualification_grant(
            actor=world["admin_shenghe"],
            user=world[name],
            code="health_check",
            title="Annual health check",
            valid_from=today(site) - dt.timedelta(days=10),
            valid_until=today(site) + dt.timedelta(days=355),
            kind=Qualification.Kind.HEALTH,
        )
    healthy = suggestion(site, "G-6-a")
    assert healthy.answer == "yes" and "2" in healthy.reasons[0]


def test_the_reviewers_answer_is_shown_beside_a_differing_suggestion(world: Any) -> None:
    site = world.sites["shenghe-prod"]
    answer(world, "qa_li", "shenghe-prod", "G-6-a", evidence_reference="HR personnel files")
    (row,) = selectors.checklist(site, today(site), only="G-6-a")
    assert row.answer.answer == "yes" and row.suggestion.answer == "no" and row.differs


def test_items_without_a_register_have_no_suggestion(world: Any) -> None:
    """Documents, areas, archive, on-call directory and expert roster have no register in CellChain."""
    rows = selectors.checklist(world.sites["xiehe-main"], today(world.sites["xiehe-main"]))
    auto = {row.item.code for row in rows if row.suggestion is not None}
    assert auto == {"T-5.2.7-a", "T-5.2.7-b", "T-5.2.7-c", "T-5.2.7-d", "T-8.2.2-h"}


def test_record_links_only_to_pages_the_viewer_may_open(world: Any) -> None:
    """A hospital coordinator sees the equipment item named but not linked: the register's page is the
    manufacturer's."""
    site = world.sites["xiehe-main"]
    register(world, "xiehe-main", "icu-o2-02", "oxygen", today(site) + dt.timedelta(days=90))
    (row,) = selectors.checklist(site, today(site), only="T-5.2.7-a", viewer=world["coordinator_zhou"])
    assert row.suggestion is not None and row.suggestion.records == (("icu-o2-02", ""),)
