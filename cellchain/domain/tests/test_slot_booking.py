"""Slot booking: capacity, consent first, fresh window, reasons for changes (P-T3-a, T-6.4-b, T-8.2.2-g)."""

from datetime import UTC, datetime, timedelta

from cellchain.domain.slot_booking import (
    BookingFault,
    StartingMaterial,
    apheresis_booking_verdict,
    booking_change_verdict,
    slot_capacity_reasons,
)

APHERESIS = datetime(2025, 3, 1, 8, tzinfo=UTC)


def _verdict(**overrides):
    arguments = {
        "capacity": 2,
        "booked": 0,
        "consent_on_file": True,
        "starting_material": StartingMaterial.FRESH,
        "apheresis_at": APHERESIS,
        "manufacturing_start_at": APHERESIS + timedelta(hours=30),
    }
    arguments.update(overrides)
    return apheresis_booking_verdict(**arguments)


def _faults(verdict):
    return [reason.fault for reason in verdict.reasons]


def test_fresh_booking_inside_window_with_consent_is_allowed():
    assert _verdict().allowed


def test_full_day_blocks_booking():
    assert _faults(_verdict(booked=2)) == [BookingFault.FULL]
    assert "2 of 2" in slot_capacity_reasons(capacity=2, booked=2, what="x")[0].message


def test_apheresis_cannot_be_scheduled_without_consent():
    """T-6.4-b: consent record required before apheresis can be scheduled."""
    assert _faults(_verdict(consent_on_file=False)) == [BookingFault.NO_CONSENT]


def test_fresh_apheresis_needs_a_reserved_manufacturing_slot():
    """P-T3-a: booking a fresh apheresis requires a manufacturing slot inside the fresh window."""
    assert _faults(_verdict(manufacturing_start_at=None)) == [BookingFault.NO_MANUFACTURING_SLOT]


def test_fresh_apheresis_outside_48h_window_is_refused():
    verdict = _verdict(manufacturing_start_at=APHERESIS + timedelta(hours=49))
    assert _faults(verdict) == [BookingFault.OUTSIDE_FRESH_WINDOW]
    assert "49 h" in verdict.reasons[0].message and "48 h" in verdict.reasons[0].message


def test_product_window_overrides_default():
    verdict = _verdict(
        manufacturing_start_at=APHERESIS + timedelta(hours=30), fresh_window=timedelta(hours=24)
    )
    assert _faults(verdict) == [BookingFault.OUTSIDE_FRESH_WINDOW]


def test_manufacturing_before_apheresis_is_refused():
    verdict = _verdict(manufacturing_start_at=APHERESIS - timedelta(hours=1))
    assert _faults(verdict) == [BookingFault.BEFORE_COLLECTION]


def test_cryopreserved_apheresis_needs_no_manufacturing_slot():
    assert _verdict(starting_material=StartingMaterial.CRYOPRESERVED, manufacturing_start_at=None).allowed


def test_move_or_cancel_needs_a_reason():
    assert _faults(booking_change_verdict(reason=" ")) == [BookingFault.REASON_MISSING]
    assert booking_change_verdict(reason="patient febrile").allowed
