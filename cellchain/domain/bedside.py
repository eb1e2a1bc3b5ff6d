"""Bedside rules: the identity check before infusion and the infusion parameters (thaw and dilution checks
are in `preparation`).

The bedside identity check (T-8.2.6-e, T-10.4, T-10.7, REGULATORY.md items 37-38) compares the scanned
wristband and product unit with the journey being treated, and two distinct, currently qualified people
verify it (T-8.2.6, T-5.3.4.1). Every failing check is returned, each naming its kind, so the screen shows
them all and the service records an identity incident for the mismatches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from cellchain.domain.clinical_timing import OvertimeHandling
from cellchain.domain.clinical_verdict import Consequence, Reason, Verdict, require_aware, time_order_reasons
from cellchain.domain.identity import compact
from cellchain.domain.label_match import LabelProblem

# --------------------------------------------------------------------------- bedside identity check


class ProductStatus(StrEnum):
    """Release state of a unit as the clinic sees it (T-8.1, Q-release; REQUIREMENTS.md §1.4)."""

    NOT_RELEASED = "not_released"
    RELEASED = "released"
    CONDITIONALLY_RELEASED = "conditionally_released"  # usable once the physician acknowledges the risk
    QUARANTINED = "quarantined"
    REJECTED = "rejected"


class EntryMode(StrEnum):
    SCANNED = "scanned"
    MANUAL = "manual"  # allowed only with a recorded reason (T-10.7)


@dataclass(frozen=True, slots=True)
class ScanEntry:
    """One identifier as read at the bedside: by the barcode scanner, or typed with a reason (T-10.7)."""

    value: str
    mode: EntryMode = EntryMode.SCANNED
    manual_reason: str = ""

    @property
    def normalised(self) -> str:
        return compact(self.value)


@dataclass(frozen=True, slots=True)
class ExpectedInfusion:
    """The journey being treated: its chain-of-identity id and the patient's wristband id (T-10.4)."""

    journey_id: str
    coi: str
    patient_wristband_id: str


@dataclass(frozen=True, slots=True)
class UnitAtBedside:
    """What the system knows of the scanned unit, looked up by the scanned id (None when unknown)."""

    unit_id: str
    journey_id: str
    coi: str
    status: ProductStatus
    use_by: datetime  # the earliest use-by (T-7.8); expiry for a fresh product
    physician_acknowledged: bool = False  # conditional release acknowledged by the treating physician
    overtime_handling: OvertimeHandling = OvertimeHandling.REJECT  # T-7.8-d


@dataclass(frozen=True, slots=True)
class Verifier:
    """One of the two people doing the bedside check; qualification = current infusion competence."""

    user_id: str
    name: str
    infusion_qualified_until: date | None


class BedsideMismatch(StrEnum):
    """The kinds of bedside failure, named on screen and in the identity incident record."""

    WRONG_PATIENT = "wrong_patient"
    UNKNOWN_UNIT = "unknown_unit"
    PRODUCT_OF_ANOTHER_JOURNEY = "product_of_another_journey"
    COI_MISMATCH = "coi_mismatch"
    MANUAL_ENTRY_WITHOUT_REASON = "manual_entry_without_reason"
    NOT_RELEASED = "not_released"
    CONDITIONAL_RELEASE_NOT_ACKNOWLEDGED = "conditional_release_not_acknowledged"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"
    PAST_USE_BY = "past_use_by"
    SAME_PERSON_TWICE = "same_person_twice"
    SECOND_VERIFIER_MISSING = "second_verifier_missing"
    UNQUALIFIED_VERIFIER = "unqualified_verifier"


def _mismatch(kind: BedsideMismatch, message: str, value: str, limit: str, clause: str) -> Reason:
    return Reason(kind.value, message, value, limit, clause, Consequence.IDENTITY_INCIDENT)


def _blocked(
    kind: BedsideMismatch, message: str, value: str = "", limit: str = "", clause: str = ""
) -> Reason:
    return Reason(kind.value, message, value, limit, clause, Consequence.BLOCK)


def _entry_reasons(wristband: ScanEntry, unit: ScanEntry) -> list[Reason]:
    """Typed identifiers need a recorded reason (T-10.7)."""
    return [
        _blocked(
            BedsideMismatch.MANUAL_ENTRY_WITHOUT_REASON,
            f"the {what} was typed, not scanned: record why the scanner could not be used",
            entry.value,
            "scan, or manual entry with a reason",
            "T-10.7",
        )
        for what, entry in (("wristband id", wristband), ("product unit id", unit))
        if entry.mode is EntryMode.MANUAL and not entry.manual_reason.strip()
    ]


