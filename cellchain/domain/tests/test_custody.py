"""Custody step rules: scan verdicts and allowed transitions (G-4, T-10.4, P-1.3.1-g; REGULATORY item 37)."""

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.custody import (
    CUSTODY_STEP_RULES,
    CustodyStep,
    CustodyUnit,
    ScanFault,
    UnitState,
    custody_scan_verdict,
    custody_state_after,
    custody_steps_allowed,
)
from cellchain.domain.identity import LabelPayload, ProductCode, coi_issue, din_issue

HOSPITAL = "H0001"
MANUFACTURER = "M0001"
COI_A = coi_issue("W1234", 2025, 1)
COI_B = coi_issue("W1234", 2025, 2)
DIN_A1 = din_issue("W1234", 2025, 11)
DIN_A2 = din_issue("W1234", 2025, 12)
DIN_B1 = din_issue("W1234", 2025, 21)

UNIT_A1 = CustodyUnit(DIN_A1.data, COI_A.data, UnitState.LABELLED, HOSPITAL, MANUFACTURER)
UNIT_A2 = CustodyUnit(DIN_A2.data, COI_A.data, UnitState.LABELLED, HOSPITAL, MANUFACTURER)
UNIT_B1 = CustodyUnit(DIN_B1.data, COI_B.data, UnitState.LABELLED, HOSPITAL, MANUFACTURER)
UNITS = {unit.din: unit for unit in (UNIT_A1, UNIT_A2, UNIT_B1)}


def _scan(step, text, *, site=HOSPITAL, expected=UNIT_A1):
    return custody_scan_verdict(step=step, scanned_text=text, site=site, expected=expected, lookup=UNITS.get)


def _faults(verdict):
    return [reason.fault for reason in verdict.reasons]


def test_scan_of_the_expected_unit_matches_and_moves_it_on():
    verdict = _scan(CustodyStep.PACK, DIN_A1.barcode_data)
    assert verdict.matched
    assert verdict.next_state is UnitState.PACKED
    assert verdict.scanned_din == DIN_A1.data


def test_scan_of_the_label_datamatrix_matches():
    label = LabelPayload(COI_A, DIN_A1, ProductCode("S1395V00")).encode()
    assert _scan(CustodyStep.PACK, label).matched


def test_typed_din_with_check_character_matches():
    assert _scan(CustodyStep.PACK, DIN_A1.eye_readable).matched


def test_wrong_bag_of_another_patient_is_blocked_as_identity_incident():
    verdict = _scan(CustodyStep.PACK, DIN_B1.barcode_data)
    assert not verdict.matched
    assert _faults(verdict) == [ScanFault.WRONG_PATIENT]
    assert verdict.is_identity_incident
    assert verdict.next_state is None
    assert COI_B.data in verdict.reasons[0].message


def test_other_bag_of_the_same_journey_is_blocked_as_wrong_unit():
    verdict = _scan(CustodyStep.PACK, DIN_A2.barcode_data)
    assert _faults(verdict) == [ScanFault.WRONG_UNIT]
    assert verdict.is_identity_incident


def test_valid_din_never_issued_here_is_unknown_unit():
    verdict = _scan(CustodyStep.PACK, din_issue("Z9999", 2025, 5).barcode_data)
    assert _faults(verdict) == [ScanFault.UNKNOWN_UNIT]


def test_mistyped_din_is_a_failed_check_not_an_identity_incident():
    wrong = "0" if DIN_A1.check_character != "0" else "1"
    verdict = _scan(CustodyStep.PACK, DIN_A1.data + wrong)
    assert _faults(verdict) == [ScanFault.CHECK_FAILED]
    assert not verdict.is_identity_incident
    assert verdict.scanned_din is None


@pytest.mark.parametrize("text", ["", "(01)09506000134352(21)ABC", "hello", "=<S1395V00"])
def test_foreign_or_malformed_barcode_is_unreadable(text):
    verdict = _scan(CustodyStep.PACK, text)
    assert _faults(verdict) == [ScanFault.UNREADABLE]
    assert "foreign or malformed" in verdict.reasons[0].message


def test_label_whose_coi_disagrees_with_the_unit_is_blocked():
    forged = LabelPayload(COI_B, DIN_A1, ProductCode("S1395V00")).encode()
    verdict = _scan(CustodyStep.PACK, forged)
    assert _faults(verdict) == [ScanFault.LABEL_COI_MISMATCH]
    assert verdict.is_identity_incident


def test_pack_scanned_at_another_site_is_wrong_site():
    verdict = _scan(CustodyStep.PACK, DIN_A1.barcode_data, site=MANUFACTURER)
    assert _faults(verdict) == [ScanFault.WRONG_SITE]
    assert verdict.reasons[0].expected == HOSPITAL


def test_receipt_only_at_the_destination_site():
    in_transit = replace(UNIT_A1, state=UnitState.IN_TRANSIT, last_step=CustodyStep.HAND_TO_COURIER)
    at_destination = _scan(
        CustodyStep.RECEIVE_AT_MANUFACTURER, DIN_A1.barcode_data, site=MANUFACTURER, expected=in_transit
    )
    assert at_destination.matched
    assert at_destination.next_state is UnitState.RECEIVED
    elsewhere = _scan(
        CustodyStep.RECEIVE_AT_MANUFACTURER, DIN_A1.barcode_data, site="M0002", expected=in_transit
    )
    assert _faults(elsewhere) == [ScanFault.WRONG_SITE]


