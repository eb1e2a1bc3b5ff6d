"""Cold-chain analysis of a shipment's temperature record (T-7.7-a/b, T-8.1.5-a..c, P-1.3.1-e/f).

A logger trace is judged against the shipper's limits and the transit window. The result is a
:class:`ColdChainVerdict`: "within limits" only when no blocking finding stands, otherwise every finding
with its reason (excursions, gaps, probe faults, clock trouble, transit time). No data, too little data or
a hole in the record is never "within limits" (T-8.1.6-d: a temperature record abnormal *or missing*).

Times are UTC epoch seconds (or aware datetimes, converted at the edge); temperatures are °C with NaN
where the logger gave no temperature. The work is vectorised with numpy so that a 10^6-reading trace is
analysed in a fraction of a second.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
Instant = datetime | float | int

ACTIVATION_ENERGY_OVER_R_K = 10_000.0
"""ΔH/R for mean kinetic temperature: 83.144 kJ/mol ÷ 8.3144 J/(mol·K) = 10,000 K (USP <1079.2>)."""

KELVIN_OFFSET = 273.15
DEFAULT_SENTINELS_C: frozenset[float] = frozenset({999.0, -999.0})
"""Values loggers write when the probe is disconnected; they are faults, not temperatures."""

LATE_FACTOR = 1.5
"""An interval longer than 1.5 × the logging interval means at least one reading is missing (T-8.1.5-a)."""


class MktFormula(StrEnum):
    """Which mean kinetic temperature formula a product's shipments use (USP <1079.2>; issue 16).

    ``time_weighted``: each reading's Arrhenius factor integrated over the time it stands for (trapezoid
    rule), right for uneven intervals. ``equal_weight``: USP <1079.2>'s formula for equally spaced point
    readings, every reading weighing 1/n. The two differ: hourly 4, 4, 4, 4, 16 °C gives 6.80 °C
    time-weighted and 8.11 °C equal-weight (the last reading stands for half an hour in one, a fifth in the
    other).
    """

    TIME_WEIGHTED = "time_weighted"
    EQUAL_WEIGHT = "equal_weight"


EQUAL_SPACING_TOLERANCE = 0.01
"""Equal-weight MKT needs equally spaced readings: the longest interval within 1 % of the shortest."""


class ShipperKind(StrEnum):
    """The kinds of shipping container and the temperature class they keep (T-7.7-c, T-8.1.5-d)."""

    LN2_DRY_SHIPPER = "ln2_dry_shipper"
    CRYOPRESERVED_APHERESIS = "cryopreserved_apheresis"
    FRESH_2_8 = "fresh_2_8"

    @property
    def cryogenic(self) -> bool:
        """Whether the shipment is cryogenic (mean kinetic temperature does not apply)."""
        return self is not ShipperKind.FRESH_2_8


@dataclass(frozen=True, slots=True)
class TemperatureLimits:
    """The allowed temperature range of a shipment in °C, bounds inclusive (T-7.7-a, T-7.15-a)."""

    kind: ShipperKind
    min_c: float | None
    max_c: float | None

    def __post_init__(self) -> None:
        bounds = [b for b in (self.min_c, self.max_c) if b is not None]
        if not bounds:
            raise ValueError("temperature limits need at least one bound")
        if not all(math.isfinite(b) for b in bounds):
            raise ValueError("temperature limits must be finite numbers")
        if self.min_c is not None and self.max_c is not None and self.min_c >= self.max_c:
            raise ValueError(f"minimum {self.min_c} °C must be below maximum {self.max_c} °C")

    def describe(self) -> str:
        """The range in words, e.g. "≤ -150.0 °C" or "2.0 to 8.0 °C"."""
        if self.min_c is None:
            return f"≤ {self.max_c:.1f} °C"
        if self.max_c is None:
            return f"≥ {self.min_c:.1f} °C"
        return f"{self.min_c:.1f} to {self.max_c:.1f} °C"


DEFAULT_LIMITS: Mapping[ShipperKind, TemperatureLimits] = MappingProxyType(
    {
        ShipperKind.LN2_DRY_SHIPPER: TemperatureLimits(ShipperKind.LN2_DRY_SHIPPER, None, -150.0),
        ShipperKind.CRYOPRESERVED_APHERESIS: TemperatureLimits(
            ShipperKind.CRYOPRESERVED_APHERESIS, None, -130.0
        ),
        ShipperKind.FRESH_2_8: TemperatureLimits(ShipperKind.FRESH_2_8, 2.0, 8.0),
    }
)
"""Reference default limits per shipper kind; the product's approved values override them (T-7.7-a).

