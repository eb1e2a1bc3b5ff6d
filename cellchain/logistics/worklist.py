"""Worklist lines of logistics and hospital storage: shipments to send and receive, devices to calibrate, stock
near its expiry (issue 14 item 1; T-8.1.2, T-8.1.3-d, T-10.12)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.core.worklist import WorkDay, WorkItem, date_due_line
from cellchain.logistics import selectors
from cellchain.logistics.models import Shipment

DEVICE_NOTICE = dt.timedelta(days=30)
# The storage page's own watch window for units near expiry or their storage time limit.
STOCK_NOTICE = dt.timedelta(days=7)


def receipts_expected(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Shipments on their way to the user's site; those arrived wait for the receipt inspection (T-8.1.2)."""
    row = selectors.incoming_shipments(user).aggregate(
        expected=Count("pk"), arrived=Count("pk", filter=Q(status=Shipment.Status.ARRIVED))
    )
    yield WorkItem(
        "logistics.receipts_expected",
        _("Shipments expected (arrived ones await receipt inspection)"),
        row["expected"],
        reverse("logistics:shipments"),
        row["arrived"],
        "T-8.1.2",
    )


def shipments_to_send(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Shipments of the user's site being packed or packed and not yet handed over (T-7.7)."""
    count = Shipment.objects.filter(
        from_site_id=user.site_id, status__in=[Shipment.Status.PACKING, Shipment.Status.PACKED]
    ).count()
    yield WorkItem(
        "logistics.to_send", _("Shipments to pack and hand over"), count, reverse("logistics:shipments")
    )


def devices_due(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Temperature-monitoring devices whose calibration falls due within 30 days or is overdue (T-10.12)."""
    yield date_due_line(
        "logistics.devices_due",
        _("Temperature-monitoring devices to calibrate"),
        selectors.monitoring_devices_for(user).filter(in_service=True),
        "calibration_due",
        DEVICE_NOTICE,
        day,
        reverse("logistics:devices"),
        "T-10.12",
    )


def stock_expiring(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Units in stock within 7 days of expiry or of their storage time limit, or past one (T-8.1.3-d, T-7.7-e)."""
    watched = selectors.expiry_watch(user, STOCK_NOTICE, day.now)
    yield WorkItem(
        "logistics.stock_expiring",
        _("Units in stock near or past expiry"),
        len(watched),
        reverse("logistics:storage"),
        sum(1 for _event, entry in watched if entry.past),
        "T-8.1.3-d",
    )
