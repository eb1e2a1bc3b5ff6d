"""CAPA and change control rules: when a deviation may be closed, when effectiveness may be checked, and which
change-control transitions are allowed (issue 13 item 4).

Clauses: T-6.4-f (investigation, handling and correction of errors with closure sign-off), T-9.3.2 (timely,
effective correction; "closure needs an effectiveness check"), T-10.15 (finding -> CAPA workflow with closure;
CAPA may link a document or system change), REGULATORY item 61 (change control: 21 CFR 11.10(k), EU GMP
Annex 11 §10), P-1-a (versioned, approved product definitions).

Rounds make "a not-effective check requires new actions" exact without comparing clock times: an action
carries the number of effectiveness checks that existed when it was added (its round). Check number n + 1 needs
at least one action of round n (added since check n) and every action done; closure needs the last check
effective and no action added after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from cellchain.domain.findings import Finding, Gate


@dataclass(frozen=True, slots=True)
class ActionFacts:
    """One CAPA action as the rules see it."""

    label: str  # e.g. "CA-2: retrain operators"
    done: bool
    round: int
    due: dt.date


@dataclass(frozen=True, slots=True)
class CheckFacts:
    """One effectiveness check, in the order recorded."""

    effective: bool


@dataclass(frozen=True, slots=True)
class DeviationFacts:
    """What the closure and check rules need to know about one deviation."""

    dispositioned: bool
    closed: bool
    investigation_missing: tuple[str, ...]  # names of the investigation's empty parts
    actions: tuple[ActionFacts, ...]
    checks: tuple[CheckFacts, ...]

    @property
    def open_actions(self) -> tuple[ActionFacts, ...]:
        return tuple(a for a in self.actions if not a.done)

    @property
    def current_round(self) -> int:
        return len(self.checks)


def _closed(facts: DeviationFacts) -> tuple[Finding, ...]:
    if facts.closed:
        return (Finding("closed", "The deviation is closed: nothing more can be recorded on it.", "T-6.4-f"),)
    return ()


def _open_actions(facts: DeviationFacts) -> tuple[Finding, ...]:
    if not facts.open_actions:
        return ()
    names = "; ".join(a.label for a in facts.open_actions)
    return (
        Finding(
            "actions_open",
            f"{len(facts.open_actions)} CAPA action(s) still open: {names}. Complete them first (T-9.3.2).",
            "T-9.3.2",
            value=str(len(facts.open_actions)),
            limit="0",
        ),
    )


def effectiveness_check_gate(facts: DeviationFacts) -> Gate:
    """May an effectiveness check be recorded now? Every action done, and at least one action added since the
    last check (the first check: at least one action at all) (T-9.3.2)."""
    findings = list(_closed(facts))
    if not any(a.round == facts.current_round for a in facts.actions):
        if facts.checks:
            message = (
                "The last effectiveness check found the CAPA not effective: add a new action, complete it, "
                "then check again (T-9.3.2)."
                if not facts.checks[-1].effective
                else "The CAPA was already found effective and no action was added since (T-9.3.2)."
            )
        else:
            message = "Add at least one CAPA action before checking its effectiveness (T-9.3.2)."
        findings.append(Finding("no_new_action", message, "T-9.3.2"))
    findings += _open_actions(facts)
    return Gate(tuple(findings))


def closure_gate(facts: DeviationFacts) -> Gate:
    """May QA close the deviation? Dispositioned, investigation complete, every action done, and the last
    effectiveness check, recorded after the last action was added, found the CAPA effective (T-6.4-f, T-9.3.2,
    T-10.15)."""
    findings = list(_closed(facts))
    if not facts.dispositioned and not facts.closed:
        findings.append(
            Finding("not_dispositioned", "QA has not dispositioned the deviation yet (T-6.4-f).", "T-6.4-f")
        )
    if facts.investigation_missing:
        findings.append(
            Finding(
                "investigation_incomplete",
                f"The investigation is incomplete: {', '.join(facts.investigation_missing)} missing (T-6.4-f).",
                "T-6.4-f",
                value=", ".join(facts.investigation_missing),
            )
        )
    if not facts.actions:
        findings.append(
            Finding(
                "no_action",
                "No CAPA action is recorded: a deviation closes on its CAPA (T-10.15).",
                "T-10.15",
            )
        )
    findings += _open_actions(facts)
    if facts.actions and not facts.checks:
        findings.append(
            Finding(
                "check_missing", "The effectiveness check is missing: closure needs one (T-9.3.2).", "T-9.3.2"
            )
        )
    elif facts.checks and not facts.checks[-1].effective:
        findings.append(
            Finding(
                "not_effective",
                "The last effectiveness check found the CAPA not effective: add new actions and check again "
                "(T-9.3.2).",
                "T-9.3.2",
            )
        )
    elif facts.checks and any(a.round == facts.current_round for a in facts.actions):
        findings.append(
            Finding(
                "check_outdated",
                "An action was added after the last effectiveness check: check effectiveness again (T-9.3.2).",
                "T-9.3.2",
            )
        )
    return Gate(tuple(findings))


def overdue(actions: Sequence[ActionFacts], today: dt.date) -> tuple[ActionFacts, ...]:
    """Open actions past their due date, oldest due first (T-9.3.2 "timely")."""
    return tuple(sorted((a for a in actions if not a.done and a.due < today), key=lambda a: a.due))


class ChangeState(StrEnum):
    """The life of a change request (REGULATORY item 61; Annex 11 §10)."""

    RAISED = "raised"
    ASSESSED = "assessed"
    APPROVED = "approved"
    IMPLEMENTED = "implemented"
    VERIFIED = "verified"
    CLOSED = "closed"
    REJECTED = "rejected"


CHANGE_STEPS: dict[str, tuple[ChangeState, ...]] = {
    "assess": (ChangeState.RAISED, ChangeState.ASSESSED),
    "approve": (ChangeState.ASSESSED,),
    "reject": (ChangeState.RAISED, ChangeState.ASSESSED),
    "implement": (ChangeState.APPROVED,),
    "verify": (ChangeState.IMPLEMENTED,),
    "close": (ChangeState.VERIFIED,),
}
"""Step -> the states it may start from (impact may be re-assessed until approval)."""

STEP_NEEDS: dict[str, str] = {
    "assess": "a raised or assessed change",
    "approve": "an impact assessment",
    "reject": "a change not yet approved",
    "implement": "QA's approval",
    "verify": "the implementation",
    "close": "the verification",
}


def change_step_gate(step: str, state: str) -> Gate:
    """May `step` run on a change request in `state`? The finding names what is missing (REGULATORY 61)."""
    allowed = CHANGE_STEPS.get(step)
    if allowed is None:
        return Gate((Finding("unknown_step", f"Unknown change-control step {step!r}.", "REGULATORY-61"),))
    if state in allowed:
        return Gate()
    return Gate(
        (
            Finding(
                "out_of_order",
                f"The change request is {state}: {step} needs {STEP_NEEDS[step]} first (change control, "
                "REGULATORY item 61, Annex 11 §10).",
                "REGULATORY-61",
                value=state,
                limit=", ".join(allowed),
            ),
        )
    )
