"""Bedside identity check, infusion, observation, vital signs and days 1-7 monitoring (T-8.2.6, T-8.2.7,
T-9.2.3..T-9.2.6, T-10.4, T-10.7; REGULATORY items 37-38)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from cellchain.accounts.models import User
from cellchain.accounts.services import require_qualification
from cellchain.clinic import outgoing_messages, upstream
from cellchain.clinic.models import (
    BedsideCheck,
    ClinicUnit,
    Infusion,
    MonitoringDay,
    Observation,
    ProductUseProfile,
    TreatmentCourse,
    VitalSigns,
)
from cellchain.clinic.services._common import amend, create, reasons_json, refuse, verifier_of
from cellchain.clinic.services.plan import _hospital_actor, risk_plan_confirmed
from cellchain.clinic.services.preparation import unit_overtime_apply
from cellchain.clinic.services.products import unit_profile
from cellchain.core import clock
from cellchain.core.errors import Conflict, IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.documents.services import sop_version_link
from cellchain.domain import bedside as rules
from cellchain.domain import clinical_timing as timing
from cellchain.domain.clinical_verdict import Consequence, Reason, Verdict
from cellchain.domain.identity import IdentifierError, compact, parse_unit_scan
from cellchain.journeys import services as journeys
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_open
from cellchain.signatures.services import SignerCredentials, two_person_check

BEDSIDE_CHECK_VALID = dt.timedelta(minutes=30)
"""The verified bedside check must be this recent when the infusion starts ("immediately before", T-8.2.6-e);
CellChain's choice, as the standard gives no number."""

_RELEASE = {
    ClinicUnit.Release.NOT_RELEASED: rules.ProductStatus.NOT_RELEASED,
    ClinicUnit.Release.RELEASED: rules.ProductStatus.RELEASED,
    ClinicUnit.Release.CONDITIONAL: rules.ProductStatus.CONDITIONALLY_RELEASED,
    ClinicUnit.Release.QUARANTINED: rules.ProductStatus.QUARANTINED,
    ClinicUnit.Release.REJECTED: rules.ProductStatus.REJECTED,
}


def _scanned_din(text: str) -> str:
    """The DIN a unit scan names, or the compacted text when it is not a readable unit identifier."""
    try:
        return parse_unit_scan(text).din.data
    except IdentifierError:
        return compact(text)


def _unit_for_scan(course: TreatmentCourse, din: str) -> ClinicUnit | None:
    """Units are looked up across the hospital, so a unit of another journey is named as such, not unknown."""
    unit = (
        ClinicUnit.objects.select_related("course")
        .filter(unit_id=din, course__site__organisation_id=course.site.organisation_id)
        .order_by()
        .first()
    )
    if unit is not None and unit.course_id == course.pk:
        unit.course = course  # the course (with its product) is already loaded
    return unit


def _unit_facts(unit: ClinicUnit | None, now: dt.datetime) -> rules.UnitAtBedside | None:
    if unit is None:
        return None
    handling = timing.overtime_handling(unit_profile(unit).use_limits())
    use_by = unit.use_by or now + dt.timedelta(days=3650)  # not thawed: no use-by countdown yet
    return rules.UnitAtBedside(
        unit.unit_id,
        unit.course.journey_ref,
        unit.coi,
        _RELEASE[upstream.effective_release(unit)],
        use_by,
        unit.conditional_ack_at is not None,
        handling,
    )


def _verdict(
    course: TreatmentCourse,
    wristband: str,
    unit_scan: str,
    unit: ClinicUnit | None,
    people: tuple[Any, ...],
    entry: str,
    manual_reason: str,
    now: dt.datetime,
) -> Verdict:
    from cellchain.clinic.services.manufacturers import bedside_label_problems

    mode = rules.EntryMode(entry)
    expected = rules.ExpectedInfusion(course.journey_ref, course.coi, course.patient_wristband_id)
    try:
        label = bedside_label_problems(course, parse_unit_scan(unit_scan), unit)
    except IdentifierError:
        label = ()  # an unreadable scan names no unit: the rules report it as unknown
    verdict = rules.bedside_check(
        expected,
        rules.ScanEntry(wristband, mode, manual_reason),
        rules.ScanEntry(_scanned_din(unit_scan), mode, manual_reason),
        _unit_facts(unit, now),
        tuple(verifier_of(p, now.date()) for p in people),
        now,
        len(people),
        label,
    )
    if unit is not None and unit.state == ClinicUnit.State.STORED:
        verdict += Verdict(
            (Reason("not_thawed", "the unit has not been thawed yet", unit.state, "thawed", "T-8.2.4"),)
        )
    return verdict


