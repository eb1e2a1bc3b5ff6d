"""Queries of the clinic context: what a viewer may see, course stage, countdowns, overdue lists.

Visibility: hospital staff see their own organisation's courses; manufacturer users see none of them (they
receive pseudonymous AE reports as notifications, T-7.6, X-7).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from cellchain.clinic.models import (
    AdverseEvent,
    BedsideCheck,
    ClinicUnit,
    FollowUpVisit,
    Infusion,
    MonitoringDay,
    ProductUseProfile,
    ProtocolDeviationReport,
    ReportingDuty,
    RiskPlan,
    TreatmentCourse,
)
from cellchain.core.errors import NotFound
from cellchain.domain import clinical_timing as timing
from cellchain.domain import reporting_clocks as clocks
from cellchain.domain.clinical_use import CLINIC_VALUES, PACKAGE_VALUES, PACKAGE_VALUES_IF_STATED


def _org(viewer: Any) -> int | None:
    """The viewer's organisation; clinic records live at hospital sites, so a manufacturer's matches nothing."""
    if viewer.organisation_id is None:
        return None
    return int(viewer.organisation_id)


def courses_visible_to(viewer: Any) -> QuerySet[TreatmentCourse]:
    org = _org(viewer)
    if org is None:
        return TreatmentCourse.objects.none()
    return TreatmentCourse.objects.filter(site__organisation_id=org, voided_at__isnull=True).select_related(
        "site", "product__manufacturer", "physician"
    )


def course_get(viewer: Any, course_id: int) -> TreatmentCourse:
    course = courses_visible_to(viewer).filter(pk=course_id).order_by().first()
    if course is None:
        raise NotFound("No such treatment course visible to you.")
    return course


def _get(queryset: QuerySet[Any], viewer: Any, pk: int, path: str, what: str) -> Any:
    org = _org(viewer)
    item = queryset.filter(pk=pk, **{path: org}).first() if org is not None else None
    if item is None:
        raise NotFound(f"No such {what} visible to you.")
    return item


def unit_get(viewer: Any, unit_id: int) -> ClinicUnit:
    qs = ClinicUnit.objects.select_related("course__site", "course__product")
    return _get(qs, viewer, unit_id, "course__site__organisation_id", "unit")  # type: ignore[no-any-return]


def check_get(viewer: Any, check_id: int) -> BedsideCheck:
    qs = BedsideCheck.objects.select_related("course__site", "course__product", "unit", "performer")
    return _get(qs, viewer, check_id, "course__site__organisation_id", "bedside check")  # type: ignore[no-any-return]


def infusion_get(viewer: Any, infusion_id: int) -> Infusion:
    qs = Infusion.objects.select_related("course__site", "course__product", "unit", "observation")
    return _get(qs, viewer, infusion_id, "course__site__organisation_id", "infusion")  # type: ignore[no-any-return]


def event_get(viewer: Any, event_id: int) -> AdverseEvent:
    qs = AdverseEvent.objects.select_related("course__site", "course__product", "reported_by")
    return _get(qs, viewer, event_id, "course__site__organisation_id", "adverse event")  # type: ignore[no-any-return]


def duty_get(viewer: Any, duty_id: int) -> ReportingDuty:
    qs = ReportingDuty.objects.select_related("event__course__site")
    return _get(qs, viewer, duty_id, "event__course__site__organisation_id", "reporting duty")  # type: ignore[no-any-return]


def risk_plan_get(viewer: Any, plan_id: int) -> RiskPlan:
    qs = RiskPlan.objects.select_related("site", "product").prefetch_related("items")
    return _get(qs, viewer, plan_id, "site__organisation_id", "risk plan")  # type: ignore[no-any-return]


def protocol_report_get(viewer: Any, report_id: int) -> ProtocolDeviationReport:
    qs = ProtocolDeviationReport.objects.select_related(
        "deviation__site", "course", "closed_by"
    ).prefetch_related("actions__owner")
    return _get(qs, viewer, report_id, "deviation__site__organisation_id", "protocol deviation")  # type: ignore[no-any-return]


def risk_plans_visible_to(viewer: Any) -> QuerySet[RiskPlan]:
    org = _org(viewer)
    if org is None:
        return RiskPlan.objects.none()
    return RiskPlan.objects.filter(site__organisation_id=org, voided_at__isnull=True).select_related(
        "site", "product"
    )


def protocol_reports_visible_to(viewer: Any) -> QuerySet[ProtocolDeviationReport]:
    org = _org(viewer)
    if org is None:
        return ProtocolDeviationReport.objects.none()
    return ProtocolDeviationReport.objects.filter(deviation__site__organisation_id=org).select_related(
        "deviation", "course"
    )


def products_all() -> QuerySet[ProductUseProfile]:
    return ProductUseProfile.objects.filter(voided_at__isnull=True).select_related("manufacturer")


def local_date(moment: dt.datetime, site_tz: str) -> dt.date:
    return moment.astimezone(ZoneInfo(site_tz)).date()


# --------------------------------------------------------------------------- stage and countdowns


class Stage:
    PLANNED = "planned"
    READY = "unit_ready"
    THAWED = "thawed"
    CHECKED = "bedside_checked"
    INFUSING = "infusing"
    OBSERVATION = "observation"
    MONITORING = "monitoring"
    FOLLOW_UP = "follow_up"


STAGE_LABELS = {
    Stage.PLANNED: _("Planned (lymphodepletion)"),
    Stage.READY: _("Unit ready to thaw"),
    Stage.THAWED: _("Thawed: use-by countdown"),
    Stage.CHECKED: _("Bedside check verified"),
    Stage.INFUSING: _("Infusing"),
    Stage.OBSERVATION: _("Under observation"),
    Stage.MONITORING: _("Days 1-7 monitoring"),
    Stage.FOLLOW_UP: _("Follow-up"),
}


def course_stage(course: TreatmentCourse, today: dt.date) -> str:
    """Where the course stands, from its records (no stored status to drift)."""
    infusion = next(iter(course.infusions.all()), None)
    if infusion is not None:
        observation = getattr(infusion, "observation", None)
        if infusion.ended_at is None:
            return Stage.INFUSING
        if observation is not None and observation.ended_at is None:
            return Stage.OBSERVATION
        day = local_date(infusion.started_at, course.site.time_zone)
        return Stage.MONITORING if (today - day).days <= 7 else Stage.FOLLOW_UP
    units = list(course.units.all())
    if any(u.state in (ClinicUnit.State.THAWED, ClinicUnit.State.DILUTED) for u in units):
        verified = getattr(course, "verified_check_ids", None)
        if verified is None:
            verified = {c.pk for c in course.bedside_checks.all() if c.verification is not None}
        return Stage.CHECKED if any(c.pk in verified for c in course.bedside_checks.all()) else Stage.THAWED
    return Stage.READY if units else Stage.PLANNED


def courses_with_stage(viewer: Any, today: dt.date) -> list[tuple[TreatmentCourse, str]]:
    """Every visible course with its stage, in a fixed number of queries whatever the number of courses."""
    courses = list(
        courses_visible_to(viewer).prefetch_related(
            Prefetch(
                "infusions",
                queryset=Infusion.objects.filter(voided_at__isnull=True)
                .select_related("observation")
                .order_by("started_at"),
            ),
            "units",
            "bedside_checks",
        )
    )
    verified = _verified_check_ids([c.pk for course in courses for c in course.bedside_checks.all()])
    for course in courses:
        course.verified_check_ids = verified  # type: ignore[attr-defined]
    return [(course, course_stage(course, today)) for course in courses]


def _verified_check_ids(check_ids: list[int]) -> set[int]:
    """Bedside checks holding a current "verified" signature (one query for all of them)."""
    from cellchain.signatures.models import Meaning, Signature

    if not check_ids:
        return set()
    rows = Signature.objects.filter(
        record_type=BedsideCheck.ledger_record_type(),
        record_id__in=[str(i) for i in check_ids],
        meaning=Meaning.VERIFIED,
        superseded_at__isnull=True,
    ).values_list("record_id", flat=True)
    return {int(r) for r in rows}


@dataclass(frozen=True)
class Countdown:
    unit: ClinicUnit
    deadline: dt.datetime
    remaining_minutes: int
    expired: bool


def unit_countdown(unit: ClinicUnit, now: dt.datetime) -> Countdown | None:
    """The use-by countdown shown wherever the unit appears (T-7.8-a, T-8.2.4-c)."""
    if unit.use_by is None or unit.state in (ClinicUnit.State.INFUSED, ClinicUnit.State.DISCARDED):
        return None
    remaining = unit.use_by - now
    return Countdown(unit, unit.use_by, int(remaining.total_seconds() // 60), remaining <= dt.timedelta(0))


def running_countdowns(viewer: Any, now: dt.datetime) -> list[Countdown]:
    org = _org(viewer)
    if org is None:
        return []
    units = ClinicUnit.objects.filter(
        course__site__organisation_id=org,
        use_by__isnull=False,
        state__in=[ClinicUnit.State.THAWED, ClinicUnit.State.DILUTED],
    ).select_related("course")
    return [c for c in (unit_countdown(u, now) for u in units) if c is not None]


# --------------------------------------------------------------------------- monitoring, follow-up, duties


def _first_infusion(course: TreatmentCourse) -> Infusion | None:
    """Uses the prefetched infusions when present (list views), else one query."""
    cache = getattr(course, "_prefetched_objects_cache", {})
    if "infusions" in cache:
        live = [i for i in cache["infusions"] if i.voided_at is None]
        return min(live, key=lambda i: i.started_at) if live else None
    return course.infusions.filter(voided_at__isnull=True).order_by("started_at").first()


def _done(course: TreatmentCourse, relation: str, model: Any, fields: tuple[str, ...]) -> list[Any]:
    cache = getattr(course, "_prefetched_objects_cache", {})
    rows = cache[relation] if relation in cache else model.objects.filter(course=course)
    return [tuple(getattr(row, f) for f in fields) for row in rows if row.voided_at is None]


def monitoring_plan(course: TreatmentCourse, today: dt.date) -> tuple[timing.MonitoringDay, ...]:
    """The D1-D7 checklist with each day's status (T-9.2.6-2)."""
    infusion = _first_infusion(course)
    if infusion is None:
        return ()
    done = {day for (day,) in _done(course, "monitoring_days", MonitoringDay, ("day",))}
    return timing.intensive_monitoring_days(
        local_date(infusion.started_at, course.site.time_zone),
        today,
        done,
        course.product.monitoring_indicators,
    )