def _identity_reasons(
    expected: ExpectedInfusion, wristband: ScanEntry, scanned_unit: ScanEntry, unit: UnitAtBedside | None
) -> list[Reason]:
    """Wristband, unit, journey and COI must all agree (T-8.2.6-e, REGULATORY.md item 37)."""
    reasons = []
    if wristband.normalised != compact(expected.patient_wristband_id):
        reasons.append(
            _mismatch(
                BedsideMismatch.WRONG_PATIENT,
                "wrong patient: the wristband does not belong to the patient of this journey",
                wristband.normalised,
                compact(expected.patient_wristband_id),
                "T-8.2.6-e",
            )
        )
    if unit is None or compact(unit.unit_id) != scanned_unit.normalised:
        reasons.append(
            _mismatch(
                BedsideMismatch.UNKNOWN_UNIT,
                "the scanned product unit is not a unit known to this site",
                scanned_unit.normalised,
                "a received unit id",
                "T-10.7",
            )
        )
        return reasons
    return reasons + _journey_reasons(expected, unit)


def _journey_reasons(expected: ExpectedInfusion, unit: UnitAtBedside) -> list[Reason]:
    reasons = []
    if unit.journey_id != expected.journey_id:
        reasons.append(
            _mismatch(
                BedsideMismatch.PRODUCT_OF_ANOTHER_JOURNEY,
                "product of another journey: this unit was made for a different patient",
                unit.journey_id,
                expected.journey_id,
                "T-8.2.6-e",
            )
        )
    if compact(unit.coi) != compact(expected.coi):
        reasons.append(
            _mismatch(
                BedsideMismatch.COI_MISMATCH,
                "the unit's chain-of-identity id differs from the journey's",
                compact(unit.coi),
                compact(expected.coi),
                "T-10.4",
            )
        )
    return reasons


_STATUS_REASONS: dict[ProductStatus, tuple[BedsideMismatch, str]] = {
    ProductStatus.NOT_RELEASED: (BedsideMismatch.NOT_RELEASED, "the product has not been released"),
    ProductStatus.QUARANTINED: (BedsideMismatch.QUARANTINED, "the product is quarantined: use is suspended"),
    ProductStatus.REJECTED: (BedsideMismatch.REJECTED, "the product is rejected and may never be used"),
}


def _status_reasons(unit: UnitAtBedside, now: datetime) -> list[Reason]:
    """Released (or conditionally released and acknowledged), not quarantined, within its use-by (T-7.8-a)."""
    reasons = []
    if unit.status in _STATUS_REASONS:
        kind, message = _STATUS_REASONS[unit.status]
        reasons.append(_blocked(kind, message, unit.status.value, "released", "T-8.2.6-e"))
    if unit.status is ProductStatus.CONDITIONALLY_RELEASED and not unit.physician_acknowledged:
        reasons.append(
            _blocked(
                BedsideMismatch.CONDITIONAL_RELEASE_NOT_ACKNOWLEDGED,
                "conditionally released: the treating physician must acknowledge it before infusion",
                "not acknowledged",
                "acknowledged",
                "T-8.2.6-e",
            )
        )
    if now > require_aware(unit.use_by, "use-by"):
        consequence = (
            Consequence.REJECT_UNIT
            if unit.overtime_handling is OvertimeHandling.REJECT
            else Consequence.QUARANTINE_UNIT
        )
        reasons.append(
            Reason(
                BedsideMismatch.PAST_USE_BY.value,
                f"past its use-by time: infusion blocked; unit handled as '{unit.overtime_handling.value}'",
                now.isoformat(),
                unit.use_by.isoformat(),
                "T-7.8-a",
                consequence,
            )
        )
    return reasons


