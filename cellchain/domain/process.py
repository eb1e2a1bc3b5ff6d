"""Process template and batch-record rules for CAR-T manufacturing.

Clauses: P-1-a (ordered steps, CPPs with ranges and justification), P-T2-c..i (Table 2 steps and their
parameters), P-T2-d/f (activation and expansion durations as the product defines), P-T2-g (no harvest
after the maximum time), P-1.3.2-a (bead removal before formulation), P-1.3.5-a (fill plan keeps the
retained-sample units). Areas, line clearance, equipment and material lots are in `facility`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from cellchain.domain.environment import open_step_template_problems
from cellchain.domain.findings import Finding, Gate, format_decimal


class StepKind(StrEnum):
    """Manufacturing steps of review Table 2, in their order (P-T2-c..i).

    Collection (P-T2-a) and transport (P-T2-b) happen before the batch record starts; they are
    recorded with the apheresis and the shipment.
    """

    SORTING_CRYO = "sorting_cryo"  # P-T2-c cell sorting and cryopreservation
    THAW_ACTIVATION = "thaw_activation"  # P-T2-d
    TRANSDUCTION = "transduction"  # P-T2-e
    EXPANSION = "expansion"  # P-T2-f
    HARVEST = "harvest"  # P-T2-g 收获洗涤
    FORMULATION = "formulation"  # P-T2-h excipient addition
    FILL_CRYO = "fill_cryo"  # P-T2-i fill, label, cryopreserve


TABLE_2_ORDER: tuple[StepKind, ...] = tuple(StepKind)
"""The order steps must follow in every template and batch (P-T2-c..i)."""

OPTIONAL_STEPS: frozenset[StepKind] = frozenset({StepKind.SORTING_CRYO})
"""Sorting/cryopreservation is a design choice per product (Table 3, P-T3-a); the other steps are not."""

REVIEW_ACTIVATION_HOURS = (24, 48)
"""Reference activation duration from the review: signs of activation after 24-48 h (P-T2-d)."""

REVIEW_EXPANSION_DAYS = (7, 14)
"""Reference expansion duration from the review: usually 7-14 days (P-T2-f)."""


class Activator(StrEnum):
    """T-cell activator of the product (P-T2-d); beads must be removed before formulation (P-1.3.2-a)."""

    SOLUBLE_ANTI_CD3 = "soluble_anti_cd3"
    CD3_CD28_BEADS = "cd3_cd28_beads"  # e.g. Dynabeads
    NANOMATRIX = "nanomatrix"  # e.g. TransAct, removed by washing, not a bead

    @property
    def is_bead(self) -> bool:
        return self is Activator.CD3_CD28_BEADS


class ParameterKind(StrEnum):
    """How a process parameter is entered."""

    NUMBER = "number"
    CHOICE = "choice"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class ParameterRange:
    """Allowed range of a numeric process parameter, bounds inclusive (P-1-a)."""

    unit: str
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"{format_decimal(low)}–{format_decimal(high)}{unit}"
        if low is not None:
            return f"≥ {format_decimal(low)}{unit}"
        if high is not None:
            return f"≤ {format_decimal(high)}{unit}"
        return f"any{unit}"


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    """One process parameter of a step: how it is entered, its allowed range or choices, why (P-1-a)."""

    code: str
    label: str
    kind: ParameterKind = ParameterKind.NUMBER
    allowed: ParameterRange | None = None
    choices: tuple[str, ...] = ()
    critical: bool = False  # a CPP (关键工艺参数)
    required: bool = True
    justification: str = ""


@dataclass(frozen=True, slots=True)
class DurationLimits:
    """Allowed duration of a step, as the product defines it (P-T2-d, P-T2-f)."""

    minimum: timedelta | None = None
    maximum: timedelta | None = None

    def describe(self) -> str:
        return f"{_hours(self.minimum)}–{_hours(self.maximum)} h"


def _hours(span: timedelta | None) -> str:
    return "" if span is None else format_decimal(Decimal(span.total_seconds()) / 3600)


@dataclass(frozen=True, slots=True)
class StepTemplate:
    """A step of the process template: parameters, duration, culture or not, bead removal, equipment."""

    code: str
    kind: StepKind
    title: str
    parameters: tuple[ParameterSpec, ...] = ()
    duration: DurationLimits | None = None
    is_culture: bool = False  # exempt from one-batch-per-room (P-1.2.1-b)
    removes_beads: bool = False  # records the bead removal (P-1.3.2-a)
    signature_required: bool = False
    equipment_types: tuple[str, ...] = ()
    open_operation: bool = False  # a non-closed operation: only in an area of an allowed grade (T-5.1.7)
    allowed_grades: tuple[str, ...] = ()  # cleanliness grades an open step may be done in (T-5.1.7)

    def parameter(self, code: str) -> ParameterSpec:
        for spec in self.parameters:
            if spec.code == code:
                return spec
        raise KeyError(f"step {self.code} has no parameter {code!r}")


@dataclass(frozen=True, slots=True)
class HarvestWindow:
    """Latest harvest time: at most `maximum` after the start of the `anchor` step (P-T2-g)."""

    anchor: StepKind
    maximum: timedelta


@dataclass(frozen=True, slots=True)
class FillRequirement:
    """Units a fill must produce: patient, QC and retained-sample units (P-1.3.5-a)."""

    retained_units: int
    qc_units: int = 0
    min_patient_units: int = 1


@dataclass(frozen=True, slots=True)
class ProcessTemplate:
    """One approved version of a product's process: ordered steps and product-level rules (P-1-a)."""

    product_code: str
    version: str
    steps: tuple[StepTemplate, ...]
    activator: Activator
    fill: FillRequirement
    harvest_window: HarvestWindow | None = None

    def step(self, code: str) -> StepTemplate:
        for step in self.steps:
            if step.code == code:
                return step
        raise KeyError(f"process {self.product_code} v{self.version} has no step {code!r}")