def follow_up_plan(course: TreatmentCourse, today: dt.date) -> tuple[timing.VisitStatus, ...]:
    """The follow-up visits with status and reminders (T-9.2.8)."""
    infusion = _first_infusion(course)
    if infusion is None:
        return ()
    visits = timing.follow_up_schedule(
        local_date(infusion.started_at, course.site.time_zone), course.product.follow_up_plan()
    )
    done = dict(_done(course, "follow_up_visits", FollowUpVisit, ("key", "done_on")))
    return timing.follow_up_status(visits, today, done)


@dataclass(frozen=True)
class OverdueTask:
    course: TreatmentCourse
    what: str
    due: dt.date


def _infused_courses(viewer: Any) -> QuerySet[TreatmentCourse]:
    """Courses with an infusion and what the overdue lists need, in a fixed number of queries."""
    return (
        courses_visible_to(viewer)
        .filter(infusions__voided_at__isnull=True)
        .distinct()
        .prefetch_related("infusions", "monitoring_days", "follow_up_visits")
    )


def overdue_monitoring(viewer: Any, today: dt.date) -> list[OverdueTask]:
    """Missing D1-D7 days across the viewer's courses (T-9.2.6-2)."""
    tasks = [
        OverdueTask(course, f"D{d.day}", d.on)
        for course in _infused_courses(viewer)
        for d in monitoring_plan(course, today)
        if d.status is timing.TaskStatus.OVERDUE
    ]
    return sorted(tasks, key=lambda t: t.due)


