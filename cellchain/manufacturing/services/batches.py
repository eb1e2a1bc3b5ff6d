"""Apheresis intake and batch-record execution (P-1.3.1-e/g, P-T2-c..i, P-1.2.1, P-1.3.2-a, P-1.3.5-a, T-10.12).

Commands that must record something and still refuse (an identity mismatch, a duration outside its limits)
open their deviation in its own transaction first and then raise, so the record stays while the step is
refused (G-4, G-5).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from cellchain.accounts.roles import Role
from cellchain.accounts.services import require_qualification
from cellchain.core import clock
from cellchain.core.errors import Conflict, IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.domain import environment as env
from cellchain.domain import facility as fac
from cellchain.domain.custody import CustodyStep, UnitState, custody_steps_allowed
from cellchain.domain.identity import IdentifierError, parse_unit_scan
from cellchain.domain.process import (
    FillPlan,
    StepKind,
    check_duration,
    check_entry,
    fill_plan_check,
    harvest_start_check,
    step_completion_check,
    step_start_check,
)
from cellchain.journeys import services as journeys
from cellchain.ledger.records import record_amend, record_create
from cellchain.manufacturing import master, selectors
from cellchain.manufacturing.models import (
    ApheresisIntake,
    Batch,
    BatchStep,
    Equipment,
    EquipmentUse,
    FillRecord,
    MaterialLot,
    MaterialUse,
    ParameterEntry,
    ProductionArea,
    ProductUnit,
    ProductVersion,
    StartingMaterial,
)
from cellchain.manufacturing.services._common import activity_time, refuse_unless, require_role
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_open, open_blocking_deviations
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials, record_sign

RECEIVED_STATES = frozenset({"received", "stored", "retrieved"})
"""Custody states of an apheresis unit that has arrived at the manufacturer (journeys context, G-4)."""


# --------------------------------------------------------------------------- intake (P-1.3.1-g)


def _scanned_din(scan: str, field: str = "scan") -> tuple[str, str]:
    try:
        scanned = parse_unit_scan(scan)
    except IdentifierError as error:
        raise ValidationFailed(f"The scan could not be read: {error.problem.message}", field=field) from None
    return scanned.din.data, scanned.coi.data if scanned.coi is not None else ""


def _received_unit(din: str, coi: str, actor: Any) -> Any:
    from cellchain.journeys.selectors import unit_get_by_identifier

    unit = unit_get_by_identifier(din)
    if unit is None:
        raise IdentityMismatch(f"No collected apheresis unit has the identifier {din}.", field="scan")
    if coi and coi != unit.journey.coi:
        raise IdentityMismatch(
            f"The label's COI {coi} does not belong to unit {din} ({unit.journey.coi}).", field="scan"
        )
    if unit.state not in RECEIVED_STATES or unit.site.organisation_id != actor.organisation_id:
        raise Conflict(
            f"Unit {din} has not been received here (custody state: {unit.state}). Scan its receipt first.",
            field="scan",
        )
    return unit


def apheresis_intake_record(
    *, actor: Any, scan: str, bag_intact: bool, temperature_ok: bool, notes: str = ""
) -> ApheresisIntake:
    """Record the manufacturing receipt of a received apheresis unit, identity from its scanned label
    (P-1.3.1-g). A failed bag or temperature check opens a deviation that blocks the unit until dispositioned."""
    require_role(actor, Role.PRODUCTION_OPERATOR, Role.LOGISTICS)
    require_qualification(actor, "custody")
    din, coi = _scanned_din(scan)
    if ApheresisIntake.objects.filter(din=din).exists():
        raise Conflict(f"Unit {din} was already taken in.", field="scan")
    unit = _received_unit(din, coi, actor)
    intake = _intake_create(actor, unit, bag_intact, temperature_ok, notes)
    if not (bag_intact and temperature_ok):
        _intake_deviation(actor, intake)
    return intake


@transaction.atomic
def _intake_create(
    actor: Any, unit: Any, bag_intact: bool, temperature_ok: bool, notes: str
) -> ApheresisIntake:
    intake = record_create(
        actor=actor,
        record=ApheresisIntake(
            din=unit.din,
            coi=unit.journey.coi,
            collection_site=unit.journey.hospital_site,
            collected_at=unit.collection.collected_at,
            received_at=clock.now(),
            received_by=actor,
            starting_material=unit.journey.starting_material,
            bag_intact=bag_intact,
            temperature_ok=temperature_ok,
            notes=notes,
        ),
        event="intake:record",
    )
    return intake


@transaction.atomic
def _intake_deviation(actor: Any, intake: ApheresisIntake) -> None:
    failed = [
        text
        for ok, text in (
            (intake.bag_intact, "bag damaged or leaking"),
            (intake.temperature_ok, "temperature out of range in transit"),
        )
        if not ok
    ]
    deviation = deviation_open(
        actor=actor,
        site=actor.site,
        kind=Deviation.Kind.RECEIPT,
        title=f"Apheresis {intake.din}: {', '.join(failed)}",
        description=f"Manufacturing receipt check failed for {intake.din} (P-1.3.1-g).",
        subject=intake,
    )
    intake.deviation = deviation
    record_amend(
        actor=actor, record=intake, event="intake:deviation", reason=deviation.number, fields=["deviation"]
    )


# --------------------------------------------------------------------------- batch start


def _next_batch_number(moment: dt.datetime) -> str:
    prefix = f"B{moment.year % 100:02d}-"
    count = Batch.objects.filter(number__startswith=prefix).count()
    return f"{prefix}{count + 1:04d}"


def _require_scan_matches(
    actor: Any, batch_or_intake: Batch | ApheresisIntake, scan: str, where: str
) -> None:
    """The bag is scanned at every step (G-4); a mismatch is an identity incident and blocks the step."""
    intake = batch_or_intake.intake if isinstance(batch_or_intake, Batch) else batch_or_intake
    din, coi = _scanned_din(scan)
    if din == intake.din and (not coi or coi == intake.coi):
        return
    deviation_open(
        actor=actor,
        site=actor.site,
        kind=Deviation.Kind.IDENTITY,
        title=f"{where}: scanned {din} instead of {intake.din}",
        description=f"At {where} the scan read {scan.strip()[:80]!r}; expected unit {intake.din} "
        f"({intake.coi}). The step was refused (G-4).",
        subject=batch_or_intake,
        blocks_subject=False,
    )
    raise IdentityMismatch(
        f"Wrong unit: scanned {din}, expected {intake.din}. The step was refused and an "
        "identity incident recorded.",
        field="scan",
    )


def _fresh_window_check(
    actor: Any, version: ProductVersion, intake: ApheresisIntake, start: dt.datetime
) -> None:
    """Fresh starting material older than the product's limit needs a dispositioned deviation (P-1.3.1-e)."""
    limit = master.fresh_limit(version.process)
    age = start - intake.collected_at
    if intake.starting_material != StartingMaterial.FRESH or age <= limit:
        return
    done = Deviation.objects.filter(
        subject_type=intake.ledger_record_type(),
        subject_id=str(intake.pk),
        title__startswith="Fresh apheresis past",
        voided_at__isnull=True,
    )
    if done.exclude(status=Deviation.Status.OPEN).exists():
        return
    if not done.exists():
        deviation_open(
            actor=actor,
            site=actor.site,
            kind=Deviation.Kind.PROCESS,
            title=f"Fresh apheresis past its window: {intake.din}",
            description=f"Collected {intake.collected_at.isoformat()}, {age} before manufacture; "
            f"the product allows {limit} (P-1.3.1-e).",
            subject=intake,
        )
    raise Conflict(
        f"Fresh unit {intake.din} is {age} old, beyond {limit}: QA must disposition the deviation "
        "before manufacture starts (P-1.3.1-e)."
    )


