"""Release specification and evaluation (Q-2-a..g, Q-2.1, Q-2.3-b, Q-2.5-a/b, Q-2.6-c, REGULATORY 7)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.specification import (
    Assay,
    AuditTrailReview,
    Method,
    MethodStatus,
    NumericLimit,
    QcResult,
    Qualitative,
    ReleaseOutcome,
    ResultStatus,
    RetainedSample,
    SpecItem,
    Verdict,
    evaluate_release,
    judge_result,
    specification_problems,
    vcn_item,
)
from cellchain.domain.tests.manufacturing_examples import (
    DDPCR,
    ITEMS,
    PASSING_VALUES,
    SPEC,
    passing_results,
    result,
)

D = Decimal
REVIEW = AuditTrailReview("qa_li", datetime(2026, 3, 20, 9, tzinfo=UTC))
RETAINED = RetainedSample("RS-B26-0042-1", "LN2-03 / rack 2 / box 7 / A3")


def evaluate(results: dict[str, QcResult], **kw: object):
    args: dict[str, object] = {
        "audit_review": REVIEW,
        "retained_sample": RETAINED,
        "bead_activator_used": True,
        "open_investigations": (),
    }
    args.update(kw)
    spec = args.pop("spec", SPEC)
    return evaluate_release(spec, results.values(), **args)  # type: ignore[arg-type]


def ordered(code: str) -> QcResult:
    return QcResult(code, SPEC.item(code).method, status=ResultStatus.ORDERED, performed_by="analyst_zhao")


def test_example_specification_has_no_problems() -> None:
    assert specification_problems(SPEC, bead_activator_used=True) == ()


def test_batch_with_every_result_passing_is_releasable() -> None:
    evaluation = evaluate(passing_results())
    assert evaluation.outcome is ReleaseOutcome.RELEASABLE
    assert evaluation.findings == ()
    assert {v.verdict for v in evaluation.verdicts} == {Verdict.CONFORMS}


@pytest.mark.parametrize(
    ("code", "value", "check"),
    [
        ("viability", D("69.9"), "below_minimum"),
        ("viable_cells", D("5.01E8"), "above_maximum"),
        ("car_positive", D("19"), "below_minimum"),
        ("vcn", D("5.01"), "above_maximum"),
        ("ph", D("7.6"), "above_maximum"),
        ("endotoxin", D("0.6"), "above_maximum"),
        ("sterility_rapid", Qualitative.POSITIVE, "outcome_not_expected"),
        ("appearance", Qualitative.DOES_NOT_CONFORM, "outcome_not_expected"),
        ("bead_residue", D(101), "above_maximum"),
    ],
)
def test_release_blocked_when_a_blocking_result_is_out_of_specification(
    code: str, value: object, check: str
) -> None:
    results = passing_results() | {code: result(code, value)}  # type: ignore[arg-type]
    evaluation = evaluate(results)
    assert evaluation.outcome is ReleaseOutcome.NOT_RELEASABLE
    assert [(f.check, f.subject) for f in evaluation.findings] == [(check, code)]
    assert evaluation.verdict_for(code).verdict is Verdict.DOES_NOT_CONFORM


def test_release_blocked_when_vcn_above_limit_cites_q_2_3_b_with_value_and_limit() -> None:
    evaluation = evaluate(passing_results() | {"vcn": result("vcn", D("5.2"))})
    (finding,) = evaluation.findings
    assert (finding.clause, finding.value, finding.limit) == ("Q-2.3-b", "5.2", "≤ 5 copies/cell")


def test_vcn_exactly_at_limit_conforms() -> None:
    assert evaluate(passing_results() | {"vcn": result("vcn", D("5.0"))}).outcome is ReleaseOutcome.RELEASABLE


def test_non_blocking_failure_is_shown_but_does_not_block_release() -> None:
    evaluation = evaluate(passing_results() | {"il2_residue": result("il2_residue", D(80))})
    assert evaluation.outcome is ReleaseOutcome.RELEASABLE
    assert evaluation.verdict_for("il2_residue").verdict is Verdict.DOES_NOT_CONFORM


def test_missing_blocking_result_blocks_release() -> None:
    results = passing_results()
    del results["potency"]
    evaluation = evaluate(results)
    assert evaluation.outcome is ReleaseOutcome.NOT_RELEASABLE
    assert [f.check for f in evaluation.findings] == ["not_tested"]


def test_result_by_another_method_cannot_support_release() -> None:
    trypan = Method("TRYPAN-VICELL", "Trypan blue, Vi-CELL BLU", MethodStatus.VALIDATED)
    results = passing_results() | {"viability": QcResult("viability", trypan, value=D(95))}
    evaluation = evaluate(results)
    assert evaluation.outcome is ReleaseOutcome.NOT_RELEASABLE
    assert evaluation.verdict_for("viability").verdict is Verdict.METHOD_NOT_ACCEPTED
    assert evaluation.findings[0].clause == "Q-2.1"


def test_result_from_unvalidated_method_cannot_support_release() -> None:
    unvalidated = dataclasses.replace(DDPCR, status=MethodStatus.UNVALIDATED)
    results = passing_results() | {"vcn": QcResult("vcn", unvalidated, value=D(1))}
    evaluation = evaluate(results)
    assert [(f.check, f.clause) for f in evaluation.findings] == [("method_unvalidated", "Q-2-c")]


def test_conditional_release_when_rapid_negative_and_compendial_ordered() -> None:
    results = passing_results() | {"sterility": ordered("sterility"), "mycoplasma": ordered("mycoplasma")}
    evaluation = evaluate(results)
    assert evaluation.outcome is ReleaseOutcome.CONDITIONALLY_RELEASABLE
    assert evaluation.pending == ("sterility", "mycoplasma")
    assert evaluation.findings == ()


def test_conditional_release_refused_when_product_does_not_allow_rapid_release() -> None:
    spec = dataclasses.replace(SPEC, rapid_release_allowed=False)
    results = passing_results() | {"sterility": ordered("sterility")}
    evaluation = evaluate(results, spec=spec)
    assert evaluation.outcome is ReleaseOutcome.NOT_RELEASABLE
    assert "rapid_release_not_allowed" in [f.check for f in evaluation.findings]


def test_conditional_release_refused_when_compendial_not_ordered() -> None:
    results = passing_results()
    del results["sterility"]
    evaluation = evaluate(results)
    assert evaluation.outcome is ReleaseOutcome.NOT_RELEASABLE
    assert [(f.check, f.subject) for f in evaluation.findings] == [("not_tested", "sterility")]


def test_conditional_release_refused_when_rapid_result_is_positive() -> None:
    results = passing_results() | {
        "sterility": ordered("sterility"),
        "sterility_rapid": result("sterility_rapid", Qualitative.POSITIVE),
    }
    checks = [f.check for f in evaluate(results).findings]
    assert checks == ["outcome_not_expected", "pending", "rapid_result_not_negative"]


def test_conditional_release_refused_when_rapid_result_is_itself_pending() -> None:
    results = passing_results() | {
        "mycoplasma": ordered("mycoplasma"),
        "mycoplasma_rapid": ordered("mycoplasma_rapid"),
    }
    evaluation = evaluate(results)
    assert evaluation.outcome is ReleaseOutcome.NOT_RELEASABLE
    assert "pending_not_deferrable" in [f.check for f in evaluation.findings]


@pytest.mark.parametrize("code", ["vcn", "potency", "endotoxin", "car_positive"])
def test_only_compendial_sterility_and_mycoplasma_may_be_pending(code: str) -> None:
    evaluation = evaluate(passing_results() | {code: ordered(code)})
    assert evaluation.outcome is ReleaseOutcome.NOT_RELEASABLE
    assert ("pending_not_deferrable", code) in [(f.check, f.subject) for f in evaluation.findings]


def test_release_blocked_without_audit_trail_review() -> None:
    evaluation = evaluate(passing_results(), audit_review=None)
    assert [f.check for f in evaluation.findings] == ["audit_trail_not_reviewed"]


def test_release_blocked_when_performer_reviews_own_audit_trail() -> None:
    self_review = AuditTrailReview("analyst_zhao", REVIEW.reviewed_at)
    evaluation = evaluate(passing_results(), audit_review=self_review)
    assert [f.check for f in evaluation.findings] == ["audit_trail_self_review"]


def test_release_blocked_when_entries_follow_the_audit_trail_review() -> None:
    later = dataclasses.replace(REVIEW, last_entry_at=REVIEW.reviewed_at + timedelta(minutes=1))
    assert [f.check for f in evaluate(passing_results(), audit_review=later).findings] == [
        "audit_trail_review_stale"
    ]
    same = dataclasses.replace(REVIEW, last_entry_at=REVIEW.reviewed_at)
    assert evaluate(passing_results(), audit_review=same).outcome is ReleaseOutcome.RELEASABLE


def test_release_blocked_until_retained_sample_registered_with_location() -> None:
    assert [f.check for f in evaluate(passing_results(), retained_sample=None).findings] == [
        "retained_sample_not_registered"
    ]
    no_place = RetainedSample("RS-1", "  ")
    assert evaluate(passing_results(), retained_sample=no_place).outcome is ReleaseOutcome.NOT_RELEASABLE


def test_release_blocked_while_an_investigation_is_open() -> None:
    evaluation = evaluate(passing_results(), open_investigations=("OOS-2026-007",))
    assert [(f.check, f.subject) for f in evaluation.findings] == [("investigation_open", "OOS-2026-007")]


def test_two_current_results_for_one_test_are_refused() -> None:
    results = [*passing_results().values(), result("vcn", D(1))]
    with pytest.raises(ValueError, match="two current results for test 'vcn'"):
        evaluate_release(
            SPEC, results, audit_review=REVIEW, retained_sample=RETAINED, bead_activator_used=True
        )


def test_amended_result_is_marked_on_its_verdict() -> None:
    evaluation = evaluate(passing_results() | {"viability": result("viability", D(90), amended=True)})
    assert evaluation.verdict_for("viability").amended
    assert not evaluation.verdict_for("vcn").amended


def test_numeric_result_without_value_is_no_value_not_conforming() -> None:
    verdict = judge_result(SPEC.item("viability"), QcResult("viability", SPEC.item("viability").method))
    assert verdict.verdict is Verdict.NO_VALUE


def test_nan_value_never_conforms() -> None:
    verdict = judge_result(SPEC.item("vcn"), QcResult("vcn", DDPCR, value=D("NaN")))
    assert verdict.verdict is Verdict.NO_VALUE


@pytest.mark.parametrize(
    ("mutate", "check"),
    [
        (lambda items: [i for i in items if i.assay is not Assay.BEAD_RESIDUE], "required_test_missing"),
        (lambda items: [i for i in items if i.assay is not Assay.VCN], "required_test_missing"),
        (lambda items: [*items, vcn_item("vcn2", DDPCR, D(6))], "vcn_limit_above_reference"),
        (
            lambda items: [*items, SpecItem("vcn3", Assay.VCN, DDPCR, NumericLimit("copies/cell"))],
            "vcn_limit_above_reference",
        ),
        (lambda items: [i for i in items if i.code != "sterility"], "compendial_parallel_missing"),
        (lambda items: [i for i in items if i.code != "mycoplasma_rapid"], "rapid_method_missing"),
        (lambda items: [*items, items[0]], "duplicate_test_code"),
        (
            lambda items: [
                *items,
                SpecItem(
                    "x", Assay.PH, Method("U", "u", MethodStatus.UNVALIDATED), NumericLimit("", D(1), D(2))
                ),
            ],
            "method_unvalidated",
        ),
        (
            lambda items: [
                *items,
                SpecItem(
                    "y",
                    Assay.STERILITY,
                    Method("R", "r", MethodStatus.COMPENDIAL, rapid=True),
                    NumericLimit(""),
                ),
            ],
            "rapid_method_not_validated",
        ),
        (
            lambda items: [
                *items,
                SpecItem(
                    "z", Assay.PH, Method("P", "p", MethodStatus.COMPENDIAL), NumericLimit("", D(8), D(7))
                ),
            ],
            "limit_inverted",
        ),
    ],
)
def test_specification_problems_block_approval(mutate, check: str) -> None:  # type: ignore[no-untyped-def]
    spec = dataclasses.replace(SPEC, items=tuple(mutate(list(ITEMS))))
    assert check in [f.check for f in specification_problems(spec, bead_activator_used=True)]


def test_bead_residue_test_required_only_when_beads_were_used() -> None:
    spec = dataclasses.replace(SPEC, items=tuple(i for i in ITEMS if i.assay is not Assay.BEAD_RESIDUE))
    assert specification_problems(spec, bead_activator_used=False) == ()
    (problem,) = specification_problems(spec, bead_activator_used=True)
    assert (problem.check, problem.clause) == ("required_test_missing", "Q-2-g")


def test_a_specification_with_problems_is_not_releasable() -> None:
    spec = dataclasses.replace(SPEC, items=tuple(i for i in ITEMS if i.assay is not Assay.BEAD_RESIDUE))
    results = {k: v for k, v in passing_results().items() if k != "bead_residue"}
    assert evaluate(results, spec=spec).outcome is ReleaseOutcome.NOT_RELEASABLE
    assert evaluate(results, spec=spec, bead_activator_used=False).outcome is ReleaseOutcome.RELEASABLE


def test_numeric_limit_describes_itself_for_the_certificate() -> None:
    assert NumericLimit("%", minimum=D("70.0")).describe() == "≥ 70 %"
    assert NumericLimit("", D("6.5"), D("7.50")).describe() == "6.5–7.5"
    assert NumericLimit("cells", D("1E8")).describe() == "≥ 100000000 cells"


# -- properties ---------------------------------------------------------------------------------------------

BLOCKING_NUMERIC = [i for i in ITEMS if i.release_blocking and isinstance(i.criterion, NumericLimit)]


def failing_value(item: SpecItem, data: st.DataObject) -> Decimal:
    limit = item.criterion
    assert isinstance(limit, NumericLimit)
    sides = [s for s in ("low", "high") if (limit.minimum if s == "low" else limit.maximum) is not None]
    side = data.draw(st.sampled_from(sides))
    gap = data.draw(st.decimals(min_value=D("0.001"), max_value=D("1E9"), allow_nan=False, places=3))
    return limit.minimum - gap if side == "low" else limit.maximum + gap  # type: ignore[operator]


@given(st.data())
def test_a_single_failing_blocking_test_always_makes_the_batch_not_releasable(data: st.DataObject) -> None:
    item = data.draw(st.sampled_from(BLOCKING_NUMERIC))
    deferred = data.draw(st.sets(st.sampled_from(["sterility", "mycoplasma"])))
    results = passing_results() | {code: ordered(code) for code in deferred}
    results[item.code] = result(item.code, failing_value(item, data))
    evaluation = evaluate(results)
    assert evaluation.outcome is ReleaseOutcome.NOT_RELEASABLE
    assert item.code in [f.subject for f in evaluation.findings]


@given(
    st.dictionaries(st.sampled_from(sorted(PASSING_VALUES)), st.sampled_from(["missing", "ordered", "pass"]))
)
def test_releasable_means_every_blocking_test_conforms_and_conditional_pends_only_compendial_safety(
    changes: dict[str, str],
) -> None:
    results = passing_results()
    for code, change in changes.items():
        if change == "missing":
            del results[code]
        elif change == "ordered":
            results[code] = ordered(code)
    evaluation = evaluate(results)
    blocking = [v for v in evaluation.verdicts if v.item.release_blocking]
    if evaluation.outcome is ReleaseOutcome.RELEASABLE:
        assert all(v.verdict is Verdict.CONFORMS for v in blocking)
    if evaluation.outcome is ReleaseOutcome.CONDITIONALLY_RELEASABLE:
        pending = {v.item.code for v in blocking if v.verdict is not Verdict.CONFORMS}
        assert pending and pending <= {"sterility", "mycoplasma"}
    if evaluation.outcome is not ReleaseOutcome.NOT_RELEASABLE:
        assert evaluation.findings == ()