def _verifier_reasons(verifiers: tuple[Verifier, ...], required: int, today: date) -> list[Reason]:
    """Distinct people, each with current infusion qualification (REGULATORY.md item 38, T-8.2.6)."""
    reasons = []
    distinct = {verifier.user_id: verifier for verifier in verifiers}
    if len(distinct) < len(verifiers):
        reasons.append(
            _blocked(
                BedsideMismatch.SAME_PERSON_TWICE,
                "the same person cannot perform and verify the bedside check",
                verifiers[0].name,
                "two different people",
                "T-8.2.6",
            )
        )
    elif len(distinct) < required:
        reasons.append(
            _blocked(
                BedsideMismatch.SECOND_VERIFIER_MISSING,
                "a second qualified person must verify the bedside check",
                f"{len(distinct)} person(s)",
                f"{required} people",
                "T-8.2.6",
            )
        )
    for verifier in distinct.values():
        until = verifier.infusion_qualified_until
        if until is None or until < today:
            reasons.append(
                _blocked(
                    BedsideMismatch.UNQUALIFIED_VERIFIER,
                    f"{verifier.name} has no current infusion qualification",
                    "none" if until is None else f"expired {until.isoformat()}",
                    f"valid on {today.isoformat()}",
                    "T-8.2.6",
                )
            )
    return reasons


def label_reasons(problems: Iterable[LabelProblem]) -> list[Reason]:
    """The scanned label's disagreements with the register, the journey and the unit (issue 12 item 3; T-8.2.6-e,
    T-10.4): a possible mix-up is an identity incident, the rest block."""
    return [
        Reason(
            f"label_{problem.kind.value}",
            problem.message,
            problem.found,
            problem.expected,
            "T-10.4" if problem.identity_incident else "T-8.2.6-e",
            Consequence.IDENTITY_INCIDENT if problem.identity_incident else Consequence.BLOCK,
        )
        for problem in problems
    ]


def bedside_check(
    expected: ExpectedInfusion,
    wristband: ScanEntry,
    scanned_unit: ScanEntry,
    unit: UnitAtBedside | None,
    verifiers: tuple[Verifier, ...],
    now: datetime,
    required_verifiers: int = 2,
    label: Iterable[LabelProblem] = (),
) -> Verdict:
    """The bedside identity verdict before infusion (T-8.2.6-e, T-10.4, T-10.7, REGULATORY.md items 37-38).

    Proceed only when the verdict is allowed; a mismatch carries IDENTITY_INCIDENT so it is recorded.
    `required_verifiers` = 1 gives the first person's scan verdict; the infusion needs the second person's
    (2, the default). `label` are the problems of the scanned product label, whatever its maker's format
    (`label_match.label_problems`; issue 12 item 3).
    """
    now = require_aware(now, "now")
    reasons = _entry_reasons(wristband, scanned_unit)
    reasons += _identity_reasons(expected, wristband, scanned_unit, unit)
    reasons += label_reasons(label)
    if unit is not None and compact(unit.unit_id) == scanned_unit.normalised:
        reasons += _status_reasons(unit, now)
    reasons += _verifier_reasons(verifiers, required_verifiers, now.date())
    return Verdict(tuple(reasons))


def checklist_check(required: Iterable[str], answers: Mapping[str, bool], clause: str) -> Verdict:
    """Every required pre-infusion item answered yes: contraindications absent (T-7.9-c), precautions
    acknowledged (T-7.9-d), appearance and package checked (T-7.14-e), rescue staff present (T-9.2.5)."""
    return Verdict(
        tuple(
            Reason("checklist_item_open", f"pre-infusion item not confirmed: {item}", "no", "yes", clause)
            for item in required
            if not answers.get(item, False)
        )
    )


# --------------------------------------------------------------------------- infusion parameters


@dataclass(frozen=True, slots=True)
class DoseRange:
    """The protocol's dose range in CAR+ viable cells, absolute or per kg body weight (T-9.2.1-4)."""

    low: float
    high: float
    per_kg: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.low <= self.high:
            raise ValueError(f"dose range must satisfy 0 < low <= high, got {self.low}..{self.high}")


@dataclass(frozen=True, slots=True)
class InfusionSpec:
    """The product master's infusion values (T-8.2.6-a/b/c) and the protocol dose (T-9.2.1-4)."""

    route: str
    rate_low_ml_h: float
    rate_high_ml_h: float
    allowed_sets: frozenset[str] = field(
        default_factory=frozenset
    )  # empty = any set without a forbidden filter
    leukocyte_filter_forbidden: bool = True
    dose: DoseRange | None = None

    def __post_init__(self) -> None:
        if not 0 < self.rate_low_ml_h <= self.rate_high_ml_h:
            raise ValueError(
                f"rate range must satisfy 0 < low <= high, got {self.rate_low_ml_h}..{self.rate_high_ml_h}"
            )


