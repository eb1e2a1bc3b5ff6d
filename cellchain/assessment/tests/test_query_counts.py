"""The checklist page, an item page and the API cost the same queries with ten times the answers, reviews,
equipment and people (issue 14 performance; STYLE habit 7). The worklist lines too."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cellchain.accounts import services as accounts
from cellchain.accounts.models import Qualification
from cellchain.accounts.roles import Role
from cellchain.assessment.models import AssessmentAnswer
from cellchain.assessment.tests.factories import answer, today
from cellchain.core.worklist import work_day, worklist_for
from cellchain.domain import self_assessment as sa
from cellchain.manufacturing.services import facility
from cellchain.signatures.models import Signature
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db

CASES = [
    ("coordinator_zhou", "xiehe-main", sa.SiteKind.HOSPITAL),
    ("qa_li", "shenghe-prod", sa.SiteKind.MANUFACTURER),
]


def count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def grow(world: Any, username: str, site_code: str, kind: sa.SiteKind, answers: int, factor: int) -> None:
    """`answers` items answered (a file on every other), each reviewed `factor` times; `factor` equipment items
    and, at the manufacturer, `factor` more operators with their qualifications."""
    site = world.sites[site_code]
    admin = world["admin_xiehe" if kind == sa.SiteKind.HOSPITAL else "admin_shenghe"]
    codes = [item.code for item in sa.items_for(kind)]
    for number, code in enumerate(codes[:answers]):
        upload = SimpleUploadedFile(f"{code}.pdf", b"%PDF-1.4 " + code.encode()) if number % 2 else None
        done = AssessmentAnswer.objects.filter(site=site, item_code=code).exists()
        answer(world, username, site_code, code, upload=upload, reason="re-review" if done else "")
        for review in range(1, factor):
            answer(world, username, site_code, code, reason=f"review {review}")
    start = AssessmentAnswer.objects.count()
    for number in range(factor):
        facility.equipment_register(
            actor=admin,
            site=site,
            code=f"{site_code}-eq-{start}-{number}",
            kind=("oxygen", "suction", "incubator")[number % 3],
            name="device",
            calibration_due=today(site) + dt.timedelta(days=number - 2),
        )
        if kind == sa.SiteKind.MANUFACTURER:
            person = accounts.user_create(
                actor=admin,
                username=f"op-{start}-{number}",
                printed_name=f"Operator {number}",
                site=site,
                password=PERSONA_PASSWORD,
                email="",
                roles=(Role.PRODUCTION_OPERATOR,),
            )
            accounts.qualification_grant(
                actor=admin,
                user=person,
                code="manufacturing",
                title="Manufacturing",
                valid_from=today(site) - dt.timedelta(days=5),
                valid_until=today(site) + dt.timedelta(days=300),
                kind=Qualification.Kind.TRAINING,
            )


@pytest.mark.parametrize(("username", "site_code", "kind"), CASES, ids=["hospital", "manufacturer"])
def test_checklist_item_and_api_queries_do_not_grow_with_the_answers(
    world: Any, client_for: Any, username: str, site_code: str, kind: sa.SiteKind
) -> None:
    first = sa.items_for(kind)[1].code
    urls = [
        f"/assessment/{site_code}/",
        f"/assessment/{site_code}/?state=yes",
        f"/assessment/{site_code}/{first}/",
        f"/api/assessment/sites/{site_code}/items",
        f"/api/assessment/sites/{site_code}/items/{first}",
    ]
    client = client_for(username)
    grow(world, username, site_code, kind, answers=2, factor=1)
    [count(client, url) for url in urls]  # warm the caches (content types, sessions)
    small = [count(client, url) for url in urls]
    other = ("coordinator_xu", "renji-east") if kind == sa.SiteKind.HOSPITAL else ("qa_li", "shenghe-qc")
    grow(world, *other, kind, answers=10, factor=2)  # another site's answers are not this site's
    grow(world, username, site_code, kind, answers=14, factor=10)
    assert AssessmentAnswer.objects.filter(site=world.sites[site_code]).count() == 14
    assert Signature.objects.count() >= 10 * 12
    assert [count(client, url) for url in urls] == small


def test_worklist_lines_count_due_and_overdue_reviews_with_constant_queries(world: Any) -> None:
    """CHECKLIST: an answer whose next review falls within 30 days is due, one past it overdue; the items never
    answered are counted; both from one query each, whatever the number of answers."""
    from cellchain.core import clock

    site, qa = world.sites["shenghe-prod"], world["qa_li"]
    answer(world, "qa_li", "shenghe-prod", "T-5.1.1", next_review=today(site) + dt.timedelta(days=10))
    answer(world, "qa_li", "shenghe-prod", "T-5.1.2", next_review=today(site) + dt.timedelta(days=200))
    lines = {item.key: item for item in worklist_for(qa)}
    assert (lines["assessment.reviews_due"].count, lines["assessment.reviews_due"].overdue) == (1, 0)
    assert lines["assessment.unanswered"].count == 13
    assert lines["assessment.unanswered"].url == "/assessment/?state=unanswered"
    later = clock.now() + dt.timedelta(days=12)
    with clock.frozen(later):
        lines = {item.key: item for item in worklist_for(qa)}
    assert (lines["assessment.reviews_due"].count, lines["assessment.reviews_due"].overdue) == (1, 1)
    assert "assessment.unanswered" not in {i.key for i in worklist_for(world["physician_wang"])}

    def queries() -> int:
        day = work_day(qa)
        with CaptureQueriesContext(connection) as captured:
            worklist_for(qa, day)
        return len(captured)

    queries()
    small = queries()
    grow(world, "qa_li", "shenghe-prod", sa.SiteKind.MANUFACTURER, answers=12, factor=2)
    assert queries() == small
