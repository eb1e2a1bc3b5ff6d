"""The clinic's values from the manufacturer's information package (T-7.4, T-7.8, T-7.9, T-7.10-b, T-7.14,
T-8.2.5-a/b, T-8.2.6-a/b, T-8.2.7-a): copied, converted in the safe direction, refused when incomplete."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.clinical_timing import OvertimeHandling
from cellchain.domain.clinical_use import (
    CLINIC_VALUES,
    PACKAGE_VALUES,
    PACKAGE_VALUES_IF_STATED,
    PackageIncomplete,
    clinical_use_values,
    risk_seed,
    uncovered_reactions,
)
from cellchain.domain.product_information import (
    Administration,
    Bilingual,
    DilutionRequirement,
    TemperatureRange,
)
from cellchain.domain.tests.manufacturing_examples import INFO


def test_an_older_package_without_the_optional_keys_gives_the_bedside_values() -> None:
    """T-7.8-a/b, T-7.14-a, T-7.10-b: the values the package carries, in the clinic's units."""
    values = clinical_use_values(INFO)
    assert (values.usable_after_thaw_min, values.preparation_min, values.use_after_dilution_min) == (
        90,
        30,
        None,
    )
    assert (values.thaw_temp_low_c, values.thaw_temp_high_c) == (36.0, 38.0)
    assert values.thaw_methods == ("water bath",)  # no coded methods: the method text is the one allowed
    assert values.ae_report_hours == 24 and values.evidence == "STAB-2025-02"
    assert values.overtime_handling == ""  # not coded: T-7.8-d rejects the unit
    assert values.diluents == () and values.dilution_ratio is None  # no dilution offered (T-8.2.5)
    assert values.possible_reactions == ("CRS", "ICANS") and values.precautions == ("no shaking",)
    assert values.pre_infusion_checks == ("bag intact", "label matches")
    assert values.stated == frozenset() and values.carried == PACKAGE_VALUES


def test_the_administration_section_moves_route_filter_and_observation_to_the_package() -> None:
    """T-8.2.6-a/b, T-8.2.7-a: stated values are the package's; the clinic no longer enters them."""
    info = replace(
        INFO, administration=Administration("intravenous", False, timedelta(minutes=45, seconds=1))
    )
    values = clinical_use_values(info)
    assert (values.route, values.leukocyte_filter_forbidden, values.observation_min) == (
        "intravenous",
        False,
        46,
    )
    assert set(values.carried) == set(PACKAGE_VALUES) | set(PACKAGE_VALUES_IF_STATED)
    assert values.as_fields()["observation_min"] == 46
    partly = clinical_use_values(replace(INFO, administration=Administration(route="intravenous")))
    assert partly.stated == {"route"}


def test_coded_overtime_rule_thaw_methods_and_dilution_are_taken() -> None:
    """T-7.8-d, T-7.14-a/c, T-8.2.5-a/b."""
    info = replace(
        INFO,
        use_times=replace(
            INFO.use_times, after_dilution=timedelta(minutes=30), overtime_action=OvertimeHandling.QUARANTINE
        ),
        thaw_preparation=replace(
            INFO.thaw_preparation,
            thaw_methods=("water_bath", "dry_thawer"),
            dilution_spec=DilutionRequirement(("0.9% NaCl",), Decimal(1), Decimal("0.02")),
        ),
    )
    values = clinical_use_values(info)
    assert values.overtime_handling == "quarantine" and values.thaw_methods == ("water_bath", "dry_thawer")
    assert (values.diluents, values.dilution_ratio, values.dilution_tolerance) == (("0.9% NaCl",), 1.0, 0.02)
    assert values.as_fields()["diluents"] == ["0.9% NaCl"]


def test_an_incomplete_package_is_refused_naming_every_gap() -> None:
    """A package without the values the bedside needs cannot be adopted (T-7.8-a, T-7.8, T-7.14-a, T-7.10-b)."""
    info = replace(
        INFO,
        use_times=replace(INFO.use_times, after_thaw=None, evidence=" "),
        thaw_preparation=replace(
            INFO.thaw_preparation,
            thaw_temperature=TemperatureRange(None, Decimal(38)),
            thaw_method=Bilingual("", ""),
            dilution_spec=DilutionRequirement(("saline",), Decimal(1)),
        ),
        ae_reporting=replace(INFO.ae_reporting, time_limit=None),
    )
    with pytest.raises(PackageIncomplete) as caught:
        clinical_use_values(info)
    assert [gap.rsplit("(", 1)[1] for gap in caught.value.gaps] == [
        "T-7.8-a)",
        "T-7.8)",
        "T-7.14-a)",
        "T-7.14-a)",
        "T-7.8-c, T-8.2.5-d)",
        "T-7.10-b)",
    ]


@given(st.integers(min_value=60, max_value=10 * 24 * 3600))
def test_time_limits_never_get_longer_in_the_clinic(seconds: int) -> None:
    """Hours become whole minutes rounded down, the AE limit whole hours rounded down: never a wider window."""
    limit = timedelta(seconds=seconds)
    info = replace(
        INFO,
        use_times=replace(INFO.use_times, after_thaw=limit),
        ae_reporting=replace(INFO.ae_reporting, time_limit=max(limit, timedelta(hours=1))),
    )
    values = clinical_use_values(info)
    assert (
        timedelta(minutes=values.usable_after_thaw_min)
        <= limit
        < timedelta(minutes=values.usable_after_thaw_min + 1)
    )
    assert timedelta(hours=values.ae_report_hours) <= max(limit, timedelta(hours=1))


def test_value_lists_do_not_overlap() -> None:
    assert not set(PACKAGE_VALUES) & set(CLINIC_VALUES)
    assert not set(PACKAGE_VALUES_IF_STATED) & (set(PACKAGE_VALUES) | set(CLINIC_VALUES))


def test_risk_seed_starts_the_register_from_the_manufacturers_list() -> None:
    """T-9.1.2 from T-7.9-a/c/d: each reaction is a required row citing the version; the rest are proposals."""
    seed = risk_seed(("CRS", "ICANS"), ("temperature",), ("active infection",), ("no shaking",), "cd19 v2")
    assert [(s.hazard, s.required) for s in seed] == [
        ("CRS", True),
        ("ICANS", True),
        ("infusion despite: active infection", False),
        ("precaution not observed: no shaking", False),
    ]
    assert "cd19 v2" in seed[0].cause and seed[0].measure == "monitor temperature (T-7.9-b)"


def test_uncovered_reactions_ignore_case_and_spaces() -> None:
    assert uncovered_reactions(("CRS", "ICANS"), [" crs ", "wrong patient"]) == ("ICANS",)