@dataclass(frozen=True, slots=True)
class InfusionEntry:
    """What the nurse records for the infusion (T-8.2.6, T-8.2.7-d)."""

    route: str
    rate_ml_h: float
    infusion_set: str
    set_has_leukocyte_filter: bool
    car_positive_viable_cells: float
    start: datetime
    end: datetime | None = None
    weight_kg: float | None = None
    rate_deviation_ref: str = ""  # a recorded deviation lets an out-of-range rate go on (T-8.2.6-c)


def car_positive_viable_cells(
    volume_ml: float, viable_cells_per_ml: float, car_positive_fraction: float
) -> float:
    """Dose given in CAR+ viable cells = volume x viable cell concentration x CAR+ fraction (T-8.2.7-d)."""
    if volume_ml < 0 or viable_cells_per_ml < 0 or not 0 <= car_positive_fraction <= 1:
        raise ValueError("volume and concentration must be >= 0 and the CAR+ fraction within 0..1")
    return volume_ml * viable_cells_per_ml * car_positive_fraction


def _route_and_set(spec: InfusionSpec, entry: InfusionEntry) -> list[Reason]:
    reasons = []
    if entry.route.strip().lower() != spec.route.strip().lower():
        reasons.append(
            Reason(
                "route_not_allowed", "route differs from the product's", entry.route, spec.route, "T-8.2.6-a"
            )
        )
    if spec.leukocyte_filter_forbidden and entry.set_has_leukocyte_filter:
        reasons.append(
            Reason(
                "leukocyte_filter_forbidden",
                "a leukocyte-depleting filter would damage the cells: use a set without one",
                entry.infusion_set,
                "no leukocyte filter",
                "T-8.2.6-b",
            )
        )
    if spec.allowed_sets and entry.infusion_set not in spec.allowed_sets:
        allowed = ", ".join(sorted(spec.allowed_sets))
        reasons.append(
            Reason(
                "infusion_set_not_allowed",
                "infusion set not on the product's list",
                entry.infusion_set,
                allowed,
                "T-8.2.6-b",
            )
        )
    return reasons


def _rate(spec: InfusionSpec, entry: InfusionEntry) -> list[Reason]:
    if spec.rate_low_ml_h <= entry.rate_ml_h <= spec.rate_high_ml_h:
        return []
    deviation = bool(entry.rate_deviation_ref.strip())
    message = "infusion rate out of the product's range" + (
        f" (deviation {entry.rate_deviation_ref} recorded)"
        if deviation
        else ": record a deviation or correct it"
    )
    consequence = Consequence.OPEN_DEVIATION if deviation else Consequence.BLOCK
    limit = f"{spec.rate_low_ml_h:g}-{spec.rate_high_ml_h:g} mL/h"
    return [
        Reason("rate_out_of_range", message, f"{entry.rate_ml_h:g} mL/h", limit, "T-8.2.6-c", consequence)
    ]


def _dose(spec: InfusionSpec, entry: InfusionEntry) -> list[Reason]:
    dose = spec.dose
    if dose is None:
        return []
    given = entry.car_positive_viable_cells
    unit = "CAR+ viable cells"
    if dose.per_kg:
        if entry.weight_kg is None or entry.weight_kg <= 0:
            return [
                Reason(
                    "weight_missing",
                    "the dose is per kg: record the patient's weight",
                    "",
                    "> 0 kg",
                    "T-9.2.1-4",
                )
            ]
        given, unit = given / entry.weight_kg, "CAR+ viable cells/kg"
    if dose.low <= given <= dose.high:
        return []
    return [
        Reason(
            "dose_out_of_range",
            "dose outside the protocol's range",
            f"{given:.3g} {unit}",
            f"{dose.low:.3g}-{dose.high:.3g} {unit}",
            "T-9.2.1-4",
        )
    ]


def infusion_check(spec: InfusionSpec, entry: InfusionEntry, now: datetime) -> Verdict:
    """Route, infusion set, rate, dose and times of the infusion (T-8.2.6-a/b/c, T-8.2.7-d, T-9.2.1-4)."""
    now = require_aware(now, "now")
    reasons = _route_and_set(spec, entry) + _rate(spec, entry) + _dose(spec, entry)
    return Verdict(tuple(reasons + time_order_reasons(entry.start, entry.end, now, "infusion", "T-8.2.7-d")))
