"""Custody step rules: a scanned unit against the unit expected at a hand-off (G-4, T-10.4, P-1.3.1-g).

Every movement of a unit (labelled, packed, handed to the courier, received at the manufacturer, put into
and taken out of a storage position, taken into a batch) is confirmed by scanning the unit. :func:`custody_scan_verdict`
compares the scan with the unit the step expects and returns a verdict with every reason it fails; a
verdict with reasons blocks the step (G-4 "a mismatch blocks the step"; REGULATORY item 37).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from cellchain.domain.identity import (
    IdentifierError,
    IdentifierFault,
    ScannedIdentifiers,
    parse_unit_scan,
)


class UnitState(StrEnum):
    """Where a collected unit is in its journey to the manufacturer."""

    COLLECTED = "collected"
    LABELLED = "labelled"
    PACKED = "packed"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    STORED = "stored"
    RETRIEVED = "retrieved"
    CONSUMED = "consumed"
    """Taken into manufacturing: a batch record was started from it; it takes no further custody step."""


class CustodyStep(StrEnum):
    """A hand-off or movement confirmed by a scan (G-4)."""

    LABEL = "label"
    PACK = "pack"
    HAND_TO_COURIER = "hand_to_courier"
    RECEIVE_AT_MANUFACTURER = "receive_at_manufacturer"
    STORE = "store"
    RETRIEVE = "retrieve"
    START_MANUFACTURE = "start_manufacture"


class SiteRole(StrEnum):
    """Which site may scan a step: where the unit is now, or where it is being sent."""

    CURRENT = "current"
    DESTINATION = "destination"


@dataclass(frozen=True)
class StepRule:
    """From which states a step may be taken, the state it leads to, and which site scans it."""

    from_states: frozenset[UnitState]
    to_state: UnitState
    site_role: SiteRole


CUSTODY_STEP_RULES: Mapping[CustodyStep, StepRule] = {
    CustodyStep.LABEL: StepRule(frozenset({UnitState.COLLECTED}), UnitState.LABELLED, SiteRole.CURRENT),
    CustodyStep.PACK: StepRule(frozenset({UnitState.LABELLED}), UnitState.PACKED, SiteRole.CURRENT),
    CustodyStep.HAND_TO_COURIER: StepRule(
        frozenset({UnitState.PACKED}), UnitState.IN_TRANSIT, SiteRole.CURRENT
    ),
    CustodyStep.RECEIVE_AT_MANUFACTURER: StepRule(
        frozenset({UnitState.IN_TRANSIT}), UnitState.RECEIVED, SiteRole.DESTINATION
    ),
    CustodyStep.STORE: StepRule(
        frozenset({UnitState.RECEIVED, UnitState.RETRIEVED}), UnitState.STORED, SiteRole.CURRENT
    ),
    CustodyStep.RETRIEVE: StepRule(frozenset({UnitState.STORED}), UnitState.RETRIEVED, SiteRole.CURRENT),
    CustodyStep.START_MANUFACTURE: StepRule(
        frozenset({UnitState.RECEIVED, UnitState.RETRIEVED}), UnitState.CONSUMED, SiteRole.CURRENT
    ),
}
"""Allowed custody transitions (G-4, T-10.4, T-10.6, P-1.3.1-g): a unit is labelled (two-person check,
T-10.6) before it is packed, packed before the courier takes it, handed over before it can be received, and
received at its destination before it goes into storage; it may leave and re-enter storage. A batch starts
only from a unit received or taken out of storage (P-1-a), and consumes it: nothing follows."""

SERVICE_ONLY_STEPS = frozenset({CustodyStep.LABEL, CustodyStep.START_MANUFACTURE})
"""Steps the custody scan form does not offer: the label check needs its two signatures (T-10.6, X-5), and
the start of manufacture is scanned by the batch start in manufacturing (P-1-a, G-4)."""


class ScanFault(StrEnum):
    """Why a scan does not confirm the step."""

    UNREADABLE = "unreadable"
    CHECK_FAILED = "check_failed"
    UNKNOWN_UNIT = "unknown_unit"
    WRONG_UNIT = "wrong_unit"
    WRONG_PATIENT = "wrong_patient"
    LABEL_COI_MISMATCH = "label_coi_mismatch"
    WRONG_SITE = "wrong_site"
    DUPLICATE_SCAN = "duplicate_scan"
    WRONG_STATE = "wrong_state"


IDENTITY_FAULTS = frozenset(
    {ScanFault.WRONG_UNIT, ScanFault.WRONG_PATIENT, ScanFault.LABEL_COI_MISMATCH, ScanFault.UNKNOWN_UNIT}
)
"""Faults that are identity incidents (a possible mix-up; G-4): recorded and notified to QA."""


@dataclass(frozen=True)
class CustodyUnit:
    """The system's view of one unit: identifiers, state, where it is, and the last step recorded."""

    din: str
    coi: str
    state: UnitState
    site: str
    destination_site: str | None = None
    last_step: CustodyStep | None = None


@dataclass(frozen=True)
class ScanReason:
    """One failed check: which, what was found, what was expected, and a sentence for the operator."""

    fault: ScanFault
    found: str
    expected: str
    message: str


@dataclass(frozen=True)
class CustodyVerdict:
    """The outcome of one scan at one step: match when there is no reason (G-4)."""

    step: CustodyStep
    scanned_text: str
    scanned_din: str | None
    expected_din: str
    reasons: tuple[ScanReason, ...]
    next_state: UnitState | None

    @property
    def matched(self) -> bool:
        return not self.reasons

    @property
    def is_identity_incident(self) -> bool:
        return any(reason.fault in IDENTITY_FAULTS for reason in self.reasons)


