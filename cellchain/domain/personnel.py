"""The clinical team's competence rules: team leader, continuing education, CAR-T competency assessment,
paediatric cover, pharmacist rank, cell-therapy certificate holders.

Clauses: T-5.1.9-2 (personnel file), T-5.2.11 (team trained; at least one certificate holder), T-5.3.1 (a child's
infusion needs a paediatric physician of attending rank or above), T-5.3.2.1/.2 (team leader: physician licence,
chief physician, >= 10 years clinical, >= 2 years in cell therapy), T-5.3.2.5 / T-5.3.3.2 (continuing education
every year), T-5.3.3.4 (a lapsed or failed competency assessment removes CAR-T signing rights), T-5.3.5.1
(pharmacist of 主管药师 rank or above).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from cellchain.domain.findings import Finding, Gate


class Rank(StrEnum):
    """Professional titles (专业技术职称), lowest first within each ladder."""

    RESIDENT = "resident"  # 住院医师
    ATTENDING = "attending"  # 主治医师
    ASSOCIATE_CHIEF = "associate_chief"  # 副主任医师
    CHIEF = "chief"  # 主任医师
    NURSE = "nurse"  # 护士 / 护师
    SUPERVISOR_NURSE = "supervisor_nurse"  # 主管护师
    PHARMACIST = "pharmacist"  # 药师
    SUPERVISOR_PHARMACIST = "supervisor_pharmacist"  # 主管药师
    ASSOCIATE_CHIEF_PHARMACIST = "associate_chief_pharmacist"  # 副主任药师
    CHIEF_PHARMACIST = "chief_pharmacist"  # 主任药师
    OTHER = "other"


PHYSICIAN_LADDER = (Rank.RESIDENT, Rank.ATTENDING, Rank.ASSOCIATE_CHIEF, Rank.CHIEF)
PHARMACIST_LADDER = (
    Rank.PHARMACIST,
    Rank.SUPERVISOR_PHARMACIST,
    Rank.ASSOCIATE_CHIEF_PHARMACIST,
    Rank.CHIEF_PHARMACIST,
)


class Licence(StrEnum):
    """Practising licences (执业证书)."""

    NONE = ""
    PHYSICIAN = "physician"  # 医师执业证书
    NURSE = "nurse"  # 护士执业证书
    PHARMACIST = "pharmacist"  # 执业药师 / 药学专业技术资格


def at_least(rank: str, floor: Rank, ladder: Sequence[Rank]) -> bool:
    """True when `rank` is on `ladder` at or above `floor`."""
    return rank in ladder and ladder.index(Rank(rank)) >= ladder.index(floor)


def full_years(since: date | None, on: date) -> int:
    """Completed years from `since` to `on` (0 when unknown or in the future); a 29 February start counts its
    anniversary on 28 February."""
    if since is None or since > on:
        return 0
    years = on.year - since.year
    anniversary = (since.month, min(since.day, 28 if since.month == 2 else since.day))
    return years - 1 if (on.month, on.day) < anniversary else years


@dataclass(frozen=True, slots=True)
class PersonnelFile:
    """What the file records of one person (T-5.1.9-2)."""

    person: str
    rank: str
    licence: str
    clinical_since: date | None
    cell_therapy_since: date | None
    paediatric_licence: bool = False


def team_leader_check(file: PersonnelFile, on: date) -> Gate:
    """May this person lead the cell-therapy team? Physician licence, chief physician, >= 10 years clinical,
    >= 2 years managing cell-therapy clinical work (T-5.3.2.1, T-5.3.2.2)."""
    clinical = full_years(file.clinical_since, on)
    cell_therapy = full_years(file.cell_therapy_since, on)
    rules = (
        (
            file.licence != Licence.PHYSICIAN,
            "leader_licence",
            "no physician's licence recorded",
            "T-5.3.2.1",
            "",
        ),
        (file.rank != Rank.CHIEF, "leader_rank", "not chief physician (主任医师)", "T-5.3.2.1", file.rank),
        (
            clinical < 10,
            "leader_experience",
            f"{clinical} years clinical, 10 needed",
            "T-5.3.2.1",
            str(clinical),
        ),
        (
            cell_therapy < 2,
            "leader_cell_therapy",
            f"{cell_therapy} years in cell therapy, 2 needed",
            "T-5.3.2.2",
            str(cell_therapy),
        ),
    )
    return Gate(
        tuple(
            Finding(check, f"{file.person}: {message} ({clause})", clause, file.person, value)
            for failed, check, message, clause, value in rules
            if failed
        )
    )


def paediatric_physician_check(file: PersonnelFile) -> Gate:
    """May this physician cover a child's infusion? Paediatric licence and attending rank or above (T-5.3.1)."""
    found = []
    if not file.paediatric_licence:
        found.append(
            Finding(
                "paediatric_licence",
                f"{file.person}: no paediatric licence (T-5.3.1)",
                "T-5.3.1",
                file.person,
            )
        )
    if file.licence != Licence.PHYSICIAN or not at_least(file.rank, Rank.ATTENDING, PHYSICIAN_LADDER):
        found.append(
            Finding(
                "paediatric_rank",
                f"{file.person}: a physician of attending rank or above is needed (T-5.3.1)",
                "T-5.3.1",
                file.person,
                file.rank,
            )
        )
    return Gate(tuple(found))


