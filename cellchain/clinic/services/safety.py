"""Adverse events with CRS/ICANS grading, reports to the manufacturer and reporting duties (T-7.10, T-8.2.7,
T-9.2.4, T-9.2.7, T-10.8; REGULATORY items 50-51), follow-up visits (T-9.2.8), protocol deviations (T-9.3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from cellchain.accounts.models import Site
from cellchain.clinic import outgoing_messages
from cellchain.clinic.models import (
    AdverseEvent,
    CorrectiveAction,
    FollowUpVisit,
    ProtocolDeviationReport,
    ReportingDuty,
    TreatmentCourse,
)
from cellchain.clinic.reporting.messages import adverse_event_messages_enqueue
from cellchain.clinic.services._common import amend, create
from cellchain.clinic.services.bedside import _local_date
from cellchain.clinic.services.plan import _hospital_actor
from cellchain.core import clock, installation
from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.documents.services import sop_version_link
from cellchain.domain import clinical_timing as timing
from cellchain.domain import grading
from cellchain.domain import reporting_clocks as clocks
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_open, notification_send

# --------------------------------------------------------------------------- grading from entered findings


def _choice(enum: type[Any], value: Any, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValidationFailed(f"{field}: {value!r} is not one of {allowed}.", field=field) from None


def _number(value: Any, field: str, kind: type = float) -> Any:
    if value in (None, ""):
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{field}: {value!r} is not a number.", field=field) from None


def crs_findings(data: Mapping[str, Any]) -> grading.CrsFindings:
    """CRS findings from a form or API payload (ASTCT 2019 Table 3)."""
    return grading.CrsFindings(
        temperature_c=_number(data.get("temperature_c"), "temperature_c"),
        fever_masked=bool(data.get("fever_masked")),
        hypotension=bool(data.get("hypotension")),
        vasopressors=frozenset(
            _choice(grading.Vasopressor, v, "vasopressors") for v in data.get("vasopressors") or ()
        ),
        oxygen_device=_choice(grading.OxygenDevice, data.get("oxygen_device") or "none", "oxygen_device"),
        oxygen_flow_l_min=_number(data.get("oxygen_flow_l_min"), "oxygen_flow_l_min"),
        death_from_crs=bool(data.get("death")),
    )


def _whole(value: Any) -> Any:
    """A typed whole number as int; anything else goes on unchanged so the grading names what is wrong."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None if value in (None, "") else value


def icans_findings(data: Mapping[str, Any]) -> grading.IcansFindings:
    """ICANS findings from a form or API payload (ASTCT 2019): the ICE score, or for a child the CAPD score
    (`capd_score` 0-32, `capd_not_possible`) with `age_years` at onset and `developmental_delay`."""
    return grading.IcansFindings(
        ice_score=_whole(data.get("ice_score")),
        consciousness=_choice(grading.Consciousness, data.get("consciousness") or "alert", "consciousness"),
        seizure=_choice(grading.Seizure, data.get("seizure") or "none", "seizure"),
        seizure_minutes=_number(data.get("seizure_minutes"), "seizure_minutes"),
        motor=_choice(grading.Motor, data.get("motor") or "none", "motor"),
        raised_icp=frozenset(
            _choice(grading.RaisedIcp, v, "raised_icp") for v in data.get("raised_icp") or ()
        ),
        death_from_icans=bool(data.get("death")),
        capd_score=_whole(data.get("capd_score")),
        capd_not_possible=bool(data.get("capd_not_possible")),
        age_years=_whole(data.get("age_years")),
        developmental_delay=bool(data.get("developmental_delay")),
    )


def grade_event(category: str, findings: Mapping[str, Any], term: str, ctcae_grade: Any) -> grading.Grade:
    """The grade with its reasoning: ASTCT 2019 for CRS and ICANS, the physician's CTCAE v5 grade otherwise."""
    try:
        if category == AdverseEvent.Category.CRS:
            return grading.grade_crs(crs_findings(findings))
        if category == AdverseEvent.Category.ICANS:
            return grading.grade_icans(icans_findings(findings))
        value = grading.CtcaeGrade(term, _number(ctcae_grade, "ctcae_grade", int) or 0)
        return grading.Grade(
            value.grade, (f"CTCAE v5 grade {value.grade} entered by the physician: {value.meaning}",)
        )
    except grading.GradingInputError as exc:
        field = exc.field or ("ice_score" if "ICE" in str(exc) else "findings")
        raise ValidationFailed(str(exc)[:1].upper() + str(exc)[1:] + ".", field=field) from None


