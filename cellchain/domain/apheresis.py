"""Apheresis rules: infectious-disease screening gate, MNC target, procedure parameters (P-1.3.1-a/b, P-T2-a).

Verdicts list every reason with the value and the limit; an empty list of blocking reasons means the
collection may go ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Marker(StrEnum):
    """Infectious-disease markers tested before apheresis (P-1.3.1-a)."""

    HIV_1_2 = "hiv_1_2"
    HBV = "hbv"
    HCV = "hcv"
    SYPHILIS = "syphilis"
    EBV = "ebv"
    CMV = "cmv"
    HTLV_1_2 = "htlv_1_2"


REQUIRED_MARKERS: frozenset[Marker] = frozenset({Marker.HIV_1_2, Marker.HBV, Marker.HCV, Marker.SYPHILIS})
"""P-1.3.1-a: each patient is tested at least for HIV-1/2, HCV, HBV and syphilis before apheresis."""

OPTIONAL_MARKERS: frozenset[Marker] = frozenset({Marker.EBV, Marker.CMV, Marker.HTLV_1_2})
"""P-1.3.1-a: where possible (per product) also EBV, CMV and HTLV-I/II."""


class ScreeningOutcome(StrEnum):
    NON_REACTIVE = "non_reactive"
    REACTIVE = "reactive"
    INDETERMINATE = "indeterminate"


class PhysicianDecisionKind(StrEnum):
    """A physician's documented decision on a reactive result or an active infection (P-1.3.1-b)."""

    PROCEED = "proceed"
    POSTPONE = "postpone"


class ScreeningFault(StrEnum):
    MISSING_MARKER = "missing_marker"
    RESULT_AFTER_COLLECTION = "result_after_collection"
    DECISION_NEEDED = "decision_needed"
    DECISION_WITHOUT_REASON = "decision_without_reason"
    POSTPONED = "postponed"


@dataclass(frozen=True)
class ScreeningResult:
    marker: Marker
    outcome: ScreeningOutcome
    tested_on: date


@dataclass(frozen=True)
class PhysicianDecision:
    decision: PhysicianDecisionKind
    reason: str
    physician: str


@dataclass(frozen=True)
class ScreeningReason:
    """One reason the screening blocks collection: the fault, the marker or subject, and a sentence."""

    fault: ScreeningFault
    subject: str
    message: str


@dataclass(frozen=True)
class ScreeningVerdict:
    """May the collection start, and is the material infectious (P-1.3.1-a, T-5.1.8)?"""

    reasons: tuple[ScreeningReason, ...]
    infectious: bool
    reactive_markers: tuple[Marker, ...]

    @property
    def may_collect(self) -> bool:
        return not self.reasons


def apheresis_screening_verdict(
    results: tuple[ScreeningResult, ...],
    *,
    collection_date: date,
    active_infection: bool,
    decision: PhysicianDecision | None,
) -> ScreeningVerdict:
    """Gate apheresis on the screening (P-1.3.1-a, P-1.3.1-b).

    Every required marker needs a result dated on or before the collection day. A reactive or
    indeterminate result, or an active infection, needs a physician's decision with a reason; "postpone"
    blocks. Indeterminate counts as reactive for the infectious flag: the material is kept apart until
    proven otherwise (T-5.1.8).
    """
    flagged = tuple(
        sorted({r.marker for r in results if r.outcome is not ScreeningOutcome.NON_REACTIVE}, key=str)
    )
    reasons = (
        *_missing_markers(results),
        *_late_results(results, collection_date),
        *_decision_reasons(flagged, active_infection, decision),
    )
    return ScreeningVerdict(reasons, infectious=bool(flagged), reactive_markers=flagged)


def _missing_markers(results: tuple[ScreeningResult, ...]) -> tuple[ScreeningReason, ...]:
    tested = {result.marker for result in results}
    return tuple(
        ScreeningReason(ScreeningFault.MISSING_MARKER, marker.value, f"no {marker.value} result: required")
        for marker in sorted(REQUIRED_MARKERS - tested, key=str)
    )


