"""The worklist on sign-in: what is due or overdue for each role, as a page and as JSON (issue 14 item 1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cellchain.accounts import services as accounts
from cellchain.core import clock
from cellchain.core.worklist import WorkDay, work_day, worklist_for
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def _keys(user: Any) -> dict[str, tuple[int, int]]:
    return {item.key: (item.count, item.overdue) for item in worklist_for(user)}


def _grant(world: Any, username: str, code: str, valid_until: dt.date) -> None:
    today = clock.today("Asia/Shanghai")
    accounts.qualification_grant(
        actor=world["admin_xiehe"],
        user=world[username],
        code=code,
        title=code,
        valid_from=min(today, valid_until) - dt.timedelta(days=300),
        valid_until=valid_until,
    )


def test_a_qualification_expiring_soon_is_on_its_holders_worklist_and_a_renewal_removes_it(
    world: Any,
) -> None:
    """T-5.2.11: expiring within 60 days shows as due; past its date as overdue; a renewal hides the old one."""
    nurse, today = world["nurse_wang"], clock.today("Asia/Shanghai")
    assert "accounts.my_qualifications" not in _keys(nurse)
    _grant(world, "nurse_wang", "bls", today + dt.timedelta(days=10))
    _grant(world, "nurse_wang", "acls", today - dt.timedelta(days=1))
    assert _keys(nurse)["accounts.my_qualifications"] == (2, 1)
    _grant(world, "nurse_wang", "acls", today + dt.timedelta(days=700))
    assert _keys(nurse)["accounts.my_qualifications"] == (1, 0)
    # The site administrator sees the same expiring line for the staff of the site; a colleague does not.
    assert _keys(world["admin_xiehe"])["accounts.site_qualifications"] == (1, 0)
    assert "accounts.my_qualifications" not in _keys(world["physician_wang"])


def test_lines_follow_the_permission_table(world: Any) -> None:
    """A line appears only for roles holding its permission (REGULATORY items 23-25): QA never sees the
    clinic's thawed units, a nurse never sees batches to release."""
    from cellchain.clinic import demo

    demo.load(world, password=PERSONA_PASSWORD)
    nurse, qa = _keys(world["nurse_wang"]), _keys(world["qa_li"])
    assert "clinic.thawed_units" in nurse and "clinic.monitoring_missed" in nurse
    assert not any(key.startswith(("clinic.", "logistics.receipts")) for key in qa)
    assert not any(key.startswith("qc.") for key in nurse)


def test_clinic_lines_count_the_demo_patients_and_put_overdue_first(world: Any) -> None:
    """T-7.8-a, T-7.10-b, T-9.2.6-2: thawed units on the clock, AE reports past their clock and missed D1-D7
    days are counted from the records; overdue lines come before the others."""
    from cellchain.clinic import demo, selectors

    demo.load(world, password=PERSONA_PASSWORD)
    physician, now = world["physician_wang"], clock.now()
    day = work_day(physician)
    lines = worklist_for(physician, day)
    by_key = {item.key: item for item in lines}
    late = selectors.overdue_duties(physician, now)
    assert by_key["clinic.reports_due"].overdue == len(late) > 0
    assert by_key["clinic.reports_due"].count >= len(late)
    assert by_key["clinic.monitoring_missed"].count == len(selectors.overdue_monitoring(physician, day.today))
    assert by_key["clinic.thawed_units"].count == len(selectors.running_countdowns(physician, now))
    overdue_flags = [item.overdue > 0 for item in lines]
    assert overdue_flags == sorted(overdue_flags, reverse=True)


def test_a_moment_later_a_thawed_unit_becomes_overdue(world: Any) -> None:
    """T-7.8-a: the same unit moves from due to overdue when its use-by time passes."""
    from cellchain.clinic import demo
    from cellchain.clinic.models import ClinicUnit

    demo.load(world, password=PERSONA_PASSWORD)
    nurse = world["nurse_wang"]
    use_by = max(ClinicUnit.objects.filter(state=ClinicUnit.State.THAWED).values_list("use_by", flat=True))
    before = {i.key: i for i in worklist_for(nurse, WorkDay(use_by - dt.timedelta(minutes=1), use_by.date()))}
    after = {i.key: i for i in worklist_for(nurse, WorkDay(use_by + dt.timedelta(minutes=1), use_by.date()))}
    assert after["clinic.thawed_units"].overdue == before["clinic.thawed_units"].overdue + 1


def test_the_home_page_and_the_json_show_the_same_lines(world: Any, client_for: Any) -> None:
    """Issue 14 item 1: the worklist on sign-in, and the same as JSON with counts and links."""
    from cellchain.clinic import demo

    demo.load(world, password=PERSONA_PASSWORD)
    client = client_for("physician_wang")
    page = client.get("/")
    body = page.content.decode()
    answer = client.get("/api/core/worklist").json()
    assert page.status_code == 200 and answer["items"]
    for item in answer["items"]:
        assert f'data-key="{item["key"]}"' in body and item["url"] in body
    assert answer["site_date"] == clock.today("Asia/Shanghai").isoformat()


def test_a_person_with_nothing_due_is_told_so(world: Any, client_for: Any) -> None:
    body = client_for("auditor_shenghe").get("/").content.decode()
    assert 'id="worklist-empty"' in body


def test_the_worklist_costs_the_same_queries_with_ten_times_the_patients(world: Any) -> None:
    """Issue 14 performance: every line is a count from a fixed number of queries, so the page drawn after
    sign-in does not slow down as the clinic grows (ten demo clinics' worth of patients against one)."""
    from cellchain.clinic import demo
    from cellchain.clinic.models import TreatmentCourse

    demo.load(world, password=PERSONA_PASSWORD)
    people = [
        world[name] for name in ("physician_wang", "nurse_wang", "pharmacist_liu", "qa_li", "admin_xiehe")
    ]

    def queries() -> list[int]:
        counts = []
        for person in people:
            day = work_day(person)
            with CaptureQueriesContext(connection) as captured:
                worklist_for(person, day)
            counts.append(len(captured))
        return counts

    queries()  # the first call per person caches the roles on the user object
    small = queries()
    before = TreatmentCourse.objects.count()
    demo.load(world, password=PERSONA_PASSWORD, copies=10)
    # Ten copies of the clinic's demo courses (the foreign maker's one course is not copied).
    assert TreatmentCourse.objects.count() >= 9 * before
    assert queries() == small