def pharmacist_rank_check(file: PersonnelFile) -> Gate:
    """Is this person a pharmacist of 主管药师 rank or above (T-5.3.5.1)?"""
    if at_least(file.rank, Rank.SUPERVISOR_PHARMACIST, PHARMACIST_LADDER):
        return Gate()
    return Gate(
        (
            Finding(
                "pharmacist_rank",
                f"{file.person}: a pharmacist of 主管药师 rank or above is needed (T-5.3.5.1)",
                "T-5.3.5.1",
                file.person,
                file.rank,
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class Assessment:
    """One CAR-T competency assessment (能力考核) and when the next is due (T-5.3.3.4)."""

    assessed_on: date
    passed: bool
    next_due: date


def competence_check(person: str, assessments: Iterable[Assessment], on: date) -> Gate:
    """Does this person hold CAR-T signing rights on `on`? Only with a passed assessment whose next one is not
    yet due, and no later failed one (T-5.3.3.4)."""
    done = sorted((a for a in assessments if a.assessed_on <= on), key=lambda a: a.assessed_on)
    if not done:
        return Gate(
            (
                Finding(
                    "competence_missing", f"{person}: no CAR-T competency assessment (T-5.3.3.4)", "T-5.3.3.4"
                ),
            )
        )
    latest = done[-1]
    if not latest.passed:
        return Gate(
            (
                Finding(
                    "competence_failed",
                    f"{person}: failed the CAR-T competency assessment on {latest.assessed_on} (T-5.3.3.4)",
                    "T-5.3.3.4",
                    person,
                    latest.assessed_on.isoformat(),
                ),
            )
        )
    if latest.next_due < on:
        return Gate(
            (
                Finding(
                    "competence_lapsed",
                    f"{person}: the CAR-T competency assessment was due on {latest.next_due} (T-5.3.3.4)",
                    "T-5.3.3.4",
                    person,
                    limit=latest.next_due.isoformat(),
                ),
            )
        )
    return Gate()


def continuing_education_missing(
    person: str, years_with_education: Iterable[int], year: int
) -> Finding | None:
    """A warning when no cell-therapy continuing education is recorded for `year` (T-5.3.2.5, T-5.3.3.2)."""
    if year in set(years_with_education):
        return None
    return Finding(
        "continuing_education_missing",
        f"{person}: no cell-therapy continuing education recorded for {year} (T-5.3.2.5, T-5.3.3.2)",
        "T-5.3.3.2",
        person,
        str(year),
    )


def certificate_holder_missing(holders: int) -> Finding | None:
    """A warning when no physician or nurse of the team holds a valid cell-therapy training certificate
    (T-5.2.11)."""
    if holders > 0:
        return None
    return Finding(
        "certificate_holder_missing",
        "No physician or nurse of the team holds a valid cell-therapy training certificate (T-5.2.11)",
        "T-5.2.11",
    )
