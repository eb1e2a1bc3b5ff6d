"""CAR+ rate through a versioned flow-cytometry gate hierarchy, and the CAR+ dose (Q-2.2, Q-2.4).

Q-2.2 states the CAR+ rate by flow cytometry and the dose in CAR+ cells (dose = viable cells x CAR+
rate); Q-2.4 asks that every result references a versioned gating/analysis template. The hierarchy is
fixed and linear::

    all events -> singlets -> viable -> CD3+ -> CAR+

* **singlets**: ``min_ratio <= area / height <= max_ratio`` on a scatter pair (usually FSC-A vs FSC-H);
  an event with a height <= 0 or a non-finite ratio is not a singlet (a doublet has a larger area for
  the same height).
* **viable**: viability dye strictly below ``max_value`` (dead cells take up the dye).
* **CD3+**: CD3 channel strictly above ``min_value``.
* **CAR+**: CAR channel strictly above a threshold that is either fixed in the template or taken from
  the untransduced control tube: the ``percentile`` (default 99.5) of the control's CAR channel within
  the control's own CD3+ gate (same singlet/viable/CD3 rules). With the 99.5th percentile at most 0.5 %
  of the control's CD3+ cells count as CAR+, which bounds the false-positive rate of the test tube.

Thresholds are on the channel values as the instrument wrote them (already compensated when the file is
compensated); the gating template is specific to one instrument set-up and panel, so no numeric gate
has a default here. The minimum event counts are CellChain defaults, overridable per template.

Functions return :class:`GatingResult` with the count, parent count and percentage of every gate and the
rule text, plus :class:`CarThreshold` saying how the CAR threshold was found. Impossible measurements (a
channel not in the file, an empty gate, too few control events) raise :class:`GatingError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_CONTROL_PERCENTILE = 99.5
"""Percentile of the untransduced control's CAR channel (CD3+ gate) used as the CAR+ threshold (Q-2.2)."""


class GatingError(ValueError):
    """The events cannot give a CAR+ rate: missing channel, empty gate, too few events."""


@dataclass(frozen=True, eq=False)
class FlowEvents:
    """List-mode events of one tube: ``values[event, channel]``, channels named by $PnN (and $PnS)."""

    sample: str
    channel_names: tuple[str, ...]
    channel_labels: tuple[str | None, ...]
    values: FloatArray

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(self.channel_names):
            raise GatingError(
                f"{self.sample}: events have shape {self.values.shape}, "
                f"expected (n, {len(self.channel_names)}) for channels {self.channel_names}"
            )
        if len(self.channel_labels) != len(self.channel_names):
            raise GatingError(
                f"{self.sample}: {len(self.channel_labels)} labels for {len(self.channel_names)} channels"
            )

    @property
    def event_count(self) -> int:
        return int(self.values.shape[0])

    def channel_index(self, channel: str) -> int:
        """Column of ``channel``, matched on $PnN first, then on $PnS (the stain label)."""
        if channel in self.channel_names:
            return self.channel_names.index(channel)
        matches = [i for i, label in enumerate(self.channel_labels) if label == channel]
        if len(matches) == 1:
            return matches[0]
        problem = "is ambiguous (several $PnS)" if matches else "is not in the file"
        raise GatingError(
            f"{self.sample}: channel {channel!r} {problem}; channels: {', '.join(self.channel_names)}"
        )

    def column(self, channel: str) -> FloatArray:
        return np.asarray(self.values[:, self.channel_index(channel)], dtype=np.float64)


@dataclass(frozen=True)
class SingletGate:
    """Singlets: ``min_ratio <= area/height <= max_ratio`` (e.g. FSC-A / FSC-H, 0.8..1.25)."""

    area_channel: str
    height_channel: str
    min_ratio: float
    max_ratio: float

    def rule(self) -> str:
        return f"{self.min_ratio:g} <= {self.area_channel}/{self.height_channel} <= {self.max_ratio:g}"


@dataclass(frozen=True)
class ViabilityGate:
    """Viable cells: viability dye strictly below ``max_value`` (dye-negative)."""

    channel: str
    max_value: float

    def rule(self) -> str:
        return f"{self.channel} < {self.max_value:g}"


@dataclass(frozen=True)
class PositiveGate:
    """Marker-positive cells (CD3+): channel strictly above ``min_value``."""

    channel: str
    min_value: float

    def rule(self) -> str:
        return f"{self.channel} > {self.min_value:g}"


