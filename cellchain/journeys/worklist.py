"""Worklist line of the journey: apheresis collections booked today at the user's site (issue 14 item 1; P-1.3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.core.worklist import WorkDay, WorkItem
from cellchain.journeys.models import Booking, Slot


def collections_today(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Apheresis bookings at the user's site starting today, the site's date (P-1.3, X-2)."""
    start = day.start_of_today()
    count = Booking.objects.filter(
        slot__site_id=user.site_id,
        slot__kind=Slot.Kind.APHERESIS,
        slot__starts_at__gte=start,
        slot__starts_at__lt=start + dt.timedelta(days=1),
        status=Booking.Status.BOOKED,
        voided_at__isnull=True,
    ).count()
    yield WorkItem(
        "journeys.collections_today",
        _("Apheresis collections booked today"),
        count,
        reverse("journeys:list"),
        clause="P-1.3",
    )
