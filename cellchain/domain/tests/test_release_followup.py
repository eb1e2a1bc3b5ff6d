"""OOS and deviations opened by results, and the late compendial positive (Q-2-e, Q-2.5-c)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.release_followup import (
    ActionKind,
    FollowUp,
    ReleaseState,
    UnitPosition,
    compendial_positive_actions,
    result_follow_ups,
)
from cellchain.domain.specification import Qualitative, judge_result
from cellchain.domain.tests.manufacturing_examples import SPEC, result


def kinds(actions: tuple) -> list[tuple[ActionKind, str]]:  # type: ignore[type-arg]
    return [(a.kind, a.target) for a in actions]


def test_out_of_specification_result_opens_an_oos_investigation() -> None:
    verdict = judge_result(SPEC.item("viability"), result("viability", Decimal(50)))
    assert result_follow_ups(verdict) == (FollowUp.OOS_INVESTIGATION,)


def test_positive_sterility_opens_oos_and_deviation() -> None:
    verdict = judge_result(SPEC.item("sterility_rapid"), result("sterility_rapid", Qualitative.POSITIVE))
    assert result_follow_ups(verdict) == (FollowUp.OOS_INVESTIGATION, FollowUp.DEVIATION)


def test_conforming_result_opens_nothing() -> None:
    assert result_follow_ups(judge_result(SPEC.item("vcn"), result("vcn", Decimal(2)))) == ()


def test_compendial_positive_after_conditional_release_alerts_quarantines_and_opens_safety_records() -> None:
    units = (
        UnitPosition("U1", "hospital-ruijin", infused=True),
        UnitPosition("U2", "hospital-ruijin", infused=False),
        UnitPosition("U3", "manufacturer-store", infused=False),
    )
    actions = compendial_positive_actions(
        SPEC.item("sterility"), "B26-0042", ReleaseState.CONDITIONALLY_RELEASED, units
    )
    assert kinds(actions) == [
        (ActionKind.ALERT_MANUFACTURER_QA, "B26-0042"),
        (ActionKind.OPEN_DEVIATION, "B26-0042"),
        (ActionKind.START_RECALL_HOLD, "B26-0042"),
        (ActionKind.ALERT_HOLDER, "hospital-ruijin"),
        (ActionKind.ALERT_HOLDER, "manufacturer-store"),
        (ActionKind.PATIENT_SAFETY_RECORD, "U1"),
        (ActionKind.QUARANTINE_UNIT, "U2"),
        (ActionKind.QUARANTINE_UNIT, "U3"),
    ]
    assert "compendial sterility positive" in actions[0].reason


def test_compendial_positive_before_release_blocks_the_batch() -> None:
    actions = compendial_positive_actions(SPEC.item("mycoplasma"), "B1", ReleaseState.NOT_RELEASED, ())
    assert [a.kind for a in actions] == [
        ActionKind.ALERT_MANUFACTURER_QA,
        ActionKind.OPEN_DEVIATION,
        ActionKind.BLOCK_RELEASE,
    ]


@pytest.mark.parametrize("code", ["sterility_rapid", "vcn", "endotoxin"])
def test_late_positive_rule_applies_only_to_compendial_sterility_and_mycoplasma(code: str) -> None:
    with pytest.raises(ValueError, match="not a compendial sterility or mycoplasma test"):
        compendial_positive_actions(SPEC.item(code), "B1", ReleaseState.RELEASED, ())


unit_positions = st.lists(
    st.builds(
        UnitPosition,
        st.text("UV0123456789", min_size=1, max_size=4),
        st.sampled_from(["h1", "h2"]),
        st.booleans(),
    ),
    max_size=6,
    unique_by=lambda u: u.unit_id,
)


@given(unit_positions, st.sampled_from([ReleaseState.CONDITIONALLY_RELEASED, ReleaseState.RELEASED]))
def test_every_released_unit_is_quarantined_or_gets_a_safety_record_exactly_once(units, state) -> None:  # type: ignore[no-untyped-def]
    actions = compendial_positive_actions(SPEC.item("sterility"), "B1", state, units)
    per_unit = [
        a for a in actions if a.kind in (ActionKind.QUARANTINE_UNIT, ActionKind.PATIENT_SAFETY_RECORD)
    ]
    assert sorted(a.target for a in per_unit) == sorted(u.unit_id for u in units)
    infused = {u.unit_id for u in units if u.infused}
    assert all((a.kind is ActionKind.PATIENT_SAFETY_RECORD) == (a.target in infused) for a in per_unit)
    assert {a.target for a in actions if a.kind is ActionKind.ALERT_HOLDER} == {u.holder for u in units}
