"""Hospital receipt inspection (T-8.1.3-a..f, T-8.1.4-a..d, T-8.1.5-a..e, T-8.1.6-a..g)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.coldchain import (
    DEFAULT_LIMITS,
    ColdChainSpec,
    ShipperKind,
    analyse_cold_chain,
    trace_of,
)
from cellchain.domain.receipt import (
    CHECKS_BY_ID,
    RECEIPT_CHECKS,
    TRIGGER_TEXT,
    Answer,
    CheckAnswer,
    Consequence,
    Outcome,
    ReceiptFacts,
    Source,
    Trigger,
    evaluate_receipt,
)

T0 = 1_772_323_200.0
SPEC = ColdChainSpec(DEFAULT_LIMITS[ShipperKind.LN2_DRY_SHIPPER], interval_s=60, transit_limit_s=72 * 3600)
YES = CheckAnswer(Answer.YES)
FACTS = ReceiptFacts(
    received_at=T0 + 3600,
    expires_at=T0 + 30 * 86400,
    expected_units=frozenset({"W1234 26 000123 V"}),
    scanned_units=frozenset({"W1234 26 000123 V"}),
    container="ln2_dry_shipper",
    allowed_containers=frozenset({"ln2_dry_shipper"}),
)


def coldchain(celsius):
    times = T0 + 60.0 * np.arange(len(celsius))
    trace = trace_of(times, np.asarray(celsius, dtype=float))
    return analyse_cold_chain(trace, SPEC, dispatched_at=times[0], arrived_at=times[-1])


CLEAN = coldchain(np.full(60, -185.0))


def all_yes(**overrides):
    answers = {c.id: YES for c in RECEIPT_CHECKS if c.id != "T-8.1.3-e"}
    answers.update(overrides)
    return answers


def test_table_covers_every_clause_item():
    """Every item of 8.1.3 a-f, 8.1.4 a-d, 8.1.5 a-e has a check, plus the 8.1.6-g free trigger."""
    expected = (
        [f"T-8.1.3-{x}" for x in "abcdef"]
        + [f"T-8.1.4-{x}" for x in "abcd"]
        + [f"T-8.1.5-{x}" for x in "abcde"]
        + ["T-8.1.6-g"]
    )
    assert [c.id for c in RECEIPT_CHECKS] == expected
    assert all(c.question_en.endswith("?") and c.question_zh.endswith("？") for c in RECEIPT_CHECKS)
    assert set(TRIGGER_TEXT) == set(Trigger)


def test_consequences_follow_the_clause_wording():
    """8.1.3 suspends use (quarantine), 8.1.4 not to be used (reject), 8.1.5 transport deviation."""
    for check in RECEIPT_CHECKS:
        if check.id.startswith("T-8.1.4"):
            assert check.consequence is Consequence.REJECT
        elif check.id.startswith("T-8.1.5"):
            assert check.consequence is Consequence.TRANSPORT_DEVIATION
    assert CHECKS_BY_ID["T-8.1.3-b"].consequence is Consequence.QUARANTINE
    # The catalogue line for T-8.1.3-d: an expired unit is rejected.
    assert CHECKS_BY_ID["T-8.1.3-d"].consequence is Consequence.REJECT


def test_clean_receipt_is_accepted():
    verdict = evaluate_receipt(all_yes(), CLEAN, FACTS)
    assert verdict.outcome is Outcome.ACCEPTED
    assert verdict.usable and not verdict.notify_manufacturer and verdict.reasons == ()


def test_unanswered_checks_leave_the_receipt_incomplete():
    answers = all_yes()
    del answers["T-8.1.4-c"]
    verdict = evaluate_receipt(answers, CLEAN, FACTS)
    assert verdict.outcome is Outcome.INCOMPLETE
    assert verdict.missing == ("T-8.1.4-c",)
    assert not verdict.usable


def test_label_failure_quarantines_and_notifies_the_manufacturer():
    """T-8.1.3-b: a "no" suspends use at once and contacts the manufacturer (T-8.1.6-a)."""
    answers = all_yes(**{"T-8.1.3-b": CheckAnswer(Answer.NO, "batch number overwritten by hand")})
    verdict = evaluate_receipt(answers, CLEAN, FACTS)
    assert verdict.outcome is Outcome.QUARANTINED
    assert verdict.notify_manufacturer and not verdict.transport_deviation
    assert verdict.triggers == (Trigger.LABEL,)
    assert "batch number overwritten by hand" in verdict.reasons[0]


def test_damaged_package_rejects():
    """T-8.1.4-a: any package abnormality means the product is not used (T-8.1.6-b)."""
    answers = all_yes(**{"T-8.1.4-a": CheckAnswer(Answer.NO, "outer box crushed")})
    verdict = evaluate_receipt(answers, CLEAN, FACTS)
    assert verdict.outcome is Outcome.REJECTED
    assert verdict.triggers == (Trigger.PACKAGE,)


def test_rejection_beats_quarantine():
    answers = all_yes(
        **{
            "T-8.1.3-b": CheckAnswer(Answer.NO, "smudged"),
            "T-8.1.4-c": CheckAnswer(Answer.NO, "turbid"),
        }
    )
    verdict = evaluate_receipt(answers, CLEAN, FACTS)
    assert verdict.outcome is Outcome.REJECTED
    assert verdict.triggers == (Trigger.LABEL, Trigger.APPEARANCE)


def test_excursion_quarantines_with_transport_deviation_even_if_receiver_says_yes():
    """T-8.1.5-b: the analysis decides; a receiver's "yes" cannot overturn it (T-8.1.6-d)."""
    celsius = np.full(60, -185.0)
    celsius[20:30] = -120.0
    verdict = evaluate_receipt(all_yes(), coldchain(celsius), FACTS)
    assert verdict.outcome is Outcome.QUARANTINED
    assert verdict.transport_deviation
    failed = {f.check.id: f for f in verdict.failures}
    assert set(failed) == {"T-8.1.3-e", "T-8.1.5-b"}
    assert failed["T-8.1.5-b"].source is Source.SYSTEM
    assert "excursion above -150.0 °C" in failed["T-8.1.5-b"].reason
    assert Trigger.TEMPERATURE_RECORD in verdict.triggers