LN2 dry shipper for the released product ≤ -150 °C (issue 6); cryopreserved apheresis in vapour-phase
LN2 below -130 °C (P-1.3.1-f); fresh apheresis 2-8 °C (P-1.3.1-e).
"""


@dataclass(frozen=True, slots=True)
class ColdChainSpec:
    """What a trace is judged against: limits, logging interval, transit limit, arming (T-7.7-a/b).

    ``transit_limit_s`` is the product's maximum transport time (T-7.7-b; fresh apheresis 48 h by default,
    P-1.3.1-e). ``armed_at`` is when the logger was armed: earlier readings are ignored and reported.
    ``sentinels_c`` are values the logger writes for a disconnected probe. A gap is an interval between
    usable readings longer than ``gap_factor`` × ``interval_s``.
    """

    limits: TemperatureLimits
    interval_s: float
    transit_limit_s: float
    armed_at: float | None = None
    sentinels_c: frozenset[float] = DEFAULT_SENTINELS_C
    gap_factor: float = 2.0
    mkt_formula: MktFormula = MktFormula.TIME_WEIGHTED

    def __post_init__(self) -> None:
        if not (math.isfinite(self.interval_s) and self.interval_s > 0):
            raise ValueError("the logging interval must be a positive number of seconds")
        if not (math.isfinite(self.transit_limit_s) and self.transit_limit_s > 0):
            raise ValueError("the transit limit must be a positive number of seconds")
        if not self.gap_factor >= 1:
            raise ValueError("the gap factor must be at least 1")
        if self.armed_at is not None and not math.isfinite(self.armed_at):
            raise ValueError("the arming time must be a finite epoch time")


@dataclass(frozen=True, slots=True, eq=False)
class TemperatureTrace:
    """One logger's readings in file order: UTC epoch seconds and °C (NaN = no temperature given)."""

    times: FloatArray
    celsius: FloatArray
    source: str = ""

    def __post_init__(self) -> None:
        if self.times.ndim != 1 or self.times.shape != self.celsius.shape:
            raise ValueError("times and temperatures must be 1-D arrays of the same length")
        if not bool(np.isfinite(self.times).all()):
            raise ValueError("every reading needs a finite time")

    def __len__(self) -> int:
        return int(self.times.shape[0])


def trace_of(times: npt.ArrayLike, celsius: npt.ArrayLike, source: str = "") -> TemperatureTrace:
    """Build a trace from array-likes, copying them into read-only float64 arrays."""
    t = np.array(times, dtype=np.float64, copy=True).reshape(-1)
    c = np.array(celsius, dtype=np.float64, copy=True).reshape(-1)
    t.setflags(write=False)
    c.setflags(write=False)
    return TemperatureTrace(t, c, source)


def readings_trace(readings: Iterable[tuple[Instant, float]], source: str = "") -> TemperatureTrace:
    """Build a trace from (time, °C) pairs; times are aware datetimes or UTC epoch seconds."""
    pairs = [(epoch_seconds(t), float(c)) for t, c in readings]
    return trace_of([p[0] for p in pairs], [p[1] for p in pairs], source)


def epoch_seconds(instant: Instant) -> float:
    """UTC epoch seconds of an aware datetime or a number; a naive datetime is refused (ambiguous)."""
    if isinstance(instant, datetime):
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"naive datetime {instant.isoformat()} has no time zone")
        return instant.timestamp()
    return float(instant)


class FindingKind(StrEnum):
    """What a cold-chain finding is about."""

    NO_READINGS = "no_readings"
    TOO_FEW_READINGS = "too_few_readings"
    EXCURSION = "excursion"
    GAP = "gap"
    COVERAGE_START = "coverage_start"
    COVERAGE_END = "coverage_end"
    LATE_READINGS = "late_readings"
    PROBE_FAULT = "probe_fault"
    OUT_OF_ORDER = "out_of_order"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    DUPLICATE = "duplicate"
    BEFORE_ARMING = "before_arming"
    AFTER_ARRIVAL = "after_arrival"
    DISPATCH_UNKNOWN = "dispatch_unknown"
    ARRIVAL_UNKNOWN = "arrival_unknown"
    ARRIVAL_BEFORE_DISPATCH = "arrival_before_dispatch"
    TRANSIT_TOO_LONG = "transit_too_long"


