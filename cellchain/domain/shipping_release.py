"""Whether a batch's product may be handed to the courier: QA's current release and the recall state (Q-2-b,
Q-2.5-c; issue 6 follow-up).

A product shipment leaves the manufacturer only when QA's latest release decision stands - full, or
conditional while compendial tests are still pending (Q-2-b, Q-2.5-a/b) - the batch has not been rejected
since, no recall hold is open on it (Q-2.5-c), and every unit to ship is still in stock at the manufacturer
(not quarantined, infused, used for testing or already shipped). A conditional release lets the product go;
the shipment and the hospital's receipt record then say "conditionally released" with the tests still
pending, so the hospital knows what it receives.

Pure functions: no Django, no clock. Each refusal is a `Finding` naming the batch and what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cellchain.domain.findings import Finding, Gate
from cellchain.domain.specification import ReleaseOutcome

UNIT_IN_STOCK = "in_stock"
"""The status of a product unit still held by the manufacturer (manufacturing ProductUnit.Status)."""


class ReleaseState(StrEnum):
    """A batch's release as logistics and the hospital see it."""

    RELEASED = "released"
    CONDITIONAL = "conditionally_released"
    NOT_RELEASED = "not_released"
    REJECTED = "rejected"
    ON_HOLD = "on_hold"


SHIPPABLE = frozenset({ReleaseState.RELEASED, ReleaseState.CONDITIONAL})


@dataclass(frozen=True, slots=True)
class BatchReleaseFacts:
    """What QC and manufacturing record about a batch and the units to ship.

    ``decision`` is the outcome of QA's latest release decision that is not voided (None: never released);
    ``pending`` the compendial tests still pending at a conditional release; ``rejected``/``on_hold`` the
    batch's status since; ``open_recalls`` the reasons of recall holds still open; ``units`` the DIN and
    status of each unit of the shipment.
    """

    batch: str
    decision: ReleaseOutcome | None
    pending: tuple[str, ...] = ()
    rejected: bool = False
    on_hold: bool = False
    open_recalls: tuple[str, ...] = ()
    units: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ReleaseCheck:
    """The batch's release state, the tests pending at a conditional release, and the dispatch gate."""

    state: ReleaseState
    pending: tuple[str, ...]
    gate: Gate

    @property
    def conditional(self) -> bool:
        return self.state is ReleaseState.CONDITIONAL


def release_state(facts: BatchReleaseFacts) -> ReleaseState:
    """The strictest of rejection, recall hold, missing release, conditional and full release (Q-2-b, Q-2.5-c)."""
    if facts.rejected:
        return ReleaseState.REJECTED
    if facts.on_hold or facts.open_recalls:
        return ReleaseState.ON_HOLD
    if facts.decision is ReleaseOutcome.RELEASABLE:
        return ReleaseState.RELEASED
    if facts.decision is ReleaseOutcome.CONDITIONALLY_RELEASABLE:
        return ReleaseState.CONDITIONAL
    return ReleaseState.NOT_RELEASED


def _state_finding(facts: BatchReleaseFacts, state: ReleaseState) -> Finding | None:
    batch = facts.batch
    if state is ReleaseState.REJECTED:
        return Finding(
            "batch_rejected",
            f"batch {batch} was rejected by QA: its product is never shipped",
            "Q-2-b",
            batch,
            state.value,
        )
    if state is ReleaseState.ON_HOLD:
        why = "; ".join(facts.open_recalls) or "the batch is on hold"
        return Finding(
            "recall_hold",
            f"batch {batch} has an open recall hold ({why}): nothing of it leaves until QA closes the hold",
            "Q-2.5-c",
            batch,
            state.value,
        )
    if state is ReleaseState.NOT_RELEASED:
        return Finding(
            "not_released",
            f"batch {batch} has no release decision: QA must release it (fully, or conditionally while "
            "compendial tests are pending) before its product is handed to the courier",
            "Q-2-b",
            batch,
            state.value,
            "released or conditionally released",
        )
    return None


def dispatch_release_check(facts: BatchReleaseFacts) -> ReleaseCheck:
    """May the batch's units be handed to the courier? (Q-2-b, Q-2.5-c)

    Allowed for a full or conditional release without an open recall hold, when every unit to ship is still in
    stock at the manufacturer; otherwise a finding per reason, the release state first.
    """
    state = release_state(facts)
    findings: list[Finding] = []
    first = _state_finding(facts, state)
    if first is not None:
        findings.append(first)
    for din, status in facts.units:
        if status != UNIT_IN_STOCK:
            findings.append(
                Finding(
                    "unit_not_in_stock",
                    f"unit {din} of batch {facts.batch} is {status.replace('_', ' ')}, not in stock at the "
                    "manufacturer",
                    "Q-2.5-c" if status == "quarantined" else "",
                    din,
                    status,
                    UNIT_IN_STOCK,
                )
            )
    pending = facts.pending if state is ReleaseState.CONDITIONAL else ()
    return ReleaseCheck(state, tuple(pending), Gate(tuple(findings)))
