"""Scanned custody hand-offs: verdict, state change, identity incident and QA notice (G-4, T-10.4, T-10.6).

A scan that does not match is recorded as a blocked custody event and nothing moves; an identity incident
(another unit, another patient, a label whose COI disagrees, an unknown DIN) also opens an identity deviation
that notifies the site's QA and the manufacturer's QA (REGULATORY item 37). The start of manufacture is the
last step: manufacturing's batch start calls :func:`unit_manufacture_start` in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from cellchain.accounts.models import Site
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from cellchain.domain.custody import (
    CustodyStep,
    CustodyUnit,
    CustodyVerdict,
    UnitState,
    custody_scan_verdict,
)
from cellchain.journeys import messages
from cellchain.journeys.models import CustodyEvent, StoragePosition, Unit
from cellchain.ledger.records import record_amend, record_create
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_open, identity_deviation_tell_manufacturer
from cellchain.signatures.services import SignerCredentials, two_person_check


def unit_to_domain(unit: Unit) -> CustodyUnit:
    """The custody view of a unit row (STYLE habit 3: one conversion at the edge)."""
    return CustodyUnit(
        din=unit.din,
        coi=unit.journey.coi,
        state=UnitState(unit.state),
        site=str(unit.site_id),
        destination_site=str(unit.destination_site_id) if unit.destination_site_id else None,
        last_step=CustodyStep(unit.last_step) if unit.last_step else None,
    )


def _lookup(din: str) -> CustodyUnit | None:
    unit = Unit.objects.select_related("journey").filter(din=din).first()
    return unit_to_domain(unit) if unit else None


@dataclass(frozen=True)
class ScanDetails:
    """What a step needs besides the scan: a shipper to pack into, a storage position, the unit's condition."""

    shipper_code: str = ""
    storage_position: StoragePosition | None = None
    condition: str = ""


def _check_details(step: CustodyStep, unit: Unit, site: Site, details: ScanDetails) -> None:
    if step is CustodyStep.PACK and not details.shipper_code.strip():
        raise ValidationFailed("Packing needs the shipper's code (scan the shipper).", field="shipper_code")
    if step is CustodyStep.STORE:
        position = details.storage_position
        if position is None:
            raise ValidationFailed("Storing needs a storage position.", field="storage_position")
        if position.site_id != site.pk:
            raise ValidationFailed(f"Position {position.label} is at another site.", field="storage_position")
        occupant = Unit.objects.filter(storage_position=position).exclude(pk=unit.pk).first()
        if occupant is not None:
            raise Conflict(f"Position {position.label} already holds unit {occupant.din}.")


def _move(unit: Unit, step: CustodyStep, verdict: CustodyVerdict, details: ScanDetails) -> None:
    assert verdict.next_state is not None
    unit.state = verdict.next_state.value
    unit.last_step = step.value
    if step is CustodyStep.PACK:
        unit.shipper_code = details.shipper_code.strip()
    if step is CustodyStep.RECEIVE_AT_MANUFACTURER:
        unit.site = unit.destination_site
    if step is CustodyStep.STORE:
        unit.storage_position = details.storage_position
    if step is CustodyStep.RETRIEVE:
        unit.storage_position = None


def _incident(actor: Any, site: Site, unit: Unit, event: CustodyEvent, verdict: CustodyVerdict) -> str:
    reasons = "; ".join(reason.message for reason in verdict.reasons)
    deviation = deviation_open(
        actor=actor, site=site, kind=Deviation.Kind.IDENTITY, subject=event,
        title=f"Identity mismatch at {verdict.step.value} of {unit.din}",
        description=f"Scanned {verdict.scanned_text!r} at {site.name}; expected unit {unit.din} "
                    f"of journey {unit.journey.coi}. {reasons}",
    )  # fmt: skip
    identity_deviation_tell_manufacturer(
        actor=actor, deviation=deviation, manufacturer=unit.journey.manufacturer_site, about=unit.journey.coi
    )
    return deviation.number


@transaction.atomic
def unit_custody_scan(
    *,
    actor: Any,
    unit: Unit,
    step: CustodyStep,
    scanned_text: str,
    details: ScanDetails | None = None,
) -> CustodyEvent:
    """Scan ``unit`` at ``step`` where the actor works; record the event; move the unit only on a match (G-4).

    Returns the event: ``event.verdict`` says whether the step went ahead; a blocked event carries its reasons
    and, for an identity incident, the number of the identity deviation opened.
    """
    if step is CustodyStep.START_MANUFACTURE:
        raise NotAllowed(
            f"Unit {unit.din}: manufacture starts when the batch is started from it in manufacturing, "
            "not from the custody scan.",
            field="step",
        )
    return _custody_scan(actor, unit, step, scanned_text, details or ScanDetails())