@dataclass(frozen=True, slots=True)
class ColdChainFinding:
    """One finding: its kind, the clause, whether it blocks "within limits", and why in words.

    ``start``/``end`` are UTC epoch seconds, ``value`` and ``limit`` are °C or seconds as the kind says,
    ``count`` the number of readings concerned. Non-blocking findings are notes (data ignored and why).
    """

    kind: FindingKind
    clause: str
    blocking: bool
    reason: str
    start: float | None = None
    end: float | None = None
    value: float | None = None
    limit: float | None = None
    count: int = 0


@dataclass(frozen=True, slots=True)
class Excursion:
    """A maximal run of readings outside the limits (T-8.1.5-b).

    It starts at the first reading out of range and ends at the next reading back in range (so a single
    bad reading lasts one interval); ``open_ended`` when the record ends before a return into range.
    ``extreme_c`` is the reading farthest beyond the limit it broke (``limit_c``).
    """

    start: float
    end: float
    last_out_at: float
    readings: int
    extreme_c: float
    limit_c: float
    open_ended: bool

    @property
    def duration_s(self) -> float:
        return self.end - self.start

    @property
    def side(self) -> str:
        return "above" if self.extreme_c > self.limit_c else "below"


@dataclass(frozen=True, slots=True)
class Gap:
    """An interval without a usable reading longer than the gap threshold (T-8.1.5-a)."""

    start: float
    end: float

    @property
    def duration_s(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """Counts and extremes of the readings analysed, so nothing is dropped unseen."""

    readings_total: int = 0
    readings_analysed: int = 0
    readings_before_arming: int = 0
    readings_after_arrival: int = 0
    probe_faults: int = 0
    first_at: float | None = None
    last_at: float | None = None
    lowest_c: float | None = None
    highest_c: float | None = None


@dataclass(frozen=True, slots=True)
class ColdChainVerdict:
    """The verdict on a shipment's temperature record (T-8.1.5, feeds T-8.1.3-e and T-8.1.7-f).

    ``mkt_c`` is the mean kinetic temperature for 2-8 °C shipments; ``mkt_note`` says why it is absent
    otherwise (never applied to cryogenic shipments).
    """

    limits: TemperatureLimits
    findings: tuple[ColdChainFinding, ...]
    excursions: tuple[Excursion, ...] = ()
    gaps: tuple[Gap, ...] = ()
    time_out_of_range_s: float = 0.0
    summary: TraceSummary = field(default_factory=TraceSummary)
    transit_s: float | None = None
    mkt_c: float | None = None
    mkt_note: str = ""

    @property
    def within_limits(self) -> bool:
        return not any(f.blocking for f in self.findings)

    @property
    def blocking_findings(self) -> tuple[ColdChainFinding, ...]:
        return tuple(f for f in self.findings if f.blocking)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the record is not within limits, one sentence per blocking finding."""
        return tuple(f.reason for f in self.blocking_findings)


# --- formatting -------------------------------------------------------------------------------------


def format_instant(epoch: float) -> str:
    """An epoch time as ISO 8601 UTC ("2026-03-01T08:00:00Z")."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(seconds: float) -> str:
    """A duration in words: "45 s", "12 min", "3 h 05 min"."""
    s = round(seconds)
    if s < 120:
        return f"{s} s"
    minutes = s // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


# --- array helpers ----------------------------------------------------------------------------------


def _runs(mask: BoolArray) -> tuple[IntArray, IntArray]:
    """Start and inclusive end indices of the maximal runs of True in ``mask``."""
    if mask.size == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    # One pass over the readings finds every change; the (few) changes are then sorted into starts/ends.
    flags = mask.view(np.int8)
    changes = np.flatnonzero(flags[1:] != flags[:-1])
    rising = flags[changes + 1] == 1
    starts = changes[rising] + 1
    ends = changes[~rising]
    if mask[0]:
        starts = np.concatenate(([0], starts))
    if mask[-1]:
        ends = np.concatenate((ends, [mask.size - 1]))
    return starts.astype(np.intp), ends.astype(np.intp)


def _segment_reduce(ufunc: np.ufunc, values: FloatArray, starts: IntArray, ends: IntArray) -> FloatArray:
    """Reduce ``values[s:e+1]`` for each run with a numpy ufunc, vectorised via ``reduceat``."""
    if starts.size == 0:
        return np.empty(0, dtype=np.float64)
    bounds = np.empty(2 * starts.size, dtype=np.intp)
    bounds[0::2] = starts
    bounds[1::2] = ends + 1
    if bounds[-1] == values.size:
        bounds = bounds[:-1]  # reduceat runs the last segment to the end of the array by itself
    reduced: FloatArray = ufunc.reduceat(values, bounds)[0::2]
    return reduced


def _without(values: FloatArray, drop: IntArray) -> FloatArray:
    """``values`` less the (sorted) indices ``drop``; a few faults are cut out as slices (memory copies)."""
    if drop.size > 64:
        keep = np.ones(values.size, dtype=np.bool_)
        keep[drop] = False
        kept: FloatArray = values[keep]
        return kept
    bounds = [-1, *drop.tolist(), values.size]
    return np.concatenate([values[a + 1 : b] for a, b in itertools.pairwise(bounds)])


# --- the analysis -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    dispatched_at: float | None
    arrived_at: float | None


def analyse_cold_chain(
    parts: Sequence[TemperatureTrace] | TemperatureTrace,
    spec: ColdChainSpec,
    *,
    dispatched_at: Instant | None,
    arrived_at: Instant | None,
) -> ColdChainVerdict:
    """Judge one logger's record of a shipment against its spec (T-8.1.5-a..c, T-7.7-a/b).

    ``parts`` are the files exported from one logger (one trace or several, in any order; exports that
    overlap give duplicates, which are noted). Each part's own time order is checked before they are
    joined. ``dispatched_at``/``arrived_at`` bound the transit; an unknown one is a blocking finding.
    """
    traces = [parts] if isinstance(parts, TemperatureTrace) else list(parts)
    window = _Window(
        None if dispatched_at is None else epoch_seconds(dispatched_at),
        None if arrived_at is None else epoch_seconds(arrived_at),
    )
    findings: list[ColdChainFinding] = []
    steps = [np.diff(t.times) for t in traces]
    backward = [np.flatnonzero(d < 0) for d in steps]
    findings += _order_findings(traces, backward)
    in_order = len(traces) == 1 and backward[0].size == 0
    times, celsius = _joined(traces, in_order=in_order)
    findings += _transit_findings(spec, window)
    tv, cv, whole_window, summary, window_findings = _select_usable(times, celsius, spec, window)
    findings += window_findings
    if whole_window is not None and in_order:  # the file's own intervals, no second pass
        dt = steps[0][whole_window.start : max(whole_window.start, whole_window.stop - 1)]
    else:
        dt = np.diff(tv)
    # dt is shared by the duplicate, gap and late-reading checks.
    findings += _duplicate_findings(tv, cv, dt)
    if tv.size < 2:
        findings.append(_too_little_data(int(tv.size), summary.readings_total))
        return _verdict(spec, window, findings, summary, (), ())
    excursions = _excursions(tv, cv, spec.limits)
    long_steps = _long_steps(dt, spec)
    gaps = _gaps(tv, dt, long_steps, spec, window)
    findings += [_excursion_finding(e, spec.limits) for e in excursions]
    findings += [_gap_finding(g, spec) for g in gaps]
    findings += _late_findings(tv, dt, long_steps, spec)
    return _verdict(spec, window, findings, summary, excursions, gaps, tv, cv)


def _verdict(
    spec: ColdChainSpec,
    window: _Window,
    findings: list[ColdChainFinding],
    summary: TraceSummary,
    excursions: Sequence[Excursion],
    gaps: Sequence[Gap],
    tv: FloatArray | None = None,
    cv: FloatArray | None = None,
) -> ColdChainVerdict:
    mkt_c, mkt_note = _mkt(tv, cv, spec.limits, spec.mkt_formula)
    transit = None
    if window.dispatched_at is not None and window.arrived_at is not None:
        transit = window.arrived_at - window.dispatched_at
    return ColdChainVerdict(
        limits=spec.limits,
        findings=tuple(sorted(findings, key=_finding_order)),
        excursions=tuple(excursions),
        gaps=tuple(gaps),
        time_out_of_range_s=float(sum(e.duration_s for e in excursions)),
        summary=summary,
        transit_s=transit,
        mkt_c=mkt_c,
        mkt_note=mkt_note,
    )


def _finding_order(f: ColdChainFinding) -> tuple[bool, float]:
    # Blocking findings first, then in time order; findings without a time keep their place at the top.
    return (not f.blocking, -math.inf if f.start is None else f.start)


def _joined(traces: Sequence[TemperatureTrace], *, in_order: bool) -> tuple[FloatArray, FloatArray]:
    """All parts concatenated and stably sorted by time (a stable sort keeps each file's own order).

    ``in_order`` says the caller already knows the result is sorted (one trace that never goes back):
    its read-only arrays are then used as they are.
    """
    if not traces:
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.float64)
    if in_order:
        return traces[0].times, traces[0].celsius
    times = np.concatenate([t.times for t in traces])
    celsius = np.concatenate([t.celsius for t in traces])
    if times.size > 1 and bool((np.diff(times) < 0).any()):
        order = np.argsort(times, kind="stable")
        times, celsius = times[order], celsius[order]
    return times, celsius