def overdue_follow_up(viewer: Any, today: dt.date) -> list[OverdueTask]:
    """Missed follow-up visits (T-9.2.8-2)."""
    tasks = [
        OverdueTask(course, s.visit.key, s.visit.due)
        for course in _infused_courses(viewer)
        for s in follow_up_plan(course, today)
        if s.status is timing.TaskStatus.OVERDUE
    ]
    return sorted(tasks, key=lambda t: t.due)


def duties_visible_to(viewer: Any) -> QuerySet[ReportingDuty]:
    org = _org(viewer)
    if org is None:
        return ReportingDuty.objects.none()
    return ReportingDuty.objects.filter(
        event__course__site__organisation_id=org, voided_at__isnull=True
    ).select_related("event__course")


def overdue_duties(viewer: Any, now: dt.datetime) -> list[ReportingDuty]:
    """Reports still unsent after their due time, most overdue first (T-7.10-b, REGULATORY item 50)."""
    return list(duties_visible_to(viewer).filter(sent_at__isnull=True, due_at__lt=now).order_by("due_at"))


def duty_state(duty: ReportingDuty, now: dt.datetime) -> str:
    status = clocks.duty_status(
        clocks.ReportingDuty(duty.duty, duty.recipient, duty.due_at, duty.basis), duty.sent_at, now
    )
    return status.state.value


# --------------------------------------------------------------------------- product values and their source

VALUE_ORDER: tuple[str, ...] = (
    *(name for name in PACKAGE_VALUES if name != "name"),
    *PACKAGE_VALUES_IF_STATED,
    *CLINIC_VALUES,
)