UnitLookup = Callable[[str], CustodyUnit | None]
"""Finds a unit by DIN data (13 characters); None when the DIN was never issued here."""


def custody_scan_verdict(
    *, step: CustodyStep, scanned_text: str, site: str, expected: CustodyUnit, lookup: UnitLookup
) -> CustodyVerdict:
    """Compare a scan at ``site`` with the unit ``expected`` at ``step`` (G-4, T-10.4; REGULATORY item 37).

    Identity comes first: an unreadable scan, or a scan of any other unit, stops the checks there, since
    the state and site of the wrong unit say nothing about the expected one.
    """
    try:
        scanned = parse_unit_scan(scanned_text)
    except IdentifierError as error:
        return _verdict(step, scanned_text, None, expected, (_unreadable_reason(error),))
    identity = _identity_reasons(scanned, expected, lookup)
    if identity:
        return _verdict(step, scanned_text, scanned.din.data, expected, identity)
    reasons = (*_site_reasons(step, site, expected), *_state_reasons(step, expected))
    return _verdict(step, scanned_text, scanned.din.data, expected, reasons)


def _verdict(
    step: CustodyStep,
    text: str,
    din: str | None,
    expected: CustodyUnit,
    reasons: tuple[ScanReason, ...],
) -> CustodyVerdict:
    next_state = None if reasons else CUSTODY_STEP_RULES[step].to_state
    return CustodyVerdict(step, text, din, expected.din, reasons, next_state)


def _unreadable_reason(error: IdentifierError) -> ScanReason:
    problem = error.problem
    if problem.fault in (IdentifierFault.CHECK_CHARACTER, IdentifierFault.FLAG):
        return ScanReason(ScanFault.CHECK_FAILED, problem.found, problem.expected, problem.message)
    message = f"not a unit identifier of this system (foreign or malformed barcode): {problem.message}"
    return ScanReason(ScanFault.UNREADABLE, problem.text, "a unit label or DIN", message)


def _identity_reasons(
    scanned: ScannedIdentifiers, expected: CustodyUnit, lookup: UnitLookup
) -> tuple[ScanReason, ...]:
    din = scanned.din.data
    if din != expected.din:
        return (_other_unit_reason(din, expected, lookup(din)),)
    if scanned.coi is not None and scanned.coi.data != expected.coi:
        message = (
            f"label of unit {din} carries chain of identity {scanned.coi.data}, "
            f"but the unit belongs to {expected.coi}: the label is wrong"
        )
        return (ScanReason(ScanFault.LABEL_COI_MISMATCH, scanned.coi.data, expected.coi, message),)
    return ()


def _other_unit_reason(din: str, expected: CustodyUnit, other: CustodyUnit | None) -> ScanReason:
    if other is None:
        message = f"unit {din} is not known to this system; expected unit {expected.din}"
        return ScanReason(ScanFault.UNKNOWN_UNIT, din, expected.din, message)
    if other.coi != expected.coi:
        message = (
            f"unit {din} belongs to another patient (chain of identity {other.coi}); "
            f"expected unit {expected.din} of {expected.coi}"
        )
        return ScanReason(ScanFault.WRONG_PATIENT, din, expected.din, message)
    message = f"unit {din} is another bag of the same journey {expected.coi}; expected unit {expected.din}"
    return ScanReason(ScanFault.WRONG_UNIT, din, expected.din, message)


def _site_reasons(step: CustodyStep, site: str, expected: CustodyUnit) -> tuple[ScanReason, ...]:
    rule = CUSTODY_STEP_RULES[step]
    required = expected.site if rule.site_role is SiteRole.CURRENT else expected.destination_site
    if required is not None and site == required:
        return ()
    where = "is at" if rule.site_role is SiteRole.CURRENT else "is being sent to"
    message = f"step {step.value} scanned at site {site}, but unit {expected.din} {where} {required}"
    return (ScanReason(ScanFault.WRONG_SITE, site, str(required), message),)


def _state_reasons(step: CustodyStep, expected: CustodyUnit) -> tuple[ScanReason, ...]:
    rule = CUSTODY_STEP_RULES[step]
    if expected.last_step is step and expected.state is rule.to_state:
        message = f"step {step.value} for unit {expected.din} is already recorded: duplicate scan"
        return (ScanReason(ScanFault.DUPLICATE_SCAN, step.value, "a step not yet recorded", message),)
    if expected.state in rule.from_states:
        return ()
    allowed = ", ".join(sorted(state.value for state in rule.from_states))
    message = f"unit {expected.din} is {expected.state.value}; step {step.value} needs it to be {allowed}"
    return (ScanReason(ScanFault.WRONG_STATE, expected.state.value, allowed, message),)


def custody_steps_allowed(state: UnitState) -> tuple[CustodyStep, ...]:
    """The steps a unit in ``state`` may take next (G-4)."""
    return tuple(step for step, rule in CUSTODY_STEP_RULES.items() if state in rule.from_states)


def custody_state_after(state: UnitState, steps: tuple[CustodyStep, ...]) -> UnitState:
    """Replay ``steps`` from ``state``; raise ValueError at the first step the table forbids (T-10.4)."""
    for index, step in enumerate(steps):
        rule = CUSTODY_STEP_RULES[step]
        if state not in rule.from_states:
            raise ValueError(f"step {index + 1} ({step.value}) is not allowed from state {state.value}")
        state = rule.to_state
    return state