def _order_findings(
    traces: Sequence[TemperatureTrace], backward: Sequence[IntArray]
) -> list[ColdChainFinding]:
    """Readings that go back in time within one file: the logger clock or the file is not trustworthy.

    ``backward[i]`` holds the indices ``j`` where ``traces[i].times[j + 1] < traces[i].times[j]``.
    """
    found: list[ColdChainFinding] = []
    for trace, steps in zip(traces, backward, strict=True):
        if steps.size == 0:
            continue
        first = int(steps[0])
        name = f" in {trace.source}" if trace.source else ""
        found.append(
            ColdChainFinding(
                FindingKind.OUT_OF_ORDER,
                "T-8.1.5-a",
                True,
                f"{steps.size} reading(s){name} go back in time, first at reading {first + 2} "
                f"({format_instant(float(trace.times[first + 1]))} after "
                f"{format_instant(float(trace.times[first]))}); the record's clock cannot be trusted",
                start=float(trace.times[first + 1]),
                count=int(steps.size),
            )
        )
    return found


def _select_usable(
    times: FloatArray, celsius: FloatArray, spec: ColdChainSpec, window: _Window
) -> tuple[FloatArray, FloatArray, slice | None, TraceSummary, list[ColdChainFinding]]:
    """The time-sorted readings analysed (times, °C), and the slice they are when it is one.

    Readings before arming, after arrival or without a temperature are not analysed; they are counted and
    reported instead. ``times`` is sorted (``_joined``), so the window is found by bisection; when every
    reading in it is usable the result is a view, not a copy.
    """
    n = int(times.size)
    first = int(np.searchsorted(times, spec.armed_at, side="left")) if spec.armed_at is not None else 0
    stop = (
        int(np.searchsorted(times, window.arrived_at, side="right")) if window.arrived_at is not None else n
    )
    lo, hi = first, max(first, stop)
    findings = _ignored_findings(times, first, stop, spec, window)
    in_c = celsius[lo:hi]
    no_temperature = ~np.isfinite(in_c)
    for sentinel in spec.sentinels_c:
        no_temperature |= in_c == sentinel
    findings += _fault_findings(times[lo:hi], in_c, no_temperature)
    faults = int(np.count_nonzero(no_temperature))
    whole_window = slice(lo, hi) if faults == 0 else None
    if whole_window is not None:
        tv, cv = times[whole_window], in_c
    else:
        drop = np.flatnonzero(no_temperature)
        tv, cv = _without(times[lo:hi], drop), _without(in_c, drop)
    summary = TraceSummary(
        readings_total=n,
        readings_analysed=int(cv.size),
        readings_before_arming=first,
        readings_after_arrival=n - stop,
        probe_faults=faults,
        first_at=float(tv[0]) if cv.size else None,
        last_at=float(tv[-1]) if cv.size else None,
        lowest_c=float(cv.min()) if cv.size else None,
        highest_c=float(cv.max()) if cv.size else None,
    )
    return tv, cv, whole_window, summary, findings