def course_patient_age(viewer: Any, course: TreatmentCourse, on: dt.date) -> int | None:
    """The patient's age in whole years on a day from the enrolment birth date (journeys, own hospital only),
    or None when the journey is not enrolled in CellChain and the physician enters the age."""
    from cellchain.clinic import upstream

    birth_date = upstream.patient_birth_date(viewer, course.coi)
    return None if birth_date is None else grading.age_in_years(birth_date, on)


def _icans_age_at_onset(
    actor: Any, course: TreatmentCourse, category: str, findings: Mapping[str, Any], onset_at: dt.datetime
) -> dict[str, Any]:
    """ICANS findings with the age at onset from the enrolment record when known (ASTCT 2019: the age decides
    ICE or CAPD). An entered age that contradicts the record is refused rather than silently replaced."""
    data = dict(findings)
    if category != AdverseEvent.Category.ICANS:
        return data
    age = course_patient_age(actor, course, _local_date(onset_at, course))
    if age is None:
        data.pop("age_source", None)
        return data
    entered = _whole(data.get("age_years"))
    if entered is not None and entered != age:
        raise ValidationFailed(
            f"Age at onset {entered} does not match the enrolment record of journey {course.journey_ref}, "
            f"which gives {age} years on {_local_date(onset_at, course).isoformat()}; correct the age or leave "
            "it blank.",
            field="age_years",
        )
    data["age_years"], data["age_source"] = age, "enrolment"
    return data


# --------------------------------------------------------------------------- adverse events


def _next_ae_number(site: Site, year: int) -> str:
    prefix = f"AE-{site.facility_id or site.code}-{year}-"
    return f"{prefix}{AdverseEvent.objects.filter(number__startswith=prefix).count() + 1:04d}"


def _facts(event: AdverseEvent) -> clocks.EventFacts:
    return clocks.EventFacts(
        clocks.Setting(event.course.setting),
        event.serious,
        event.unexpected,
        event.suspected_related,
        event.life_threatening,
        event.fatal,
    )


def _create_duties(actor: Any, event: AdverseEvent) -> None:
    product_limit = dt.timedelta(hours=event.course.product.ae_report_hours)
    duties = (
        clocks.product_reporting_duty(event.awareness_at, product_limit),
        *clocks.regulatory_reporting_duties(_facts(event), event.awareness_at, event.course.jurisdiction),
    )
    for duty in duties:
        create(
            actor,
            ReportingDuty(
                event=event, duty=duty.duty, recipient=duty.recipient, due_at=duty.due, basis=duty.basis[:120]
            ),
            "reporting_duty:create",
        )


@transaction.atomic
def adverse_event_record(
    *,
    actor: Any,
    course: TreatmentCourse,
    category: str,
    term: str,
    description: str,
    onset_at: dt.datetime,
    serious: bool,
    relation: str,
    findings: Mapping[str, Any] | None = None,
    ctcae_grade: Any = None,
    awareness_at: dt.datetime | None = None,
    **optional: Any,
) -> AdverseEvent:
    """Record an AE with its grade and reasoning, create every reporting duty with its deadline and send the
    report to the manufacturer in-app and by e-mail (T-10.8, T-7.10, REGULATORY items 50-51)."""
    _hospital_actor(actor, course.site)
    now = clock.now()
    awareness_at = awareness_at or now
    if onset_at > now or awareness_at > now or awareness_at < onset_at:
        raise ValidationFailed(
            "Onset and awareness must not be in the future, and awareness not before onset.", field="onset_at"
        )
    if optional.get("fatal") and not serious:
        raise ValidationFailed("A fatal event is serious by definition; mark it serious.", field="serious")
    _choice(AdverseEvent.Category, category, "category")
    findings = _icans_age_at_onset(actor, course, category, findings or {}, onset_at)
    result = grade_event(category, findings, term, ctcae_grade)
    event = AdverseEvent(
        number=_next_ae_number(course.site, now.year),
        course=course,
        category=category,
        term=term,
        description=description,
        onset_at=onset_at,
        awareness_at=awareness_at,
        findings=dict(findings or {}),
        grade=result.grade,
        grade_reasons=list(result.reasons),
        serious=serious,
        relation=relation,
        reported_by=actor,
        **optional,
    )
    create(actor, event, f"adverse_event:record:{category}")
    sop_version_link(actor=actor, step="ae_handling", site=course.site, record=event)
    _create_duties(actor, event)
    _send_to_manufacturer(actor, event)
    return event


