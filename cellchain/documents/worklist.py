"""Worklist lines of the controlled documents: reviews due within 30 days or overdue (T-6.4), and the user's
read-and-understood training on the SOPs of the steps, in force or taking effect within 14 days (T-6.1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.core.worklist import WorkDay, WorkItem
from cellchain.documents import selectors

REVIEW_NOTICE = dt.timedelta(days=30)
TRAINING_NOTICE = dt.timedelta(days=14)


def reviews_due(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Documents whose version in force is due for its periodic review within 30 days; late once past (T-6.4)."""
    rows = [r for r in selectors.register(user, day.today) if r.review_due is not None]
    due = [r for r in rows if r.review_due is not None and r.review_due <= day.today + REVIEW_NOTICE]
    yield WorkItem(
        "documents.reviews_due",
        _("Controlled documents due for review"),
        len(due),
        reverse("documents:index") + "?overdue=1",
        sum(1 for r in due if r.overdue),
        "T-6.4",
    )


def my_training(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """SOP versions governing a step at the user's site that they have not signed read-and-understood (T-6.1);
    late when the version is already in force (the step is refused to them)."""
    due = selectors.training_due(user, day.today, day.today + TRAINING_NOTICE)
    yield WorkItem(
        "documents.my_training",
        _("SOP versions to read and sign"),
        len(due),
        reverse("documents:index") + "?training=1",
        sum(1 for v in due if v.effective_from <= day.today),
        "T-6.1",
    )
