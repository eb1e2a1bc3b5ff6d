"""Clean zones: cleanliness grades, open operations, HVAC separation, environmental monitoring limits.

Clauses: T-5.1.3 (area register: purpose, grade, HVAC), T-5.1.4 (the minimum areas, by purpose), T-5.1.5 (virus
areas have their own HVAC), T-5.1.6 (environmental monitoring against site alert/action limits; an excursion opens
a deviation), T-5.1.7 (a non-closed operation only in an area of a grade the process allows), G-2.

Grades and the ceilings a site's action limits may not exceed are those of EU GMP Annex 1 (2022), Tables 5 and 6,
which China's GMP Annex 1 (无菌药品) follows: grade A "no growth" is an action limit of 0 cfu.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from cellchain.domain.findings import Finding, Gate


class Grade(StrEnum):
    """A cleanliness grade (洁净级别), EU GMP Annex 1 / China GMP Annex 1."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class AreaPurpose(StrEnum):
    """What an area is for: the minimum areas of T-5.1.4 a-f."""

    CELL_PREPARATION = "cell_preparation"
    QC = "qc"
    CELL_STORAGE = "cell_storage"
    VIRUS_STORAGE = "virus_storage"
    PLASMID_PREPARATION = "plasmid_preparation"
    VIRUS_PREPARATION = "virus_preparation"
    OTHER = "other"


VIRUS_PURPOSES = frozenset({AreaPurpose.VIRUS_STORAGE, AreaPurpose.VIRUS_PREPARATION})


class Parameter(StrEnum):
    """An environmental-monitoring measurement (Annex 1 Tables 5 and 6)."""

    PARTICLES_0_5 = "particles_0_5"  # total particles >= 0.5 um per m3
    PARTICLES_5_0 = "particles_5_0"  # total particles >= 5.0 um per m3
    VIABLE_AIR = "viable_air"  # cfu/m3, active air sample
    SETTLE_PLATE = "settle_plate"  # cfu/4 h, 90 mm plate
    CONTACT_PLATE = "contact_plate"  # cfu/plate, 55 mm
    GLOVE_PRINT = "glove_print"  # cfu/glove, 5 fingers


UNITS: dict[Parameter, str] = {
    Parameter.PARTICLES_0_5: "particles/m³",
    Parameter.PARTICLES_5_0: "particles/m³",
    Parameter.VIABLE_AIR: "cfu/m³",
    Parameter.SETTLE_PLATE: "cfu/4 h",
    Parameter.CONTACT_PLATE: "cfu/plate",
    Parameter.GLOVE_PRINT: "cfu/glove",
}

# Annex 1 (2022) in operation: Table 5 (total particles) and Table 6 (viable). None: the Annex sets no limit
# (the site sets its own from its qualification).
ANNEX1_CEILINGS: dict[Grade, dict[Parameter, Decimal | None]] = {
    Grade.A: {
        Parameter.PARTICLES_0_5: Decimal(3520),
        Parameter.PARTICLES_5_0: Decimal(29),
        Parameter.VIABLE_AIR: Decimal(0),
        Parameter.SETTLE_PLATE: Decimal(0),
        Parameter.CONTACT_PLATE: Decimal(0),
        Parameter.GLOVE_PRINT: Decimal(0),
    },
    Grade.B: {
        Parameter.PARTICLES_0_5: Decimal(352000),
        Parameter.PARTICLES_5_0: Decimal(2930),
        Parameter.VIABLE_AIR: Decimal(10),
        Parameter.SETTLE_PLATE: Decimal(5),
        Parameter.CONTACT_PLATE: Decimal(5),
        Parameter.GLOVE_PRINT: Decimal(5),
    },
    Grade.C: {
        Parameter.PARTICLES_0_5: Decimal(3520000),
        Parameter.PARTICLES_5_0: Decimal(29300),
        Parameter.VIABLE_AIR: Decimal(100),
        Parameter.SETTLE_PLATE: Decimal(50),
        Parameter.CONTACT_PLATE: Decimal(25),
        Parameter.GLOVE_PRINT: None,
    },
    Grade.D: {
        Parameter.PARTICLES_0_5: None,
        Parameter.PARTICLES_5_0: None,
        Parameter.VIABLE_AIR: Decimal(200),
        Parameter.SETTLE_PLATE: Decimal(100),
        Parameter.CONTACT_PLATE: Decimal(50),
        Parameter.GLOVE_PRINT: None,
    },
}


class Outcome(StrEnum):
    """Where a monitoring result stands against its limits."""

    WITHIN = "within"
    ALERT = "alert"  # above the alert limit: watched, trended (Annex 1 9.27)
    ACTION = "action"  # above the action limit: an excursion, a deviation (T-5.1.6)


@dataclass(frozen=True, slots=True)
class Limits:
    """A site's alert and action limit for one grade and parameter."""

    grade: Grade
    parameter: Parameter
    alert: Decimal
    action: Decimal


