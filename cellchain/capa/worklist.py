"""Worklist line of the CAPA context: the user's own open CAPA actions due within 14 days or late (T-9.3.2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.capa.models import CapaAction
from cellchain.core.worklist import WorkDay, WorkItem, date_due_line

NOTICE = dt.timedelta(days=14)


def my_actions(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Open actions the user owns, due within 14 days; late once past their due date (T-9.3.2 "timely")."""
    rows = CapaAction.objects.filter(owner=user, status=CapaAction.Status.OPEN, voided_at__isnull=True)
    yield date_due_line(
        "capa.my_actions",
        _("My CAPA actions due"),
        rows,
        "due_on",
        NOTICE,
        day,
        reverse("capa:index"),
        "T-9.3.2",
    )