def bedside_scan(
    *,
    actor: Any,
    course: TreatmentCourse,
    wristband_scan: str,
    unit_scan: str,
    entry: str = BedsideCheck.Entry.SCANNED,
    manual_reason: str = "",
) -> BedsideCheck:
    """The first person scans wristband and unit: the verdict is recorded, and a mismatch records an identity
    incident (T-8.2.6-e, T-10.7, REGULATORY item 37). Never raises for a blocked verdict: it is a record.

    The verdict is worked out before the write transaction opens, so concurrent bedside checks hold the
    database's write lock only for the few inserts (on SQLite a transaction takes it at BEGIN)."""
    _hospital_actor(actor, course.site)
    if not wristband_scan.strip() or not unit_scan.strip():
        raise ValidationFailed("Scan both the patient's wristband and the product unit.", field="unit_scan")
    now = clock.now()
    unit = _unit_for_scan(course, _scanned_din(unit_scan))
    verdict = _verdict(course, wristband_scan, unit_scan, unit, (actor,), entry, manual_reason, now)
    check = BedsideCheck(
        course=course,
        unit=unit,
        wristband_scan=wristband_scan.strip()[:120],
        unit_scan=unit_scan.strip()[:120],
        entry=entry,
        manual_reason=manual_reason,
        performer=actor,
        checked_at=now,
        reasons=reasons_json(verdict),
        verdict=BedsideCheck.Verdict.PROCEED if verdict.allowed else BedsideCheck.Verdict.BLOCKED,
    )
    return _record_scan(actor, course, check, verdict)


@transaction.atomic
def _record_scan(actor: Any, course: TreatmentCourse, check: BedsideCheck, verdict: Verdict) -> BedsideCheck:
    create(actor, check, "bedside:scan", extra={"codes": list(verdict.codes)})
    _record_incident(actor, course, check, verdict)
    unit = check.unit
    if unit is not None and unit.course_id == course.pk and "past_use_by" in verdict.codes:
        unit_overtime_apply(actor=actor, unit=unit)
    return check


def _record_incident(actor: Any, course: TreatmentCourse, check: BedsideCheck, verdict: Verdict) -> None:
    if not verdict.has(Consequence.IDENTITY_INCIDENT):
        return
    kinds = ", ".join(r.code for r in verdict.reasons if r.consequence is Consequence.IDENTITY_INCIDENT)
    details = "\n".join(f"- {r.message} (scanned {r.value}, expected {r.limit})" for r in verdict.reasons)
    deviation = deviation_open(
        actor=actor,
        site=course.site,
        kind=Deviation.Kind.IDENTITY,
        title=f"Bedside identity mismatch ({kinds}): {course.journey_ref}",
        description=f"Infusion blocked at the bedside.\n{details}",
        subject=check,
        blocks_subject=False,
    )
    check.deviation_number = deviation.number
    amend(actor, check, "bedside:incident", f"identity incident {deviation.number} recorded")


def bedside_verify(
    *,
    check: BedsideCheck,
    performer_password: str,
    verifier: User,
    verifier_password: str,
    wristband_scan: str,
    unit_scan: str,
    performer_totp: str | None = None,
    verifier_totp: str | None = None,
) -> BedsideCheck:
    """The second qualified person scans the same wristband and unit; both re-authenticate and sign the check
    "performed" and "verified" (REGULATORY item 38, T-8.2.6). Runs outside any transaction, so a wrong
    password counts towards the lockout; the signatures are written together or not at all."""
    if check.verdict != BedsideCheck.Verdict.PROCEED or check.verification is not None:
        raise Conflict("Only an unverified bedside check with a 'proceed' verdict can be verified.")
    same = compact(wristband_scan) == compact(check.wristband_scan) and (
        _scanned_din(unit_scan) == _scanned_din(check.unit_scan)
    )
    if not same:
        raise IdentityMismatch(
            "The second person's scans differ from the first: scan the same wristband and "
            "unit again, or start a new bedside check.",
            field="unit_scan",
        )
    people = (check.performer, verifier)
    verdict = _verdict(
        check.course,
        wristband_scan,
        unit_scan,
        check.unit,
        people,
        check.entry,
        check.manual_reason,
        clock.now(),
    )
    refuse(verdict, field="verifier")
    two_person_check(
        record=check,
        performer=SignerCredentials(check.performer, performer_password, performer_totp),
        verifier=SignerCredentials(verifier, verifier_password, verifier_totp),
        qualification="infusion",
    )
    return check


