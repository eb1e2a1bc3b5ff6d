"""Deviations, CAPA and adverse events for the review tests, written in bulk behind the ledger.

The reviews only read; as in the metrics tests (cellchain/metrics/tests/factories.py, reused here for the
journeys, batches and receipts), rows written directly let the query-count pins grow the data tenfold.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from cellchain.clinic.models import (
    AdverseEvent,
    CorrectiveAction,
    ProtocolDeviationReport,
    ReportingDuty,
    TreatmentCourse,
)
from cellchain.ledger.tests.behind import bulk_create_unledgered
from cellchain.quality.models import Deviation

_numbers = itertools.count(1)


def deviations(
    site: Any,
    opened_at: dt.datetime,
    count: int = 1,
    *,
    kind: str = "process",
    closed_at: dt.datetime | None = None,
) -> list[Deviation]:
    return bulk_create_unledgered(Deviation, [
        Deviation(number=f"DEV-T-{next(_numbers):06d}", kind=kind, title="test deviation", description="test",
                  site=site, opened_at=opened_at, closed_at=closed_at,
                  status="closed" if closed_at else "open")
        for _ in range(count)
    ])  # fmt: skip


def capa(found: list[Deviation], owner: Any, due: dt.date) -> list[CorrectiveAction]:
    reports = bulk_create_unledgered(ProtocolDeviationReport, [
        ProtocolDeviationReport(deviation=d, occurred_on=d.opened_at.date()) for d in found
    ])  # fmt: skip
    return bulk_create_unledgered(CorrectiveAction, [
        CorrectiveAction(report=r, description="retrain staff", owner=owner, due=due) for r in reports
    ])  # fmt: skip


def adverse_events(
    site: Any, reporter: Any, awareness_at: dt.datetime, grade: int, serious: bool
) -> list[Any]:
    """One adverse event on each treatment course of the site, with an unsent report due a day after."""
    courses = list(TreatmentCourse.objects.filter(site=site))
    events = bulk_create_unledgered(AdverseEvent, [
        AdverseEvent(number=f"AE-T-{next(_numbers):06d}", course=c, category="crs", term="CRS",
                     description="fever", onset_at=awareness_at, awareness_at=awareness_at, grade=grade,
                     serious=serious, relation="related", reported_by=reporter)
        for c in courses
    ])  # fmt: skip
    bulk_create_unledgered(ReportingDuty, [
        ReportingDuty(event=e, duty="manufacturer", recipient="manufacturer",
                      due_at=awareness_at + dt.timedelta(days=1), basis="T-7.10-b")
        for e in events
    ])  # fmt: skip
    return events
