"""JSON API of the clinic context: courses, bedside scan, grading, adverse events, thaw, overdue lists, product
profiles adopted from the manufacturer's approved versions.

Errors use the one shape `{"message", "code", "detail"}`; a blocked bedside scan answers 409 with the verdict
after the check and any identity incident have been recorded (T-8.2.6-e, REGULATORY item 37).
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from cellchain.clinic import packages, selectors, services
from cellchain.clinic.models import BedsideCheck
from cellchain.clinic.services.products import ALL_VALUES
from cellchain.core import clock
from cellchain.core.errors import ValidationFailed
from cellchain.core.permissions import requires

router = Router(tags=["clinic"])


class ErrorOut(Schema):
    message: str
    code: str
    detail: dict[str, Any]


class CourseOut(Schema):
    id: int
    journey_ref: str
    coi: str
    patient_label: str
    product: str
    stage: str
    infusion_window_start: dt.date
    infusion_window_end: dt.date


def _course_out(course: Any, stage: str) -> CourseOut:
    return CourseOut(
        id=course.pk,
        journey_ref=course.journey_ref,
        coi=course.coi,
        patient_label=course.patient_label,
        product=course.product.code,
        stage=stage,
        infusion_window_start=course.infusion_window_start,
        infusion_window_end=course.infusion_window_end,
    )


@router.get("/courses", response=list[CourseOut])
@requires("clinic.view")
def course_list(request: HttpRequest) -> list[CourseOut]:
    today = clock.now().date()
    return [_course_out(c, stage) for c, stage in selectors.courses_with_stage(request.user, today)]


@router.get("/courses/{course_id}", response=CourseOut)
@requires("clinic.view")
def course_get(request: HttpRequest, course_id: int) -> CourseOut:
    course = selectors.course_get(request.user, course_id)
    return _course_out(course, selectors.course_stage(course, clock.now().date()))


class BedsideScanIn(Schema):
    wristband: str
    unit: str
    manual_reason: str = ""


class ReasonOut(Schema):
    code: str
    message: str
    value: str
    limit: str
    clause: str
    consequence: str


class BedsideCheckOut(Schema):
    id: int
    verdict: str
    reasons: list[ReasonOut]
    identity_incident: str
    checked_at: dt.datetime


def _check_out(check: BedsideCheck) -> BedsideCheckOut:
    return BedsideCheckOut(
        id=check.pk,
        verdict=check.verdict,
        reasons=check.reasons,  # type: ignore[arg-type]
        identity_incident=check.deviation_number,
        checked_at=check.checked_at,
    )


@router.post("/courses/{course_id}/bedside-scan", response={200: BedsideCheckOut, 409: ErrorOut})
@requires("clinic.bedside")
def bedside_scan(request: HttpRequest, course_id: int, payload: BedsideScanIn) -> Any:
    """The first person's two scans to a verdict; 409 when blocked (the check is recorded either way)."""
    course = selectors.course_get(request.user, course_id)
    entry = BedsideCheck.Entry.MANUAL if payload.manual_reason.strip() else BedsideCheck.Entry.SCANNED
    check = services.bedside_scan(
        actor=request.user,
        course=course,
        wristband_scan=payload.wristband,
        unit_scan=payload.unit,
        entry=entry,
        manual_reason=payload.manual_reason,
    )
    out = _check_out(check)
    if check.verdict == BedsideCheck.Verdict.PROCEED:
        return out
    message = "Infusion blocked: " + "; ".join(r["message"] for r in check.reasons) + "."
    return 409, ErrorOut(
        message=message, code="identity_mismatch" if check.deviation_number else "blocked", detail=out.dict()
    )


class GradeIn(Schema):
    """Findings by category. ICANS: `ice_score` (0-10) or, for a child, `capd_score` (0-32) or
    `capd_not_possible`, with `age_years` at onset and `developmental_delay` (ASTCT 2019); then
    `consciousness`, `seizure`, `seizure_minutes`, `motor`, `raised_icp`, `death`."""

    category: str
    findings: dict[str, Any] = {}
    term: str = "-"
    ctcae_grade: int | None = None


