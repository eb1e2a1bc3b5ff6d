"""CAR+ rate through singlets -> viable -> CD3+ -> CAR+ and the CAR+ dose (Q-2.2, Q-2.4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cellchain.domain.flow import (
    GATE_CAR,
    GATE_CD3,
    GATE_SINGLETS,
    GATE_VIABLE,
    CarGate,
    ControlPercentile,
    FixedThreshold,
    FlowEvents,
    GatingError,
    GatingSpec,
    PositiveGate,
    SingletGate,
    ViabilityGate,
    car_positive_rate,
    car_positive_viable_cells,
)

CHANNELS = ("FSC-A", "FSC-H", "Viability", "CD3", "CAR")


def _spec(threshold: FixedThreshold | ControlPercentile | None = None, min_cd3: int = 10) -> GatingSpec:
    return GatingSpec(
        template="CAR19-release-gating",
        version="3",
        singlets=SingletGate("FSC-A", "FSC-H", 0.8, 1.25),
        viable=ViabilityGate("Viability", 1000.0),
        cd3=PositiveGate("CD3", 500.0),
        car=CarGate("CAR", threshold or ControlPercentile()),
        min_cd3_events=min_cd3,
    )


def _tube(
    name: str,
    *,
    doublets: int,
    dead: int,
    cd3_negative: int,
    cd3_positive: int,
    car_positive: int,
    car_negative_values: np.ndarray | None = None,
) -> FlowEvents:
    """Events built so every gate's count is known exactly."""
    rows = []
    for _ in range(doublets):
        rows.append((90000.0, 50000.0, 100.0, 3000.0, 3000.0))  # ratio 1.8
    for _ in range(dead):
        rows.append((50000.0, 50000.0, 5000.0, 3000.0, 3000.0))
    for _ in range(cd3_negative):
        rows.append((52000.0, 50000.0, 100.0, 50.0, 3000.0))
    negatives = cd3_positive - car_positive
    car_low = car_negative_values if car_negative_values is not None else np.full(negatives, 100.0)
    for value in car_low[:negatives]:
        rows.append((48000.0, 50000.0, 100.0, 3000.0, float(value)))
    for _ in range(car_positive):
        rows.append((50000.0, 50000.0, 100.0, 3000.0, 20000.0))
    return FlowEvents(name, CHANNELS, (None,) * 5, np.array(rows, dtype=np.float64).reshape(-1, 5))


def test_car_positive_rate_counts_every_gate_of_the_hierarchy() -> None:
    sample = _tube(
        "CT-0001 final", doublets=100, dead=100, cd3_negative=100, cd3_positive=700, car_positive=280
    )
    result = car_positive_rate(sample, _spec(FixedThreshold(1000.0)))
    counts = {g.gate: (g.events, g.parent_events) for g in result.gates}
    assert counts[GATE_SINGLETS] == (900, 1000)
    assert counts[GATE_VIABLE] == (800, 900)
    assert counts[GATE_CD3] == (700, 800)
    assert counts[GATE_CAR] == (280, 700)
    assert result.car_positive_percent == pytest.approx(40.0)
    assert result.gate(GATE_CAR).percent_of_total == pytest.approx(28.0)
    assert result.car_threshold.method == "fixed"
    assert "CAR19-release-gating v3" in result.car_threshold.reason
    assert result.template_version == "3"


def test_each_gate_states_its_rule() -> None:
    sample = _tube("s", doublets=0, dead=0, cd3_negative=0, cd3_positive=20, car_positive=5)
    result = car_positive_rate(sample, _spec(FixedThreshold(1000.0)))
    assert result.gate(GATE_SINGLETS).rule == "0.8 <= FSC-A/FSC-H <= 1.25"
    assert result.gate(GATE_VIABLE).rule == "Viability < 1000"
    assert result.gate(GATE_CD3).rule == "CD3 > 500"
    assert result.gate(GATE_CAR).rule == "CAR > 1000"
    assert "25.00 %" in result.summary()


def test_car_threshold_is_the_995th_percentile_of_the_untransduced_control() -> None:
    """Q-2.2: the CAR gate is set on the untransduced control's CD3+ cells."""
    control_values = np.arange(1000, dtype=np.float64)
    control = _tube(
        "UTD control",
        doublets=50,
        dead=50,
        cd3_negative=50,
        cd3_positive=1000,
        car_positive=0,
        car_negative_values=control_values,
    )
    sample = _tube(
        "CT-0001",
        doublets=0,
        dead=0,
        cd3_negative=0,
        cd3_positive=300,
        car_positive=120,
        car_negative_values=np.full(180, 995.0),
    )
    result = car_positive_rate(sample, _spec(), control)
    expected = float(np.percentile(control_values, 99.5))
    assert result.car_threshold.value == pytest.approx(expected)
    assert result.car_threshold.method == "control percentile"
    assert (
        result.car_threshold.reason
    ) == "99.5th percentile of CAR in 1000 CD3+ viable singlets of untransduced control UTD control"
    assert result.car_threshold.control_gates[-1].events == 1000
    # 995 is above the 994.005 threshold, so those 180 count as CAR+ too.
    assert result.gate(GATE_CAR).events == 300


