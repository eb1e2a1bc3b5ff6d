"""CAPA closure, effectiveness-check and change-control rules without a database (issue 13 item 4; T-6.4-f,
T-9.3.2, T-10.15, REGULATORY item 61)."""

from __future__ import annotations

import datetime as dt

import pytest

from cellchain.domain.capa import (
    ActionFacts,
    CheckFacts,
    DeviationFacts,
    change_step_gate,
    closure_gate,
    effectiveness_check_gate,
    overdue,
)

DAY = dt.date(2026, 6, 15)


def _action(done: bool = True, round_: int = 0, due: dt.date = DAY, label: str = "CA-1 fix") -> ActionFacts:
    return ActionFacts(label=label, done=done, round=round_, due=due)


def _facts(**changes: object) -> DeviationFacts:
    data: dict[str, object] = {
        "dispositioned": True,
        "closed": False,
        "investigation_missing": (),
        "actions": (_action(),),
        "checks": (CheckFacts(effective=True),),
        **changes,
    }
    return DeviationFacts(**data)  # type: ignore[arg-type]


def test_a_complete_capa_may_close() -> None:
    assert closure_gate(_facts()).allowed


@pytest.mark.parametrize(
    ("changes", "check", "clause"),
    [
        ({"dispositioned": False}, "not_dispositioned", "T-6.4-f"),
        ({"investigation_missing": ("root cause",)}, "investigation_incomplete", "T-6.4-f"),
        ({"actions": (), "checks": ()}, "no_action", "T-10.15"),
        ({"actions": (_action(done=False),)}, "actions_open", "T-9.3.2"),
        ({"checks": ()}, "check_missing", "T-9.3.2"),
        ({"checks": (CheckFacts(effective=False),)}, "not_effective", "T-9.3.2"),
        ({"actions": (_action(), _action(round_=1, label="PA-2"))}, "check_outdated", "T-9.3.2"),
        ({"closed": True}, "closed", "T-6.4-f"),
    ],
)
def test_each_missing_part_refuses_closure_naming_its_clause(
    changes: dict[str, object], check: str, clause: str
) -> None:
    gate = closure_gate(_facts(**changes))
    assert check in gate.checks
    assert next(f for f in gate.findings if f.check == check).clause == clause


def test_a_not_effective_check_needs_a_new_action_before_the_next_check() -> None:
    """T-9.3.2: round 1 needs an action added after check 1."""
    after_bad = _facts(checks=(CheckFacts(effective=False),))
    assert effectiveness_check_gate(after_bad).checks == ("no_new_action",)
    renewed = _facts(checks=(CheckFacts(effective=False),), actions=(_action(), _action(round_=1)))
    assert effectiveness_check_gate(renewed).allowed
    still_open = _facts(checks=(CheckFacts(effective=False),), actions=(_action(), _action(False, 1)))
    assert effectiveness_check_gate(still_open).checks == ("actions_open",)


def test_the_first_check_needs_an_action() -> None:
    gate = effectiveness_check_gate(_facts(actions=(), checks=()))
    assert gate.checks == ("no_new_action",) and "at least one CAPA action" in gate.findings[0].message


def test_overdue_lists_open_actions_past_due_oldest_first() -> None:
    late, later = (
        _action(False, due=DAY - dt.timedelta(days=5)),
        _action(False, due=DAY - dt.timedelta(days=1)),
    )
    actions = [later, _action(True, due=DAY - dt.timedelta(days=9)), _action(False, due=DAY), late]
    assert overdue(actions, DAY) == (late, later)


@pytest.mark.parametrize(
    ("step", "state", "allowed"),
    [
        ("assess", "raised", True),
        ("assess", "assessed", True),
        ("approve", "raised", False),
        ("approve", "assessed", True),
        ("implement", "assessed", False),
        ("implement", "approved", True),
        ("verify", "approved", False),
        ("verify", "implemented", True),
        ("close", "implemented", False),
        ("close", "verified", True),
        ("reject", "approved", False),
        ("reject", "raised", True),
    ],
)
def test_change_steps_follow_the_table(step: str, state: str, allowed: bool) -> None:
    """REGULATORY item 61: a step out of order is refused, saying what it needs."""
    gate = change_step_gate(step, state)
    assert gate.allowed is allowed
    if not allowed:
        assert "REGULATORY item 61" in gate.findings[0].message and state in gate.findings[0].message
