"""Screening, physician decisions and the apheresis collection record (P-1.3.1-a/b/c, P-T2-a, T-10.6)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from cellchain.accounts.services import require_qualification
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.documents.services import sop_version_link
from cellchain.domain import apheresis as rules
from cellchain.domain.apheresis import (
    MNC_TARGET_DEFAULT,
    Marker,
    PhysicianDecision,
    PhysicianDecisionKind,
    ProcedureParameters,
    ScreeningOutcome,
    ScreeningVerdict,
    apheresis_screening_verdict,
    mnc_assessment,
    procedure_problems,
)
from cellchain.domain.slot_booking import StartingMaterial
from cellchain.journeys.models import Collection, Journey, ScreeningDecision, ScreeningResult, Unit
from cellchain.journeys.services.enrolment import eligibility_required
from cellchain.journeys.services.holds import journey_step_allowed
from cellchain.journeys.services.identifiers import din_next
from cellchain.journeys.services.sites import collection_site_required
from cellchain.ledger.records import record_amend, record_create
from cellchain.ledger.services import ledger_append


def _require_hospital(actor: Any, journey: Journey) -> None:
    if not actor.is_hospital_user or actor.organisation_id != journey.hospital_site.organisation_id:
        raise NotAllowed("Only staff of the patient's hospital may record this.")


@transaction.atomic
def screening_result_record(
    *, actor: Any, journey: Journey, marker: str, outcome: str, tested_on: dt.date
) -> ScreeningResult:
    """Record one infectious-disease marker result (P-1.3.1-a)."""
    _require_hospital(actor, journey)
    if marker not in Marker.__members__.values() or outcome not in ScreeningOutcome.__members__.values():
        raise ValidationFailed(f"Unknown marker or outcome: {marker!r}, {outcome!r}.", field="marker")
    if tested_on > clock.now().date():
        raise ValidationFailed("A test result cannot be dated in the future.", field="tested_on")
    result = record_create(
        actor=actor,
        record=ScreeningResult(
            journey=journey, marker=marker, outcome=outcome, tested_on=tested_on, recorded_by=actor
        ),
        event="screening:result",
    )
    return result


@transaction.atomic
def screening_decide(
    *, actor: Any, journey: Journey, active_infection: bool, decision: str, reason: str
) -> ScreeningDecision:
    """A physician's proceed/postpone decision on reactive results or active infection (P-1.3.1-b)."""
    _require_hospital(actor, journey)
    if "physician" not in actor.current_roles():
        raise NotAllowed("Only a physician may decide whether apheresis proceeds.")
    if decision not in PhysicianDecisionKind.__members__.values():
        raise ValidationFailed(f"Decision must be proceed or postpone, not {decision!r}.", field="decision")
    if not reason.strip():
        raise ValidationFailed("The decision needs a reason.", field="reason")
    row = record_create(
        actor=actor,
        record=ScreeningDecision(
            journey=journey,
            active_infection=active_infection,
            decision=decision,
            reason=reason,
            decided_at=clock.now(),
            physician=actor,
        ),
        event="screening:decide",
    )
    return row


def screening_verdict(journey: Journey, collection_day: dt.date) -> ScreeningVerdict:
    """The screening gate for ``journey`` from its latest results and decision (P-1.3.1-a/b)."""
    latest: dict[str, ScreeningResult] = {}
    for result in journey.screening_results.filter(voided_at__isnull=True).order_by("tested_on", "pk"):
        latest[result.marker] = result
    results = tuple(
        rules.ScreeningResult(Marker(r.marker), ScreeningOutcome(r.outcome), r.tested_on)
        for r in latest.values()
    )
    row = journey.screening_decisions.filter(voided_at__isnull=True).order_by("-decided_at", "-pk").first()
    decision = (
        PhysicianDecision(PhysicianDecisionKind(row.decision), row.reason, row.physician.printed_name)
        if row
        else None
    )
    return apheresis_screening_verdict(
        results,
        collection_date=collection_day,
        active_infection=bool(row and row.active_infection),
        decision=decision,
    )


@dataclass(frozen=True)
class CollectionInput:
    """What the apheresis operator records (P-T2-a)."""

    collected_at: dt.datetime
    anticoagulant_ratio: int
    processed_blood_volume_ml: int
    cycles: int
    collected_volume_ml: int
    mnc_count: Decimal
    starting_material: str
    bag_volumes_ml: tuple[int, ...]
    pre_assessment: str = ""
    mnc_target: tuple[Decimal, Decimal] = MNC_TARGET_DEFAULT


