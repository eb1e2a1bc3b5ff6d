"""Fixtures of the study-record tests: a fixed clock and three infused subjects at Xiehe with their AEs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.metrics.tests.factories import Records
from cellchain.studies.tests import factories

NOW = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)
SINCE, UNTIL = dt.date(2026, 6, 1), dt.date(2026, 6, 30)
INFUSED_AT = NOW - dt.timedelta(days=5)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def records(world: Any) -> Records:
    return Records(world, NOW)


@pytest.fixture
def subjects(world: Any, records: Records) -> list[Any]:
    """Three infused subjects: CRS grade 1 and 3 in the first, CRS grade 2 (serious) in the second, ICANS 1
    in the third."""
    courses = factories.infused(records, 3, INFUSED_AT)
    doctor, at = world["physician_wang"], INFUSED_AT + dt.timedelta(days=1)
    factories.adverse_events(courses[:1], doctor, at, category="crs", grade=1, serious=False)
    factories.adverse_events(courses[:1], doctor, at, category="crs", grade=3, serious=False)
    factories.adverse_events(courses[1:2], doctor, at, category="crs", grade=2, serious=True)
    factories.adverse_events(courses[2:], doctor, at, category="icans", grade=1, serious=False)
    return courses