def limits_problems(limits: Limits) -> tuple[Finding, ...]:
    """Why a site may not set these limits: negative, alert above action, or an action limit looser than
    Annex 1 allows for the grade (T-5.1.6)."""
    where = f"grade {limits.grade} {limits.parameter}"
    found: list[Finding] = []
    if limits.alert < 0 or limits.action < 0:
        found.append(Finding("limit_negative", f"{where}: limits cannot be negative", "T-5.1.6", where))
    if limits.alert > limits.action:
        found.append(
            Finding(
                "alert_above_action",
                f"{where}: the alert limit ({limits.alert}) must not exceed the action limit ({limits.action})",
                "T-5.1.6",
                where,
            )
        )
    ceiling = ANNEX1_CEILINGS[limits.grade][limits.parameter]
    if ceiling is not None and limits.action > ceiling:
        found.append(
            Finding(
                "action_above_annex1",
                f"{where}: the action limit {limits.action} is looser than EU GMP Annex 1 allows ({ceiling})",
                "T-5.1.6",
                where,
                limit=str(ceiling),
            )
        )
    return tuple(found)


def monitoring_outcome(value: Decimal, limits: Limits) -> Outcome:
    """A result above the action limit is an excursion; above the alert limit, an alert (T-5.1.6)."""
    if value > limits.action:
        return Outcome.ACTION
    if value > limits.alert:
        return Outcome.ALERT
    return Outcome.WITHIN


def open_step_grade_check(
    step: str, *, open_operation: bool, allowed: Sequence[str], area: str, grade: str
) -> Gate:
    """May this step be done in this area? A closed step anywhere; an open (non-closed) step only in an area
    whose grade the product's process allows (T-5.1.7)."""
    if not open_operation or grade in allowed:
        return Gate()
    shown = grade or "unclassified"
    return Gate(
        (
            Finding(
                "open_step_wrong_grade",
                f"{step} is an open (non-closed) operation, allowed only in grade {' or '.join(allowed) or '—'}; "
                f"{area} is {shown} (T-5.1.7)",
                "T-5.1.7",
                area,
                shown,
                limit=",".join(allowed),
            ),
        )
    )


def open_step_template_problems(step: str, *, open_operation: bool, allowed: Iterable[str]) -> list[Finding]:
    """Why a process step's environment is ill-defined: an open step naming no grade, or an unknown grade
    (T-5.1.7)."""
    grades = list(allowed)
    found = [
        Finding("unknown_grade", f"{step}: {g!r} is not a cleanliness grade (A, B, C, D)", "T-5.1.7", step, g)
        for g in grades
        if g not in Grade.__members__
    ]
    if open_operation and not grades:
        found.append(
            Finding(
                "open_step_without_grade",
                f"{step}: an open (non-closed) step must name the grades it may be done in",
                "T-5.1.7",
                step,
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class AreaAir:
    """An area's purpose and the HVAC system that serves it (T-5.1.3, T-5.1.5)."""

    code: str
    purpose: str
    hvac_system: str


def hvac_warnings(areas: Sequence[AreaAir]) -> tuple[Finding, ...]:
    """Virus preparation and virus storage areas need their own HVAC: warn when one records none or shares
    its system with another area (T-5.1.5)."""
    found: list[Finding] = []
    for area in areas:
        if area.purpose not in VIRUS_PURPOSES:
            continue
        if not area.hvac_system.strip():
            found.append(
                Finding(
                    "virus_area_hvac_unknown", f"{area.code}: no HVAC system recorded", "T-5.1.5", area.code
                )
            )
            continue
        sharing = sorted(
            other.code for other in areas if other.code != area.code and other.hvac_system == area.hvac_system
        )
        if sharing:
            found.append(
                Finding(
                    "virus_area_hvac_shared",
                    f"{area.code}: HVAC {area.hvac_system} also serves {', '.join(sharing)}",
                    "T-5.1.5",
                    area.code,
                    area.hvac_system,
                )
            )
    return tuple(found)


class Stored(StrEnum):
    """What is put into a storage area: viral vector, or cells (T-5.1.4-c)."""

    VECTOR = "vector"
    CELLS = "cells"


STORAGE_FOR: dict[Stored, AreaPurpose] = {
    Stored.VECTOR: AreaPurpose.VIRUS_STORAGE,
    Stored.CELLS: AreaPurpose.CELL_STORAGE,
}


def storage_placement_check(what: Stored, item: str, *, area: str, purpose: str) -> Gate:
    """Virus and cell storage are kept apart: a vector lot only into virus storage, cells only into cell storage,
    and nothing into an area that is not a storage area (T-5.1.4-c)."""
    wanted = STORAGE_FOR[what]
    if purpose == wanted:
        return Gate()
    if purpose in STORAGE_FOR.values():
        message = f"{item} is {what.value} and {area} is {purpose.replace('_', ' ')}: virus and cell storage are kept apart"
    else:
        message = f"{area} is not a storage area for {what.value} ({wanted.value.replace('_', ' ')} is)"
    return Gate(
        (Finding("storage_segregation", f"{message} (T-5.1.4-c)", "T-5.1.4-c", item, purpose, wanted.value),)
    )