def manufacturer_report_missing(event: AdverseEvent) -> list[str]:
    """What T-7.10-d requires and the record lacks (batch number, unit id, time of use)."""
    infusion = event.course.infusions.filter(voided_at__isnull=True).select_related("unit").first()
    if infusion is None:
        return []  # before infusion (e.g. after collection): the journey and COI identify the product
    missing = [
        name
        for name, value in (("batch number", infusion.unit.batch_number), ("unit id", infusion.unit.unit_id))
        if not value
    ]
    return missing


def manufacturer_report_body(event: AdverseEvent) -> str:
    """The report to the manufacturer: pseudonymous, with batch, unit and time of use (T-7.10-d, T-7.6)."""
    course = event.course
    lines = [
        f"Adverse event {event.number} ({event.get_event_type_display()})",
        f"Journey {course.journey_ref} · COI {course.coi} · product {course.product.code}",
    ]
    infusion = course.infusions.filter(voided_at__isnull=True).select_related("unit").first()
    if infusion is not None:
        lines.append(
            f"Batch {infusion.unit.batch_number} · unit {infusion.unit.unit_id} · infused "
            f"{infusion.started_at.isoformat()}"
        )
    lines += [
        f"Term: {event.term} · category {event.category} · grade {event.grade}",
        f"Onset {event.onset_at.isoformat()} · awareness {event.awareness_at.isoformat()}",
        f"Serious: {event.serious} · relation: {event.relation} · outcome: {event.outcome}",
        "Grading: " + " | ".join(event.grade_reasons),
        f"Description: {event.description}",
    ]
    return "\n".join(lines)


def _send_to_manufacturer(actor: Any, event: AdverseEvent) -> bool:
    """In-app and e-mail at a `both` installation; at a hospital-only one the FHIR R5 AdverseEvent and the
    E2B(R3) ICSR go through the exchange outbox in this transaction (issue 12 item 2, T-7.10, T-10.8)."""
    if manufacturer_report_missing(event):
        return False
    duty = event.duties.filter(duty="to_manufacturer", sent_at__isnull=True).first()
    if installation.role() == installation.HOSPITAL:
        queued = adverse_event_messages_enqueue(actor=actor, event=event)
        if not queued:
            return False  # no partner stands for the manufacturer: the duty stays open (and overdue)
        reference, how = queued[0].event_id.removesuffix(":fhir"), "by exchange (FHIR R5 and E2B(R3))"
    else:
        note = notification_send(
            actor=actor,
            organisation=event.course.product.manufacturer,
            subject=f"{event.number}: {event.term}, grade {event.grade}",
            body=manufacturer_report_body(event),
            about=event,
        )
        reference, how = f"notification {note.pk}", "in-app and by e-mail"
    if duty is not None:
        duty.sent_at, duty.sent_by, duty.reference = clock.now(), actor, reference[:80]
        amend(actor, duty, "reporting_duty:sent", f"report sent to the manufacturer {how}")
    return True


@transaction.atomic
def adverse_event_send(*, actor: Any, event: AdverseEvent) -> AdverseEvent:
    """Send (again) to the manufacturer, e.g. after a regrade; refused while T-7.10-d information is missing."""
    _hospital_actor(actor, event.course.site)
    missing = manufacturer_report_missing(event)
    if missing:
        raise ValidationFailed(f"The report cannot be sent without: {', '.join(missing)} (T-7.10-d).")
    if not _send_to_manufacturer(actor, event):
        raise ValidationFailed(
            f"{event.number}: no exchange partner stands for {event.course.product.manufacturer}; register "
            "the manufacturer's installation as a partner before sending (issue 12 item 2, T-7.10)."
        )
    return event


