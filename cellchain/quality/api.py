"""JSON API: deviations and notifications."""

import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from cellchain.core.permissions import SIGNED_IN, requires
from cellchain.quality import selectors, services
from cellchain.quality.models import Deviation, Notification

router = Router(tags=["quality"])


class DeviationOut(Schema):
    id: int
    number: str
    kind: str
    status: str
    title: str
    description: str
    subject_type: str
    subject_id: str
    opened_at: dt.datetime
    disposition: str


class DispositionIn(Schema):
    investigation: str
    disposition: str
    capa: str = ""


class NotificationOut(Schema):
    id: int
    subject: str
    body: str
    subject_type: str
    subject_id: str
    sent_at: dt.datetime
    acknowledged_at: dt.datetime | None


@router.get("/deviations", response=list[DeviationOut])
@requires("quality.view_deviations")
def deviation_list(request: HttpRequest, status: str | None = None) -> list[Deviation]:
    items = selectors.deviations_visible_to(request.user)
    return list(items.filter(status=status) if status else items[:500])


@router.post("/deviations/{deviation_id}/disposition", response=DeviationOut)
@requires("quality.disposition_deviation")
def deviation_disposition(request: HttpRequest, deviation_id: int, payload: DispositionIn) -> Deviation:
    deviation = get_object_or_404(selectors.deviations_visible_to(request.user), pk=deviation_id)
    return services.deviation_disposition(actor=request.user, deviation=deviation, **payload.dict())


@router.get("/notifications", response=list[NotificationOut])
@requires(SIGNED_IN)
def notification_list(request: HttpRequest) -> list[Notification]:
    return list(selectors.notifications_for(request.user)[:300])


@router.post("/notifications/{notification_id}/acknowledge", response=NotificationOut)
@requires("quality.acknowledge_notification")
def notification_acknowledge(request: HttpRequest, notification_id: int) -> Notification:
    note = get_object_or_404(selectors.notifications_for(request.user), pk=notification_id)
    return services.notification_acknowledge(actor=request.user, notification=note)