def batch_start(
    *,
    actor: Any,
    version: ProductVersion,
    intake: ApheresisIntake,
    scan: str,
    area: ProductionArea,
    at: dt.datetime | None = None,
) -> Batch:
    """Start a batch record from a received apheresis unit, its label scanned (P-1-a, G-4, P-1.2.1-a)."""
    require_role(actor, Role.PRODUCTION_OPERATOR)
    require_qualification(actor, "manufacturing")
    if version.status != ProductVersion.Status.APPROVED:
        raise Conflict(f"{version} is not an approved version; only approved definitions are used (P-1-a).")
    if Batch.objects.filter(intake=intake).exists():
        raise Conflict(f"Unit {intake.din} already started batch {intake.batch.number}.")
    _require_scan_matches(actor, intake, scan, "batch start")
    blocking = open_blocking_deviations(intake)
    if blocking:
        raise Conflict(
            f"Unit {intake.din} is blocked by {', '.join(d.number for d in blocking)} until QA "
            "dispositions it."
        )
    _require_journey_allows_start(intake)
    journeys.journey_step_allowed(intake.coi, "batch start", din=intake.din)  # T-6.4-h
    start = activity_time(at, not_before=intake.received_at)
    _fresh_window_check(actor, version, intake, start)
    return _batch_create(actor, version, intake, area, start, scan)