@transaction.atomic
def adverse_event_regrade(
    *,
    actor: Any,
    event: AdverseEvent,
    findings: Mapping[str, Any] | None,
    ctcae_grade: Any,
    outcome: str,
    reason: str,
) -> AdverseEvent:
    """New findings or outcome as the event evolves; the manufacturer receives the update (T-10.8)."""
    _hospital_actor(actor, event.course.site)
    findings = _icans_age_at_onset(actor, event.course, event.category, findings or {}, event.onset_at)
    result = grade_event(event.category, findings, event.term, ctcae_grade)
    event.findings, event.grade, event.grade_reasons = (
        findings,
        result.grade,
        list(result.reasons),
    )
    event.outcome = _choice(AdverseEvent.Outcome, outcome, "outcome")
    amend(actor, event, "adverse_event:regrade", reason)
    _send_to_manufacturer(actor, event)
    return event


@transaction.atomic
def reporting_duty_mark_sent(
    *, actor: Any, duty: ReportingDuty, reference: str, sent_at: dt.datetime | None = None
) -> ReportingDuty:
    """Record that a report went out (regulator, sponsor, manufacturer), with its reference."""
    _hospital_actor(actor, duty.event.course.site)
    if duty.sent_at is not None:
        raise Conflict("This report is already recorded as sent.")
    sent_at = sent_at or clock.now()
    if sent_at > clock.now() or sent_at < duty.event.awareness_at:
        raise ValidationFailed("The sending time lies between awareness and now.", field="sent_at")
    if not reference.strip():
        raise ValidationFailed(
            "Give the report's reference (submission number, e-mail, fax).", field="reference"
        )
    duty.sent_at, duty.sent_by, duty.reference = sent_at, actor, reference.strip()
    amend(actor, duty, "reporting_duty:sent", f"report {duty.duty} sent")
    return duty


@transaction.atomic
def adverse_event_ethics_report(
    *, actor: Any, event: AdverseEvent, report_date: dt.date, reference: str
) -> AdverseEvent:
    """Related harm found in follow-up is reported to the ethics committee (T-9.2.8-3)."""
    _hospital_actor(actor, event.course.site)
    if report_date > clock.today(event.course.site.time_zone):
        raise ValidationFailed("The report date cannot be in the future.", field="report_date")
    event.ethics_report_date, event.ethics_report_ref = report_date, reference.strip()
    amend(actor, event, "adverse_event:ethics_report", "reported to the ethics committee")
    return event


# --------------------------------------------------------------------------- follow-up


def infusion_day(course: TreatmentCourse) -> dt.date | None:
    infusion = course.infusions.filter(voided_at__isnull=True).order_by("started_at").first()
    return None if infusion is None else _local_date(infusion.started_at, course)


@transaction.atomic
def follow_up_visit_record(
    *,
    actor: Any,
    course: TreatmentCourse,
    key: str,
    done_on: dt.date,
    findings: Mapping[str, str],
    notes: str = "",
) -> FollowUpVisit:
    """Record a planned follow-up visit with every item checked (T-9.2.8-1, T-9.2.8-2)."""
    _hospital_actor(actor, course.site)
    start = infusion_day(course)
    if start is None:
        raise Conflict("Follow-up starts after the infusion.")
    visits = {v.key: v for v in timing.follow_up_schedule(start, course.product.follow_up_plan())}
    if key not in visits:
        raise ValidationFailed(f"{key!r} is not a visit of this product's follow-up plan.", field="key")
    if not start <= done_on <= clock.today(course.site.time_zone):
        raise ValidationFailed("The visit date lies between the infusion day and today.", field="done_on")
    missing = [item for item in visits[key].items if not str(findings.get(item, "")).strip()]
    if missing:
        raise ValidationFailed(
            f"Record a finding for every item: {', '.join(missing)} (T-9.2.8-1).", field="findings"
        )
    visit = FollowUpVisit(
        course=course,
        key=key,
        due=visits[key].due,
        done_on=done_on,
        findings={item: str(findings[item]).strip() for item in visits[key].items},
        notes=notes,
        recorded_by=actor,
    )
    create(actor, visit, "follow_up:visit")
    # issue 12 item 2: the visit done goes to the manufacturer
    outgoing_messages.follow_up_send(actor, visit)
    return visit


