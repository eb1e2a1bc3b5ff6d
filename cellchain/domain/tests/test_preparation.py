"""Thaw checks (T-8.2.4, T-7.14-a) and dilution checks (T-8.2.5, T-7.14-c)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

import pytest

from cellchain.domain.clinical_verdict import Consequence
from cellchain.domain.preparation import (
    DilutionEntry,
    DilutionSpec,
    ThawEntry,
    ThawSpec,
    dilution_check,
    thaw_check,
)

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=CST)
THAW_SPEC = ThawSpec(36.0, 38.0, frozenset({"water_bath", "dry_thawer"}))
THAW = ThawEntry(
    start=NOW - timedelta(minutes=10),
    end=NOW - timedelta(minutes=5),
    temperature_c=37.0,
    method="water_bath",
    appearance_normal=True,
    no_shaking_confirmed=True,
)


def test_thaw_within_the_manufacturers_values_passes() -> None:
    assert thaw_check(THAW_SPEC, THAW, NOW).passed


def test_thaw_entered_in_the_future_is_blocked() -> None:
    future = dataclasses.replace(THAW, start=NOW + timedelta(minutes=1), end=NOW + timedelta(minutes=6))
    verdict = thaw_check(THAW_SPEC, future, NOW)
    assert set(verdict.codes) == {"thaw_in_future"}
    assert "thaw start is in the future" in verdict.reasons[0].message and not verdict.allowed


def test_thaw_end_before_start_is_blocked() -> None:
    reversed_thaw = dataclasses.replace(THAW, end=THAW.start - timedelta(minutes=1))
    assert thaw_check(THAW_SPEC, reversed_thaw, NOW).codes == ("thaw_end_before_start",)


@pytest.mark.parametrize(("temperature", "ok"), [(36.0, True), (38.0, True), (35.9, False), (38.1, False)])
def test_thaw_temperature_outside_the_range_quarantines_the_unit(temperature: float, ok: bool) -> None:
    verdict = thaw_check(THAW_SPEC, dataclasses.replace(THAW, temperature_c=temperature), NOW)
    assert verdict.passed == ok
    if not ok:
        assert verdict.codes == ("thaw_temperature_out_of_range",)
        assert verdict.has(Consequence.QUARANTINE_UNIT) and verdict.reasons[0].limit == "36-38 °C"


def test_thaw_method_not_the_manufacturers_is_refused() -> None:
    assert thaw_check(THAW_SPEC, dataclasses.replace(THAW, method="bench_top"), NOW).codes == (
        "thaw_method_not_allowed",
    )


def test_interrupted_thaw_opens_a_deviation_but_is_recorded() -> None:
    verdict = thaw_check(THAW_SPEC, dataclasses.replace(THAW, interrupted=True), NOW)
    assert verdict.codes == ("thaw_interrupted",)
    assert verdict.allowed and verdict.has(Consequence.OPEN_DEVIATION)


def test_abnormal_appearance_rejects_the_unit() -> None:
    verdict = thaw_check(THAW_SPEC, dataclasses.replace(THAW, appearance_normal=False), NOW)
    assert verdict.has(Consequence.REJECT_UNIT) and not verdict.allowed


def test_no_shaking_must_be_confirmed() -> None:
    verdict = thaw_check(THAW_SPEC, dataclasses.replace(THAW, no_shaking_confirmed=False), NOW)
    assert verdict.codes == ("no_shaking_not_confirmed",)


def test_thaw_spec_needs_a_method_and_an_ordered_range() -> None:
    with pytest.raises(ValueError, match="reversed"):
        ThawSpec(38.0, 36.0, frozenset({"water_bath"}))
    with pytest.raises(ValueError, match="thaw method"):
        ThawSpec(36.0, 38.0, frozenset())


# --------------------------------------------------------------------------- dilution

DIL_SPEC = DilutionSpec(frozenset({"0.9% NaCl"}), ratio=1.0)
DILUTION = DilutionEntry(
    diluent="0.9% NaCl",
    diluent_lot="L123",
    diluent_expiry=date(2027, 1, 1),
    product_volume_ml=50,
    diluent_volume_ml=50,
    start=NOW - timedelta(minutes=3),
    end=NOW - timedelta(minutes=1),
    gentle_mixing_confirmed=True,
    aseptic_area="BSC-2",
)


def test_dilution_as_the_product_defines_passes() -> None:
    assert dilution_check(DIL_SPEC, DILUTION, NOW).passed


def test_dilution_of_a_product_without_a_dilution_rule_is_blocked() -> None:
    assert dilution_check(None, DILUTION, NOW).codes == ("dilution_not_allowed",)


def test_wrong_ratio_is_blocked() -> None:
    verdict = dilution_check(DIL_SPEC, dataclasses.replace(DILUTION, diluent_volume_ml=60), NOW)
    assert verdict.codes == ("dilution_ratio_wrong",)
    assert verdict.reasons[0].value == "1.2"


def test_ratio_within_the_products_tolerance_passes() -> None:
    spec = dataclasses.replace(DIL_SPEC, relative_tolerance=0.05)
    assert dilution_check(spec, dataclasses.replace(DILUTION, diluent_volume_ml=52), NOW).passed


def test_diluent_not_allowed_or_expired_is_blocked() -> None:
    wrong = dataclasses.replace(DILUTION, diluent="5% glucose", diluent_expiry=date(2026, 3, 1))
    assert set(dilution_check(DIL_SPEC, wrong, NOW).codes) == {"diluent_not_allowed", "diluent_expired"}


def test_dilution_confirmations_and_area_are_required() -> None:
    bare = dataclasses.replace(DILUTION, gentle_mixing_confirmed=False, aseptic_area=" ")
    assert set(dilution_check(DIL_SPEC, bare, NOW).codes) == {
        "gentle_mixing_not_confirmed",
        "aseptic_area_missing",
    }


def test_dilution_in_the_future_or_with_zero_volume_is_blocked() -> None:
    future = dataclasses.replace(DILUTION, end=NOW + timedelta(minutes=2))
    assert dilution_check(DIL_SPEC, future, NOW).codes == ("dilution_in_future",)
    assert dilution_check(DIL_SPEC, dataclasses.replace(DILUTION, product_volume_ml=0), NOW).codes == (
        "volume_invalid",
    )
