"""The clinic's per-product values taken from the manufacturer's approved information package.

The bedside enforces what the manufacturer validated (T-7.4: one package built from the product master; T-7.8
use times citing their validation and stability reports; T-7.9 risks; T-7.10-b AE reporting limit; T-7.14 thaw
and preparation; T-8.2.5-a/b dilution; T-8.2.6-a/b route and filter; T-8.2.7-a observation). A value the
package carries is copied from it and never typed at the clinic, so a typo cannot widen a limit. What the
package does not carry (infusion rate, dose, the hospital's infusion sets, follow-up schedule) stays the
clinic's.

Conversions are made in the safe direction: a time limit in hours becomes whole minutes rounded down (a
shorter window), a recommended minimum observation rounds up. A package that leaves out a value the bedside
cannot work without is refused as a whole (`PackageIncomplete`), naming every gap and its clause.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from cellchain.domain.product_information import Bilingual, ProductInformation

PACKAGE_VALUES: tuple[str, ...] = (
    "name",
    "evidence",
    "usable_after_thaw_min",
    "preparation_min",
    "use_after_dilution_min",
    "overtime_handling",
    "thaw_temp_low_c",
    "thaw_temp_high_c",
    "thaw_methods",
    "diluents",
    "dilution_ratio",
    "dilution_tolerance",
    "possible_reactions",
    "monitoring_indicators",
    "contraindications",
    "precautions",
    "pre_infusion_checks",
    "ae_report_hours",
)
"""Values always taken from the package once a version is adopted (an absent optional one = none allowed)."""

PACKAGE_VALUES_IF_STATED: tuple[str, ...] = ("route", "leukocyte_filter_forbidden", "observation_min")
"""Values taken from the package when its version states them (the optional `administration` section);
versions that do not leave them to the clinic."""

CLINIC_VALUES: tuple[str, ...] = (
    "rate_low_ml_h",
    "rate_high_ml_h",
    "allowed_sets",
    "dose_low",
    "dose_high",
    "dose_per_kg",
    "follow_up_months",
    "follow_up_years",
    "integrating_vector",
)
"""Values the information package has no field for: entered at the clinic (T-8.2.6-b/c sets and rate,
T-9.2.1-4 dose, T-9.2.8 follow-up, REGULATORY item 53)."""


class PackageIncomplete(ValueError):
    """The package leaves out a value the bedside needs; the message names each gap with its clause."""

    def __init__(self, gaps: list[str]) -> None:
        super().__init__("; ".join(gaps))
        self.gaps = tuple(gaps)


@dataclass(frozen=True, slots=True)
class ClinicalUseValues:
    """The package's values in the clinic's units, and which of the optional ones the package states."""

    name: str
    evidence: str
    usable_after_thaw_min: int
    preparation_min: int | None
    use_after_dilution_min: int | None
    overtime_handling: str  # "" = not stated (the unit is rejected, T-7.8-d), "reject" or "quarantine"
    thaw_temp_low_c: float
    thaw_temp_high_c: float
    thaw_methods: tuple[str, ...]
    diluents: tuple[str, ...]  # () = the product may not be diluted (T-8.2.5)
    dilution_ratio: float | None
    dilution_tolerance: float
    possible_reactions: tuple[str, ...]
    monitoring_indicators: tuple[str, ...]
    contraindications: tuple[str, ...]
    precautions: tuple[str, ...]
    pre_infusion_checks: tuple[str, ...]
    ae_report_hours: int
    route: str = ""
    leukocyte_filter_forbidden: bool = True
    observation_min: int | None = None
    stated: frozenset[str] = frozenset()  # which of PACKAGE_VALUES_IF_STATED the package states

    @property
    def carried(self) -> tuple[str, ...]:
        """Every value that comes from the package, in a fixed order."""
        return PACKAGE_VALUES + tuple(v for v in PACKAGE_VALUES_IF_STATED if v in self.stated)

    def as_fields(self) -> dict[str, object]:
        """The carried values by name, lists as lists (what the clinic stores)."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name in self.carried
            for value in (getattr(self, name),)
        }


def text(value: Bilingual) -> str:
    """The one string the clinic keys a pick list or checklist item on: English, else Chinese."""
    return value.en.strip() or value.zh.strip()


