"""Courses, infusions, adverse events and identities for the study-record tests, written behind the ledger.

The study records only read clinic and journey rows: as in the metrics and review tests, rows written directly
(cellchain/metrics/tests/factories.py for journeys, collections, courses and infusions) let the query-count
pins grow the data tenfold.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from cellchain.clinic.models import AdverseEvent, TreatmentCourse
from cellchain.journeys.models import Journey, PatientIdentity
from cellchain.ledger.tests.behind import bulk_create_unledgered
from cellchain.metrics.tests.factories import Records

_numbers = itertools.count(1)


def infused(records: Records, count: int, at: dt.datetime) -> list[TreatmentCourse]:
    """`count` journeys at Xiehe, each collected, planned and infused at `at` (a minute apart)."""
    journeys = records.journeys("xiehe-main", [20] * count, infused_at=at)
    return list(TreatmentCourse.objects.filter(coi__in=[j.coi for j in journeys]).order_by("pk"))


def adverse_events(
    courses: list[TreatmentCourse],
    reporter: Any,
    at: dt.datetime,
    *,
    category: str,
    grade: int,
    serious: bool,
) -> list[AdverseEvent]:
    return bulk_create_unledgered(AdverseEvent, [
        AdverseEvent(number=f"AE-S-{next(_numbers):06d}", course=c, category=category, term=category.upper(),
                     description="test", onset_at=at, awareness_at=at, grade=grade, serious=serious,
                     relation="related", reported_by=reporter)
        for c in courses
    ])  # fmt: skip


def identities(journeys: list[Journey]) -> list[PatientIdentity]:
    return bulk_create_unledgered(PatientIdentity, [
        PatientIdentity(journey=j, name=f"张三 {j.pk}", birth_date=dt.date(1970, 1, 1),
                        hospital_record_number=f"HRN-{j.pk}", wristband_id=f"WBX-{j.coi}",
                        identity_digest="0" * 64)
        for j in journeys
    ])  # fmt: skip