def test_control_percentile_without_a_control_tube_is_refused() -> None:
    sample = _tube("s", doublets=0, dead=0, cd3_negative=0, cd3_positive=20, car_positive=5)
    with pytest.raises(GatingError, match="no control tube"):
        car_positive_rate(sample, _spec())


def test_control_with_too_few_cd3_events_is_refused() -> None:
    control = _tube("UTD", doublets=0, dead=0, cd3_negative=0, cd3_positive=150, car_positive=0)
    sample = _tube("s", doublets=0, dead=0, cd3_negative=0, cd3_positive=20, car_positive=5)
    with pytest.raises(GatingError, match="150 CD3\\+ viable singlets, need at least 200"):
        car_positive_rate(sample, _spec(), control)


def test_sample_with_too_few_cd3_events_is_refused() -> None:
    sample = _tube("s", doublets=0, dead=0, cd3_negative=50, cd3_positive=5, car_positive=1)
    with pytest.raises(GatingError, match="needs at least 10"):
        car_positive_rate(sample, _spec(FixedThreshold(1000.0)))


def test_missing_channel_names_the_channels_present() -> None:
    sample = _tube("s", doublets=0, dead=0, cd3_negative=0, cd3_positive=20, car_positive=5)
    spec = _spec(FixedThreshold(1.0))
    bad = GatingSpec(
        spec.template, spec.version, spec.singlets, ViabilityGate("7-AAD", 10.0), spec.cd3, spec.car
    )
    with pytest.raises(GatingError, match="'7-AAD' is not in the file"):
        car_positive_rate(sample, bad)


def test_channels_can_be_named_by_stain_label() -> None:
    events = FlowEvents("s", ("P1", "P2"), ("CD3 APC", None), np.zeros((3, 2)))
    assert events.channel_index("CD3 APC") == 0
    assert events.channel_index("P2") == 1


def test_zero_height_events_are_not_singlets() -> None:
    values = np.array([[0.0, 0.0, 1, 3000, 1], [np.nan, 1.0, 1, 3000, 1], [1.0, 1.0, 1, 3000, 1]])
    result = car_positive_rate(FlowEvents("s", CHANNELS, (None,) * 5, values), _spec(FixedThreshold(0), 1))
    assert result.gate(GATE_SINGLETS).events == 1


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(250, 3000),
    st.floats(90.0, 99.9),
)
def test_control_gated_by_its_own_threshold_has_at_most_the_percentile_tail(
    seed: int, n: int, p: float
) -> None:
    """With the p-th percentile threshold at most (100 - p) % (+1 event) of the control is CAR+."""
    rng = np.random.default_rng(seed)
    values = np.column_stack(
        [
            np.full(n, 50000.0),
            np.full(n, 50000.0),
            np.full(n, 10.0),
            np.full(n, 3000.0),
            np.round(rng.lognormal(5, 1, n), 1),
        ]
    )
    control = FlowEvents("UTD", CHANNELS, (None,) * 5, values)
    result = car_positive_rate(control, _spec(ControlPercentile(p), min_cd3=1), control)
    assert result.gate(GATE_CAR).events <= n * (1 - p / 100) + 1


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(20, 500))
def test_gates_are_nested_and_percentages_bounded(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 6000, (n, 5))
    values[:, 1] = values[:, 0] * rng.uniform(0.5, 2.0, n)
    events = FlowEvents("random", CHANNELS, (None,) * 5, values)
    try:
        result = car_positive_rate(events, _spec(FixedThreshold(3000.0), min_cd3=1))
    except GatingError:
        return
    counts = [g.events for g in result.gates]
    assert counts == sorted(counts, reverse=True)
    assert 0.0 <= result.car_positive_percent <= 100.0


def test_dose_in_car_positive_viable_cells_is_viable_cells_times_car_fraction() -> None:
    """Q-2.2: dose = viable cells x CAR+ rate."""
    dose = car_positive_viable_cells(2.5e8, 0.4)
    assert dose.car_positive_viable_cells == pytest.approx(1.0e8)
    assert "40.00 %" in dose.reason


@pytest.mark.parametrize(
    ("cells", "fraction"), [(-1.0, 0.5), (1e8, 1.5), (1e8, float("nan")), (float("inf"), 0.1)]
)
def test_dose_rejects_impossible_inputs(cells: float, fraction: float) -> None:
    with pytest.raises(ValueError):
        car_positive_viable_cells(cells, fraction)


def test_dose_from_a_gating_result() -> None:
    sample = _tube("s", doublets=0, dead=0, cd3_negative=0, cd3_positive=100, car_positive=35)
    result = car_positive_rate(sample, _spec(FixedThreshold(1000.0)))
    assert car_positive_viable_cells(1e8, result.car_positive_fraction).car_positive_viable_cells == 3.5e7
