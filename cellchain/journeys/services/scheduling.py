"""Apheresis and manufacturing slots; booking, moving and cancelling with a reason (P-T3-a, T-8.2.2-g)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cellchain.accounts.models import Site
from cellchain.core import clock
from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.domain.slot_booking import (
    BookingVerdict,
    StartingMaterial,
    apheresis_booking_verdict,
    booking_change_verdict,
    slot_capacity_reasons,
)
from cellchain.journeys.models import Booking, Journey, Slot
from cellchain.journeys.services.enrolment import consent_on_file
from cellchain.ledger.records import record_amend, record_create
from cellchain.quality.services import notification_send


def _refuse(verdict: BookingVerdict, field: str) -> None:
    if not verdict.allowed:
        reasons = "; ".join(reason.message for reason in verdict.reasons)
        raise ValidationFailed(
            f"Booking refused: {reasons}.", field=field,
            detail={"reasons": [r.fault.value for r in verdict.reasons]},
        )  # fmt: skip


@transaction.atomic
def slot_open(*, actor: Any, site: Site, kind: str, starts_at: dt.datetime, capacity: int) -> Slot:
    """Open a slot with a capacity at a site (apheresis at a hospital, manufacturing at the manufacturer)."""
    expected_manufacturer = kind == Slot.Kind.MANUFACTURING
    if site.organisation.is_manufacturer != expected_manufacturer:
        raise ValidationFailed(
            "Apheresis slots belong to hospitals, manufacturing slots to manufacturers.", field="site"
        )
    if actor.organisation_id != site.organisation_id:
        raise ValidationFailed("Slots are opened by the site's own staff.", field="site")
    slot = Slot(site=site, kind=kind, starts_at=starts_at, capacity=capacity)
    slot.full_clean()
    record_create(actor=actor, record=slot, event="slot:open")
    return slot


def _active_booking(journey: Journey, kind: str) -> Booking | None:
    return journey.bookings.filter(kind=kind, status=Booking.Status.BOOKED).select_related("slot").first()


def _booked_count(slot: Slot) -> int:
    return slot.bookings.filter(status=Booking.Status.BOOKED).count()


def _check_slot(journey: Journey, slot: Slot) -> None:
    """Lock the slot row so two bookings cannot both take its last place, then check the rules."""
    Slot.objects.select_for_update().filter(pk=slot.pk).first()
    if slot.kind == Slot.Kind.APHERESIS:
        if slot.site_id != journey.hospital_site_id:
            raise ValidationFailed("The apheresis slot is at another hospital site.", field="slot")
        manufacturing = _active_booking(journey, Slot.Kind.MANUFACTURING)
        verdict = apheresis_booking_verdict(
            capacity=slot.capacity, booked=_booked_count(slot), consent_on_file=consent_on_file(journey),
            starting_material=StartingMaterial(journey.starting_material), apheresis_at=slot.starts_at,
            manufacturing_start_at=manufacturing.slot.starts_at if manufacturing else None,
        )  # fmt: skip
    else:
        if slot.site_id != journey.manufacturer_site_id:
            raise ValidationFailed("The manufacturing slot is at another manufacturing site.", field="slot")
        verdict = BookingVerdict(
            slot_capacity_reasons(
                capacity=slot.capacity, booked=_booked_count(slot), what="manufacturing slot"
            )
        )
    _refuse(verdict, "slot")


@transaction.atomic
def booking_book(*, actor: Any, journey: Journey, slot: Slot) -> Booking:
    """Book ``journey`` into ``slot`` (P-T3-a: fresh apheresis needs its manufacturing slot first)."""
    if journey.status in (Journey.Status.WITHDRAWN, Journey.Status.NOT_ELIGIBLE, Journey.Status.ENROLLED):
        raise Conflict(f"Journey {journey.coi} is {journey.get_status_display()}: it cannot be booked.")
    if _active_booking(journey, slot.kind):
        raise Conflict(f"Journey {journey.coi} already has a {slot.kind} booking: move it instead.")
    _check_slot(journey, slot)
    booking = record_create(
        actor=actor,
        record=Booking(journey=journey, slot=slot, kind=slot.kind, booked_at=clock.now(), booked_by=actor),
        event=f"booking:{slot.kind}",
    )
    if slot.kind == Slot.Kind.APHERESIS and journey.status == Journey.Status.ELIGIBLE:
        journey.status = Journey.Status.SCHEDULED
        record_amend(
            actor=actor,
            record=journey,
            event="journey:schedule",
            reason="apheresis booked",
            fields=["status"],
        )
    return booking


def _notify_both(actor: Any, journey: Journey, subject: str, body: str) -> None:
    """T-8.2.2-g: both parties are told when a collection or manufacturing date changes."""
    for site in (journey.hospital_site, journey.manufacturer_site):
        notification_send(
            actor=actor, organisation=site.organisation, site=site, subject=subject, body=body, about=journey
        )


def _close(actor: Any, booking: Booking, status: str, reason: str) -> None:
    _refuse(booking_change_verdict(reason=reason), "reason")
    if booking.status != Booking.Status.BOOKED:
        raise Conflict(f"The booking is already {booking.get_status_display()}.")
    booking.status = status
    booking.change_reason = reason
    record_amend(
        actor=actor,
        record=booking,
        event=f"booking:{status}",
        reason=reason,
        fields=["status", "change_reason"],
    )


@transaction.atomic
def booking_move(*, actor: Any, booking: Booking, slot: Slot, reason: str) -> Booking:
    """Move a booking to another slot of the same kind, with a reason both parties see (T-8.2.2-g)."""
    if slot.kind != booking.kind:
        raise ValidationFailed("A booking moves only to a slot of the same kind.", field="slot")
    _close(actor, booking, Booking.Status.MOVED, reason)
    new = booking_book(actor=actor, journey=booking.journey, slot=slot)
    _notify_both(
        actor,
        booking.journey,
        f"{booking.journey.coi}: {booking.kind} moved",
        f"{booking.slot.starts_at:%Y-%m-%d %H:%M} -> {slot.starts_at:%Y-%m-%d %H:%M} UTC: {reason}",
    )
    return new


@transaction.atomic
def booking_cancel(*, actor: Any, booking: Booking, reason: str) -> Booking:
    """Cancel a booking with a reason; both parties are notified (T-8.2.2-g)."""
    _close(actor, booking, Booking.Status.CANCELLED, reason)
    _notify_both(actor, booking.journey, f"{booking.journey.coi}: {booking.kind} cancelled", reason)
    return booking