def _infusion_preconditions(actor: Any, course: TreatmentCourse, check: BedsideCheck) -> ClinicUnit:
    verification = check.verification
    if check.course_id != course.pk or check.verdict != BedsideCheck.Verdict.PROCEED or verification is None:
        raise Conflict("The infusion needs this course's bedside check, verified by a second person.")
    if hasattr(check, "infusion"):
        raise Conflict("This bedside check was already used for an infusion; scan again.")
    if clock.now() - verification.signed_at > BEDSIDE_CHECK_VALID:
        raise Conflict(
            "The bedside check is older than 30 minutes: scan wristband and unit again (T-8.2.6-e)."
        )
    if risk_plan_confirmed(course.site, course.product) is None:
        raise NotAllowed(
            "No confirmed risk plan for this product at this site: the team confirms it before the "
            "first infusion (T-9.1.1).",
            field="risk_plan",
        )
    require_qualification(actor, "infusion")
    unit = check.unit
    assert unit is not None  # a 'proceed' verdict names a unit
    unit.refresh_from_db()
    if not unit_overtime_apply(actor=actor, unit=unit).passed:
        raise Conflict(f"Unit {unit.unit_id} is past its use-by time: infusion blocked (T-7.8-a).")
    return unit


def _checklist(product: ProductUseProfile, answers: Mapping[str, bool]) -> Verdict:
    required = [
        *(f"contraindication_absent:{c}" for c in product.contraindications),
        *(f"precaution:{p}" for p in product.precautions),
        *(f"check:{c}" for c in product.pre_infusion_checks),
    ]
    return rules.checklist_check(required, answers, "T-7.9-c")


@transaction.atomic
def infusion_start(
    *,
    actor: Any,
    course: TreatmentCourse,
    check: BedsideCheck,
    route: str,
    rate_ml_h: float,
    infusion_set: str,
    set_has_leukocyte_filter: bool,
    volume_ml: float,
    car_positive_viable_cells: float,
    emergency_contact: str,
    rescue_staff_present: bool,
    checklist: Mapping[str, bool],
    weight_kg: float | None = None,
    rate_deviation: str = "",
    started_at: dt.datetime | None = None,
) -> Infusion:
    """Start the infusion after a verified bedside check: route, set, rate, dose, checklist, emergency team
    (T-8.2.6 a-c, T-7.9-c/d, T-9.2.1-4, T-9.2.5, T-9.1.1); opens the observation record (T-8.2.7)."""
    _hospital_actor(actor, course.site)
    unit = _infusion_preconditions(actor, course, check)
    journeys.journey_step_allowed(course.coi, "infusion")  # T-6.4-h
    if not emergency_contact.strip() or not rescue_staff_present:
        raise ValidationFailed(
            "Name the on-duty emergency contact and confirm rescue staff are present (T-9.2.5).",
            field="rescue_staff_present",
        )
    product = unit_profile(unit)  # the values of the version the unit was made under
    refuse(_checklist(product, checklist), field="checklist")
    started_at = started_at or clock.now()
    weight = weight_kg if weight_kg is not None else course.weight_kg
    entry = rules.InfusionEntry(
        route,
        rate_ml_h,
        infusion_set,
        set_has_leukocyte_filter,
        car_positive_viable_cells,
        started_at,
        None,
        weight,
        rate_deviation,
    )
    refuse(rules.infusion_check(product.infusion_spec(), entry, clock.now()))
    infusion = Infusion(
        course=course,
        unit=unit,
        bedside_check=check,
        route=route,
        rate_ml_h=rate_ml_h,
        infusion_set=infusion_set,
        set_has_leukocyte_filter=set_has_leukocyte_filter,
        volume_ml=volume_ml,
        car_positive_viable_cells=car_positive_viable_cells,
        weight_kg=weight,
        started_at=started_at,
        emergency_contact=emergency_contact,
        rescue_staff_present=rescue_staff_present,
        rate_deviation=rate_deviation,
        performed_by=actor,
    )
    create(actor, infusion, "infusion:start", extra={"checklist": dict(checklist)})
    sop_version_link(actor=actor, step="infusion", site=course.site, record=infusion, at=started_at)
    unit.state = ClinicUnit.State.INFUSED
    amend(actor, unit, "unit:infused", "unit infused")
    upstream.mark_infused(actor, unit, started_at)
    create(actor, Observation(infusion=infusion), "observation:open")
    return infusion