def _require_journey_allows_start(intake: ApheresisIntake) -> None:
    """The unit's custody state must allow the start of manufacture: received, or taken out of storage
    (P-1-a, G-4, T-10.4). The journeys context owns the state; this reads it before anything is written."""
    from cellchain.journeys.selectors import unit_get_by_identifier

    unit = unit_get_by_identifier(intake.din)
    if unit is None:
        raise IdentityMismatch(f"No collected apheresis unit has the identifier {intake.din}.", field="scan")
    if CustodyStep.START_MANUFACTURE not in custody_steps_allowed(UnitState(unit.state)):
        hint = " Retrieve it from storage first." if unit.state == UnitState.STORED else ""
        raise Conflict(
            f"Unit {intake.din} is {unit.state} in its journey; a batch starts only from a unit that is "
            f"received or retrieved from storage.{hint}",
            field="scan",
        )


@transaction.atomic
def _batch_create(
    actor: Any,
    version: ProductVersion,
    intake: ApheresisIntake,
    area: ProductionArea,
    start: dt.datetime,
    scan: str,
) -> Batch:
    number = _next_batch_number(start)
    if area.mode == ProductionArea.Mode.UNIT_BASED:
        gate = fac.area_start_check(
            selectors.area_to_domain(area),
            number,
            is_culture=False,
            uses=selectors.area_uses(area),
            clearances=selectors.area_clearances(area),
        )
        refuse_unless(gate, f"Batch cannot start in {area.code}")
    batch = record_create(
        actor=actor,
        record=Batch(
            number=number,
            product_version=version,
            intake=intake,
            site=version.product.site,
            area=area if area.mode == ProductionArea.Mode.UNIT_BASED else None,
            started_at=start,
            started_by=actor,
        ),
        event="batch:start",
        extra={"apheresis_din": intake.din, "coi": intake.coi},
    )
    # The journey's record of the bag moves with the batch, in this transaction (T-10.4).
    from cellchain.journeys.services import unit_manufacture_start

    unit_manufacture_start(actor=actor, din=intake.din, scanned_text=scan, batch_number=number)
    return batch


# --------------------------------------------------------------------------- steps


def _require_in_process(batch: Batch) -> None:
    if batch.status != Batch.Status.IN_PROCESS:
        raise Conflict(f"Batch {batch.number} is {batch.get_status_display()}; its record is closed.")


def _step_area(batch: Batch, area: ProductionArea | None) -> ProductionArea:
    if batch.area is not None:
        if area is not None and area.pk != batch.area_id:
            raise Conflict(
                f"Unit-based mode: every step of {batch.number} runs in {batch.area.code} (P-1.2.1-a).",
                field="area",
            )
        return batch.area
    if area is None or area.mode != ProductionArea.Mode.ROOM_BASED:
        raise ValidationFailed("Choose the room this step runs in.", field="area")
    return area


def step_start(
    *,
    actor: Any,
    batch: Batch,
    step_code: str,
    scan: str,
    area: ProductionArea | None = None,
    at: dt.datetime | None = None,
) -> BatchStep:
    """Start the next step in template order, in a free area, with the bag scanned (P-T2, P-1.2.1-b, G-4)."""
    require_role(actor, Role.PRODUCTION_OPERATOR)
    require_qualification(actor, "manufacturing")
    _require_in_process(batch)
    _require_scan_matches(actor, batch, scan, f"step {step_code}")
    return _step_create(actor, batch, step_code, area, at)


