"""Worklist lines of the clinic: infusions planned today, thawed units on the clock, adverse-event reports with
their clocks, D1-D7 monitoring and follow-up visits missed (issue 14 item 1; T-7.8-a, T-7.10-b, T-9.2.6, T-9.2.8)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.clinic import selectors
from cellchain.core.worklist import WorkDay, WorkItem


def infusions_today(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Courses whose planned infusion window includes today and that have no infusion yet (T-9.2.2)."""
    count = (
        selectors.courses_visible_to(user)
        .filter(infusion_window_start__lte=day.today, infusion_window_end__gte=day.today)
        .exclude(infusions__voided_at__isnull=True)
        .count()
    )
    yield WorkItem(
        "clinic.infusions_today",
        _("Infusions planned today (thaw, bedside check, infusion)"),
        count,
        reverse("clinic:home"),
        clause="T-9.2.2",
    )


def thawed_units(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Thawed or diluted units running against their use-by time; past it, late (T-7.8-a, T-8.2.4-c)."""
    countdowns = selectors.running_countdowns(user, day.now)
    yield WorkItem(
        "clinic.thawed_units",
        _("Thawed units to infuse before their use-by time"),
        len(countdowns),
        reverse("clinic:home"),
        sum(1 for c in countdowns if c.expired),
        "T-7.8-a",
    )


def reports_due(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Adverse-event reports not yet sent; late once their clock has run out (T-7.10-b, REGULATORY item 50)."""
    row = (
        selectors.duties_visible_to(user)
        .filter(sent_at__isnull=True)
        .aggregate(open=Count("pk"), late=Count("pk", filter=Q(due_at__lt=day.now)))
    )
    yield WorkItem(
        "clinic.reports_due",
        _("Adverse-event reports to send"),
        row["open"],
        reverse("clinic:reporting"),
        row["late"],
        "T-7.10-b",
    )


def monitoring_missed(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """D1-D7 intensive-monitoring days past without a record (T-9.2.6-2)."""
    missed = len(selectors.overdue_monitoring(user, day.today))
    yield WorkItem(
        "clinic.monitoring_missed",
        _("D1-D7 monitoring days missed"),
        missed,
        reverse("clinic:home"),
        missed,
        "T-9.2.6-2",
    )


def follow_up_missed(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Follow-up visits past their window without a record (T-9.2.8-2)."""
    missed = len(selectors.overdue_follow_up(user, day.today))
    yield WorkItem(
        "clinic.follow_up_missed",
        _("Follow-up visits overdue"),
        missed,
        reverse("clinic:follow_up"),
        missed,
        "T-9.2.8-2",
    )