def test_missing_temperature_record_fails_record_check():
    """T-8.1.5-a / T-8.1.6-d: no logger data is a failure, never an acceptance."""
    verdict = evaluate_receipt(all_yes(), None, FACTS)
    assert verdict.outcome is Outcome.QUARANTINED
    assert "T-8.1.5-a" in {f.check.id for f in verdict.failures}


def test_several_loggers_all_count():
    bad = coldchain(np.concatenate([np.full(30, -185.0), [999.0], np.full(29, -185.0)]))
    verdict = evaluate_receipt(all_yes(), [CLEAN, bad], FACTS)
    assert verdict.outcome is Outcome.QUARANTINED
    assert "probe" in {f.check.id: f for f in verdict.failures}["T-8.1.5-a"].reason


def test_expired_product_is_rejected():
    """T-8.1.3-d: computed by the system; an expired unit is rejected (T-8.1.6-f)."""
    facts = ReceiptFacts(
        received_at=T0 + 10,
        expires_at=T0,
        expected_units=FACTS.expected_units,
        scanned_units=FACTS.scanned_units,
        container=FACTS.container,
        allowed_containers=FACTS.allowed_containers,
    )
    verdict = evaluate_receipt(all_yes(), CLEAN, facts)
    assert verdict.outcome is Outcome.REJECTED
    assert verdict.triggers == (Trigger.EXPIRED,)


def test_scanned_units_must_match_the_order():
    """T-8.1.3-a: scanned unit IDs compared with the order."""
    facts = ReceiptFacts(expected_units=frozenset({"A", "B"}), scanned_units=frozenset({"A", "C"}))
    verdict = evaluate_receipt(all_yes(), CLEAN, facts)
    (failure,) = [f for f in verdict.failures if f.check.id == "T-8.1.3-a"]
    assert "expected but not scanned: B" in failure.reason and "scanned but not ordered: C" in failure.reason


def test_wrong_container_opens_a_transport_deviation():
    facts = ReceiptFacts(container="styrofoam box", allowed_containers=frozenset({"ln2_dry_shipper"}))
    verdict = evaluate_receipt(all_yes(), CLEAN, facts)
    assert verdict.transport_deviation
    assert Trigger.TRANSPORT_CONDITIONS in verdict.triggers


def test_no_without_description_is_a_failure_that_still_needs_its_note():
    answers = all_yes(**{"T-8.1.6-g": CheckAnswer(Answer.NO)})
    verdict = evaluate_receipt(answers, CLEAN, FACTS)
    assert verdict.outcome is Outcome.QUARANTINED
    assert verdict.triggers == (Trigger.OTHER,)
    assert verdict.missing == ("T-8.1.6-g",)


def test_not_applicable_only_where_allowed():
    fresh_ok = evaluate_receipt(all_yes(**{"T-8.1.4-d": CheckAnswer(Answer.NOT_APPLICABLE)}), CLEAN, FACTS)
    assert fresh_ok.outcome is Outcome.ACCEPTED
    label_na = evaluate_receipt(all_yes(**{"T-8.1.3-b": CheckAnswer(Answer.NOT_APPLICABLE)}), CLEAN, FACTS)
    assert label_na.outcome is Outcome.INCOMPLETE and label_na.missing == ("T-8.1.3-b",)


def test_unknown_check_id_is_refused():
    with pytest.raises(ValueError, match="unknown receipt check"):
        evaluate_receipt({"T-9.9.9-z": YES}, CLEAN, FACTS)


@given(st.sets(st.sampled_from([c.id for c in RECEIPT_CHECKS if c.id != "T-8.1.3-e"]), min_size=1))
def test_any_no_means_the_product_is_not_usable(failed_ids):
    """Property (T-8.1.6): whatever fails, the product is never accepted and the manufacturer is told."""
    answers = all_yes(**{cid: CheckAnswer(Answer.NO, "seen") for cid in failed_ids})
    verdict = evaluate_receipt(answers, CLEAN, FACTS)
    assert verdict.outcome in (Outcome.QUARANTINED, Outcome.REJECTED)
    assert verdict.notify_manufacturer
    rejects = any(CHECKS_BY_ID[c].consequence is Consequence.REJECT for c in failed_ids)
    assert (verdict.outcome is Outcome.REJECTED) == rejects
