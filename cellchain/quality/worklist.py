"""Worklist lines of the quality context: open deviations and unread notifications (issue 14 item 1; T-6.4-f)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.core.worklist import WorkDay, WorkItem, due_counts
from cellchain.quality import selectors
from cellchain.quality.models import Deviation

# An open deviation is shown as late once it has waited this long for its disposition; 30 days is the usual
# GMP expectation for closing an investigation (EU GMP chapter 1.4 (xiv) asks for timely investigation).
DISPOSITION_EXPECTED_WITHIN = dt.timedelta(days=30)


def open_deviations(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Deviations of the organisation not yet dispositioned; late after 30 days (T-6.4-f)."""
    waiting = selectors.deviations_visible_to(user).filter(
        status=Deviation.Status.OPEN, voided_at__isnull=True
    )
    count, late = due_counts(waiting, "opened_at", day.now, day.now - DISPOSITION_EXPECTED_WITHIN)
    yield WorkItem(
        "quality.open_deviations",
        _("Open deviations awaiting disposition"),
        count,
        reverse("quality:deviations") + "?status=open",
        late,
        "T-6.4-f",
    )


def unread_notifications(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Notifications to the user's organisation, site or role not yet acknowledged (T-7.6)."""
    yield WorkItem(
        "quality.notifications",
        _("Notifications to acknowledge"),
        selectors.unacknowledged_count(user),
        reverse("quality:notifications"),
        clause="T-7.6",
    )