@transaction.atomic
def _step_create(
    actor: Any, batch: Batch, step_code: str, area: ProductionArea | None, at: dt.datetime | None
) -> BatchStep:
    template = selectors.product_definition(batch.product_version).template
    try:
        step_template = template.step(step_code)
    except KeyError:
        raise ValidationFailed(f"The process has no step {step_code!r}.", field="step") from None
    steps = list(batch.steps.all())
    last = max((s.completed_at for s in steps if s.completed_at), default=batch.started_at)
    start = activity_time(at, not_before=last)
    completed = [s.code for s in steps if s.status == BatchStep.Status.COMPLETED]
    opened = [s.code for s in steps if s.status == BatchStep.Status.OPEN]
    refuse_unless(
        step_start_check(template, step_code, completed=completed, open_steps=opened),
        f"{step_code} cannot start",
    )
    if step_template.kind is StepKind.HARVEST:
        starts = {StepKind(s.kind): s.started_at for s in steps}
        refuse_unless(harvest_start_check(template, starts, start), "Harvest is blocked")
    where = _step_area(batch, area)
    refuse_unless(
        env.open_step_grade_check(
            step_code,
            open_operation=step_template.open_operation,
            allowed=step_template.allowed_grades,
            area=where.code,
            grade=where.grade,
        ),
        f"{step_code} cannot be done in {where.code}",
    )
    if batch.area is None:
        gate = fac.area_start_check(
            selectors.area_to_domain(where),
            batch.number,
            is_culture=step_template.is_culture,
            uses=selectors.area_uses(where),
            clearances=selectors.area_clearances(where),
        )
        refuse_unless(gate, f"{step_code} cannot start in {where.code}")
    step = record_create(
        actor=actor,
        record=BatchStep(
            batch=batch,
            code=step_code,
            kind=step_template.kind.value,
            position=template.steps.index(step_template),
            area=where,
            is_culture=step_template.is_culture,
            started_at=start,
            started_entered_at=clock.now(),
            started_by=actor,
        ),
        event="step:start",
    )
    return step


def _require_open(step: BatchStep) -> None:
    if step.status != BatchStep.Status.OPEN:
        raise Conflict(f"Step {step.code} of {step.batch.number} is completed; entries are closed.")


@transaction.atomic
def parameter_record(
    *, actor: Any, step: BatchStep, code: str, value: str, reason: str = ""
) -> ParameterEntry:
    """Enter a process parameter; out of range it is kept and a deviation opens that blocks the step until QA
    dispositions it (P-1-a, G-5). Re-entering a value needs a reason; the old one stays in the ledger (X-3)."""
    require_role(actor, Role.PRODUCTION_OPERATOR)
    _require_open(step)
    template = selectors.product_definition(step.batch.product_version).template.step(step.code)
    try:
        spec = template.parameter(code)
    except KeyError:
        raise ValidationFailed(f"Step {step.code} has no parameter {code!r}.", field="code") from None
    verdict = check_entry(spec, value)
    if not verdict.accepted:
        message = verdict.finding.message if verdict.finding else "invalid value"
        raise ValidationFailed(f"{message} (allowed: {verdict.limit or 'any'}).", field=code)
    entry = ParameterEntry.objects.filter(step=step, code=code).first()
    if entry is not None and not reason.strip():
        raise ValidationFailed(
            f"{code} was already entered ({entry.value}); give a reason to change it.", field="reason"
        )
    fields = {
        "value": verdict.value,
        "outcome": verdict.outcome.value,
        "limit": verdict.limit,
        "entered_at": clock.now(),
        "entered_by": actor,
    }
    if entry is None:
        entry = record_create(
            actor=actor, record=ParameterEntry(step=step, code=code, **fields), event="parameter:record"
        )
    else:
        for name, new in fields.items():
            setattr(entry, name, new)
        record_amend(actor=actor, record=entry, event="parameter:amend", reason=reason)
    if verdict.deviation_required and (
        entry.deviation is None or entry.deviation.status != Deviation.Status.OPEN
    ):
        _entry_deviation(actor, step, entry, verdict.finding.message if verdict.finding else "")
    return entry


def _entry_deviation(actor: Any, step: BatchStep, entry: ParameterEntry, message: str) -> None:
    deviation = deviation_open(
        actor=actor,
        site=step.batch.site,
        kind=Deviation.Kind.PROCESS,
        title=f"{step.batch.number} {step.code}: {entry.code} {entry.value} outside {entry.limit}",
        description=f"{message} (P-1-a). Batch {step.batch.number}, step {step.code}.",
        subject=step,
    )
    entry.deviation = deviation
    record_amend(
        actor=actor, record=entry, event="parameter:deviation", reason=deviation.number, fields=["deviation"]
    )


