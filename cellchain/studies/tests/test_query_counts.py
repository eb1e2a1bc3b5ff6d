"""The list pages and the report content cost the same queries with ten times the records (STYLE habit 7)."""

from __future__ import annotations

from typing import Any

import pytest

from cellchain.journeys.models import Journey
from cellchain.studies import selectors, services
from cellchain.studies.tests import factories
from cellchain.studies.tests.conftest import INFUSED_AT, SINCE, UNTIL

pytestmark = pytest.mark.django_db


def _grow(world: Any, records: Any, copies: int) -> None:
    for _ in range(copies):
        courses = factories.infused(records, 2, INFUSED_AT)
        factories.adverse_events(
            courses, world["physician_wang"], INFUSED_AT, category="crs", grade=2, serious=False
        )
        factories.identities(list(Journey.objects.filter(coi__in=[c.coi for c in courses])))
        services.report_draft(
            actor=world["coordinator_zhou"], title="t", site=world.sites["xiehe-main"], product=None,
            protocol_ref="", since=SINCE, until=UNTIL, main_operator=world["physician_wang"],
        )  # fmt: skip
        services.source_document_tick(
            actor=world["nurse_wang"], course=courses[0], document="diary_card", present=True, reason="binder"
        )


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("coordinator_zhou", "/studies/"),
        ("coordinator_zhou", "/studies/checklists/"),
        ("coordinator_zhou", "/studies/directories/"),
        ("coordinator_zhou", "directory"),
    ],
)
def test_list_pages_cost_the_same_queries_with_ten_times_the_records(
    world: Any, records: Any, client_for: Any, who: str, path: str
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(who)
    counts, sizes = [], []
    for copies in (1, 9):
        _grow(world, records, copies)
        url = path
        if path == "directory":
            url = f"/studies/directories/{selectors.studies_for(world[who])[0].approval.pk}/"
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(queries))
        sizes.append(len(response.content))
    assert counts[0] == counts[1], f"{path}: {counts}"
    assert sizes[1] > sizes[0]


def test_report_content_costs_two_queries_whatever_the_records(
    world: Any, records: Any, django_assert_num_queries: Any
) -> None:
    counts = []
    for copies in (1, 9):
        _grow(world, records, copies)
        report = selectors.reports_visible_to(world["coordinator_zhou"]).first()
        with django_assert_num_queries(2):
            content = selectors.report_content_live(report)
        counts.append(content["subjects"]["count"])
    assert counts[1] == 10 * counts[0]


def test_checklists_cost_five_queries_whatever_the_courses(
    world: Any, records: Any, django_assert_num_queries: Any
) -> None:
    for copies in (1, 9):
        _grow(world, records, copies)
        courses = list(selectors.courses_for(world["coordinator_zhou"]))
        with django_assert_num_queries(5):
            states = selectors.checklists(courses)
        assert len(states) == len(courses)
