"""Bedside identity check (T-8.2.6-e, T-10.4, T-10.7, REGULATORY.md items 37-38) and infusion parameters
(T-8.2.6-a/b/c, T-8.2.7-d, T-9.2.1-4)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.bedside import (
    BedsideMismatch,
    DoseRange,
    EntryMode,
    ExpectedInfusion,
    InfusionEntry,
    InfusionSpec,
    ProductStatus,
    ScanEntry,
    UnitAtBedside,
    Verifier,
    bedside_check,
    car_positive_viable_cells,
    checklist_check,
    infusion_check,
)
from cellchain.domain.clinical_timing import OvertimeHandling
from cellchain.domain.clinical_verdict import Consequence

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=CST)
EXPECTED = ExpectedInfusion(journey_id="J-0001", coi="CHA999926000001X", patient_wristband_id="MRN-0042")
UNIT = UnitAtBedside(
    unit_id="A99992600001200",
    journey_id="J-0001",
    coi="CHA999926000001X",
    status=ProductStatus.RELEASED,
    use_by=NOW + timedelta(minutes=45),
)
NURSE_WANG = Verifier("u-wang", "Wang Fang", date(2027, 1, 1))
DR_LI = Verifier("u-li", "Li Ming", date(2026, 12, 31))
BOTH = (NURSE_WANG, DR_LI)


def check(
    wristband: str = "MRN-0042",
    unit_scan: str = "A99992600001200",
    unit: UnitAtBedside | None = UNIT,
    verifiers: tuple[Verifier, Verifier] = BOTH,
    now: datetime = NOW,
):
    return bedside_check(EXPECTED, ScanEntry(wristband), ScanEntry(unit_scan), unit, verifiers, now)


def test_matching_wristband_and_released_unit_proceed() -> None:
    verdict = check()
    assert verdict.passed and verdict.allowed


def test_scans_are_compared_without_case_spaces_or_hyphens() -> None:
    assert check(wristband=" mrn 0042 ", unit_scan="a9999 26 000012 00").passed


def test_wrong_wristband_is_blocked_as_wrong_patient_identity_incident() -> None:
    verdict = check(wristband="MRN-0043")
    assert verdict.codes == (BedsideMismatch.WRONG_PATIENT,)
    assert verdict.has(Consequence.IDENTITY_INCIDENT) and not verdict.allowed
    assert verdict.reasons[0].value == "MRN0043" and verdict.reasons[0].limit == "MRN0042"


def test_product_of_another_journey_is_blocked() -> None:
    other = dataclasses.replace(UNIT, journey_id="J-0002", coi="CHA999926000002Y")
    verdict = check(unit=other)
    assert set(verdict.codes) == {BedsideMismatch.PRODUCT_OF_ANOTHER_JOURNEY, BedsideMismatch.COI_MISMATCH}
    assert verdict.has(Consequence.IDENTITY_INCIDENT)


def test_unknown_unit_is_blocked() -> None:
    verdict = check(unit_scan="A99992600009999", unit=None)
    assert verdict.codes == (BedsideMismatch.UNKNOWN_UNIT,)


def test_unit_record_not_matching_the_scan_is_treated_as_unknown() -> None:
    assert check(unit_scan="A99992600009999").codes == (BedsideMismatch.UNKNOWN_UNIT,)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (ProductStatus.NOT_RELEASED, BedsideMismatch.NOT_RELEASED),
        (ProductStatus.QUARANTINED, BedsideMismatch.QUARANTINED),
        (ProductStatus.REJECTED, BedsideMismatch.REJECTED),
        (ProductStatus.CONDITIONALLY_RELEASED, BedsideMismatch.CONDITIONAL_RELEASE_NOT_ACKNOWLEDGED),
    ],
)
def test_unit_not_released_for_use_is_blocked(status: ProductStatus, code: BedsideMismatch) -> None:
    verdict = check(unit=dataclasses.replace(UNIT, status=status))
    assert verdict.codes == (code,)
    assert not verdict.allowed and not verdict.has(Consequence.IDENTITY_INCIDENT)


def test_conditional_release_acknowledged_by_the_physician_proceeds() -> None:
    unit = dataclasses.replace(UNIT, status=ProductStatus.CONDITIONALLY_RELEASED, physician_acknowledged=True)
    assert check(unit=unit).passed


def test_unit_past_its_use_by_is_blocked_and_rejected() -> None:
    verdict = check(now=UNIT.use_by + timedelta(seconds=1))
    assert verdict.codes == (BedsideMismatch.PAST_USE_BY,)
    assert verdict.has(Consequence.REJECT_UNIT)


def test_unit_past_its_use_by_is_quarantined_when_the_product_says_so() -> None:
    unit = dataclasses.replace(UNIT, overtime_handling=OvertimeHandling.QUARANTINE)
    assert check(unit=unit, now=UNIT.use_by + timedelta(minutes=5)).has(Consequence.QUARANTINE_UNIT)


def test_the_same_person_twice_is_blocked() -> None:
    verdict = check(verifiers=(NURSE_WANG, NURSE_WANG))
    assert verdict.codes == (BedsideMismatch.SAME_PERSON_TWICE,)


@pytest.mark.parametrize("until", [None, date(2026, 3, 1)])
def test_verifier_without_current_infusion_qualification_is_blocked(until: date | None) -> None:
    verdict = check(verifiers=(NURSE_WANG, dataclasses.replace(DR_LI, infusion_qualified_until=until)))
    assert verdict.codes == (BedsideMismatch.UNQUALIFIED_VERIFIER,)
    assert "Li Ming" in verdict.reasons[0].message


def test_qualification_valid_through_today_is_accepted() -> None:
    assert check(
        verifiers=(NURSE_WANG, dataclasses.replace(DR_LI, infusion_qualified_until=NOW.date()))
    ).passed


def test_every_failure_is_reported_together() -> None:
    bad_unit = dataclasses.replace(UNIT, journey_id="J-0002", status=ProductStatus.QUARANTINED)
    verdict = check(
        wristband="MRN-9", unit=bad_unit, verifiers=(DR_LI, DR_LI), now=UNIT.use_by + timedelta(hours=1)
    )
    assert set(verdict.codes) == {
        BedsideMismatch.WRONG_PATIENT,
        BedsideMismatch.PRODUCT_OF_ANOTHER_JOURNEY,
        BedsideMismatch.QUARANTINED,
        BedsideMismatch.PAST_USE_BY,
        BedsideMismatch.SAME_PERSON_TWICE,
    }


def test_first_persons_scan_alone_gives_its_verdict_when_one_verifier_is_required() -> None:
    verdict = bedside_check(
        EXPECTED, ScanEntry("MRN-0042"), ScanEntry(UNIT.unit_id), UNIT, (NURSE_WANG,), NOW, 1
    )
    assert verdict.passed


def test_infusion_verdict_needs_a_second_person() -> None:
    verdict = bedside_check(
        EXPECTED, ScanEntry("MRN-0042"), ScanEntry(UNIT.unit_id), UNIT, (NURSE_WANG,), NOW
    )
    assert verdict.codes == (BedsideMismatch.SECOND_VERIFIER_MISSING,)


def test_typed_identifier_needs_a_reason() -> None:
    typed = ScanEntry("MRN-0042", EntryMode.MANUAL)
    verdict = bedside_check(EXPECTED, typed, ScanEntry(UNIT.unit_id), UNIT, BOTH, NOW)
    assert verdict.codes == (BedsideMismatch.MANUAL_ENTRY_WITHOUT_REASON,)
    with_reason = ScanEntry("MRN-0042", EntryMode.MANUAL, "wristband barcode smudged")
    assert bedside_check(EXPECTED, with_reason, ScanEntry(UNIT.unit_id), UNIT, BOTH, NOW).passed


@given(st.text(min_size=1, max_size=20))
def test_any_other_wristband_never_proceeds(scan: str) -> None:
    from cellchain.domain.identity import compact

    verdict = check(wristband=scan)
    assert verdict.allowed == (compact(scan) == compact(EXPECTED.patient_wristband_id))


def test_pre_infusion_checklist_needs_every_item_confirmed() -> None:
    verdict = checklist_check(
        ["no_active_infection", "rescue_staff_present"], {"no_active_infection": True}, "T-9.2.5"
    )
    assert verdict.codes == ("checklist_item_open",)
    assert "rescue_staff_present" in verdict.reasons[0].message


# --------------------------------------------------------------------------- infusion parameters

SPEC = InfusionSpec(
    route="intravenous",
    rate_low_ml_h=60,
    rate_high_ml_h=600,
    allowed_sets=frozenset({"SET-A", "SET-F"}),
    dose=DoseRange(0.6e6, 6.0e6, per_kg=True),
)
ENTRY = InfusionEntry(
    route="Intravenous",
    rate_ml_h=300,
    infusion_set="SET-A",
    set_has_leukocyte_filter=False,
    car_positive_viable_cells=2.0e8,
    weight_kg=70,
    start=NOW - timedelta(minutes=20),
    end=NOW,
)


def test_infusion_within_the_products_values_passes() -> None:
    assert infusion_check(SPEC, ENTRY, NOW).passed


@pytest.mark.parametrize("rate", [59.9, 600.1, 0])
def test_rate_out_of_range_is_blocked(rate: float) -> None:
    verdict = infusion_check(SPEC, dataclasses.replace(ENTRY, rate_ml_h=rate), NOW)
    assert verdict.codes == ("rate_out_of_range",)
    assert verdict.reasons[0].limit == "60-600 mL/h" and not verdict.allowed


def test_rate_out_of_range_with_a_recorded_deviation_goes_on() -> None:
    verdict = infusion_check(SPEC, dataclasses.replace(ENTRY, rate_ml_h=700, rate_deviation_ref="DEV-7"), NOW)
    assert verdict.codes == ("rate_out_of_range",) and verdict.allowed


def test_leukocyte_filter_is_blocked_where_the_product_forbids_it() -> None:
    verdict = infusion_check(
        SPEC, dataclasses.replace(ENTRY, infusion_set="SET-F", set_has_leukocyte_filter=True), NOW
    )
    assert verdict.codes == ("leukocyte_filter_forbidden",)


def test_set_not_on_the_products_list_is_blocked() -> None:
    assert infusion_check(SPEC, dataclasses.replace(ENTRY, infusion_set="SET-Z"), NOW).codes == (
        "infusion_set_not_allowed",
    )


def test_route_other_than_the_products_is_blocked() -> None:
    assert infusion_check(SPEC, dataclasses.replace(ENTRY, route="intrathecal"), NOW).codes == (
        "route_not_allowed",
    )


@pytest.mark.parametrize(
    ("cells", "ok"), [(0.6e6 * 70, True), (6.0e6 * 70, True), (0.59e6 * 70, False), (6.1e6 * 70, False)]
)
def test_dose_per_kg_is_checked_against_the_protocol_range(cells: float, ok: bool) -> None:
    verdict = infusion_check(SPEC, dataclasses.replace(ENTRY, car_positive_viable_cells=cells), NOW)
    assert verdict.passed == ok
    if not ok:
        assert verdict.codes == ("dose_out_of_range",)


def test_dose_per_kg_needs_the_weight() -> None:
    assert infusion_check(SPEC, dataclasses.replace(ENTRY, weight_kg=None), NOW).codes == ("weight_missing",)


def test_infusion_times_in_the_future_or_reversed_are_blocked() -> None:
    future = dataclasses.replace(ENTRY, start=NOW + timedelta(minutes=5), end=None)
    assert infusion_check(SPEC, future, NOW).codes == ("infusion_in_future",)
    reversed_times = dataclasses.replace(ENTRY, end=ENTRY.start - timedelta(minutes=1))
    assert infusion_check(SPEC, reversed_times, NOW).codes == ("infusion_end_before_start",)


def test_car_positive_viable_cells_is_volume_times_concentration_times_fraction() -> None:
    assert car_positive_viable_cells(50, 4.0e6, 0.25) == pytest.approx(5.0e7)
    with pytest.raises(ValueError, match="CAR"):
        car_positive_viable_cells(50, 4.0e6, 1.5)


def test_infusion_spec_with_reversed_range_is_refused() -> None:
    with pytest.raises(ValueError, match="rate range"):
        InfusionSpec("intravenous", 600, 60)