class GradeOut(Schema):
    grade: int
    reasons: list[str]


@router.post("/grading", response=GradeOut)
@requires("clinic.grade")
def grade(request: HttpRequest, payload: GradeIn) -> GradeOut:
    """ASTCT 2019 CRS/ICANS grade with its reasoning, or the CTCAE v5 grade (pure; nothing is stored)."""
    result = services.grade_event(payload.category, payload.findings, payload.term, payload.ctcae_grade)
    return GradeOut(grade=result.grade, reasons=list(result.reasons))


class EventIn(Schema):
    """`findings` as for grading; for ICANS the age at onset comes from the enrolment record when the journey
    is enrolled in CellChain (an `age_years` that contradicts it is refused)."""

    category: str
    term: str
    description: str
    onset_at: dt.datetime
    serious: bool
    relation: str
    findings: dict[str, Any] = {}
    ctcae_grade: int | None = None
    event_type: str = "adverse_reaction"
    unexpected: bool = False
    life_threatening: bool = False
    fatal: bool = False
    outcome: str = "ongoing"
    treatment: str = ""


class DutyOut(Schema):
    id: int
    duty: str
    recipient: str
    due_at: dt.datetime
    basis: str
    sent_at: dt.datetime | None
    event_number: str


class EventOut(Schema):
    id: int
    number: str
    grade: int
    grade_reasons: list[str]
    duties: list[DutyOut]


def _duty_out(duty: Any) -> DutyOut:
    return DutyOut(
        id=duty.pk,
        duty=duty.duty,
        recipient=duty.recipient,
        due_at=duty.due_at,
        basis=duty.basis,
        sent_at=duty.sent_at,
        event_number=duty.event.number,
    )


@router.post("/courses/{course_id}/adverse-events", response={201: EventOut})
@requires("clinic.record_ae")
def event_create(request: HttpRequest, course_id: int, payload: EventIn) -> Any:
    course = selectors.course_get(request.user, course_id)
    event = services.adverse_event_record(actor=request.user, course=course, **payload.dict())
    return 201, EventOut(
        id=event.pk,
        number=event.number,
        grade=event.grade,
        grade_reasons=event.grade_reasons,
        duties=[_duty_out(d) for d in event.duties.all()],
    )


@router.get("/reporting/overdue", response=list[DutyOut])
@requires("clinic.view")
def reporting_overdue(request: HttpRequest) -> list[DutyOut]:
    return [_duty_out(d) for d in selectors.overdue_duties(request.user, clock.now())]


class TaskOut(Schema):
    course_id: int
    journey_ref: str
    what: str
    due: dt.date


@router.get("/follow-up/overdue", response=list[TaskOut])
@requires("clinic.view")
def follow_up_overdue(request: HttpRequest) -> list[TaskOut]:
    tasks = selectors.overdue_follow_up(request.user, clock.now().date())
    return [
        TaskOut(course_id=t.course.pk, journey_ref=t.course.journey_ref, what=t.what, due=t.due)
        for t in tasks
    ]


class ThawIn(Schema):
    started_at: dt.datetime
    ended_at: dt.datetime
    temperature_c: float
    method: str
    area: str
    device: str
    appearance_normal: bool
    no_shaking_confirmed: bool
    precautions_acknowledged: bool
    interrupted: bool = False


class ThawedUnitOut(Schema):
    id: int
    unit_id: str
    release: str
    state: str
    use_by: dt.datetime | None


@router.post("/units/{unit_id}/thaw", response=ThawedUnitOut)
@requires("clinic.prepare")
def thaw(request: HttpRequest, unit_id: int, payload: ThawIn) -> ThawedUnitOut:
    unit = selectors.unit_get(request.user, unit_id)
    services.thaw_record(actor=request.user, unit=unit, **payload.dict())
    unit.refresh_from_db()
    return ThawedUnitOut(
        id=unit.pk, unit_id=unit.unit_id, release=unit.release, state=unit.state, use_by=unit.use_by
    )


class CloseIn(Schema):
    notes: str = ""


class ObservationOut(Schema):
    infusion_id: int
    ended_at: dt.datetime | None