def _validate(data: CollectionInput) -> None:
    problems = procedure_problems(
        ProcedureParameters(
            data.anticoagulant_ratio, data.processed_blood_volume_ml, data.cycles, data.collected_volume_ml
        )
    )
    if problems:
        raise ValidationFailed(
            "Procedure parameters out of range: " + "; ".join(problems) + ".",
            field="parameters",
            detail={"problems": list(problems)},
        )
    if data.starting_material not in StartingMaterial.__members__.values():
        raise ValidationFailed(
            f"Unknown starting material {data.starting_material!r}.", field="starting_material"
        )
    if not data.bag_volumes_ml or any(v <= 0 for v in data.bag_volumes_ml):
        raise ValidationFailed("Each collected bag needs a positive volume.", field="bag_volumes_ml")
    if data.collected_at > clock.now():
        raise ValidationFailed("The collection time cannot be in the future.", field="collected_at")


def collection_record(*, actor: Any, journey: Journey, data: CollectionInput) -> Collection:
    """Record an apheresis collection and issue a DIN per bag (P-1.3.1-a gate, P-T2-a, T-10.6).

    Refused without every required screening result, with an undecided reactive result or active infection,
    or when the operator lacks a valid apheresis qualification. A screening refusal is itself recorded in
    the ledger (its own transaction, committed before the refusal is raised) so the attempt is auditable.
    """
    try:
        return _collection_create(actor=actor, journey=journey, data=data)
    except ValidationFailed as error:
        if error.field == "screening":
            _collection_refusal_record(actor, journey, error)
        raise


@transaction.atomic
def _collection_refusal_record(actor: Any, journey: Journey, error: ValidationFailed) -> None:
    locked = Journey.objects.select_for_update().get(pk=journey.pk)
    ledger_append(
        actor=actor,
        record=locked,
        action="amend",
        event="collection:refuse",
        reason=error.message,
        extra={"reasons": error.detail.get("reasons", [])},
    )


@transaction.atomic
def _collection_create(*, actor: Any, journey: Journey, data: CollectionInput) -> Collection:
    _require_hospital(actor, journey)
    require_qualification(actor, "apheresis")
    if journey.status != Journey.Status.SCHEDULED:
        raise Conflict(
            f"Journey {journey.coi} is {journey.get_status_display()}: apheresis needs a booked slot."
        )
    _validate(data)
    journey_step_allowed(journey.coi, "apheresis")  # T-6.4-h
    eligibility_required(journey)  # T-9.2.1-2
    collection_site_required(journey, data.collected_at.date(), data.starting_material)  # P-1.3.1-d
    verdict = screening_verdict(journey, data.collected_at.date())
    if not verdict.may_collect:
        raise ValidationFailed(
            "Apheresis blocked by the screening: " + "; ".join(r.message for r in verdict.reasons) + ".",
            field="screening",
            detail={"reasons": [r.fault.value for r in verdict.reasons]},
        )
    mnc = mnc_assessment(data.mnc_count, data.mnc_target)
    collection = record_create(
        actor=actor,
        record=Collection(
            journey=journey,
            site=journey.hospital_site,
            operator=actor,
            collected_at=data.collected_at,
            pre_assessment=data.pre_assessment,
            anticoagulant_ratio=data.anticoagulant_ratio,
            processed_blood_volume_ml=data.processed_blood_volume_ml,
            cycles=data.cycles,
            collected_volume_ml=data.collected_volume_ml,
            mnc_count=data.mnc_count,
            mnc_target_low=mnc.target_low,
            mnc_target_high=mnc.target_high,
            mnc_shortfall=mnc.shortfall,
            starting_material=data.starting_material,
            infectious=verdict.infectious,
        ),
        event="collection:record",
        extra={"mnc": mnc.message, "reactive": [m.value for m in verdict.reactive_markers]},
    )
    sop_version_link(
        actor=actor, step="apheresis", site=journey.hospital_site, record=collection, at=data.collected_at
    )
    for volume in data.bag_volumes_ml:
        _unit_create(actor, collection, volume)
    journey.status = Journey.Status.COLLECTED
    record_amend(
        actor=actor, record=journey, event="journey:collect", reason="apheresis done", fields=["status"]
    )
    return collection


def _unit_create(actor: Any, collection: Collection, volume_ml: int) -> Unit:
    din = din_next(collection.site)
    unit = record_create(
        actor=actor,
        record=Unit(
            collection=collection,
            journey=collection.journey,
            din=din.data,
            din_check=din.check_character,
            volume_ml=volume_ml,
            site=collection.site,
            destination_site=collection.journey.manufacturer_site,
        ),
        event="unit:create",
    )
    return unit
