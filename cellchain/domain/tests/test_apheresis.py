"""Apheresis screening gate, MNC target and procedure parameters (P-1.3.1-a, P-1.3.1-b, P-T2-a)."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.apheresis import (
    OPTIONAL_MARKERS,
    REQUIRED_MARKERS,
    Marker,
    PhysicianDecision,
    PhysicianDecisionKind,
    ProcedureParameters,
    ScreeningFault,
    ScreeningOutcome,
    ScreeningResult,
    apheresis_screening_verdict,
    mnc_assessment,
    procedure_problems,
)

DAY = date(2025, 3, 1)
TESTED = date(2025, 2, 20)


def _results(outcomes=None, markers=REQUIRED_MARKERS):
    outcomes = outcomes or {}
    return tuple(
        ScreeningResult(m, outcomes.get(m, ScreeningOutcome.NON_REACTIVE), TESTED)
        for m in sorted(markers, key=str)
    )


def _verdict(results, *, active_infection=False, decision=None):
    return apheresis_screening_verdict(
        results, collection_date=DAY, active_infection=active_infection, decision=decision
    )


def _faults(verdict):
    return [reason.fault for reason in verdict.reasons]


def test_required_markers_are_hiv_hbv_hcv_syphilis():
    assert {Marker.HIV_1_2, Marker.HBV, Marker.HCV, Marker.SYPHILIS} == REQUIRED_MARKERS
    assert {Marker.EBV, Marker.CMV, Marker.HTLV_1_2} == OPTIONAL_MARKERS


def test_all_required_non_reactive_allows_collection():
    verdict = _verdict(_results())
    assert verdict.may_collect
    assert not verdict.infectious


@given(missing=st.sets(st.sampled_from(sorted(REQUIRED_MARKERS, key=str)), min_size=1))
def test_collection_blocked_when_a_required_marker_is_missing(missing):
    verdict = _verdict(_results(markers=REQUIRED_MARKERS - missing))
    assert not verdict.may_collect
    assert {r.subject for r in verdict.reasons if r.fault is ScreeningFault.MISSING_MARKER} == {
        m.value for m in missing
    }


def test_optional_markers_are_not_required():
    verdict = _verdict(_results(markers=REQUIRED_MARKERS | {Marker.CMV}))
    assert verdict.may_collect


def test_reactive_result_needs_a_physician_decision():
    verdict = _verdict(_results({Marker.HBV: ScreeningOutcome.REACTIVE}))
    assert _faults(verdict) == [ScreeningFault.DECISION_NEEDED]
    assert verdict.infectious
    assert verdict.reactive_markers == (Marker.HBV,)


def test_reactive_result_with_proceed_decision_allows_and_flags_infectious():
    decision = PhysicianDecision(
        PhysicianDecisionKind.PROCEED, "HBV DNA undetectable on entecavir", "dr_zhao"
    )
    verdict = _verdict(_results({Marker.HBV: ScreeningOutcome.REACTIVE}), decision=decision)
    assert verdict.may_collect
    assert verdict.infectious


def test_reactive_result_with_postpone_decision_blocks():
    decision = PhysicianDecision(PhysicianDecisionKind.POSTPONE, "treat first", "dr_zhao")
    verdict = _verdict(_results({Marker.HCV: ScreeningOutcome.REACTIVE}), decision=decision)
    assert _faults(verdict) == [ScreeningFault.POSTPONED]
    assert "dr_zhao" in verdict.reasons[0].message


def test_decision_without_reason_does_not_count():
    decision = PhysicianDecision(PhysicianDecisionKind.PROCEED, "  ", "dr_zhao")
    verdict = _verdict(_results({Marker.HCV: ScreeningOutcome.REACTIVE}), decision=decision)
    assert _faults(verdict) == [ScreeningFault.DECISION_WITHOUT_REASON]


def test_indeterminate_counts_as_reactive():
    verdict = _verdict(_results({Marker.SYPHILIS: ScreeningOutcome.INDETERMINATE}))
    assert _faults(verdict) == [ScreeningFault.DECISION_NEEDED]
    assert verdict.infectious


def test_active_infection_blocks_until_physician_decides():
    """P-1.3.1-b: active viral infection -> blocked until 'postpone' or 'proceed' with reason."""
    assert _faults(_verdict(_results(), active_infection=True)) == [ScreeningFault.DECISION_NEEDED]
    decision = PhysicianDecision(PhysicianDecisionKind.PROCEED, "resolved URTI, afebrile 72 h", "dr_zhao")
    verdict = _verdict(_results(), active_infection=True, decision=decision)
    assert verdict.may_collect
    assert not verdict.infectious


def test_result_dated_after_collection_day_is_refused():
    results = (
        *_results(markers=REQUIRED_MARKERS - {Marker.HIV_1_2}),
        ScreeningResult(Marker.HIV_1_2, ScreeningOutcome.NON_REACTIVE, date(2025, 3, 2)),
    )
    assert _faults(_verdict(results)) == [ScreeningFault.RESULT_AFTER_COLLECTION]


@pytest.mark.parametrize(
    ("count", "shortfall", "above"),
    [
        ("0.8e9", True, False),
        ("1e9", False, False),
        ("2.5e9", False, False),
        ("3e9", False, False),
        ("3.1e9", False, True),
    ],
)
def test_mnc_count_against_the_1_to_3e9_target(count, shortfall, above):
    assessment = mnc_assessment(Decimal(count))
    assert (assessment.shortfall, assessment.above_target) == (shortfall, above)
    assert ("shortfall" in assessment.message) == shortfall


def test_mnc_target_may_come_from_the_product():
    assert mnc_assessment(Decimal("1.5e9"), (Decimal("2e9"), Decimal("4e9"))).shortfall


def test_mnc_rejects_negative_count_and_inverted_target():
    with pytest.raises(ValueError, match="negative"):
        mnc_assessment(Decimal(-1))
    with pytest.raises(ValueError, match="range"):
        mnc_assessment(Decimal("1e9"), (Decimal("3e9"), Decimal("1e9")))


def test_procedure_parameters_outside_plausible_ranges_are_named():
    good = ProcedureParameters(12, 10_000, 6, 180)
    assert procedure_problems(good) == ()
    bad = ProcedureParameters(0, 10_000, 6, 5_000)
    assert procedure_problems(bad) == (
        "anticoagulant_ratio 0 outside 1-100",
        "collected_volume_ml 5000 outside 1-2000",
    )
