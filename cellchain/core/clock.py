"""The server clock: the one place time is read (X-2, REGULATORY item 8). Tests freeze it with `frozen`."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

_frozen: list[dt.datetime] = []


def now() -> dt.datetime:
    """Return the current server time, aware, in UTC."""
    if _frozen:
        return _frozen[-1]
    return timezone.now()


@contextlib.contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    """Pin `now()` to `at` inside the block (tests and time-travel checks only)."""
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    _frozen.append(at)
    try:
        yield
    finally:
        _frozen.pop()


def today(time_zone: str) -> dt.date:
    """Today's date where the user is: the site's zone, not UTC (X-2).

    Shanghai's date runs eight hours ahead of UTC's: comparing a date the nurse typed, or a D1-D7 day, with
    the UTC date refused today's entries between 00:00 and 08:00 local time as "in the future".
    """
    from zoneinfo import ZoneInfo

    return now().astimezone(ZoneInfo(time_zone)).date()
