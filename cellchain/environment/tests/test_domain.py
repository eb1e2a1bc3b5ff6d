"""The pure clean-zone rules: outcomes at the limits, limits a site may set, open steps and grades, HVAC
separation (T-5.1.5, T-5.1.6, T-5.1.7)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cellchain.domain import environment as env
from cellchain.environment.models import Parameter
from cellchain.manufacturing.models import AreaPurpose, CleanlinessGrade

SETTLE_B = env.Limits(env.Grade.B, env.Parameter.SETTLE_PLATE, Decimal(2), Decimal(5))


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        ("0", "within"),
        ("2", "within"),
        ("2.01", "alert"),
        ("5", "alert"),
        ("5.01", "action"),
        ("60", "action"),
    ],
)
def test_a_result_above_the_action_limit_is_an_excursion(value: str, outcome: str) -> None:
    """T-5.1.6: at a limit is still within it; above the action limit is an excursion."""
    assert env.monitoring_outcome(Decimal(value), SETTLE_B) == outcome


def test_grade_a_no_growth_makes_any_colony_an_excursion() -> None:
    """T-5.1.6: Annex 1 grade A "no growth" is an action limit of 0 cfu."""
    limits = env.Limits(env.Grade.A, env.Parameter.GLOVE_PRINT, Decimal(0), Decimal(0))
    assert env.limits_problems(limits) == ()
    assert env.monitoring_outcome(Decimal(1), limits) is env.Outcome.ACTION


def test_a_site_cannot_set_limits_looser_than_annex_1_or_alert_above_action() -> None:
    """T-5.1.6: the site's action limit for grade B settle plates may not exceed Annex 1's 5 cfu/4 h."""
    loose = env.Limits(env.Grade.B, env.Parameter.SETTLE_PLATE, Decimal(3), Decimal(6))
    assert [p.check for p in env.limits_problems(loose)] == ["action_above_annex1"]
    inverted = env.Limits(env.Grade.C, env.Parameter.VIABLE_AIR, Decimal(80), Decimal(50))
    assert [p.check for p in env.limits_problems(inverted)] == ["alert_above_action"]
    unbounded = env.Limits(env.Grade.D, env.Parameter.PARTICLES_0_5, Decimal(10**6), Decimal(10**7))
    assert env.limits_problems(unbounded) == ()  # Annex 1 sets no grade D particle limit in operation


def test_an_open_step_is_refused_in_an_area_of_a_grade_the_process_does_not_allow() -> None:
    """T-5.1.7: open (non-closed) operations only in an allowed grade; closed ones anywhere."""
    gate = env.open_step_grade_check(
        "selection", open_operation=True, allowed=("A", "B"), area="room-2", grade="C"
    )
    assert gate.checks == ("open_step_wrong_grade",) and gate.findings[0].clause == "T-5.1.7"
    assert "room-2 is C" in gate.findings[0].message
    unclassified = env.open_step_grade_check(
        "selection", open_operation=True, allowed=("B",), area="x", grade=""
    )
    assert "unclassified" in unclassified.findings[0].message
    assert env.open_step_grade_check(
        "selection", open_operation=True, allowed=("A", "B"), area="r", grade="B"
    ).allowed
    assert env.open_step_grade_check(
        "expansion", open_operation=False, allowed=(), area="r", grade=""
    ).allowed


def test_an_open_step_must_name_its_grades_and_only_real_ones() -> None:
    """T-5.1.7: the process definition says which grades an open step may be done in."""
    assert [f.check for f in env.open_step_template_problems("s", open_operation=True, allowed=())] == [
        "open_step_without_grade"
    ]
    assert [f.check for f in env.open_step_template_problems("s", open_operation=False, allowed=("E",))] == [
        "unknown_grade"
    ]
    assert env.open_step_template_problems("s", open_operation=True, allowed=("A",)) == []


def test_a_virus_area_sharing_its_hvac_or_recording_none_is_warned() -> None:
    """T-5.1.5: virus preparation and virus storage have their own HVAC system."""
    areas = [
        env.AreaAir("cell-1", "cell_preparation", "AHU-01"),
        env.AreaAir("virus-store", "virus_storage", "AHU-01"),
        env.AreaAir("virus-prep", "virus_preparation", "AHU-09"),
        env.AreaAir("virus-new", "virus_preparation", " "),
    ]
    warnings = env.hvac_warnings(areas)
    assert [(w.subject, w.check) for w in warnings] == [
        ("virus-store", "virus_area_hvac_shared"),
        ("virus-new", "virus_area_hvac_unknown"),
    ]
    assert "also serves cell-1" in warnings[0].message and warnings[0].clause == "T-5.1.5"


def test_the_models_choices_are_the_domains_values() -> None:
    """The Django choices and the pure enums say the same grades, purposes and parameters (T-5.1.3)."""
    assert set(CleanlinessGrade.values) == {g.value for g in env.Grade}
    assert set(AreaPurpose.values) == {p.value for p in env.AreaPurpose}
    assert set(Parameter.values) == {p.value for p in env.Parameter} == set(env.UNITS)


@pytest.mark.parametrize(
    ("what", "purpose", "allowed"),
    [
        (env.Stored.VECTOR, "virus_storage", True),
        (env.Stored.VECTOR, "cell_storage", False),
        (env.Stored.CELLS, "cell_storage", True),
        (env.Stored.CELLS, "virus_storage", False),
        (env.Stored.CELLS, "cell_preparation", False),
    ],
)
def test_virus_and_cell_storage_are_kept_apart(what: env.Stored, purpose: str, allowed: bool) -> None:
    """T-5.1.4-c: a vector lot never in a cell location, cells never in a virus location."""
    gate = env.storage_placement_check(what, "item", area="store-1", purpose=purpose)
    assert gate.allowed is allowed
    if not allowed:
        assert gate.findings[0].clause == "T-5.1.4-c" and "(T-5.1.4-c)" in gate.findings[0].message
