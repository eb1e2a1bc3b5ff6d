"""Worklist lines of manufacturing: batches in process, apheresis units waiting, equipment and materials due
(issue 14 item 1; T-10.12, T-5.1.9)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.core.worklist import WorkDay, WorkItem, date_due_line
from cellchain.manufacturing import selectors
from cellchain.manufacturing.models import Batch

# Calibration, maintenance and material expiry are planned a month ahead.
EQUIPMENT_NOTICE = dt.timedelta(days=30)
MATERIAL_NOTICE = dt.timedelta(days=30)


def batches_in_process(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Batches of the organisation still being made."""
    count = selectors.batches_visible_to(user).filter(status=Batch.Status.IN_PROCESS).count()
    yield WorkItem(
        "manufacturing.in_process", _("Batches in process"), count, reverse("manufacturing:batches")
    )


def intakes_waiting(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Apheresis units received and not yet started as a batch (P-1.3)."""
    count = selectors.intakes_visible_to(user).filter(batch__isnull=True, voided_at__isnull=True).count()
    yield WorkItem(
        "manufacturing.intakes_waiting",
        _("Apheresis units waiting for a batch start"),
        count,
        reverse("manufacturing:intakes"),
        clause="P-1.3",
    )


def equipment_due(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Equipment whose calibration or maintenance falls due within 30 days, or is overdue (T-10.12)."""
    equipment, url = selectors.equipment_visible_to(user), reverse("manufacturing:equipment")
    for field, key, label in (
        ("calibration_due", "manufacturing.calibration_due", _("Equipment calibration due")),
        ("maintenance_due", "manufacturing.maintenance_due", _("Equipment maintenance due")),
    ):
        yield date_due_line(key, label, equipment, field, EQUIPMENT_NOTICE, day, url, "T-10.12")


def materials_expiring(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Material lots expiring within 30 days or expired, still on the shelf (T-5.1.9)."""
    yield date_due_line(
        "manufacturing.materials_expiring",
        _("Material lots expiring or expired"),
        selectors.lots_all(),
        "expires_on",
        MATERIAL_NOTICE,
        day,
        reverse("manufacturing:batches"),
        "T-5.1.9",
    )