@transaction.atomic
def equipment_use_record(*, actor: Any, step: BatchStep, equipment: Equipment) -> EquipmentUse:
    """Record equipment used in a step; out of service or overdue calibration is refused (T-10.12)."""
    require_role(actor, Role.PRODUCTION_OPERATOR)
    _require_open(step)
    if equipment.site_id != step.batch.site_id:
        raise NotAllowed(f"{equipment.code} belongs to another site.", field="equipment")
    refuse_unless(
        fac.equipment_use_check(selectors.equipment_to_domain(equipment), clock.now().date()),
        f"{equipment.code} cannot be used",
    )
    if EquipmentUse.objects.filter(step=step, equipment=equipment).exists():
        raise Conflict(f"{equipment.code} is already recorded for this step.", field="equipment")
    use = record_create(
        actor=actor,
        record=EquipmentUse(step=step, equipment=equipment, recorded_at=clock.now(), recorded_by=actor),
        event="step:equipment",
    )
    return use


@transaction.atomic
def material_use_record(*, actor: Any, step: BatchStep, lot: MaterialLot, quantity: str) -> MaterialUse:
    """Issue a material lot to a step: released, in date, documented, risk-assessed (P-1.1-a/b, Q-2.6-a)."""
    require_role(actor, Role.PRODUCTION_OPERATOR)
    _require_open(step)
    if not quantity.strip():
        raise ValidationFailed("Give the quantity used.", field="quantity")
    refuse_unless(
        fac.material_lot_check(selectors.lot_to_domain(lot), clock.now().date()), f"{lot} cannot be used"
    )
    use = record_create(
        actor=actor,
        record=MaterialUse(
            step=step, lot=lot, quantity=quantity.strip(), recorded_at=clock.now(), recorded_by=actor
        ),
        event="step:material",
    )
    return use


@transaction.atomic
def fill_record(
    *,
    actor: Any,
    step: BatchStep,
    patient_units: int,
    qc_units: int,
    retained_units: int,
    volume_per_unit_ml: Decimal,
) -> FillRecord:
    """Record the fill plan and create the filled units with their identifiers (P-1.3.5-a, T-10.6)."""
    require_role(actor, Role.PRODUCTION_OPERATOR)
    _require_open(step)
    if step.kind != StepKind.FILL_CRYO:
        raise Conflict("The fill is recorded in the fill/label/cryopreserve step.")
    batch = step.batch
    if FillRecord.objects.filter(batch=batch).exists():
        raise Conflict(f"Batch {batch.number} already has its fill record.")
    if volume_per_unit_ml <= 0:
        raise ValidationFailed("The volume per unit must be above zero.", field="volume_per_unit_ml")
    requirement = selectors.product_definition(batch.product_version).template.fill
    plan = FillPlan(patient_units, qc_units, retained_units)
    refuse_unless(fill_plan_check(plan, requirement), "The fill plan is refused", ValidationFailed)
    fill = record_create(
        actor=actor,
        record=FillRecord(
            batch=batch,
            patient_units=patient_units,
            qc_units=qc_units,
            retained_units=retained_units,
            volume_per_unit_ml=volume_per_unit_ml,
            recorded_at=clock.now(),
            recorded_by=actor,
        ),
        event="batch:fill",
    )
    purposes = (
        [ProductUnit.Purpose.PATIENT] * patient_units
        + [ProductUnit.Purpose.QC] * qc_units
        + [ProductUnit.Purpose.RETAINED] * retained_units
    )
    for purpose in purposes:
        _unit_create(actor, batch, purpose)
    return fill


def _unit_create(actor: Any, batch: Batch, purpose: str) -> ProductUnit:
    from cellchain.journeys.services.identifiers import din_next

    din = din_next(batch.site).data  # one identifier sequence per facility, shared with the journeys context
    unit = record_create(
        actor=actor,
        record=ProductUnit(batch=batch, din=din, purpose=purpose, holder_site=batch.site),
        event="unit:fill",
    )
    return unit