def _late_results(results: tuple[ScreeningResult, ...], collection_date: date) -> tuple[ScreeningReason, ...]:
    return tuple(
        ScreeningReason(
            ScreeningFault.RESULT_AFTER_COLLECTION,
            result.marker.value,
            f"{result.marker.value} tested on {result.tested_on}, after the collection day {collection_date}",
        )
        for result in results
        if result.tested_on > collection_date
    )


def _decision_reasons(
    flagged: tuple[Marker, ...], active_infection: bool, decision: PhysicianDecision | None
) -> tuple[ScreeningReason, ...]:
    if not flagged and not active_infection:
        return ()
    subject = ", ".join([m.value for m in flagged] + (["active infection"] if active_infection else []))
    if decision is None:
        message = f"{subject}: a physician must record 'proceed' or 'postpone' with a reason"
        return (ScreeningReason(ScreeningFault.DECISION_NEEDED, subject, message),)
    if not decision.reason.strip():
        message = f"physician decision on {subject} has no reason"
        return (ScreeningReason(ScreeningFault.DECISION_WITHOUT_REASON, subject, message),)
    if decision.decision is PhysicianDecisionKind.POSTPONE:
        message = f"apheresis postponed by {decision.physician}: {decision.reason}"
        return (ScreeningReason(ScreeningFault.POSTPONED, subject, message),)
    return ()


# --------------------------------------------------------------------------- MNC count

MNC_TARGET_DEFAULT: tuple[Decimal, Decimal] = (Decimal("1e9"), Decimal("3e9"))
"""Reference MNC count per collection, (1-3) x 10^9 (P-T2-a, review value); the product may set its own."""


@dataclass(frozen=True)
class MncAssessment:
    """The MNC count against its target: shortfall below the low end is flagged (P-T2-a)."""

    count: Decimal
    target_low: Decimal
    target_high: Decimal

    @property
    def shortfall(self) -> bool:
        return self.count < self.target_low

    @property
    def above_target(self) -> bool:
        return self.count > self.target_high

    @property
    def message(self) -> str:
        target = f"target {self.target_low:.1E}-{self.target_high:.1E}"
        if self.shortfall:
            return f"MNC {self.count:.2E} below {target}: shortfall"
        if self.above_target:
            return f"MNC {self.count:.2E} above {target}"
        return f"MNC {self.count:.2E} within {target}"


def mnc_assessment(count: Decimal, target: tuple[Decimal, Decimal] = MNC_TARGET_DEFAULT) -> MncAssessment:
    """Assess an MNC count against ``target`` (P-T2-a); a negative count or inverted target is refused."""
    low, high = target
    if count < 0:
        raise ValueError(f"MNC count {count} is negative")
    if not 0 < low <= high:
        raise ValueError(f"MNC target {low}-{high} is not a range of positive counts")
    return MncAssessment(count, low, high)


# --------------------------------------------------------------------------- procedure parameters


@dataclass(frozen=True)
class ProcedureParameters:
    """Apheresis procedure parameters recorded per collection (P-T2-a)."""

    anticoagulant_ratio: int
    processed_blood_volume_ml: int
    cycles: int
    collected_volume_ml: int


PROCEDURE_LIMITS: dict[str, tuple[int, int]] = {
    "anticoagulant_ratio": (1, 100),
    "processed_blood_volume_ml": (1, 50_000),
    "cycles": (1, 100),
    "collected_volume_ml": (1, 2_000),
}
"""Plausibility ranges that catch typing errors (a ratio of 1:N with N in 1-100, volumes in mL); the
review gives no limits (P-T2-a), so these bound what a person can mistype, not what a product allows."""


def procedure_problems(parameters: ProcedureParameters) -> tuple[str, ...]:
    """Parameters outside their plausibility range, each naming the field, value and range."""
    problems = []
    for field, (low, high) in PROCEDURE_LIMITS.items():
        value = getattr(parameters, field)
        if not low <= value <= high:
            problems.append(f"{field} {value} outside {low}-{high}")
    return tuple(problems)