@router.post("/infusions/{infusion_id}/observation/close", response=ObservationOut)
@requires("clinic.observe")
def observation_close(request: HttpRequest, infusion_id: int, payload: CloseIn) -> ObservationOut:
    infusion = selectors.infusion_get(request.user, infusion_id)
    observation = services.observation_close(
        actor=request.user, observation=infusion.observation, notes=payload.notes
    )
    return ObservationOut(infusion_id=infusion.pk, ended_at=observation.ended_at)


# --------------------------------------------------------------------------- product use profiles (T-7.4)


class ValueOut(Schema):
    name: str
    label: str
    value: str
    source: str  # "manufacturer" (from the information package) or "clinic"


class ProfileOut(Schema):
    id: int
    code: str
    name: str
    manufacturer: str
    source: str  # "package" or "hand"
    source_version: str  # "CODE vN" of the adopted version; empty when entered by hand
    behind: bool  # the manufacturer has approved a version the profile does not use
    latest_version: str
    latest_version_id: int | None
    package_fields: list[str]
    values: list[ValueOut]


def _profile_out(status: Any) -> ProfileOut:
    profile = status.profile
    return ProfileOut(
        id=profile.pk,
        code=profile.code,
        name=profile.name,
        manufacturer=profile.manufacturer.name,
        source=profile.source,
        source_version=profile.source_label,
        behind=status.behind,
        latest_version=status.latest.label if status.latest else "",
        latest_version_id=status.latest.version_id if status.latest else None,
        package_fields=list(profile.package_fields),
        values=[
            ValueOut(
                name=row.name,
                label=row.label,
                value=row.value,
                source="manufacturer" if row.from_package else "clinic",
            )
            for row in selectors.profile_rows(profile)
        ],
    )


@router.get("/products", response=list[ProfileOut])
@requires("clinic.view")
def product_list(request: HttpRequest) -> list[ProfileOut]:
    """The clinic's product profiles, each value marked manufacturer or clinic, and whether a newer approved
    version of the product exists (T-7.4, T-8.2.1)."""
    return [_profile_out(s) for s in services.profiles_status(selectors.products_all())]


class ProductVersionOut(Schema):
    id: int
    version: str  # "CODE vN"
    product_name: str
    manufacturer: str
    approved_at: dt.datetime | None
    change_note: str
    adoptable: bool
    problem: str
    values: list[ValueOut]


@router.get("/product-versions", response=list[ProductVersionOut])
@requires("clinic.view")
def product_versions(request: HttpRequest) -> list[ProductVersionOut]:
    """Every manufacturer's currently approved product version with the values its package carries (T-7.4)."""
    return [
        ProductVersionOut(
            id=package.version_id,
            version=package.label,
            product_name=package.product_name,
            manufacturer=package.manufacturer.name,
            approved_at=package.approved_at,
            change_note=package.change_note,
            adoptable=package.values is not None,
            problem=package.problem,
            values=[
                ValueOut(name=row.name, label=row.label, value=row.value, source="manufacturer")
                for row in selectors.package_rows(package)
            ],
        )
        for package in packages.approved_packages()
    ]


class AdoptIn(Schema):
    """`values`: only those the package does not carry (rate, dose, sets, follow-up; route, filter and
    observation when the package does not state them). `reason` when replacing a version in use."""

    reason: str = ""
    values: dict[str, Any] = {}


@router.post("/product-versions/{version_id}/adopt", response=ProfileOut)
@requires("clinic.product")
def product_adopt(request: HttpRequest, version_id: int, payload: AdoptIn) -> ProfileOut:
    """Adopt the manufacturer's approved version into the clinic's profile (ledgered; T-7.4, T-8.2.1)."""
    unknown = sorted(set(payload.values) - set(ALL_VALUES))
    if unknown:
        raise ValidationFailed(f"Unknown product value(s): {', '.join(unknown)}.", field="values")
    version = packages.version_for_adoption(version_id)
    profile = services.product_profile_adopt(
        actor=request.user, product_version=version, reason=payload.reason, **payload.values
    )
    return _profile_out(services.profiles_status([profile])[0])
