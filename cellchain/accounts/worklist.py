"""Worklist lines of people and competence: qualifications that expire soon (issue 14 item 1; T-5.2.11)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import Max, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.accounts.models import Qualification
from cellchain.core.worklist import WorkDay, WorkItem, due_counts

# Renewing a licence or a training takes weeks: the line appears two months ahead.
QUALIFICATION_NOTICE = dt.timedelta(days=60)


def _expiring(qualifications: QuerySet[Qualification], day: WorkDay) -> tuple[int, int]:
    """Expiring and expired (person, code) pairs; a renewal (a later valid-until of the same code) hides the old."""
    latest = (
        qualifications.filter(revoked_at__isnull=True, voided_at__isnull=True)
        .order_by()  # the model's ordering would join the GROUP BY and keep every row apart
        .values("user_id", "code")
        .annotate(last=Max("valid_until"))
    )
    return due_counts(latest, "last", day.today + QUALIFICATION_NOTICE, day.today)


def my_qualifications(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """The user's own qualifications expiring within 60 days or expired (T-5.2.11, T-5.3.x)."""
    count, late = _expiring(Qualification.objects.filter(user_id=user.pk), day)
    yield WorkItem(
        "accounts.my_qualifications",
        _("Your qualifications expiring or expired"),
        count,
        reverse("accounts:profile"),
        late,
        "T-5.2.11",
    )


def site_qualifications(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Qualifications of the active people of the administrator's site expiring or expired (T-5.2.11)."""
    people = Qualification.objects.filter(user__site_id=user.site_id, user__is_active=True)
    count, late = _expiring(people, day)
    yield WorkItem(
        "accounts.site_qualifications",
        _("Staff qualifications expiring or expired"),
        count,
        reverse("accounts:people"),
        late,
        "T-5.2.11",
    )