# --------------------------------------------------------------------------- protocol deviations (T-9.3)


@transaction.atomic
def protocol_deviation_record(
    *,
    actor: Any,
    site: Site,
    title: str,
    description: str,
    occurred_on: dt.date,
    course: TreatmentCourse | None = None,
    urgent_risk: bool = False,
    process_record: str = "",
) -> ProtocolDeviationReport:
    """Record a protocol deviation (T-9.3.1); one done to avoid an urgent risk needs the detailed process
    record (T-9.3.2-p2)."""
    _hospital_actor(actor, site)
    if occurred_on > clock.today(site.time_zone):
        raise ValidationFailed("A deviation cannot occur in the future.", field="occurred_on")
    if urgent_risk and not process_record.strip():
        raise ValidationFailed(
            "Describe the process in detail: the deviation avoided an urgent risk (T-9.3.2-p2).",
            field="process_record",
        )
    deviation = deviation_open(
        actor=actor,
        site=site,
        kind=Deviation.Kind.PROTOCOL,
        title=title,
        description=description,
        subject=course,
        blocks_subject=False,
    )
    report = ProtocolDeviationReport(
        deviation=deviation,
        course=course,
        occurred_on=occurred_on,
        urgent_risk=urgent_risk,
        process_record=process_record,
    )
    return create(actor, report, "protocol_deviation:record")  # type: ignore[return-value]


@transaction.atomic
def protocol_deviation_report_ec(
    *,
    actor: Any,
    report: ProtocolDeviationReport,
    ec_reported_on: dt.date,
    ec_reference: str,
    sponsor_reported_on: dt.date | None = None,
    sponsor_reference: str = "",
) -> ProtocolDeviationReport:
    """Record the reports to the ethics committee and sponsor (T-9.3.1; both mandatory for T-9.3.2-p2)."""
    _hospital_actor(actor, report.deviation.site)
    if report.urgent_risk and (sponsor_reported_on is None or not sponsor_reference.strip()):
        raise ValidationFailed(
            "This deviation avoided an urgent risk: the sponsor report is mandatory too (T-9.3.2-p2).",
            field="sponsor_reported_on",
        )
    today = clock.today(report.deviation.site.time_zone)
    if ec_reported_on > today or (sponsor_reported_on and sponsor_reported_on > today):
        raise ValidationFailed("A report date cannot be in the future.", field="ec_reported_on")
    report.ec_reported_on, report.ec_reference = ec_reported_on, ec_reference.strip()
    report.sponsor_reported_on, report.sponsor_reference = sponsor_reported_on, sponsor_reference.strip()
    amend(actor, report, "protocol_deviation:report", "reported to the ethics committee")
    return report


@transaction.atomic
def corrective_action_add(
    *, actor: Any, report: ProtocolDeviationReport, description: str, owner: Any, due: dt.date
) -> CorrectiveAction:
    """A corrective action to prevent recurrence (T-9.3.2)."""
    _hospital_actor(actor, report.deviation.site)
    if report.closed_at is not None:
        raise Conflict("The deviation is closed.")
    action = CorrectiveAction(report=report, description=description, owner=owner, due=due)
    return create(actor, action, "corrective_action:add")  # type: ignore[return-value]


@transaction.atomic
def corrective_action_close(
    *, actor: Any, action: CorrectiveAction, done_on: dt.date, effectiveness_check: str
) -> CorrectiveAction:
    """Close an action: it needs the effectiveness check (T-9.3.2)."""
    _hospital_actor(actor, action.report.deviation.site)
    if action.closed_at is not None:
        raise Conflict("This action is already closed.")
    if not effectiveness_check.strip():
        raise ValidationFailed(
            "Record how the action's effectiveness was checked (T-9.3.2).", field="effectiveness_check"
        )
    if done_on > clock.today(action.report.deviation.site.time_zone):
        raise ValidationFailed("The action cannot be done in the future.", field="done_on")
    action.done_on, action.effectiveness_check, action.closed_at = done_on, effectiveness_check, clock.now()
    amend(actor, action, "corrective_action:close", "action done and effective")
    return action