def _minutes_down(value: timedelta | None) -> int | None:
    return None if value is None else math.floor(value.total_seconds() / 60)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def clinical_use_values(info: ProductInformation) -> ClinicalUseValues:
    """The clinic's values from a package; `PackageIncomplete` names every missing or unusable one."""
    gaps: list[str] = []
    times, thaw, risks = info.use_times, info.thaw_preparation, info.risks
    after_thaw = _minutes_down(times.after_thaw)
    if after_thaw is None or after_thaw < 1:
        gaps.append("no usable time after thaw of at least 1 minute (T-7.8-a)")
    preparation = _minutes_down(times.preparation)
    after_dilution = _minutes_down(times.after_dilution)
    for name, minutes, clause in (
        ("preparation time", preparation, "T-7.8-b"),
        ("use time after dilution", after_dilution, "T-7.8-c"),
    ):
        if minutes is not None and minutes < 1:
            gaps.append(f"a {name} under 1 minute ({clause})")
    if not times.evidence.strip():
        gaps.append("no validation or stability report cited for the use times (T-7.8)")
    low, high = _float(thaw.thaw_temperature.minimum_c), _float(thaw.thaw_temperature.maximum_c)
    if low is None or high is None:
        gaps.append("no closed thaw temperature range (T-7.14-a)")
    elif low > high:
        gaps.append("a reversed thaw temperature range (T-7.14-a)")
    methods = thaw.thaw_methods or ((text(thaw.thaw_method),) if text(thaw.thaw_method) else ())
    if not methods:
        gaps.append("no thaw method (T-7.14-a)")
    dilution = thaw.dilution_spec
    if dilution is not None and after_dilution is None:
        gaps.append("dilution allowed without a use time after dilution (T-7.8-c, T-8.2.5-d)")
    limit = info.ae_reporting.time_limit
    ae_hours = None if limit is None else math.floor(limit.total_seconds() / 3600)
    if ae_hours is None or ae_hours < 1:
        gaps.append("no adverse-event reporting time limit of at least 1 hour (T-7.10-b)")
    if gaps:
        raise PackageIncomplete(gaps)
    assert after_thaw is not None and low is not None and high is not None and ae_hours is not None
    admin = info.administration
    stated: set[str] = set()
    route, no_filter, observation = "", True, None
    if admin is not None:
        if admin.route.strip():
            route = admin.route.strip()
            stated.add("route")
        if admin.leukocyte_filter_forbidden is not None:
            no_filter = admin.leukocyte_filter_forbidden
            stated.add("leukocyte_filter_forbidden")
        if admin.observation is not None:
            observation = math.ceil(admin.observation.total_seconds() / 60)
            stated.add("observation_min")
    return ClinicalUseValues(
        name=text(info.product_name),
        evidence=times.evidence.strip(),
        usable_after_thaw_min=after_thaw,
        preparation_min=preparation,
        use_after_dilution_min=after_dilution,
        overtime_handling=times.overtime_action.value if times.overtime_action else "",
        thaw_temp_low_c=low,
        thaw_temp_high_c=high,
        thaw_methods=tuple(methods),
        diluents=dilution.diluents if dilution else (),
        dilution_ratio=float(dilution.ratio) if dilution else None,
        dilution_tolerance=float(dilution.tolerance) if dilution else 0.0,
        possible_reactions=tuple(text(b) for b in risks.adverse_reactions),
        monitoring_indicators=tuple(text(b) for b in risks.monitoring_indicators),
        contraindications=tuple(text(b) for b in risks.contraindications),
        precautions=tuple(text(b) for b in risks.precautions),
        pre_infusion_checks=tuple(text(b) for b in thaw.pre_infusion_checks),
        ae_report_hours=ae_hours,
        route=route,
        leukocyte_filter_forbidden=no_filter,
        observation_min=observation,
        stated=frozenset(stated),
    )


@dataclass(frozen=True, slots=True)
class SeedRisk:
    """A row of the site risk plan's register proposed from the package (T-9.1.2); the team adds measure,
    owner and rating, and its own rows."""

    stage: str
    hazard: str
    cause: str
    measure: str
    required: bool  # the manufacturer's adverse reactions must stay in the register


def risk_seed(
    reactions: Sequence[str],
    indicators: Sequence[str],
    contraindications: Sequence[str],
    precautions: Sequence[str],
    source: str,
) -> tuple[SeedRisk, ...]:
    """The register rows a site's risk plan starts from: every possible adverse reaction (T-7.9-a, required),
    every contraindication (T-7.9-c) and precaution (T-7.9-d), citing the version they come from."""
    watch = ", ".join(indicators)
    return (
        *(
            SeedRisk(
                "after infusion",
                reaction,
                f"product risk stated by the manufacturer ({source}, T-7.9-a)",
                f"monitor {watch} (T-7.9-b)" if watch else "",
                True,
            )
            for reaction in reactions
        ),
        *(
            SeedRisk(
                "before infusion",
                f"infusion despite: {item}",
                f"contraindication stated by the manufacturer ({source}, T-7.9-c)",
                "pre-infusion checklist asks 'not present' for each item",
                False,
            )
            for item in contraindications
        ),
        *(
            SeedRisk(
                "thaw and infusion",
                f"precaution not observed: {item}",
                f"precaution stated by the manufacturer ({source}, T-7.9-d)",
                "acknowledged in the thaw and infusion steps",
                False,
            )
            for item in precautions
        ),
    )


def uncovered_reactions(reactions: Iterable[str], hazards: Iterable[str]) -> tuple[str, ...]:
    """The manufacturer's adverse reactions with no register row of that hazard (T-7.9-a, T-9.1.2);
    compared without case or surrounding spaces."""
    present = {h.strip().casefold() for h in hazards}
    return tuple(r for r in reactions if r.strip().casefold() not in present)