@transaction.atomic
def infusion_end(
    *, actor: Any, infusion: Infusion, ended_at: dt.datetime | None = None, reaction: str = ""
) -> Infusion:
    """Record the infusion end and the recipient's reaction (T-8.2.7-d)."""
    _hospital_actor(actor, infusion.course.site)
    if infusion.ended_at is not None:
        raise Conflict("The infusion end is already recorded.")
    ended_at = ended_at or clock.now()
    if ended_at < infusion.started_at or ended_at > clock.now():
        raise ValidationFailed("The infusion end must lie between its start and now.", field="ended_at")
    infusion.ended_at, infusion.reaction = ended_at, reaction
    amend(actor, infusion, "infusion:end", "infusion ended")
    # issue 12 item 2: infusion done goes to the manufacturer
    outgoing_messages.infusion_send(actor, infusion)
    return infusion


@transaction.atomic
def vitals_record(
    *,
    actor: Any,
    course: TreatmentCourse,
    temperature_c: float,
    heart_rate: int,
    systolic: int,
    diastolic: int,
    respiratory_rate: int,
    spo2: int,
    measured_at: dt.datetime | None = None,
) -> VitalSigns:
    """One set of vital signs (T-8.2.7-b, T-9.2.6-2)."""
    _hospital_actor(actor, course.site)
    measured_at = measured_at or clock.now()
    if measured_at > clock.now():
        raise ValidationFailed("Vital signs cannot be recorded for a future time.", field="measured_at")
    if not 25 <= temperature_c <= 45:
        raise ValidationFailed(
            f"Temperature {temperature_c} °C is not a body temperature.", field="temperature_c"
        )
    vitals = VitalSigns(
        course=course,
        measured_at=measured_at,
        temperature_c=temperature_c,
        heart_rate=heart_rate,
        systolic=systolic,
        diastolic=diastolic,
        respiratory_rate=respiratory_rate,
        spo2=spo2,
        entered_by=actor,
    )
    return create(actor, vitals, "vitals:record")  # type: ignore[return-value]


@transaction.atomic
def observation_close(
    *, actor: Any, observation: Observation, notes: str = "", ended_at: dt.datetime | None = None
) -> Observation:
    """Close observation no earlier than the longer of the product's time and 30 min after infusion end, with
    vital signs recorded (T-8.2.7-a/b, T-9.2.6-1)."""
    infusion = observation.infusion
    _hospital_actor(actor, infusion.course.site)
    if observation.ended_at is not None:
        raise Conflict("Observation is already closed.")
    if infusion.ended_at is None:
        raise Conflict("Record the infusion end first: observation is timed from it.")
    ended_at = ended_at or clock.now()
    product_time = dt.timedelta(minutes=unit_profile(infusion.unit).observation_min or 0) or None
    refuse(timing.observation_end_check(infusion.ended_at, ended_at, product_time), field="ended_at")
    if not VitalSigns.objects.filter(
        course=infusion.course, measured_at__gte=infusion.started_at, voided_at__isnull=True
    ).exists():
        raise ValidationFailed(
            "Record the patient's vital signs during observation before closing it (T-8.2.7-b).",
            field="vitals",
        )
    observation.ended_at, observation.closed_by, observation.notes = ended_at, actor, notes
    amend(actor, observation, "observation:close", "observation completed")
    return observation


@transaction.atomic
def monitoring_day_complete(
    *, actor: Any, course: TreatmentCourse, day: int, items: Mapping[str, bool], notes: str = ""
) -> MonitoringDay:
    """Complete one day of the D1-D7 checklist (T-9.2.6-2): every item done, not before the day itself."""
    _hospital_actor(actor, course.site)
    infusion = course.infusions.filter(voided_at__isnull=True).order_by("started_at").first()
    if infusion is None:
        raise Conflict("Days 1-7 monitoring starts after the infusion.")
    today = clock.today(course.site.time_zone)
    days = {
        d.day: d
        for d in timing.intensive_monitoring_days(
            _local_date(infusion.started_at, course),
            today,
            product_indicators=course.product.monitoring_indicators,
        )
    }
    if day not in days:
        raise ValidationFailed("Monitoring days run from 1 to 7 after the infusion day.", field="day")
    if days[day].on > today:
        raise ValidationFailed(
            f"Day {day} is {days[day].on}: it cannot be completed in advance.", field="day"
        )
    missing = [item for item in days[day].items if not items.get(item)]
    if missing:
        raise ValidationFailed(f"Complete every item of day {day}: {', '.join(missing)}.", field="items")
    record = MonitoringDay(
        course=course,
        day=day,
        on=days[day].on,
        items={i: True for i in days[day].items},
        notes=notes,
        completed_by=actor,
        completed_at=clock.now(),
    )
    return create(actor, record, "monitoring:day")  # type: ignore[return-value]


def _local_date(moment: dt.datetime, course: TreatmentCourse) -> dt.date:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(course.site.time_zone)).date()
