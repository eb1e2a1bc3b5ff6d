"""Process template and batch-record rules (P-1-a, P-T2-c..i, P-T2-d/f/g, P-1.3.2-a, P-1.3.5-a)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.process import (
    Activator,
    DeviationRef,
    DurationLimits,
    FillPlan,
    ParameterOutcome,
    ParameterRange,
    StepKind,
    check_duration,
    check_entry,
    check_parameter,
    deviation_subject,
    fill_plan_check,
    harvest_start_check,
    step_completion_check,
    step_start_check,
    template_problems,
)
from cellchain.domain.tests.manufacturing_examples import (
    MEDIUM,
    SEEDING_DENSITY,
    T0,
    TEMPLATE,
    H,
    step,
)

D = Decimal
RANGE = ParameterRange("°C", D("36.5"), D("37.5"))


def test_example_template_has_no_problems() -> None:
    assert template_problems(TEMPLATE) == ()


@pytest.mark.parametrize(
    ("value", "outcome", "check"),
    [
        (D("36.5"), ParameterOutcome.IN_RANGE, None),
        (D("37.5"), ParameterOutcome.IN_RANGE, None),
        (D("36.49"), ParameterOutcome.OUT_OF_RANGE, "below_range"),
        (D("37.51"), ParameterOutcome.OUT_OF_RANGE, "above_range"),
        (D("NaN"), ParameterOutcome.INVALID, "not_a_number"),
        (D("Infinity"), ParameterOutcome.INVALID, "not_a_number"),
    ],
)
def test_check_parameter_against_inclusive_range(
    value: Decimal, outcome: ParameterOutcome, check: str | None
) -> None:
    verdict = check_parameter(value, RANGE, "temperature")
    assert verdict.outcome is outcome
    assert (verdict.finding.check if verdict.finding else None) == check


def test_out_of_range_parameter_needs_a_deviation_and_reports_value_and_limit() -> None:
    verdict = check_parameter(D("38.2"), RANGE, "temperature")
    assert verdict.deviation_required and verdict.accepted
    assert (verdict.value, verdict.limit) == ("38.2", "36.5–37.5 °C")


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        ("1.0e6", ParameterOutcome.IN_RANGE),
        ("3,000,000", ParameterOutcome.OUT_OF_RANGE),
        ("", ParameterOutcome.MISSING),
        ("ERROR", ParameterOutcome.INVALID),
        ("  ", ParameterOutcome.MISSING),
    ],
)
def test_check_entry_parses_what_was_typed(raw: str, outcome: ParameterOutcome) -> None:
    verdict = check_entry(SEEDING_DENSITY, raw)
    assert verdict.outcome is outcome
    assert verdict.accepted is (outcome in (ParameterOutcome.IN_RANGE, ParameterOutcome.OUT_OF_RANGE))


def test_choice_outside_the_list_deviates() -> None:
    assert check_entry(MEDIUM, "TexMACS").outcome is ParameterOutcome.IN_RANGE
    verdict = check_entry(MEDIUM, "RPMI + 10% FBS")
    assert verdict.deviation_required and verdict.finding and verdict.finding.check == "choice_not_allowed"


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-1000, max_value=1000))
def test_parameter_in_range_exactly_when_within_bounds(value: Decimal) -> None:
    verdict = check_parameter(value, RANGE)
    assert (verdict.outcome is ParameterOutcome.IN_RANGE) == (D("36.5") <= value <= D("37.5"))
    assert verdict.deviation_required == (not D("36.5") <= value <= D("37.5"))


@pytest.mark.parametrize(
    ("hours", "check"),
    [(23.9, "duration_too_short"), (24, None), (48, None), (48.1, "duration_too_long")],
)
def test_activation_duration_checked_against_product_limits(hours: float, check: str | None) -> None:
    verdict = check_duration(
        "activation", T0, T0 + timedelta(hours=hours), DurationLimits(24 * H, 48 * H), "P-T2-d"
    )
    assert (verdict.finding.check if verdict.finding else None) == check
    assert verdict.deviation_required is (check is not None)


def test_expansion_of_15_days_is_too_long_for_a_7_to_14_day_product() -> None:
    verdict = check_duration(
        "expansion", T0, T0 + timedelta(days=15), TEMPLATE.step("expansion").duration, "P-T2-f"
    )
    assert verdict.finding and (verdict.finding.value, verdict.finding.limit) == ("360 h", "168–336 h")


def test_duration_refuses_naive_times_and_end_before_start() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        check_duration("a", datetime(2026, 1, 1), datetime(2026, 1, 2), DurationLimits())
    with pytest.raises(ValueError, match="before start"):
        check_duration("a", T0, T0 - H, DurationLimits())


def test_steps_start_in_template_order_only() -> None:
    gate = step_start_check(TEMPLATE, "expansion", completed=["activation"])
    assert not gate.allowed
    assert [(f.check, f.subject) for f in gate.findings] == [("previous_step_incomplete", "transduction")]
    assert step_start_check(TEMPLATE, "transduction", completed=["activation"]).allowed


def test_step_cannot_start_while_another_is_open_or_twice() -> None:
    assert step_start_check(TEMPLATE, "transduction", completed=["activation"], open_steps=["x"]).checks == (
        "step_open",
    )
    assert step_start_check(TEMPLATE, "activation", completed=["activation"]).checks == (
        "step_already_completed",
    )


def test_formulation_blocked_without_recorded_bead_removal() -> None:
    without_removal = dataclasses.replace(
        TEMPLATE,
        steps=tuple(dataclasses.replace(s, removes_beads=False) for s in TEMPLATE.steps),
    )
    done = ["activation", "transduction", "expansion", "harvest"]
    assert step_start_check(TEMPLATE, "formulation", completed=done).allowed
    gate = step_start_check(without_removal, "formulation", completed=done)
    assert [(f.check, f.clause) for f in gate.findings] == [("beads_not_removed", "P-1.3.2-a")]
    soluble = dataclasses.replace(without_removal, activator=Activator.SOLUBLE_ANTI_CD3)
    assert step_start_check(soluble, "formulation", completed=done).allowed


def test_harvest_after_the_maximum_time_is_blocked() -> None:
    starts = {StepKind.THAW_ACTIVATION: T0}
    assert harvest_start_check(TEMPLATE, starts, T0 + timedelta(days=16)).allowed
    gate = harvest_start_check(TEMPLATE, starts, T0 + timedelta(days=16, minutes=1))
    assert gate.checks == ("harvest_window_closed",)
    assert gate.findings[0].clause == "P-T2-g"


def test_harvest_blocked_when_its_anchor_step_never_started() -> None:
    assert harvest_start_check(TEMPLATE, {}, T0).checks == ("harvest_anchor_missing",)


def completion(**overrides: object):  # type: ignore[no-untyped-def]
    activation = TEMPLATE.step("activation")
    args: dict[str, object] = {
        "entries": {
            "seeding_density": check_entry(SEEDING_DENSITY, "1e6"),
            "activator_lot": check_entry(activation.parameter("activator_lot"), "DB-2291"),
        },
        "deviations": (),
        "duration": check_duration("activation", T0, T0 + 30 * H, activation.duration),  # type: ignore[arg-type]
        "signed": False,
        "equipment_types_used": ("incubator",),
    }
    args.update(overrides)
    return step_completion_check(activation, **args)  # type: ignore[arg-type]


def test_step_completes_when_everything_is_recorded() -> None:
    assert completion().allowed


def test_step_cannot_complete_with_a_required_parameter_missing() -> None:
    gate = completion(entries={"seeding_density": check_entry(SEEDING_DENSITY, "1e6")})
    assert [(f.check, f.subject) for f in gate.findings] == [("parameter_missing", "activator_lot")]


def test_out_of_range_parameter_blocks_completion_until_qa_dispositions_its_deviation() -> None:
    entries = {
        "seeding_density": check_entry(SEEDING_DENSITY, "3e6"),
        "activator_lot": check_entry(TEMPLATE.step("activation").parameter("activator_lot"), "DB-2291"),
    }
    subject = deviation_subject("activation", "seeding_density")
    assert completion(entries=entries).checks == ("deviation_not_raised",)
    open_dev = (DeviationRef("DEV-1", subject, dispositioned=False),)
    assert completion(entries=entries, deviations=open_dev).checks == ("deviation_not_dispositioned",)
    closed = (DeviationRef("DEV-1", subject, dispositioned=True),)
    assert completion(entries=entries, deviations=closed).allowed


def test_duration_out_of_limits_blocks_until_a_deviation_is_dispositioned() -> None:
    long = check_duration("activation", T0, T0 + 50 * H, DurationLimits(24 * H, 48 * H))
    assert completion(duration=long).checks == ("duration_too_long",)
    dev = DeviationRef("DEV-2", deviation_subject("activation", "duration"), dispositioned=True)
    assert completion(duration=long, deviations=(dev,)).allowed
    assert completion(duration=None).checks == ("duration_not_checked",)


def test_step_needs_its_equipment_and_signature() -> None:
    assert completion(equipment_types_used=()).checks == ("equipment_not_recorded",)
    harvest = TEMPLATE.step("harvest")
    gate = step_completion_check(
        harvest, {}, deviations=(), duration=None, signed=False, equipment_types_used=()
    )
    assert gate.checks == ("signature_missing",)


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (lambda t: dataclasses.replace(t, steps=t.steps[::-1]), "steps_out_of_order"),
        (lambda t: dataclasses.replace(t, steps=t.steps[1:]), "required_step_missing"),
        (lambda t: dataclasses.replace(t, steps=(*t.steps, t.steps[-1])), "duplicate_step_code"),
        (lambda t: dataclasses.replace(t, harvest_window=None), "harvest_window_missing"),
        (
            lambda t: dataclasses.replace(
                t, steps=tuple(dataclasses.replace(s, removes_beads=False) for s in t.steps)
            ),
            "bead_removal_missing",
        ),
        (
            lambda t: dataclasses.replace(
                t, steps=(dataclasses.replace(t.steps[0], duration=None), *t.steps[1:])
            ),
            "duration_limits_missing",
        ),
        (
            lambda t: dataclasses.replace(t, fill=dataclasses.replace(t.fill, retained_units=0)),
            "retained_units_missing",
        ),
        (
            lambda t: dataclasses.replace(
                t,
                steps=(
                    dataclasses.replace(
                        t.steps[0], parameters=(dataclasses.replace(SEEDING_DENSITY, justification=""),)
                    ),
                    *t.steps[1:],
                ),
            ),
            "range_not_justified",
        ),
        (
            lambda t: dataclasses.replace(
                t,
                steps=(
                    *t.steps[:2],
                    step(
                        "expansion",
                        StepKind.EXPANSION,
                        dataclasses.replace(MEDIUM, choices=()),
                        duration=DurationLimits(),
                    ),
                    *t.steps[3:],
                ),
            ),
            "choices_missing",
        ),
    ],
)
def test_template_problems_block_approval(change, check: str) -> None:  # type: ignore[no-untyped-def]
    assert check in [f.check for f in template_problems(change(TEMPLATE))]


def test_sorting_step_is_optional_but_must_come_first() -> None:
    sorting = step("sorting", StepKind.SORTING_CRYO)
    assert template_problems(dataclasses.replace(TEMPLATE, steps=(sorting, *TEMPLATE.steps))) == ()
    late = dataclasses.replace(TEMPLATE, steps=(*TEMPLATE.steps[:2], sorting, *TEMPLATE.steps[2:]))
    assert [f.check for f in template_problems(late)] == ["steps_out_of_order"]


@pytest.mark.parametrize(
    ("plan", "checks"),
    [
        (FillPlan(2, 1, 2), ()),
        (FillPlan(2, 1, 1), ("retained_units_short",)),
        (FillPlan(0, 0, 0), ("patient_units_short", "qc_units_short", "retained_units_short")),
    ],
)
def test_fill_plan_must_include_the_retained_sample_units(plan: FillPlan, checks: tuple[str, ...]) -> None:
    assert fill_plan_check(plan, TEMPLATE.fill).checks == checks
