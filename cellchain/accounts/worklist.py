"""Worklist lines of people and competence: qualifications that expire soon (issue 14 item 1; T-5.2.11)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import Max, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.accounts.models import Qualification
from cellchain.core.worklist import WorkDay, WorkItem, date_due_line

# Renewing a licence or a training takes weeks: the line appears two months ahead.
QUALIFICATION_NOTICE = dt.timedelta(days=60)


def _latest(qualifications: QuerySet[Qualification]) -> QuerySet[Any]:
    """The last valid-until date (`last`) of each (person, code): a renewal hides the old expiry."""
    return (
        qualifications.filter(revoked_at__isnull=True, voided_at__isnull=True)
        .order_by()  # the model's ordering would join the GROUP BY and keep every row apart
        .values("user_id", "code")
        .annotate(last=Max("valid_until"))
    )


def my_qualifications(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """The user's own qualifications expiring within 60 days or expired (T-5.2.11, T-5.3.x)."""
    yield date_due_line(
        "accounts.my_qualifications",
        _("Your qualifications expiring or expired"),
        _latest(Qualification.objects.filter(user_id=user.pk)),
        "last",
        QUALIFICATION_NOTICE,
        day,
        reverse("accounts:profile"),
        "T-5.2.11",
    )


def site_qualifications(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Qualifications of the active people of the administrator's site expiring or expired (T-5.2.11)."""
    yield date_due_line(
        "accounts.site_qualifications",
        _("Staff qualifications expiring or expired"),
        _latest(Qualification.objects.filter(user__site_id=user.site_id, user__is_active=True)),
        "last",
        QUALIFICATION_NOTICE,
        day,
        reverse("accounts:people"),
        "T-5.2.11",
    )