def _ignored_findings(
    times: FloatArray, first: int, stop: int, spec: ColdChainSpec, window: _Window
) -> list[ColdChainFinding]:
    """Sorted ``times[:first]`` are before arming and ``times[stop:]`` after arrival."""
    found: list[ColdChainFinding] = []
    if (n := first) and spec.armed_at is not None:
        found.append(
            ColdChainFinding(
                FindingKind.BEFORE_ARMING,
                "T-8.1.5-a",
                False,
                f"{n} reading(s) before the logger was armed at {format_instant(spec.armed_at)} ignored",
                start=float(times[0]),
                end=float(times[first - 1]),
                count=n,
            )
        )
    if (n := int(times.size) - stop) and window.arrived_at is not None:
        found.append(
            ColdChainFinding(
                FindingKind.AFTER_ARRIVAL,
                "T-8.1.5-a",
                False,
                f"{n} reading(s) after arrival at {format_instant(window.arrived_at)} ignored",
                start=float(times[stop]),
                end=float(times[-1]),
                count=n,
            )
        )
    return found


def _fault_findings(times: FloatArray, celsius: FloatArray, fault: BoolArray) -> list[ColdChainFinding]:
    """Runs of readings without a temperature (probe disconnected, sentinel value, blank)."""
    starts, ends = _runs(fault)
    found = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        raw = celsius[s]
        shown = "no value" if not math.isfinite(raw) else f"{raw:g}"
        found.append(
            ColdChainFinding(
                FindingKind.PROBE_FAULT,
                "T-8.1.6-d",
                True,
                f"{e - s + 1} reading(s) from {format_instant(float(times[s]))} to "
                f"{format_instant(float(times[e]))} carry no temperature ({shown}): probe disconnected or "
                "logger fault; the product's temperature is unknown for that time",
                start=float(times[s]),
                end=float(times[e]),
                value=None if not math.isfinite(raw) else float(raw),
                count=e - s + 1,
            )
        )
    return found