def template_problems(template: ProcessTemplate) -> tuple[Finding, ...]:
    """Why a process template cannot be approved (P-1-a, P-T2-c..i, P-T2-g, P-1.3.2-a, P-1.3.5-a, Q-2.6-c,
    T-5.1.7)."""
    return (
        *_step_order_problems(template.steps),
        *_bead_removal_problems(template),
        *_window_problems(template),
        *(f for step in template.steps for f in _parameter_problems(step)),
        *(
            f
            for step in template.steps
            for f in open_step_template_problems(
                step.code, open_operation=step.open_operation, allowed=step.allowed_grades
            )
        ),
        *_fill_problems(template.fill),
    )


def _step_order_problems(steps: tuple[StepTemplate, ...]) -> list[Finding]:
    found: list[Finding] = []
    codes = [s.code for s in steps]
    found += [
        Finding("duplicate_step_code", f"step code {c!r} used twice", "P-1-a", c)
        for c in set(codes)
        if codes.count(c) > 1
    ]
    kinds = [s.kind for s in steps]
    if kinds != sorted(set(kinds), key=TABLE_2_ORDER.index):
        found.append(
            Finding(
                "steps_out_of_order",
                "steps must follow Table 2 order, each once",
                "P-T2-c",
                value=", ".join(kinds),
            )
        )
    found += [
        Finding("required_step_missing", f"the process has no {k.value} step", "P-T2-c", k.value)
        for k in TABLE_2_ORDER
        if k not in kinds and k not in OPTIONAL_STEPS
    ]
    for kind in (StepKind.THAW_ACTIVATION, StepKind.EXPANSION):
        found += [
            Finding(
                "duration_limits_missing",
                f"{s.code}: the product must define its duration",
                "P-T2-d" if kind is StepKind.THAW_ACTIVATION else "P-T2-f",
                s.code,
            )
            for s in steps
            if s.kind is kind and s.duration is None
        ]
    return found


def _bead_removal_problems(template: ProcessTemplate) -> list[Finding]:
    if not template.activator.is_bead:
        return []
    before = [
        s for s in template.steps if TABLE_2_ORDER.index(s.kind) < TABLE_2_ORDER.index(StepKind.FORMULATION)
    ]
    if any(s.removes_beads for s in before):
        return []
    return [
        Finding(
            "bead_removal_missing",
            "a bead activator needs a bead-removal step before formulation",
            "P-1.3.2-a",
        )
    ]