@dataclass(frozen=True)
class ValueRow:
    """One product value as the products page shows it, with where it comes from (T-7.4)."""

    name: str
    label: str
    value: str
    from_package: bool


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _label(name: str) -> str:
    return str(ProductUseProfile._meta.get_field(name).verbose_name)


def profile_rows(profile: ProductUseProfile) -> list[ValueRow]:
    """Every value of a profile, each marked as the manufacturer's package's or the clinic's."""
    rows = []
    for name in VALUE_ORDER:
        value = getattr(profile, name)
        if name == "overtime_handling":
            value = profile.get_overtime_handling_display()
        rows.append(ValueRow(name, _label(name), _shown(value), profile.from_package(name)))
    return rows


def package_rows(package: Any) -> list[ValueRow]:
    """The values an information package carries (nothing when it cannot be adopted)."""
    if package.values is None:
        return []
    fields = package.values.as_fields()
    rows = []
    for name in VALUE_ORDER:
        if name not in fields:
            continue
        value = fields[name]
        if name == "overtime_handling":
            value = ProductUseProfile.Overtime(value).label
        rows.append(ValueRow(name, _label(name), _shown(value), True))
    return rows


# --------------------------------------------------------------------------- one timeline whatever the maker


@dataclass(frozen=True)
class TimelineLine:
    """One event of a course at the hospital, naming the manufacturer of the product involved (issue 12 item 3)."""

    at: dt.datetime
    kind: str
    summary: str
    manufacturer: str
    identifiers: tuple[str, ...] = ()


def maker_name(course: TreatmentCourse, unit: ClinicUnit | None = None) -> str:
    """The manufacturer's name: the unit's register entry, else the maker of the course's product."""
    if unit is not None and unit.manufacturer_id is not None:
        return unit.manufacturer.name
    return course.product.manufacturer.name


def course_timeline(course: TreatmentCourse) -> list[TimelineLine]:
    """The course's events in time order - units received, thaws, bedside checks, infusions, adverse events -
    the same for every manufacturer, each line naming it (issue 12 item 3; T-10.4), in a constant number of
    queries."""
    from cellchain.clinic.models import LymphodepletionDose, Thaw
    from cellchain.ledger.models import LedgerEntry

    units = {u.pk: u for u in course.units.select_related("manufacturer")}
    course_maker = maker_name(course)
    lines = [
        TimelineLine(
            dt.datetime.combine(d.given_on, dt.time(), tzinfo=dt.UTC),
            "lymphodepletion",
            f"{d.drug} {d.dose}",
            course_maker,
        )
        for d in LymphodepletionDose.objects.filter(course=course, voided_at__isnull=True)
    ]
    admitted = LedgerEntry.objects.filter(
        record_type=ClinicUnit._meta.label_lower,
        record_id__in=[str(pk) for pk in units],
        action=LedgerEntry.Action.CREATE,
    ).values_list("record_id", "recorded_at")
    for record_id, at in admitted:
        unit = units[int(record_id)]
        how = unit.get_label_format_display() if unit.label_format else "DIN"
        lines.append(
            TimelineLine(at, "receipt", f"Unit received ({how}), batch {unit.batch_number}",
                         maker_name(course, unit), (unit.unit_id, unit.coi))
        )  # fmt: skip
    for thaw in Thaw.objects.filter(unit__course=course, voided_at__isnull=True):
        unit = units[thaw.unit_id]
        lines.append(
            TimelineLine(thaw.started_at, "thaw", f"Thawed at {thaw.temperature_c} °C", maker_name(course, unit),
                         (unit.unit_id,))
        )  # fmt: skip
    for check in course.bedside_checks.filter(voided_at__isnull=True):
        unit = units.get(check.unit_id) if check.unit_id else None
        codes = ", ".join(r.get("code", "") for r in check.reasons)
        lines.append(
            TimelineLine(check.checked_at, "bedside", f"Bedside check: {check.verdict}" + (f" ({codes})" if codes else ""),
                         maker_name(course, unit), (unit.unit_id,) if unit else ())
        )  # fmt: skip
    for infusion in course.infusions.filter(voided_at__isnull=True):
        unit = units.get(infusion.unit_id)
        lines.append(
            TimelineLine(infusion.started_at, "infusion", f"Infusion {infusion.volume_ml} mL",
                         maker_name(course, unit), (unit.unit_id,) if unit else ())
        )  # fmt: skip
    for event in course.adverse_events.filter(voided_at__isnull=True):
        lines.append(
            TimelineLine(event.onset_at, "adverse_event", f"{event.term} ({event.number})", course_maker)
        )
    return sorted(lines, key=lambda line: line.at)