def _duplicate_findings(tv: FloatArray, cv: FloatArray, dt: FloatArray) -> list[ColdChainFinding]:
    """Readings sharing a time: identical ones are noted, different temperatures block."""
    if tv.size < 2:
        return []
    same_time = np.flatnonzero(dt == 0)
    if same_time.size == 0:
        return []
    conflict = same_time[cv[same_time] != cv[same_time + 1]]
    identical = same_time.size - conflict.size
    found: list[ColdChainFinding] = []
    if conflict.size:
        at = float(tv[conflict[0]])
        found.append(
            ColdChainFinding(
                FindingKind.CONFLICTING_DUPLICATE,
                "T-8.1.5-a",
                True,
                f"{conflict.size} time(s) carry two different temperatures, first at {format_instant(at)} "
                f"({cv[conflict[0]]:.1f} and {cv[conflict[0] + 1]:.1f} °C); the record is inconsistent",
                start=at,
                count=int(conflict.size),
            )
        )
    if identical:
        found.append(
            ColdChainFinding(
                FindingKind.DUPLICATE,
                "T-8.1.5-a",
                False,
                f"{identical} repeated reading(s) with the same time and temperature (e.g. overlapping "
                "exports) counted once",
                start=float(tv[same_time[0]]),
                count=identical,
            )
        )
    return found


def _too_little_data(usable: int, total: int) -> ColdChainFinding:
    if total == 0:
        return ColdChainFinding(
            FindingKind.NO_READINGS, "T-8.1.6-d", True, "no temperature readings: the record is missing"
        )
    return ColdChainFinding(
        FindingKind.TOO_FEW_READINGS,
        "T-8.1.6-d",
        True,
        f"only {usable} usable reading(s) of {total}: at least 2 are needed to show the transit",
        count=usable,
    )


def _transit_findings(spec: ColdChainSpec, window: _Window) -> list[ColdChainFinding]:
    """Transit time against the product's limit (T-8.1.5-c, T-7.7-b)."""
    if window.dispatched_at is None:
        return [_unknown(FindingKind.DISPATCH_UNKNOWN, "dispatch time not recorded")]
    if window.arrived_at is None:
        return [_unknown(FindingKind.ARRIVAL_UNKNOWN, "arrival not recorded: the transit is still open")]
    transit = window.arrived_at - window.dispatched_at
    if transit < 0:
        return [_unknown(FindingKind.ARRIVAL_BEFORE_DISPATCH, "arrival is recorded before dispatch")]
    if transit <= spec.transit_limit_s:
        return []
    return [
        ColdChainFinding(
            FindingKind.TRANSIT_TOO_LONG,
            "T-8.1.5-c",
            True,
            f"transit took {format_duration(transit)}, over the limit of "
            f"{format_duration(spec.transit_limit_s)}",
            start=window.dispatched_at,
            end=window.arrived_at,
            value=transit,
            limit=spec.transit_limit_s,
        )
    ]