def step_complete(
    *, actor: Any, step: BatchStep, signer: SignerCredentials | None = None, at: dt.datetime | None = None
) -> BatchStep:
    """Complete a step: all parameters entered, every deviation on it dispositioned, duration within the
    product's limits or deviated, equipment recorded, signed where the template asks (P-T2, T-10.12, X-4)."""
    require_role(actor, Role.PRODUCTION_OPERATOR)
    _require_open(step)
    end = activity_time(at, not_before=step.started_at)
    template = selectors.product_definition(step.batch.product_version).template.step(step.code)
    duration = None
    if template.duration is not None:
        duration = check_duration(
            step.code,
            step.started_at,
            end,
            template.duration,
            "P-T2-d" if template.kind is StepKind.THAW_ACTIVATION else "P-T2-f",
        )
        if duration.finding is not None and step.duration_deviation is None:
            _duration_deviation(actor, step, duration.finding.message)
            raise Conflict(
                f"{duration.finding.message}: deviation {step.duration_deviation.number} opened; the step "
                "can be completed once QA has dispositioned it."
            )
    return _complete(actor, step, template, duration, signer, end)


@transaction.atomic
def _duration_deviation(actor: Any, step: BatchStep, message: str) -> None:
    step.duration_deviation = deviation_open(
        actor=actor,
        site=step.batch.site,
        kind=Deviation.Kind.PROCESS,
        title=f"{step.batch.number} {step.code}: duration outside limits",
        description=f"{message}.",
        subject=step,
    )
    record_amend(
        actor=actor,
        record=step,
        event="step:deviation",
        reason=step.duration_deviation.number,
        fields=["duration_deviation"],
    )


@transaction.atomic
def _complete(
    actor: Any,
    step: BatchStep,
    template: Any,
    duration: Any,
    signer: SignerCredentials | None,
    end: dt.datetime,
) -> BatchStep:
    if signer is not None and signer.user.pk != actor.pk:
        raise ValidationFailed("The person completing the step signs it.", field="password")
    used = {u.equipment.kind for u in step.equipment_uses.select_related("equipment")}
    gate = step_completion_check(
        template,
        selectors.step_entry_verdicts(step),
        deviations=selectors.step_deviation_refs(step),
        duration=duration,
        signed=signer is not None,
        equipment_types_used=used,
    )
    refuse_unless(gate, f"{step.code} cannot be completed")
    if template.kind is StepKind.FILL_CRYO and not FillRecord.objects.filter(batch=step.batch).exists():
        raise Conflict("Record the fill plan before completing the fill step (P-1.3.5-a).")
    step.status, step.completed_at, step.completed_entered_at = BatchStep.Status.COMPLETED, end, clock.now()
    step.completed_by = actor
    record_amend(actor=actor, record=step, event="step:complete", reason="step completed")
    if signer is not None:
        record_sign(record=step, signer=signer, meaning=Meaning.PERFORMED, qualification="manufacturing")
    if template.kind is StepKind.FILL_CRYO:
        _close(actor, step.batch, end)
    return step


def _close(actor: Any, batch: Batch, end: dt.datetime) -> None:
    batch.status, batch.closed_at, batch.manufactured_at = Batch.Status.AWAITING_RELEASE, end, end
    record_amend(
        actor=actor,
        record=batch,
        event="batch:close",
        reason="last step completed",
        fields=["status", "closed_at", "manufactured_at"],
    )


# --------------------------------------------------------------------------- for other contexts


@transaction.atomic
def batch_status_set(*, actor: Any, batch: Batch, status: str, reason: str, event: str) -> Batch:
    """Set a batch's release status (called by QC: release, rejection, hold)."""
    if status not in Batch.Status.values:
        raise ValidationFailed(f"Unknown batch status {status!r}.")
    batch.status = status
    record_amend(actor=actor, record=batch, event=event, reason=reason, fields=["status"])
    return batch


@transaction.atomic
def product_unit_status_set(
    *,
    actor: Any,
    unit: ProductUnit,
    status: str,
    reason: str,
    holder_site: Any | None = None,
    infused_at: dt.datetime | None = None,
) -> ProductUnit:
    """Move a product unit (quarantine, shipped to a site, infused): for QC, logistics and clinic contexts."""
    if status not in ProductUnit.Status.values:
        raise ValidationFailed(f"Unknown unit status {status!r}.")
    unit.status = status
    if holder_site is not None:
        unit.holder_site = holder_site
    if infused_at is not None:
        unit.infused_at = infused_at
    record_amend(actor=actor, record=unit, event=f"unit:{status}", reason=reason)
    return unit
