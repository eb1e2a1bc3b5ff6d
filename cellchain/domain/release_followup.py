"""What a QC result sets off by itself: OOS investigations, deviations, and the consequences of a
compendial positive arriving after a conditional release (Q-2-e, Q-2.5-c, issue 5 item 5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cellchain.domain.specification import (
    RAPID_RELEASE_ASSAYS,
    ItemVerdict,
    MethodStatus,
    SpecItem,
    Verdict,
)


class FollowUp(StrEnum):
    """Records a result opens by itself (issue 5 item 4; Q-2-e)."""

    OOS_INVESTIGATION = "oos_investigation"
    DEVIATION = "deviation"


def result_follow_ups(verdict: ItemVerdict) -> tuple[FollowUp, ...]:
    """A result outside specification opens an OOS investigation; a positive sterility or mycoplasma
    result also opens a deviation (Q-2-e)."""
    if verdict.verdict is not Verdict.DOES_NOT_CONFORM:
        return ()
    if verdict.item.assay in RAPID_RELEASE_ASSAYS:
        return (FollowUp.OOS_INVESTIGATION, FollowUp.DEVIATION)
    return (FollowUp.OOS_INVESTIGATION,)


class ReleaseState(StrEnum):
    """Where the batch stands when a late result arrives."""

    NOT_RELEASED = "not_released"
    CONDITIONALLY_RELEASED = "conditionally_released"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class UnitPosition:
    """A released unit (bag) of the batch: who holds it and whether it has been infused."""

    unit_id: str
    holder: str
    infused: bool


class ActionKind(StrEnum):
    """What must happen after a compendial positive (Q-2.5-c)."""

    ALERT_MANUFACTURER_QA = "alert_manufacturer_qa"
    ALERT_HOLDER = "alert_holder"
    QUARANTINE_UNIT = "quarantine_unit"
    PATIENT_SAFETY_RECORD = "patient_safety_record"
    OPEN_DEVIATION = "open_deviation"
    START_RECALL_HOLD = "start_recall_hold"
    BLOCK_RELEASE = "block_release"


@dataclass(frozen=True, slots=True)
class Action:
    """One consequence to carry out: its kind, its target (batch, site, unit) and the reason."""

    kind: ActionKind
    target: str
    reason: str


def compendial_positive_actions(
    item: SpecItem, batch: str, state: ReleaseState, units: Iterable[UnitPosition]
) -> tuple[Action, ...]:
    """Consequences of a positive compendial sterility/mycoplasma result (Q-2.5-c, Q-2-e).

    Manufacturer QA is alerted and a deviation opened in every case. Before release the batch is blocked.
    After a (conditional) release a recall/hold record starts, every holding site is alerted, uninfused
    units are quarantined, and each infused unit gets a patient-safety record.
    """
    if item.assay not in RAPID_RELEASE_ASSAYS or item.method.status is not MethodStatus.COMPENDIAL:
        raise ValueError(f"{item.code} is not a compendial sterility or mycoplasma test")
    reason = f"compendial {item.assay.value} positive for batch {batch} ({item.code})"
    actions = [
        Action(ActionKind.ALERT_MANUFACTURER_QA, batch, reason),
        Action(ActionKind.OPEN_DEVIATION, batch, reason),
    ]
    if state is ReleaseState.NOT_RELEASED:
        return (*actions, Action(ActionKind.BLOCK_RELEASE, batch, reason))
    units = tuple(units)
    actions.append(Action(ActionKind.START_RECALL_HOLD, batch, reason))
    actions.extend(
        Action(ActionKind.ALERT_HOLDER, holder, reason) for holder in sorted({u.holder for u in units})
    )
    for unit in units:
        kind = ActionKind.PATIENT_SAFETY_RECORD if unit.infused else ActionKind.QUARANTINE_UNIT
        actions.append(Action(kind, unit.unit_id, reason))
    return tuple(actions)