def test_receipt_before_hand_off_is_wrong_state():
    verdict = _scan(CustodyStep.RECEIVE_AT_MANUFACTURER, DIN_A1.barcode_data, site=MANUFACTURER)
    assert _faults(verdict) == [ScanFault.WRONG_STATE]
    assert verdict.reasons[0].found == "labelled"
    assert verdict.reasons[0].expected == "in_transit"


def test_second_scan_of_a_recorded_step_is_a_duplicate():
    packed = replace(UNIT_A1, state=UnitState.PACKED, last_step=CustodyStep.PACK)
    verdict = _scan(CustodyStep.PACK, DIN_A1.barcode_data, expected=packed)
    assert _faults(verdict) == [ScanFault.DUPLICATE_SCAN]


def test_packing_an_unlabelled_unit_is_blocked():
    collected = replace(UNIT_A1, state=UnitState.COLLECTED)
    assert _faults(_scan(CustodyStep.PACK, DIN_A1.barcode_data, expected=collected)) == [
        ScanFault.WRONG_STATE
    ]


def test_wrong_site_and_wrong_state_are_both_reported():
    verdict = _scan(CustodyStep.STORE, DIN_A1.barcode_data, site=MANUFACTURER)
    assert _faults(verdict) == [ScanFault.WRONG_SITE, ScanFault.WRONG_STATE]


def test_full_journey_replays_to_stored_and_may_leave_and_reenter_storage():
    steps = (
        CustodyStep.LABEL,
        CustodyStep.PACK,
        CustodyStep.HAND_TO_COURIER,
        CustodyStep.RECEIVE_AT_MANUFACTURER,
        CustodyStep.STORE,
        CustodyStep.RETRIEVE,
        CustodyStep.STORE,
    )
    assert custody_state_after(UnitState.COLLECTED, steps) is UnitState.STORED


def test_replay_names_the_first_forbidden_step():
    with pytest.raises(
        ValueError, match=r"step 2 \(receive_at_manufacturer\) is not allowed from state labelled"
    ):
        custody_state_after(UnitState.COLLECTED, (CustodyStep.LABEL, CustodyStep.RECEIVE_AT_MANUFACTURER))


def test_steps_allowed_follow_the_table():
    assert custody_steps_allowed(UnitState.COLLECTED) == (CustodyStep.LABEL,)
    assert custody_steps_allowed(UnitState.IN_TRANSIT) == (CustodyStep.RECEIVE_AT_MANUFACTURER,)
    assert custody_steps_allowed(UnitState.RECEIVED) == (CustodyStep.STORE, CustodyStep.START_MANUFACTURE)


@given(state=st.sampled_from(UnitState), steps=st.lists(st.sampled_from(CustodyStep), max_size=8))
def test_no_sequence_of_steps_reaches_received_without_a_hand_off(state, steps):
    """Property (T-10.4): receipt at the manufacturer always follows a hand-off to the courier."""
    try:
        final = custody_state_after(UnitState.COLLECTED, tuple(steps))
    except ValueError:
        return
    if final is UnitState.RECEIVED:
        assert CustodyStep.HAND_TO_COURIER in steps
        assert steps.index(CustodyStep.HAND_TO_COURIER) < steps.index(CustodyStep.RECEIVE_AT_MANUFACTURER)


@given(state=st.sampled_from(UnitState), step=st.sampled_from(CustodyStep))
def test_a_matched_scan_moves_exactly_as_the_table_says(state, step):
    unit = replace(UNIT_A1, state=state, last_step=None, site=HOSPITAL, destination_site=HOSPITAL)
    verdict = _scan(step, DIN_A1.barcode_data, expected=unit)
    rule = CUSTODY_STEP_RULES[step]
    assert verdict.matched == (state in rule.from_states)
    assert verdict.next_state == (rule.to_state if state in rule.from_states else None)


def test_a_batch_starts_from_a_received_or_retrieved_unit_and_consumes_it():
    """P-1-a, T-10.4: manufacture starts from a unit at the manufacturer, out of storage; nothing follows."""
    received = (
        CustodyStep.LABEL,
        CustodyStep.PACK,
        CustodyStep.HAND_TO_COURIER,
        CustodyStep.RECEIVE_AT_MANUFACTURER,
    )
    assert custody_state_after(UnitState.COLLECTED, (*received, CustodyStep.START_MANUFACTURE)) is (
        UnitState.CONSUMED
    )
    retrieved = (*received, CustodyStep.STORE, CustodyStep.RETRIEVE, CustodyStep.START_MANUFACTURE)
    assert custody_state_after(UnitState.COLLECTED, retrieved) is UnitState.CONSUMED
    with pytest.raises(ValueError, match=r"start_manufacture\) is not allowed from state stored"):
        custody_state_after(
            UnitState.COLLECTED, (*received, CustodyStep.STORE, CustodyStep.START_MANUFACTURE)
        )
    assert custody_steps_allowed(UnitState.CONSUMED) == ()


def test_a_stored_unit_scanned_to_start_a_batch_is_refused_for_its_state():
    stored = replace(UNIT_A1, state=UnitState.STORED, site=MANUFACTURER, last_step=CustodyStep.STORE)
    verdict = _scan(CustodyStep.START_MANUFACTURE, DIN_A1.barcode_data, site=MANUFACTURER, expected=stored)
    assert _faults(verdict) == [ScanFault.WRONG_STATE]
    assert "needs it to be received, retrieved" in verdict.reasons[0].message