def _unknown(kind: FindingKind, what: str) -> ColdChainFinding:
    return ColdChainFinding(kind, "T-8.1.5-c", True, f"{what}; transit time and coverage cannot be shown")


def _excursions(tv: FloatArray, cv: FloatArray, limits: TemperatureLimits) -> list[Excursion]:
    """Maximal runs out of range with their extreme reading (T-8.1.5-b)."""
    lo = -math.inf if limits.min_c is None else limits.min_c
    hi = math.inf if limits.max_c is None else limits.max_c
    out = cv > hi
    if limits.min_c is not None:
        out |= cv < lo
    starts, ends = _runs(out)
    if starts.size == 0:
        return []
    highest = _segment_reduce(np.maximum, cv, starts, ends)
    lowest = _segment_reduce(np.minimum, cv, starts, ends)
    above_by = highest - hi
    below_by = lo - lowest
    use_high = above_by >= below_by
    extreme = np.where(use_high, highest, lowest)
    limit = np.where(use_high, hi, lo)
    n = tv.size
    end_idx = np.minimum(ends + 1, n - 1)
    return [
        Excursion(
            start=float(tv[s]),
            end=float(tv[ei]),
            last_out_at=float(tv[e]),
            readings=e - s + 1,
            extreme_c=float(x),
            limit_c=float(lim),
            open_ended=e == n - 1,
        )
        for s, e, ei, x, lim in zip(
            starts.tolist(), ends.tolist(), end_idx.tolist(), extreme.tolist(), limit.tolist(), strict=True
        )
    ]


def _excursion_finding(e: Excursion, limits: TemperatureLimits) -> ColdChainFinding:
    tail = " and the record ends out of range" if e.open_ended else ""
    return ColdChainFinding(
        FindingKind.EXCURSION,
        "T-8.1.5-b",
        True,
        f"excursion {e.side} {e.limit_c:.1f} °C from {format_instant(e.start)} for "
        f"{format_duration(e.duration_s)} ({e.readings} reading(s)), extreme {e.extreme_c:.1f} °C; "
        f"allowed {limits.describe()}{tail}",
        start=e.start,
        end=e.end,
        value=e.extreme_c,
        limit=e.limit_c,
        count=e.readings,
    )


def _long_steps(dt: FloatArray, spec: ColdChainSpec) -> IntArray:
    """Indices of the intervals that may be late or gaps: one pass over the readings for both checks."""
    return np.flatnonzero(dt > min(LATE_FACTOR, spec.gap_factor) * spec.interval_s)


def _gaps(
    tv: FloatArray, dt: FloatArray, long_steps: IntArray, spec: ColdChainSpec, window: _Window
) -> list[Gap]:
    """Intervals between usable readings above the gap threshold (T-8.1.5-a); ``dt`` = diff(tv)."""
    threshold = spec.gap_factor * spec.interval_s
    idx = long_steps[dt[long_steps] > threshold]
    return [Gap(float(tv[i]), float(tv[i + 1])) for i in idx.tolist()] + _coverage_gaps(tv, threshold, window)


def _coverage_gaps(tv: FloatArray, threshold: float, window: _Window) -> list[Gap]:
    """Uncovered time between dispatch and the first reading, and between the last reading and arrival."""
    found: list[Gap] = []
    first, last = float(tv[0]), float(tv[-1])
    if window.dispatched_at is not None and first - window.dispatched_at > threshold:
        found.append(Gap(window.dispatched_at, first))
    if window.arrived_at is not None and window.arrived_at - last > threshold:
        found.append(Gap(last, window.arrived_at))
    return found


def _gap_finding(g: Gap, spec: ColdChainSpec) -> ColdChainFinding:
    return ColdChainFinding(
        FindingKind.GAP,
        "T-8.1.5-a",
        True,
        f"no usable reading from {format_instant(g.start)} to {format_instant(g.end)} "
        f"({format_duration(g.duration_s)}; logging interval {format_duration(spec.interval_s)}, "
        f"a gap is over {spec.gap_factor:g} intervals): the record is not continuous",
        start=g.start,
        end=g.end,
        value=g.duration_s,
        limit=spec.gap_factor * spec.interval_s,
    )


