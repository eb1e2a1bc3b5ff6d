"""Preparation before infusion: thaw checks (T-8.2.4, T-7.14-a), dilution and mixing (T-8.2.5, T-7.14-c).

Thaw end starts the use-by countdown (`clinical_timing.use_by`, T-7.8-a); a thaw entered in the future, out of
the manufacturer's temperature range or with an abnormal appearance never passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

from cellchain.domain.clinical_verdict import Consequence, Reason, Verdict, require_aware, time_order_reasons

# --------------------------------------------------------------------------- thaw (T-8.2.4, T-7.14-a)


@dataclass(frozen=True, slots=True)
class ThawSpec:
    """The manufacturer's thaw values (T-7.14-a)."""

    temperature_low_c: float
    temperature_high_c: float
    methods: frozenset[str]

    def __post_init__(self) -> None:
        if self.temperature_low_c > self.temperature_high_c:
            raise ValueError("thaw temperature range is reversed")
        if not self.methods:
            raise ValueError("the product must name at least one thaw method (T-7.14-a)")


@dataclass(frozen=True, slots=True)
class ThawEntry:
    """The thaw record (T-8.2.4): times, device temperature, method, confirmations and appearance."""

    start: datetime
    end: datetime
    temperature_c: float
    method: str
    appearance_normal: bool
    interrupted: bool = False
    no_shaking_confirmed: bool = False


def thaw_check(spec: ThawSpec, entry: ThawEntry, now: datetime) -> Verdict:
    """Thaw checks: not in the future, temperature and method as the manufacturer requires (T-8.2.4-a),
    continuous (T-8.2.4-b), no shaking (T-8.2.4-d), normal appearance (T-8.2.4-e)."""
    now = require_aware(now, "now")
    reasons = time_order_reasons(entry.start, entry.end, now, "thaw", "T-8.2.4")
    if not spec.temperature_low_c <= entry.temperature_c <= spec.temperature_high_c:
        limit = f"{spec.temperature_low_c:g}-{spec.temperature_high_c:g} °C"
        reasons.append(
            Reason(
                "thaw_temperature_out_of_range",
                "thaw temperature outside the manufacturer's range: unit not passed to infusion",
                f"{entry.temperature_c:g} °C",
                limit,
                "T-8.2.4-a",
                Consequence.QUARANTINE_UNIT,
            )
        )
    if entry.method not in spec.methods:
        reasons.append(
            Reason(
                "thaw_method_not_allowed",
                "thaw method not the manufacturer's",
                entry.method,
                ", ".join(sorted(spec.methods)),
                "T-7.14-a",
                Consequence.QUARANTINE_UNIT,
            )
        )
    if entry.interrupted:
        reasons.append(
            Reason(
                "thaw_interrupted",
                "the thaw was interrupted: a deviation is opened",
                "interrupted",
                "continuous",
                "T-8.2.4-b",
                Consequence.OPEN_DEVIATION,
            )
        )
    if not entry.no_shaking_confirmed:
        reasons.append(
            Reason(
                "no_shaking_not_confirmed",
                "confirm no vigorous shaking or mechanical shock",
                "not confirmed",
                "confirmed",
                "T-8.2.4-d",
            )
        )
    if not entry.appearance_normal:
        reasons.append(
            Reason(
                "appearance_abnormal",
                "abnormal appearance after thaw (turbidity, precipitate, leak): unit rejected",
                "abnormal",
                "normal",
                "T-8.2.4-e",
                Consequence.REJECT_UNIT,
            )
        )
    return Verdict(tuple(reasons))


# --------------------------------------------------------------------------- dilution (T-8.2.5, T-7.14-c)


@dataclass(frozen=True, slots=True)
class DilutionSpec:
    """The product's dilution rule (T-7.14-c): allowed diluents and the ratio diluent:product volume."""

    allowed_diluents: frozenset[str]
    ratio: float  # diluent volume / product volume
    relative_tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.ratio <= 0 or self.relative_tolerance < 0 or not self.allowed_diluents:
            raise ValueError("a dilution rule needs diluents, a positive ratio and a tolerance >= 0")


@dataclass(frozen=True, slots=True)
class DilutionEntry:
    """The dilution record (T-8.2.5-a..e)."""

    diluent: str
    diluent_lot: str
    diluent_expiry: date
    product_volume_ml: float
    diluent_volume_ml: float
    start: datetime
    end: datetime
    gentle_mixing_confirmed: bool
    aseptic_area: str


def dilution_check(spec: DilutionSpec | None, entry: DilutionEntry, now: datetime) -> Verdict:
    """Dilution only when the product defines it (T-8.2.5), allowed diluent in date (a), ratio as
    specified (b), gentle mixing confirmed (c), aseptic area recorded (e)."""
    now = require_aware(now, "now")
    if spec is None:
        return Verdict(
            (
                Reason(
                    "dilution_not_allowed",
                    "this product may not be diluted or mixed",
                    entry.diluent,
                    "no dilution",
                    "T-8.2.5",
                ),
            )
        )
    reasons = time_order_reasons(entry.start, entry.end, now, "dilution", "T-8.2.5-d") + _diluent(
        spec, entry, now.date()
    )
    if entry.product_volume_ml <= 0 or entry.diluent_volume_ml < 0:
        reasons.append(
            Reason(
                "volume_invalid",
                "volumes must be positive",
                f"{entry.product_volume_ml:g}/{entry.diluent_volume_ml:g} mL",
                "> 0 mL",
                "T-8.2.5-b",
            )
        )
    elif not math.isclose(
        entry.diluent_volume_ml / entry.product_volume_ml,
        spec.ratio,
        rel_tol=spec.relative_tolerance,
        abs_tol=1e-9,
    ):
        ratio = entry.diluent_volume_ml / entry.product_volume_ml
        reasons.append(
            Reason(
                "dilution_ratio_wrong",
                "dilution ratio differs from the product's",
                f"{ratio:.4g}",
                f"{spec.ratio:g}",
                "T-8.2.5-b",
            )
        )
    if not entry.gentle_mixing_confirmed:
        reasons.append(
            Reason(
                "gentle_mixing_not_confirmed",
                "confirm gentle mixing without vigorous shaking",
                "not confirmed",
                "confirmed",
                "T-8.2.5-c",
            )
        )
    if not entry.aseptic_area.strip():
        reasons.append(
            Reason(
                "aseptic_area_missing",
                "record the aseptic area or biosafety cabinet",
                "",
                "an area",
                "T-8.2.5-e",
            )
        )
    return Verdict(tuple(reasons))


def _diluent(spec: DilutionSpec, entry: DilutionEntry, today: date) -> list[Reason]:
    reasons = []
    if entry.diluent not in spec.allowed_diluents:
        reasons.append(
            Reason(
                "diluent_not_allowed",
                "diluent not on the product's list",
                entry.diluent,
                ", ".join(sorted(spec.allowed_diluents)),
                "T-8.2.5-a",
            )
        )
    if entry.diluent_expiry < today:
        reasons.append(
            Reason(
                "diluent_expired",
                f"diluent lot {entry.diluent_lot} has expired",
                entry.diluent_expiry.isoformat(),
                f">= {today.isoformat()}",
                "T-8.2.5-a",
            )
        )
    return reasons