@transaction.atomic
def unit_manufacture_start(*, actor: Any, din: str, scanned_text: str, batch_number: str) -> CustodyEvent:
    """Batch ``batch_number`` was started from the apheresis unit ``din``: the unit's journey records the
    scan and the unit is consumed (P-1-a, G-4, T-10.4).

    Called by manufacturing's batch start inside its transaction. A unit whose custody state forbids the
    step (still in storage, not received, already consumed) or a scan the custody rules refuse raises
    Conflict, so the batch is not started either.
    """
    unit = Unit.objects.filter(din=din).first()
    if unit is None:
        raise NotFound(f"No collected apheresis unit has the identifier {din}.", field="scan")
    details = ScanDetails(condition=f"taken into batch {batch_number}")
    event = _custody_scan(actor, unit, CustodyStep.START_MANUFACTURE, scanned_text, details)
    if event.verdict != CustodyEvent.Verdict.MATCH:
        reasons = "; ".join(reason["message"] for reason in event.reasons)
        raise Conflict(f"Unit {din} cannot go into batch {batch_number}: {reasons}.", field="scan")
    return event


def _custody_scan(
    actor: Any, unit: Unit, step: CustodyStep, scanned_text: str, details: ScanDetails
) -> CustodyEvent:
    site = actor.site
    if site is None:
        raise NotAllowed("Scanning needs a user attached to a site.")
    unit = (
        Unit.objects.select_for_update()
        .select_related("journey", "journey__manufacturer_site")
        .get(pk=unit.pk)
    )
    verdict = custody_scan_verdict(
        step=step,
        scanned_text=scanned_text.strip()[:120],
        site=str(site.pk),
        expected=unit_to_domain(unit),
        lookup=_lookup,
    )
    if verdict.matched:
        _check_details(step, unit, site, details)
        _move(unit, step, verdict, details)
        record_amend(
            actor=actor,
            record=unit,
            event=f"unit:{step.value}",
            reason=f"scan matched at {site.code}"
            + (f": {details.condition}" if step is CustodyStep.START_MANUFACTURE else ""),
        )
    verdict_value = CustodyEvent.Verdict.MATCH if verdict.matched else CustodyEvent.Verdict.BLOCKED
    event = record_create(
        actor=actor,
        record=CustodyEvent(
            journey=unit.journey,
            unit=unit,
            step=step.value,
            site=site,
            actor=actor,
            at=clock.now(),
            scanned_text=scanned_text.strip()[:120],
            scanned_din=verdict.scanned_din or "",
            verdict=verdict_value,
            reasons=[
                {"fault": r.fault.value, "found": r.found, "expected": r.expected, "message": r.message}
                for r in verdict.reasons
            ],
            state_after=unit.state,
            storage_position=details.storage_position if verdict.matched else None,
            shipper_code=details.shipper_code.strip() if verdict.matched else "",
            condition=details.condition,
        ),
        event="unit:scan",
        extra={"verdict": verdict_value, "step": step.value},
    )
    if verdict.is_identity_incident:
        event.deviation_number = _incident(actor, site, unit, event, verdict)
        record_amend(
            actor=actor,
            record=event,
            event="unit:scan:incident",
            reason=f"identity deviation {event.deviation_number}",
            fields=["deviation_number"],
        )
    # issue 12 item 2: a unit handed to the courier is announced
    messages.custody_send(actor, unit, event)
    return event


@transaction.atomic
def unit_label_verify(
    *,
    unit: Unit,
    scanned_text: str,
    performer: SignerCredentials,
    verifier: SignerCredentials,
) -> CustodyEvent:
    """Labelling check (T-10.6, X-5): scan the printed label, then two qualified people sign it.

    A mismatching scan is recorded (and, as any identity incident, reported) without asking for signatures.
    """
    label = unit.label_prints.order_by("-print_number").first()
    if label is None:
        raise Conflict(f"Unit {unit.din} has no printed label to verify.")
    if performer.user.pk == verifier.user.pk:
        raise NotAllowed(
            "A two-person check needs two different people: the verifier cannot be the performer.",
            field="verifier",
        )
    event = unit_custody_scan(
        actor=performer.user, unit=unit, step=CustodyStep.LABEL, scanned_text=scanned_text
    )
    if event.verdict == CustodyEvent.Verdict.MATCH:
        two_person_check(record=label, performer=performer, verifier=verifier, qualification="labelling")
    return event


@transaction.atomic
def storage_position_create(
    *, actor: Any, site: Site, tank: str, rack: str, box: str, position: str
) -> StoragePosition:
    """Add a storage position (tank / rack / box / position) at a site (P-1.3.1-g)."""
    if actor.organisation_id != site.organisation_id:
        raise NotAllowed("Storage positions are added by the site's own staff.")
    row = StoragePosition(site=site, tank=tank, rack=rack, box=box, position=position)
    row.full_clean()
    record_create(actor=actor, record=row, event="storage_position:create")
    return row
