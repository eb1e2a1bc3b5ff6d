"""Worklist lines of QC and QA: batches to test, review and release (issue 14 item 1; Q-2, T-10.14)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.core.worklist import WorkDay, WorkItem
from cellchain.manufacturing.models import Batch
from cellchain.manufacturing.selectors import batches_visible_to


def _awaiting(user: Any) -> Any:
    return batches_visible_to(user).filter(status=Batch.Status.AWAITING_RELEASE)


def batches_to_test(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Batches awaiting QC release: results to enter (Q-2)."""
    yield WorkItem(
        "qc.to_test", _("Batches in QC testing"), _awaiting(user).count(), reverse("qc:batches"), clause="Q-2"
    )


def batches_to_review(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Batches awaiting release whose audit trail QA has not reviewed yet (T-10.14, REGULATORY item 21)."""
    count = _awaiting(user).filter(audit_reviews__isnull=True).count()
    yield WorkItem(
        "qc.to_review", _("Audit trails to review"), count, reverse("qc:batches"), clause="T-10.14"
    )


def batches_to_release(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Batches with a reviewed audit trail awaiting QA's release decision, and conditional releases still open
    (Q-2-b, Q-2.5-c)."""
    awaiting = _awaiting(user).filter(audit_reviews__isnull=False).distinct().count()
    yield WorkItem(
        "qc.to_release", _("Batches awaiting your release decision"), awaiting, reverse("qc:batches")
    )
    conditional = batches_visible_to(user).filter(status=Batch.Status.CONDITIONALLY_RELEASED).count()
    yield WorkItem(
        "qc.conditional",
        _("Conditionally released batches with results pending"),
        conditional,
        reverse("qc:batches"),
        clause="Q-2.5-c",
    )