def _window_problems(template: ProcessTemplate) -> list[Finding]:
    if template.harvest_window is None:
        return [Finding("harvest_window_missing", "the product must set the maximum harvest time", "P-T2-g")]
    return []


def _parameter_problems(step: StepTemplate) -> list[Finding]:
    found: list[Finding] = []
    for spec in step.parameters:
        subject = f"{step.code}.{spec.code}"
        allowed = spec.allowed
        if (
            allowed
            and allowed.minimum is not None
            and allowed.maximum is not None
            and allowed.minimum > allowed.maximum
        ):
            found.append(
                Finding("range_inverted", "minimum above maximum", "P-1-a", subject, limit=allowed.describe())
            )
        if spec.kind is ParameterKind.CHOICE and not spec.choices:
            found.append(Finding("choices_missing", "a choice parameter needs its choices", "P-1-a", subject))
        if spec.critical and spec.allowed is not None and not spec.justification.strip():
            found.append(
                Finding("range_not_justified", "a CPP range needs its justification", "P-1-a", subject)
            )
    return found


def _fill_problems(fill: FillRequirement) -> list[Finding]:
    if fill.retained_units < 1:
        return [
            Finding(
                "retained_units_missing",
                "every batch keeps at least one retained-sample unit",
                "Q-2.6-c",
                value=str(fill.retained_units),
            )
        ]
    return []


class ParameterOutcome(StrEnum):
    """Outcome of one entered parameter value."""

    IN_RANGE = "in_range"
    OUT_OF_RANGE = "out_of_range"  # stored, and a deviation is needed
    MISSING = "missing"  # refused: a value is required
    INVALID = "invalid"  # refused: not a number


@dataclass(frozen=True, slots=True)
class ParameterVerdict:
    """The verdict on one entry: outcome, value and limit as shown, the finding when it is not in range."""

    parameter: str
    outcome: ParameterOutcome
    value: str
    limit: str
    finding: Finding | None = None

    @property
    def deviation_required(self) -> bool:
        return self.outcome is ParameterOutcome.OUT_OF_RANGE

    @property
    def accepted(self) -> bool:
        """Whether the entry may be stored (an out-of-range value is stored and deviates)."""
        return self.outcome in (ParameterOutcome.IN_RANGE, ParameterOutcome.OUT_OF_RANGE)


def check_parameter(value: Decimal, allowed: ParameterRange, parameter: str = "") -> ParameterVerdict:
    """Check a value against its allowed range; outside it a deviation is needed (P-1-a, P-T2)."""
    shown, limit = format_decimal(value), allowed.describe()
    if not value.is_finite():
        return ParameterVerdict(
            parameter,
            ParameterOutcome.INVALID,
            str(value),
            limit,
            Finding("not_a_number", "not a finite number", "P-1-a", parameter, str(value), limit),
        )
    low = allowed.minimum is not None and value < allowed.minimum
    high = allowed.maximum is not None and value > allowed.maximum
    if not (low or high):
        return ParameterVerdict(parameter, ParameterOutcome.IN_RANGE, shown, limit)
    check = "below_range" if low else "above_range"
    message = f"{parameter or 'value'} {shown} outside {limit}: a deviation is needed"
    return ParameterVerdict(
        parameter,
        ParameterOutcome.OUT_OF_RANGE,
        shown,
        limit,
        Finding(check, message, "P-1-a", parameter, shown, limit),
    )


def check_entry(spec: ParameterSpec, raw: str) -> ParameterVerdict:
    """Check a value as typed into the batch record against its parameter definition (P-1-a, G-5)."""
    text = raw.strip()
    if not text:
        outcome = ParameterOutcome.MISSING if spec.required else ParameterOutcome.IN_RANGE
        finding = (
            Finding("value_missing", f"{spec.code}: a value is required", "P-1-a", spec.code)
            if spec.required
            else None
        )
        return ParameterVerdict(spec.code, outcome, "", _limit_of(spec), finding)
    if spec.kind is ParameterKind.CHOICE:
        return _check_choice(spec, text)
    if spec.kind is ParameterKind.TEXT:
        return ParameterVerdict(spec.code, ParameterOutcome.IN_RANGE, text, "")
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    return check_parameter(value, spec.allowed or ParameterRange(""), spec.code)


