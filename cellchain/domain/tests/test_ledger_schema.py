"""Which differences a schema re-baseline may accept (decision 0010; Annex 11 §10, 21 CFR 11.10(e))."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.ledger_schema import (
    MIGRATE_ACTION,
    StateDifference,
    rebaseline_continues_problems,
    rebaseline_entry_problems,
    rebaseline_extra,
    rebaseline_problems,
    same_json,
    state_difference,
)

LEDGER = {"id": 7, "name": "Acme", "active": True, "count": 1, "tags": ["a"]}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
states = st.dictionaries(st.text(min_size=1, max_size=6), json_values, max_size=6)


class TestStateDifference:
    def test_added_and_removed_fields_are_a_schema_change(self):
        current = {**{k: v for k, v in LEDGER.items() if k != "tags"}, "site_id": None}
        difference = state_difference(LEDGER, current)
        assert difference == StateDifference(added=("site_id",), removed=("tags",))
        assert difference.schema_only

    def test_a_changed_value_is_never_a_schema_change(self):
        difference = state_difference(LEDGER, {**LEDGER, "name": "Evil", "motto": ""})
        assert difference.changed == ("name",) and difference.added == ("motto",)
        assert not difference.schema_only

    def test_true_is_not_one_and_equal_states_differ_in_nothing(self):
        assert not same_json(True, 1) and not same_json(1, 1.0) and same_json({"a": [1]}, {"a": [1]})
        assert state_difference(LEDGER, {**LEDGER, "count": True}).changed == ("count",)
        assert state_difference(LEDGER, dict(LEDGER)).none

    @given(states, states, st.data())
    def test_adding_and_dropping_fields_only_is_always_accepted(self, ledger, extra, data):
        dropped = data.draw(st.sets(st.sampled_from(sorted(ledger))) if ledger else st.just(set()))
        current = {k: v for k, v in ledger.items() if k not in dropped}
        current.update({k: v for k, v in extra.items() if k not in ledger})
        difference = state_difference(ledger, current)
        assert not difference.changed
        assert set(difference.removed) == dropped
        assert difference.schema_only == bool(dropped or set(extra) - set(ledger))

    @given(states.filter(bool), st.data())
    def test_any_changed_value_is_refused(self, ledger, data):
        name = data.draw(st.sampled_from(sorted(ledger)))
        current = {**ledger, name: ["changed", ledger[name]]}
        assert name in state_difference(ledger, current).changed
        assert not state_difference(ledger, current).schema_only


class TestRebaselineProblems:
    def _extra(self, previous: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        return rebaseline_extra(state_difference(previous, state), ("app.0002_x",), 3)

    def test_a_true_rebaseline_has_no_problem(self):
        state = {**LEDGER, "motto": ""}
        assert rebaseline_problems(LEDGER, state, self._extra(LEDGER, state)) == ()

    def test_a_changed_value_is_a_problem(self):
        state = {**LEDGER, "name": "Laundered", "motto": ""}
        extra = rebaseline_extra(StateDifference(added=("motto",)), (), 3)
        (problem,) = rebaseline_problems(LEDGER, state, extra)
        assert "changes the value of field name" in problem

    def test_extra_must_name_the_fields_and_something_must_change(self):
        state = {**LEDGER, "motto": ""}
        wrong = rebaseline_extra(StateDifference(added=("other",)), (), 3)
        assert any("says it adds ['other']" in p for p in rebaseline_problems(LEDGER, state, wrong))
        assert any(
            "nothing to re-baseline" in p
            for p in rebaseline_problems(LEDGER, LEDGER, self._extra(LEDGER, LEDGER))
        )
        assert rebaseline_problems(LEDGER, state, None) == ("does not say which fields it adds and drops",)
        assert rebaseline_problems(None, state, self._extra(LEDGER, state)) == (
            "re-baselines a record that has no earlier entry",
        )


class TestRebaselineEntryProblems:
    """The entry-level rule both verifiers apply (decision 0010)."""

    def _entry(self, state: Any, action: str = MIGRATE_ACTION, previous_seq: int = 3) -> dict[str, Any]:
        extra = rebaseline_extra(state_difference(LEDGER, state), (), previous_seq)
        return {"seq": 9, "state": state, "action": action, "extra": extra}

    def test_a_true_rebaseline_entry_has_no_problem(self):
        entry = self._entry({**LEDGER, "motto": ""})
        assert rebaseline_entry_problems(entry, {"seq": 3, "state": LEDGER}) == []
        assert rebaseline_continues_problems(entry, 3) == []

    def test_state_action_and_continued_entry_are_checked(self):
        entry = self._entry({**LEDGER, "motto": ""}, action="amend", previous_seq=2)
        assert rebaseline_entry_problems(entry, {"seq": 3, "state": LEDGER}) == [
            "has action 'amend', not 'migrate'"
        ]
        (problem,) = rebaseline_continues_problems(entry, 3)
        assert "names entry seq 2 as the one it continues" in problem
        assert rebaseline_entry_problems(entry, {"seq": 3, "state": "not an object"})[0] == (
            "carries no state object to compare"
        )
        assert rebaseline_entry_problems({**entry, "action": MIGRATE_ACTION}, None) == [
            "re-baselines a record that has no earlier entry"
        ]