def protocol_deviation_open_items(report: ProtocolDeviationReport) -> list[str]:
    """What still keeps the deviation open (T-9.3.1, T-9.3.2, T-9.3.2-p2)."""
    items = []
    if report.ec_reported_on is None:
        items.append("report to the ethics committee")
    if report.urgent_risk and report.sponsor_reported_on is None:
        items.append("report to the sponsor")
    actions = list(report.actions.filter(voided_at__isnull=True))
    if not actions:
        items.append("at least one corrective action")
    items += [f"close action: {a.description[:40]}" for a in actions if a.closed_at is None]
    return items


@transaction.atomic
def protocol_deviation_close(*, actor: Any, report: ProtocolDeviationReport) -> ProtocolDeviationReport:
    """Close once reported and every corrective action is closed with its effectiveness check."""
    _hospital_actor(actor, report.deviation.site)
    open_items = protocol_deviation_open_items(report)
    if open_items:
        raise Conflict(f"The deviation cannot be closed yet: {'; '.join(open_items)}.")
    report.closed_at, report.closed_by = clock.now(), actor
    amend(actor, report, "protocol_deviation:close", "reported and corrective actions effective")
    return report


# --------------------------------------------------------------------------- reminders


def _remind(organisation: Any, site: Site, role: str, subject: str, body: str, about: Any) -> bool:
    """Send one reminder unless the same one was sent before (the command runs every day)."""
    from cellchain.quality.models import Notification

    if Notification.objects.filter(
        subject=subject[:200], subject_id=str(about.pk), subject_type=about.ledger_record_type()
    ).exists():
        return False
    notification_send(
        actor=None, organisation=organisation, site=site, role=role, subject=subject, body=body, about=about
    )
    return True


@transaction.atomic
def reminders_send(*, now: dt.datetime) -> int:
    """Remind the site of follow-up visits coming due or missed (T-9.2.8-2), missing days 1-7 (T-9.2.6-2) and
    overdue reports (T-7.10-b), in-app and by e-mail; returns how many were sent."""
    from cellchain.accounts.roles import Role
    from cellchain.clinic import selectors

    sent = 0
    for course in (
        TreatmentCourse.objects.filter(voided_at__isnull=True, infusions__isnull=False)
        .distinct()
        .select_related("site__organisation", "product")
    ):
        today = selectors.local_date(now, course.site.time_zone)
        org, site = course.site.organisation, course.site
        for status in selectors.follow_up_plan(course, today):
            if status.remind:
                subject = f"Follow-up {course.journey_ref} {status.visit.key} ({status.status.value}), due {status.visit.due}"
                body = (
                    f"Window {status.visit.window_start} to {status.visit.window_end}; check: "
                    + ", ".join(status.visit.items)
                )
                sent += _remind(org, site, Role.COORDINATOR, subject, body, course)
        for day in selectors.monitoring_plan(course, today):
            if day.status is timing.TaskStatus.OVERDUE:
                sent += _remind(
                    org,
                    site,
                    Role.NURSE,
                    f"Monitoring {course.journey_ref} D{day.day} ({day.on}) missing",
                    "Complete the day's checklist (T-9.2.6-2).",
                    course,
                )
    for duty in ReportingDuty.objects.filter(
        sent_at__isnull=True, due_at__lt=now, voided_at__isnull=True
    ).select_related("event__course__site__organisation"):
        course = duty.event.course
        sent += _remind(
            course.site.organisation,
            course.site,
            Role.PHYSICIAN,
            f"{duty.event.number}: report '{duty.duty}' to {duty.recipient} overdue since {duty.due_at:%Y-%m-%d %H:%M}",
            f"Basis: {duty.basis}.",
            duty.event,
        )
    return sent
