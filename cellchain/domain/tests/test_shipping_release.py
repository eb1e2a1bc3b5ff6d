"""The release gate before dispatch: full or conditional release, no rejection, no open recall hold, units in
stock (Q-2-b, Q-2.5-c)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.shipping_release import (
    SHIPPABLE,
    BatchReleaseFacts,
    ReleaseState,
    dispatch_release_check,
    release_state,
)
from cellchain.domain.specification import ReleaseOutcome

UNITS = (("W123426000001", "in_stock"), ("W123426000002", "in_stock"))


def facts(**changes: object) -> BatchReleaseFacts:
    values: dict[str, object] = {"batch": "B26-1", "decision": ReleaseOutcome.RELEASABLE, "units": UNITS}
    values.update(changes)
    return BatchReleaseFacts(**values)  # type: ignore[arg-type]


def test_a_fully_released_batch_may_leave() -> None:
    check = dispatch_release_check(facts())
    assert check.gate.allowed and check.state is ReleaseState.RELEASED and check.pending == ()


def test_a_conditionally_released_batch_may_leave_with_its_pending_tests() -> None:
    """Q-2-b: conditional release ships; the pending compendial tests travel with it."""
    check = dispatch_release_check(
        facts(decision=ReleaseOutcome.CONDITIONALLY_RELEASABLE, pending=("sterility", "mycoplasma"))
    )
    assert check.gate.allowed and check.conditional
    assert check.pending == ("sterility", "mycoplasma")


def test_no_release_decision_is_refused_naming_the_batch() -> None:
    check = dispatch_release_check(facts(decision=None))
    assert check.gate.checks == ("not_released",)
    assert "batch B26-1 has no release decision" in check.gate.findings[0].message
    assert check.gate.findings[0].clause == "Q-2-b"


def test_a_rejection_after_a_conditional_release_wins() -> None:
    """QA may reject a conditionally released batch (Q-2-b); the old decision no longer lets it leave."""
    check = dispatch_release_check(facts(decision=ReleaseOutcome.CONDITIONALLY_RELEASABLE, rejected=True))
    assert check.state is ReleaseState.REJECTED and check.gate.checks == ("batch_rejected",)
    assert check.pending == ()


def test_an_open_recall_hold_is_refused_with_its_reason() -> None:
    """Q-2.5-c: a positive compendial result after release holds the batch."""
    check = dispatch_release_check(facts(open_recalls=("sterility positive",)))
    assert check.state is ReleaseState.ON_HOLD and check.gate.findings[0].clause == "Q-2.5-c"
    assert "sterility positive" in check.gate.findings[0].message
    assert dispatch_release_check(facts(on_hold=True)).gate.checks == ("recall_hold",)


def test_a_unit_no_longer_in_stock_is_refused() -> None:
    check = dispatch_release_check(facts(units=(("W123426000001", "quarantined"),)))
    assert check.gate.checks == ("unit_not_in_stock",)
    assert (
        "W123426000001" in check.gate.findings[0].message and "quarantined" in check.gate.findings[0].message
    )


@given(
    decision=st.sampled_from([None, *ReleaseOutcome]),
    rejected=st.booleans(),
    on_hold=st.booleans(),
    recalls=st.lists(st.text(min_size=1, max_size=5), max_size=2),
)
def test_only_a_standing_release_without_hold_or_rejection_ships(
    decision: ReleaseOutcome | None, rejected: bool, on_hold: bool, recalls: list[str]
) -> None:
    data = facts(decision=decision, rejected=rejected, on_hold=on_hold, open_recalls=tuple(recalls))
    check = dispatch_release_check(data)
    standing = decision in (ReleaseOutcome.RELEASABLE, ReleaseOutcome.CONDITIONALLY_RELEASABLE)
    assert check.gate.allowed == (standing and not rejected and not on_hold and not recalls)
    assert (release_state(data) in SHIPPABLE) == check.gate.allowed
