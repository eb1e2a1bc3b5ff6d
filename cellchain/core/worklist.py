"""The worklist: what is due or overdue for the signed-in user, gathered from every context (issue 14 item 1).

Each context registers its sources in `AppConfig.ready` with the permission that shows them, as it registers
its menu entries. A source answers with counts from a fixed number of queries, never with one query per row, so
the page a user lands on after signing in costs the same with ten journeys or ten thousand (issue 14,
performance; pinned by a query-count test that grows the data tenfold).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorkDay:
    """The moment the worklist is drawn: UTC now and the date at the user's site (X-2)."""

    now: dt.datetime
    today: dt.date
    time_zone: str = "UTC"

    def start_of_today(self) -> dt.datetime:
        """Midnight that began `today` at the user's site, for lines that count today's appointments."""
        from zoneinfo import ZoneInfo

        return dt.datetime.combine(self.today, dt.time.min, tzinfo=ZoneInfo(self.time_zone))


@dataclass(frozen=True)
class WorkItem:
    """One line of the worklist: how many records need the user, how many of those are late, where to act.

    `key` is stable (`<context>.<what>`) for the JSON answer and tests; `label` is translated for the page.
    """

    key: str
    label: str
    count: int
    url: str
    overdue: int = 0
    clause: str = ""


WorkSource = Callable[[Any, WorkDay], Iterable[WorkItem]]


@dataclass(frozen=True)
class _Registered:
    permissions: tuple[str, ...]
    source: WorkSource
    order: int


_SOURCES: list[_Registered] = []


def register_worklist(permissions: str | tuple[str, ...], source: WorkSource, order: int = 100) -> None:
    """Add a source once (called from AppConfig.ready); a user holding any of `permissions` sees its lines."""
    entry = _Registered((permissions,) if isinstance(permissions, str) else permissions, source, order)
    if entry not in _SOURCES:
        _SOURCES.append(entry)


def work_day(user: Any) -> WorkDay:
    """Now, and today's date in the zone of the user's site (UTC for a user without a site)."""
    from cellchain.core import clock

    zone = getattr(getattr(user, "site", None), "time_zone", None) or "UTC"
    return WorkDay(clock.now(), clock.today(zone), zone)


def worklist_for(user: Any, day: WorkDay | None = None) -> list[WorkItem]:
    """The lines with something to do for `user`, overdue first, then in menu order (issue 14 item 1)."""
    from cellchain.core.permissions import has_permission

    day = day or work_day(user)
    items = [
        item
        for entry in sorted(_SOURCES, key=lambda e: e.order)
        if any(has_permission(user, permission) for permission in entry.permissions)
        for item in entry.source(user, day)
        if item.count
    ]
    # A stable sort: overdue lines first, each group still in menu order.
    return sorted(items, key=lambda item: item.overdue == 0)


def due_counts(queryset: Any, field: str, horizon: Any, late_before: Any) -> tuple[int, int]:
    """How many rows fall due by `horizon` and how many of those are already late, in one query.

    `field` is a date or time column (or a grouped annotation); a row is late when it is before
    `late_before` (today, or now). Rows are counted by `field` itself, not by the key: over a grouped
    queryset a key would join the GROUP BY and split the groups again.
    """
    from django.db.models import Count, Q

    row = queryset.aggregate(
        due=Count(field, filter=Q(**{f"{field}__lte": horizon})),
        late=Count(field, filter=Q(**{f"{field}__lt": late_before})),
    )
    return row["due"], row["late"]


def date_due_line(
    key: str, label: str, rows: Any, field: str, notice: dt.timedelta, day: WorkDay, url: str, clause: str
) -> WorkItem:
    """The line for rows whose date `field` falls within `notice` of the site's today; late once it has passed.

    Rows without a date (no calibration planned, no expiry) are not counted.
    """
    dated = rows.filter(**{f"{field}__isnull": False})
    count, late = due_counts(dated, field, day.today + notice, day.today)
    return WorkItem(key, label, count, url, late, clause)