def _limit_of(spec: ParameterSpec) -> str:
    if spec.kind is ParameterKind.CHOICE:
        return " / ".join(spec.choices)
    return spec.allowed.describe() if spec.allowed else ""


def _check_choice(spec: ParameterSpec, text: str) -> ParameterVerdict:
    limit = _limit_of(spec)
    if text in spec.choices:
        return ParameterVerdict(spec.code, ParameterOutcome.IN_RANGE, text, limit)
    finding = Finding(
        "choice_not_allowed",
        f"{spec.code}: {text!r} is not one of {limit}: a deviation is needed",
        "P-1-a",
        spec.code,
        text,
        limit,
    )
    return ParameterVerdict(spec.code, ParameterOutcome.OUT_OF_RANGE, text, limit, finding)


@dataclass(frozen=True, slots=True)
class DurationVerdict:
    """How long a step took against the product's limits; outside them a deviation is needed."""

    step: str
    duration: timedelta
    limits: DurationLimits
    finding: Finding | None = None

    @property
    def deviation_required(self) -> bool:
        return self.finding is not None


def check_duration(
    step: str, started_at: datetime, ended_at: datetime, limits: DurationLimits, clause: str = "P-T2-d/f"
) -> DurationVerdict:
    """Check a step's duration (activation 24-48 h, expansion 7-14 days as the product defines; P-T2-d/f)."""
    _require_aware(started_at, ended_at)
    if ended_at < started_at:
        raise ValueError(f"step {step}: end {ended_at.isoformat()} is before start {started_at.isoformat()}")
    took = ended_at - started_at
    shown = f"{_hours(took)} h"
    if limits.minimum is not None and took < limits.minimum:
        return DurationVerdict(
            step,
            took,
            limits,
            Finding(
                "duration_too_short",
                f"{step}: {shown}, shorter than {limits.describe()}",
                clause,
                step,
                shown,
                limits.describe(),
            ),
        )
    if limits.maximum is not None and took > limits.maximum:
        return DurationVerdict(
            step,
            took,
            limits,
            Finding(
                "duration_too_long",
                f"{step}: {shown}, longer than {limits.describe()}",
                clause,
                step,
                shown,
                limits.describe(),
            ),
        )
    return DurationVerdict(step, took, limits)


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"time {moment.isoformat()} has no time zone; pass aware datetimes")


def step_start_check(
    template: ProcessTemplate, step_code: str, *, completed: Sequence[str], open_steps: Sequence[str] = ()
) -> Gate:
    """May this step start now? Steps run one at a time, in template order (P-T2-c..i, REGULATORY item 10);
    formulation needs the beads removed first when a bead activator was used (P-1.3.2-a)."""
    step = template.step(step_code)
    if step_code in completed:
        return Gate(
            (Finding("step_already_completed", f"{step_code} is already completed", "P-T2", step_code),)
        )
    found = [
        Finding("step_open", f"{code} is still open", "P-T2", code)
        for code in open_steps
        if code != step_code
    ]
    index = template.steps.index(step)
    found += [
        Finding(
            "previous_step_incomplete",
            f"{earlier.code} must be completed before {step_code}",
            "P-T2",
            earlier.code,
        )
        for earlier in template.steps[:index]
        if earlier.code not in completed
    ]
    beads_removed = any(s.removes_beads and s.code in completed for s in template.steps[:index])
    if step.kind is StepKind.FORMULATION and template.activator.is_bead and not beads_removed:
        found.append(
            Finding(
                "beads_not_removed",
                "no bead removal is recorded before formulation",
                "P-1.3.2-a",
                step_code,
            )
        )
    return Gate(tuple(found))