@dataclass(frozen=True)
class FixedThreshold:
    """CAR+ threshold written in the gating template."""

    value: float


@dataclass(frozen=True)
class ControlPercentile:
    """CAR+ threshold = ``percentile`` of the untransduced control's CAR channel in its CD3+ gate."""

    percentile: float = DEFAULT_CONTROL_PERCENTILE
    min_control_events: int = 200
    """Below 1/(1 - p) events the percentile is the control's maximum: 200 events for 99.5 %."""


@dataclass(frozen=True)
class CarGate:
    """CAR+ cells: CAR channel (e.g. CD19-protein or anti-scFv stain) strictly above the threshold."""

    channel: str
    threshold: FixedThreshold | ControlPercentile


@dataclass(frozen=True)
class GatingSpec:
    """A versioned gating template (Q-2.4): the four gates and the minimum CD3+ events of a test tube."""

    template: str
    version: str
    singlets: SingletGate
    viable: ViabilityGate
    cd3: PositiveGate
    car: CarGate
    min_cd3_events: int = 1000


@dataclass(frozen=True)
class GateCount:
    """Events in one gate, its parent's events, and the percentages (None when the parent is empty)."""

    gate: str
    parent: str | None
    rule: str
    events: int
    parent_events: int
    total_events: int

    @property
    def percent_of_parent(self) -> float | None:
        return 100.0 * self.events / self.parent_events if self.parent_events else None

    @property
    def percent_of_total(self) -> float | None:
        return 100.0 * self.events / self.total_events if self.total_events else None


@dataclass(frozen=True)
class CarThreshold:
    """The CAR+ threshold used and why: fixed in the template, or derived from the control tube."""

    value: float
    method: str
    reason: str
    control_sample: str | None = None
    control_gates: tuple[GateCount, ...] = ()


@dataclass(frozen=True)
class GatingResult:
    """CAR+ rate of the CD3+ viable singlets of one tube, with every gate's count (Q-2.2, Q-2.4)."""

    sample: str
    template: str
    template_version: str
    gates: tuple[GateCount, ...]
    car_threshold: CarThreshold

    def gate(self, name: str) -> GateCount:
        for count in self.gates:
            if count.gate == name:
                return count
        raise KeyError(name)

    @property
    def car_positive_fraction(self) -> float:
        car = self.gate(GATE_CAR)
        return car.events / car.parent_events

    @property
    def car_positive_percent(self) -> float:
        return 100.0 * self.car_positive_fraction

    def summary(self) -> str:
        car, cd3 = self.gate(GATE_CAR), self.gate(GATE_CD3)
        return (
            f"{self.sample}: CAR+ {self.car_positive_percent:.2f} % ({car.events} of {cd3.events} "
            f"CD3+ viable singlets; threshold {self.car_threshold.value:g}, {self.car_threshold.reason}; "
            f"template {self.template} v{self.template_version})"
        )


GATE_ALL = "all events"
GATE_SINGLETS = "singlets"
GATE_VIABLE = "viable"
GATE_CD3 = "CD3+"
GATE_CAR = "CAR+"


def singlet_mask(events: FlowEvents, gate: SingletGate) -> BoolArray:
    """True for events whose area/height ratio lies in the singlet window (height must be > 0)."""
    area = events.column(gate.area_channel)
    height = events.column(gate.height_channel)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = area / height
    return (height > 0) & (ratio >= gate.min_ratio) & (ratio <= gate.max_ratio)


def _upstream_gates(events: FlowEvents, spec: GatingSpec) -> tuple[tuple[GateCount, ...], BoolArray]:
    """Counts for all events -> singlets -> viable -> CD3+, and the CD3+ mask."""
    total = events.event_count
    singlets = singlet_mask(events, spec.singlets)
    viable = singlets & (events.column(spec.viable.channel) < spec.viable.max_value)
    cd3 = viable & (events.column(spec.cd3.channel) > spec.cd3.min_value)
    n_singlets, n_viable, n_cd3 = int(singlets.sum()), int(viable.sum()), int(cd3.sum())
    counts = (
        GateCount(GATE_ALL, None, "all recorded events", total, total, total),
        GateCount(GATE_SINGLETS, GATE_ALL, spec.singlets.rule(), n_singlets, total, total),
        GateCount(GATE_VIABLE, GATE_SINGLETS, spec.viable.rule(), n_viable, n_singlets, total),
        GateCount(GATE_CD3, GATE_VIABLE, spec.cd3.rule(), n_cd3, n_viable, total),
    )
    return counts, cd3