def _late_findings(
    tv: FloatArray, dt: FloatArray, long_steps: IntArray, spec: ColdChainSpec
) -> list[ColdChainFinding]:
    """Intervals longer than the logging interval but not yet gaps are listed as a note (T-8.1.5-a)."""
    candidate = dt[long_steps]
    is_late = (candidate > LATE_FACTOR * spec.interval_s) & (candidate <= spec.gap_factor * spec.interval_s)
    late = long_steps[is_late]
    n = int(late.size)
    if n == 0:
        return []
    longest = float(candidate[is_late].max())
    return [
        ColdChainFinding(
            FindingKind.LATE_READINGS,
            "T-8.1.5-a",
            False,
            f"{n} interval(s) longer than the logging interval of {format_duration(spec.interval_s)} "
            f"(longest {format_duration(longest)}), within the gap threshold",
            start=float(tv[late[0]]),
            value=longest,
            limit=spec.interval_s,
            count=n,
        )
    ]


def _mkt(
    tv: FloatArray | None, cv: FloatArray | None, limits: TemperatureLimits, formula: MktFormula
) -> tuple[float | None, str]:
    """Mean kinetic temperature for 2-8 °C shipments only, or why there is none; the note names the formula."""
    if limits.kind.cryogenic:
        return None, (
            "mean kinetic temperature not applied: it models degradation near room and fridge temperature "
            "(USP <1079.2>) and has no meaning for a cryogenic shipment"
        )
    if tv is None or cv is None or tv.size < 2 or tv[-1] <= tv[0]:
        return None, "mean kinetic temperature not computed: too few readings"
    if formula is MktFormula.EQUAL_WEIGHT:
        if equally_spaced(tv):
            return mean_kinetic_temperature_equal_weight(cv), (
                "mean kinetic temperature, ΔH/R = 10,000 K, equal weight per reading (USP <1079.2>, "
                "equally spaced readings)"
            )
        return mean_kinetic_temperature(tv, cv), (
            "mean kinetic temperature, ΔH/R = 10,000 K, time-weighted (USP <1079.2>): the product asks for "
            "the equal-weight formula, but the readings are not equally spaced"
        )
    return mean_kinetic_temperature(tv, cv), (
        "mean kinetic temperature, ΔH/R = 10,000 K, time-weighted (USP <1079.2>)"
    )


def equally_spaced(times: FloatArray) -> bool:
    """True when every interval between readings is within EQUAL_SPACING_TOLERANCE of the shortest."""
    steps = np.diff(times)
    if steps.size == 0 or float(steps.min()) <= 0:
        return False
    return float(steps.max()) <= float(steps.min()) * (1 + EQUAL_SPACING_TOLERANCE)


def mean_kinetic_temperature_equal_weight(celsius: FloatArray) -> float:
    """Mean kinetic temperature in °C with every reading weighing 1/n (USP <1079.2>, ΔH/R = 10,000 K).

    MKT = (ΔH/R) / -ln((Σ exp(-ΔH/(R·Tᵢ))) / n), Tᵢ in kelvin; the largest exponent is factored out against
    underflow, as in the time-weighted form.
    """
    exponent = -ACTIVATION_ENERGY_OVER_R_K / (celsius + KELVIN_OFFSET)
    peak = float(exponent.max())
    mean = float(np.mean(np.exp(exponent - peak)))
    return -ACTIVATION_ENERGY_OVER_R_K / (peak + math.log(mean)) - KELVIN_OFFSET


def mean_kinetic_temperature(times: FloatArray, celsius: FloatArray) -> float:
    """Time-weighted mean kinetic temperature in °C (USP <1079.2>, ΔH/R = 10,000 K).

    Each reading's Arrhenius factor exp(-ΔH/RT) is integrated over time with the trapezoid rule, so uneven
    intervals weigh by the time they represent. The largest exponent is factored out against underflow.
    """
    exponent = -ACTIVATION_ENERGY_OVER_R_K / (celsius + KELVIN_OFFSET)
    peak = float(exponent.max())
    factor = np.exp(exponent - peak)
    dt = np.diff(times)
    mean = float(np.sum(0.5 * (factor[1:] + factor[:-1]) * dt)) / float(times[-1] - times[0])
    return -ACTIVATION_ENERGY_OVER_R_K / (peak + math.log(mean)) - KELVIN_OFFSET