def harvest_start_check(
    template: ProcessTemplate, step_starts: Mapping[StepKind, datetime], now: datetime
) -> Gate:
    """Harvest after the product's maximum harvest time is blocked (P-T2-g)."""
    window = template.harvest_window
    if window is None:
        return Gate(
            (Finding("harvest_window_missing", "the product sets no maximum harvest time", "P-T2-g"),)
        )
    anchor = step_starts.get(window.anchor)
    if anchor is None:
        return Gate((Finding("harvest_anchor_missing", f"{window.anchor.value} has not started", "P-T2-g"),))
    _require_aware(anchor, now)
    elapsed, latest = now - anchor, anchor + window.maximum
    if now <= latest:
        return Gate()
    message = (
        f"harvest window closed at {latest.isoformat()}: {_hours(elapsed)} h after {window.anchor.value}"
    )
    return Gate(
        (
            Finding(
                "harvest_window_closed",
                message,
                "P-T2-g",
                "harvest",
                f"{_hours(elapsed)} h",
                f"≤ {_hours(window.maximum)} h",
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class DeviationRef:
    """A deviation raised on a batch-record entry: its reference, subject, and whether QA dispositioned it."""

    ref: str
    subject: str
    dispositioned: bool


def deviation_subject(step_code: str, what: str) -> str:
    """The subject naming what a deviation is about: "<step>.<parameter>" or "<step>.duration"."""
    return f"{step_code}.{what}"


def step_completion_check(
    step: StepTemplate,
    entries: Mapping[str, ParameterVerdict],
    *,
    deviations: Sequence[DeviationRef],
    duration: DurationVerdict | None,
    signed: bool,
    equipment_types_used: Iterable[str],
) -> Gate:
    """May the step be completed? All required parameters entered, every deviation raised on it
    dispositioned by QA, duration checked, equipment and signature recorded (P-1-a, P-T2, T-10.12, X-4)."""
    raised = {d.subject for d in deviations}
    found = [
        f for spec in step.parameters for f in _entry_findings(step, spec, entries.get(spec.code), raised)
    ]
    found += _duration_findings(step, duration, raised)
    found += [
        Finding(
            "deviation_not_dispositioned",
            f"deviation {d.ref} ({d.subject}) awaits QA disposition",
            "P-1-a",
            d.ref,
        )
        for d in deviations
        if not d.dispositioned
    ]
    used = set(equipment_types_used)
    found += [
        Finding("equipment_not_recorded", f"{step.code}: no {kind} recorded", "P-1.2.2-a", kind)
        for kind in step.equipment_types
        if kind not in used
    ]
    if step.signature_required and not signed:
        found.append(Finding("signature_missing", f"{step.code} must be signed", "X-4", step.code))
    return Gate(tuple(found))


def _entry_findings(
    step: StepTemplate, spec: ParameterSpec, verdict: ParameterVerdict | None, raised: set[str]
) -> list[Finding]:
    if verdict is None or not verdict.accepted:
        if spec.required:
            return [Finding("parameter_missing", f"{step.code}: {spec.code} not entered", "P-1-a", spec.code)]
        return []
    if verdict.deviation_required and deviation_subject(step.code, spec.code) not in raised:
        return [
            Finding(
                "deviation_not_raised",
                f"{step.code}: {spec.code} out of range without a deviation",
                "P-1-a",
                spec.code,
                verdict.value,
                verdict.limit,
            )
        ]
    return []


def _duration_findings(
    step: StepTemplate, duration: DurationVerdict | None, raised: set[str]
) -> list[Finding]:
    if step.duration is None:
        return []
    if duration is None:
        return [Finding("duration_not_checked", f"{step.code}: duration not checked", "P-T2-d/f", step.code)]
    if duration.finding is not None and deviation_subject(step.code, "duration") not in raised:
        return [duration.finding]
    return []


@dataclass(frozen=True, slots=True)
class FillPlan:
    """Units a fill will produce (P-1.3.5-a)."""

    patient_units: int
    qc_units: int
    retained_units: int


def fill_plan_check(plan: FillPlan, requirement: FillRequirement) -> Gate:
    """A fill plan must hold the patient, QC and retained-sample units the product requires (P-1.3.5-a)."""
    rows = (
        ("patient_units_short", plan.patient_units, requirement.min_patient_units, "patient"),
        ("qc_units_short", plan.qc_units, requirement.qc_units, "QC"),
        ("retained_units_short", plan.retained_units, requirement.retained_units, "retained-sample"),
    )
    return Gate(
        tuple(
            Finding(
                check,
                f"{have} {label} units planned, {need} required",
                "P-1.3.5-a",
                label,
                str(have),
                f"≥ {need}",
            )
            for check, have, need, label in rows
            if have < need
        )
    )