def car_threshold_from_control(control: FlowEvents, spec: GatingSpec) -> CarThreshold:
    """CAR+ threshold from the untransduced control: a percentile of its CD3+ CAR values (Q-2.2)."""
    method = spec.car.threshold
    if not isinstance(method, ControlPercentile):
        raise GatingError(f"template {spec.template} v{spec.version} uses a fixed CAR threshold")
    if not 0.0 < method.percentile < 100.0:
        raise GatingError(f"control percentile {method.percentile} must lie strictly between 0 and 100")
    counts, cd3 = _upstream_gates(control, spec)
    n_cd3 = counts[-1].events
    if n_cd3 < max(method.min_control_events, 1):
        raise GatingError(
            f"untransduced control {control.sample}: {n_cd3} CD3+ viable singlets, need at least "
            f"{method.min_control_events} for the {method.percentile:g}th percentile"
        )
    car_values = control.column(spec.car.channel)[cd3]
    value = float(np.percentile(car_values, method.percentile))
    if not np.isfinite(value):
        raise GatingError(f"untransduced control {control.sample}: CAR channel percentile is {value}")
    reason = (
        f"{method.percentile:g}th percentile of {spec.car.channel} in {n_cd3} CD3+ viable singlets "
        f"of untransduced control {control.sample}"
    )
    return CarThreshold(value, "control percentile", reason, control.sample, counts)


def _resolve_threshold(spec: GatingSpec, control: FlowEvents | None) -> CarThreshold:
    method = spec.car.threshold
    if isinstance(method, FixedThreshold):
        reason = f"fixed in template {spec.template} v{spec.version}"
        return CarThreshold(float(method.value), "fixed", reason)
    if control is None:
        raise GatingError(
            f"template {spec.template} v{spec.version} takes the CAR threshold from the untransduced "
            "control, but no control tube was given"
        )
    return car_threshold_from_control(control, spec)


def car_positive_rate(
    sample: FlowEvents, spec: GatingSpec, control: FlowEvents | None = None
) -> GatingResult:
    """CAR+ % of CD3+ viable singlets of ``sample`` under the template ``spec`` (Q-2.2, Q-2.4).

    ``control`` is the untransduced control tube, needed when the template's CAR threshold is a
    :class:`ControlPercentile`.
    """
    threshold = _resolve_threshold(spec, control)
    counts, cd3 = _upstream_gates(sample, spec)
    n_cd3 = counts[-1].events
    if n_cd3 < max(spec.min_cd3_events, 1):
        raise GatingError(
            f"{sample.sample}: {n_cd3} CD3+ viable singlets, template {spec.template} "
            f"v{spec.version} needs at least {spec.min_cd3_events}"
        )
    car = cd3 & (sample.column(spec.car.channel) > threshold.value)
    rule = f"{spec.car.channel} > {threshold.value:g}"
    car_count = GateCount(GATE_CAR, GATE_CD3, rule, int(car.sum()), n_cd3, sample.event_count)
    return GatingResult(sample.sample, spec.template, spec.version, (*counts, car_count), threshold)


@dataclass(frozen=True)
class CarPositiveDose:
    """CAR+ viable cells = viable cells x CAR+ fraction (Q-2.2), with its inputs."""

    viable_cells: float
    car_positive_fraction: float
    car_positive_viable_cells: float

    @property
    def reason(self) -> str:
        return (
            f"{self.viable_cells:.4g} viable cells x CAR+ {100 * self.car_positive_fraction:.2f} % "
            f"= {self.car_positive_viable_cells:.4g} CAR+ viable cells"
        )


def car_positive_viable_cells(viable_cells: float, car_positive_fraction: float) -> CarPositiveDose:
    """Dose in CAR+ viable cells from a viable cell count and a CAR+ fraction in [0, 1] (Q-2.2)."""
    if not (np.isfinite(viable_cells) and viable_cells >= 0):
        raise ValueError(f"viable cells must be a finite number >= 0, got {viable_cells}")
    if not (np.isfinite(car_positive_fraction) and 0.0 <= car_positive_fraction <= 1.0):
        raise ValueError(f"CAR+ fraction must lie in [0, 1], got {car_positive_fraction}")
    return CarPositiveDose(viable_cells, car_positive_fraction, viable_cells * car_positive_fraction)
