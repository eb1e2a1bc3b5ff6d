"""Query counts of the clinic overview and list endpoint stay constant as courses grow (STYLE habit 7)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cellchain.clinic import demo, samples
from cellchain.clinic.models import TreatmentCourse
from cellchain.core import clock
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url", [reverse("clinic:home"), "/api/clinic/courses", "/api/clinic/follow-up/overdue"]
)
def test_overview_queries_do_not_grow_with_the_number_of_courses(
    world: Any, client_for: Any, url: str
) -> None:
    demo.load(world, password=PERSONA_PASSWORD)
    client = client_for("nurse_wang")
    count(client, url)  # warm caches (content types, sessions)
    with_ten = count(client, url)
    before = TreatmentCourse.objects.count()  # the demo's stories, Nordcell's journey 0020 among them
    more_infused_courses(world)
    assert TreatmentCourse.objects.count() == before + 2
    assert count(client, url) == with_ten


def more_infused_courses(world: Any) -> None:
    """Two more courses infused days ago, through the same services as the demo."""
    product, site = TreatmentCourse.objects.first().product, world.sites["xiehe-main"]  # type: ignore[union-attr]
    now = clock.now().replace(second=0, microsecond=0)
    for number in (11, 12):
        start = now - dt.timedelta(days=number - 8)
        with clock.frozen(start - dt.timedelta(days=6)):
            course = samples.course(
                world["coordinator_zhou"],
                site,
                product,
                number,
                physician=world["physician_wang"],
                infusion_in_days=6,
            )
        demo._infuse(world, course, number, start, PERSONA_PASSWORD, 20)
