"""CRS and ICANS grading by the ASTCT 2019 consensus, and the CTCAE v5 grade for other adverse events.

Source: Lee DW, Santomasso BD, Locke FL, et al. "ASTCT Consensus Grading for Cytokine Release Syndrome and
Neurologic Toxicity Associated with Immune Effector Cells." Biol Blood Marrow Transplant. 2019;25(4):625-638.
doi:10.1016/j.bbmt.2018.12.758 — Table 3 (CRS), Table 5 (ICANS, adults), ICE score in Table 4; ICANS in
children (CAPD instead of ICE) in the children's table, see `grade_icans` and `CAPD_MAX`.

The children's cells were checked against secondary sources, not the paper's own table text, which was not
available here: the consensus summary in MDedge Hematology/Oncology (Dec 2018, "Group proposes new grading
systems for CRS, neurotoxicity": CAPD < 9 with awakening spontaneously = 1, to voice = 2; CAPD >= 9 = 3;
unable to perform CAPD = 4; seizure, motor and raised-ICP rows as in adults; CAPD for children under 12 and
older patients with developmental delay), the NCI Thesaurus definition C188936 (ICANS grade 1: ICE 7-9 for
adults and children over 12, CAPD < 9 for children 12 and under) and the CAPD instrument itself (Traube C et
al., Crit Care Med 2014;42(3):656-663; 8 items scored 0-4, >= 9 screens positive). Not confirmed: the number
of the children's table in the paper, and any infant-specific wording of the consciousness row (the adult row
is applied). The age boundary at exactly 12 differs between the two sources; both tools are accepted at 12.

Used by the adverse-event record (T-8.2.7, T-9.2.4, T-9.2.7, T-10.8): the physician enters findings, the grade
and the reasoning (which finding set which grade) are computed here so everyone grades the same way.
Findings entered must be those not attributable to another cause (the consensus excludes e.g. sepsis,
sedating medication, intracranial haemorrhage).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

FEVER_THRESHOLD_C = 38.0
"""ASTCT 2019 Table 3: fever is a temperature >= 38.0 °C not attributable to any other cause."""

LOW_FLOW_MAX_L_MIN = 6.0
"""ASTCT 2019 Table 3 footnote: low-flow nasal cannula is <= 6 L/min; high-flow is > 6 L/min."""

PROLONGED_SEIZURE_MIN = 5.0
"""ASTCT 2019 Table 5: a life-threatening prolonged seizure lasts > 5 min (grade 4)."""

ICE_MAX = 10


class GradingInputError(ValueError):
    """A finding is outside what the grading scale defines; the message says which and why.

    `field` names the finding at fault (e.g. "capd_score") so a form can show the message next to it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Grade:
    """A computed grade (0 = no CRS/ICANS) with the reasons: which finding set which grade."""

    grade: int
    reasons: tuple[str, ...]


def _worst(domains: Iterable[tuple[int, str]]) -> Grade:
    """The grade is the most severe domain; reasons list every domain and name the deciding one."""
    domains = tuple(domains)
    worst = max((grade for grade, _ in domains), default=0)
    reasons = tuple(f"{text} -> grade {grade}" for grade, text in domains)
    deciding = [text for grade, text in domains if grade == worst and worst > 0]
    summary = f"grade {worst} set by: " + "; ".join(deciding) if deciding else "no grading finding present"
    return Grade(worst, (*reasons, summary))


# --------------------------------------------------------------------------- CRS


class Vasopressor(StrEnum):
    """Vasopressors counted for CRS hypotension (ASTCT 2019 Table 3)."""

    NOREPINEPHRINE = "norepinephrine"
    EPINEPHRINE = "epinephrine"
    DOPAMINE = "dopamine"
    PHENYLEPHRINE = "phenylephrine"
    ANGIOTENSIN_II = "angiotensin_ii"
    VASOPRESSIN = "vasopressin"  # never counts as the second of "multiple vasopressors"


class OxygenDevice(StrEnum):
    """How supplemental oxygen for hypoxia is given; oxygen given only for comfort is entered as NONE."""

    NONE = "none"
    BLOW_BY = "blow_by"
    NASAL_CANNULA = "nasal_cannula"  # low- or high-flow by the flow entered
    FACEMASK = "facemask"
    NON_REBREATHER = "non_rebreather"
    VENTURI = "venturi"
    CPAP = "cpap"
    BIPAP = "bipap"
    MECHANICAL_VENTILATION = "mechanical_ventilation"  # intubation and mechanical ventilation


CRS_OXYGEN_GRADE: dict[OxygenDevice, int] = {
    OxygenDevice.NONE: 0,
    OxygenDevice.BLOW_BY: 2,
    OxygenDevice.FACEMASK: 3,
    OxygenDevice.NON_REBREATHER: 3,
    OxygenDevice.VENTURI: 3,
    OxygenDevice.CPAP: 4,
    OxygenDevice.BIPAP: 4,
    OxygenDevice.MECHANICAL_VENTILATION: 4,
}
"""Hypoxia grade by device, ASTCT 2019 Table 3 (nasal cannula is graded by flow, see LOW_FLOW_MAX_L_MIN)."""


@dataclass(frozen=True, slots=True)
class CrsFindings:
    """What the physician enters for CRS grading (ASTCT 2019 Table 3).

    `fever_masked`: the patient with CRS has received antipyretic or anti-cytokine therapy (tocilizumab,
    steroids), so fever is no longer required and the grade is driven by hypotension and hypoxia.
    """

    temperature_c: float | None = None
    fever_masked: bool = False
    hypotension: bool = False
    vasopressors: frozenset[Vasopressor] = field(default_factory=frozenset)
    oxygen_device: OxygenDevice = OxygenDevice.NONE
    oxygen_flow_l_min: float | None = None
    death_from_crs: bool = False

    def __post_init__(self) -> None:
        if self.temperature_c is not None and not 25.0 <= self.temperature_c <= 45.0:
            raise GradingInputError(
                f"temperature {self.temperature_c} °C is not a body temperature (25-45 °C); check the entry"
            )
        if self.vasopressors and not self.hypotension:
            raise GradingInputError("vasopressors are recorded but hypotension is not; mark hypotension")
        if self.oxygen_flow_l_min is not None and self.oxygen_flow_l_min < 0:
            raise GradingInputError(f"oxygen flow {self.oxygen_flow_l_min} L/min cannot be negative")
        if self.oxygen_device is OxygenDevice.NASAL_CANNULA and self.oxygen_flow_l_min is None:
            raise GradingInputError("nasal cannula needs the flow in L/min (<= 6 low-flow, > 6 high-flow)")


def _crs_hypotension(findings: CrsFindings) -> tuple[int, str]:
    if not findings.hypotension:
        return 0, "no hypotension"
    if not findings.vasopressors:
        return 2, "hypotension not requiring vasopressors"
    counted = sorted(v.value for v in findings.vasopressors if v is not Vasopressor.VASOPRESSIN)
    with_vasopressin = Vasopressor.VASOPRESSIN in findings.vasopressors
    names = ", ".join(sorted(v.value for v in findings.vasopressors))
    if len(counted) >= 2:
        return 4, f"hypotension requiring multiple vasopressors excluding vasopressin ({names})"
    note = " (vasopressin does not count as a second vasopressor)" if with_vasopressin and counted else ""
    return 3, f"hypotension requiring one vasopressor with or without vasopressin ({names}){note}"


def _crs_hypoxia(findings: CrsFindings) -> tuple[int, str]:
    device = findings.oxygen_device
    if device is OxygenDevice.NASAL_CANNULA:
        flow = findings.oxygen_flow_l_min
        assert flow is not None  # checked in CrsFindings.__post_init__
        if flow <= LOW_FLOW_MAX_L_MIN:
            return 2, f"hypoxia needing low-flow nasal cannula at {flow:g} L/min (<= 6 L/min)"
        return 3, f"hypoxia needing high-flow nasal cannula at {flow:g} L/min (> 6 L/min)"
    grade = CRS_OXYGEN_GRADE[device]
    if grade == 0:
        return 0, "no hypoxia needing oxygen"
    kind = {2: "oxygen by", 3: "oxygen by", 4: "positive pressure:"}[grade]
    return grade, f"hypoxia needing {kind} {device.value.replace('_', ' ')}"


def _crs_fever(findings: CrsFindings) -> tuple[bool, str]:
    temperature = findings.temperature_c
    shown = "not recorded" if temperature is None else f"{temperature:g} °C"
    if temperature is not None and temperature >= FEVER_THRESHOLD_C:
        return True, f"fever {shown} (>= 38.0 °C)"
    if findings.fever_masked:
        return True, (
            f"temperature {shown} but fever masked by antipyretic/anti-cytokine therapy: "
            "fever no longer required, grade driven by hypotension and hypoxia"
        )
    return False, f"no fever (temperature {shown}, < 38.0 °C) and no antipyretic/anti-cytokine therapy"


def grade_crs(findings: CrsFindings) -> Grade:
    """ASTCT 2019 CRS grade: fever required (unless masked); grade = the more severe of hypotension, hypoxia.

    Grade 5 is death due to CRS where no other cause is the principal factor (ASTCT 2019 text).
    """
    if findings.death_from_crs:
        return Grade(5, ("death due to CRS -> grade 5",))
    has_fever, fever_text = _crs_fever(findings)
    hypotension = _crs_hypotension(findings)
    hypoxia = _crs_hypoxia(findings)
    if not has_fever:
        reasons = (fever_text, *(text for _, text in (hypotension, hypoxia)))
        return Grade(0, (*reasons, "fever >= 38.0 °C is required for CRS: not graded as CRS"))
    return _worst(((1, fever_text), hypotension, hypoxia))


# --------------------------------------------------------------------------- ICANS


class Consciousness(StrEnum):
    """Depressed level of consciousness, not attributable to another cause (ASTCT 2019 Table 5)."""

    ALERT = "alert"
    AWAKENS_SPONTANEOUSLY = "awakens_spontaneously"
    AWAKENS_TO_VOICE = "awakens_to_voice"
    AWAKENS_ONLY_TO_TACTILE = "awakens_only_to_tactile"
    UNAROUSABLE = "unarousable"  # or needs vigorous/repetitive tactile stimuli; stupor or coma


class Seizure(StrEnum):
    """Seizure findings (ASTCT 2019 Table 5)."""

    NONE = "none"
    CLINICAL_RESOLVED_RAPIDLY = "clinical_resolved_rapidly"  # focal or generalised
    NONCONVULSIVE_EEG_RESOLVED = "nonconvulsive_eeg_resolved"  # resolves with intervention
    PROLONGED = "prolonged"  # life-threatening, > 5 min
    REPETITIVE_NO_BASELINE = "repetitive_no_baseline"  # clinical or electrical, no return to baseline


class Motor(StrEnum):
    """Motor findings (ASTCT 2019 Table 5); tremor and myoclonus go to CTCAE and do not grade ICANS."""

    NONE = "none"
    TREMOR_OR_MYOCLONUS = "tremor_or_myoclonus"
    DEEP_FOCAL_WEAKNESS = "deep_focal_weakness"  # hemiparesis or paraparesis


class RaisedIcp(StrEnum):
    """Raised intracranial pressure / cerebral oedema (ASTCT 2019 Table 5); haemorrhage is excluded."""

    FOCAL_OEDEMA = "focal_oedema"
    DIFFUSE_OEDEMA = "diffuse_oedema"
    POSTURING = "posturing"  # decerebrate or decorticate
    CRANIAL_NERVE_VI_PALSY = "cranial_nerve_vi_palsy"
    PAPILLOEDEMA = "papilloedema"
    CUSHINGS_TRIAD = "cushings_triad"


ICE_BANDS: tuple[tuple[int, int, int], ...] = ((10, 10, 0), (7, 9, 1), (3, 6, 2), (0, 2, 3))
"""ICE score bands (low, high, grade), ASTCT 2019 Table 5: 7-9 = 1, 3-6 = 2, 0-2 = 3 (0 + unarousable = 4)."""

CONSCIOUSNESS_GRADE: dict[Consciousness, int] = {
    Consciousness.ALERT: 0,
    Consciousness.AWAKENS_SPONTANEOUSLY: 1,
    Consciousness.AWAKENS_TO_VOICE: 2,
    Consciousness.AWAKENS_ONLY_TO_TACTILE: 3,
    Consciousness.UNAROUSABLE: 4,
}
"""Depressed level of consciousness grades, ASTCT 2019 Table 5."""

SEIZURE_GRADE: dict[Seizure, int] = {
    Seizure.NONE: 0,
    Seizure.CLINICAL_RESOLVED_RAPIDLY: 3,
    Seizure.NONCONVULSIVE_EEG_RESOLVED: 3,
    Seizure.PROLONGED: 4,
    Seizure.REPETITIVE_NO_BASELINE: 4,
}
"""Seizure grades, ASTCT 2019 Table 5 (no grade 1 or 2 seizure exists)."""

MOTOR_GRADE: dict[Motor, int] = {Motor.NONE: 0, Motor.TREMOR_OR_MYOCLONUS: 0, Motor.DEEP_FOCAL_WEAKNESS: 4}
"""Motor finding grades, ASTCT 2019 Table 5 (tremor/myoclonus graded by CTCAE v5 instead)."""

RAISED_ICP_GRADE: dict[RaisedIcp, int] = {finding: 4 for finding in RaisedIcp} | {RaisedIcp.FOCAL_OEDEMA: 3}
"""Raised ICP / cerebral oedema grades, ASTCT 2019 Table 5: focal/local oedema 3, every other sign 4."""


class EncephalopathyTool(StrEnum):
    """The encephalopathy assessment that grades ICANS: ICE in adults and older children, CAPD in children."""

    ICE = "ice"  # Immune effector Cell-associated Encephalopathy score, 0-10, 10 = no impairment
    CAPD = "capd"  # Cornell Assessment of Pediatric Delirium, 0-32, 0 = no sign of delirium


CAPD_MAX = 32
"""CAPD total: 8 observed items scored 0-4 (Traube C et al., Crit Care Med 2014;42(3):656-663)."""

CAPD_DELIRIUM_MIN = 9
"""A CAPD total >= 9 screens positive for delirium (Traube 2014); ASTCT 2019 children's table: >= 9 = grade 3."""

CAPD_BANDS: tuple[tuple[int, int, int], ...] = ((0, 0, 0), (1, 8, 1), (CAPD_DELIRIUM_MIN, CAPD_MAX, 3))
"""CAPD bands (low, high, grade), ASTCT 2019 ICANS grading for children.

The table puts CAPD 1-8 under both grade 1 and grade 2: which of the two is decided by the level of
consciousness (awakens spontaneously = 1, awakens to voice = 2), so a CAPD of 1-8 on its own is grade 1 and the
consciousness domain lifts it to 2. "Unable to perform CAPD" is grade 4. A CAPD of 0 is no ICANS by this domain.
"""

ICE_MIN_AGE_YEARS = 12
"""ASTCT 2019: the ICE score is not suitable for children under 12 (it needs writing and counting back from 100).

The sources disagree at exactly 12: the consensus text as summarised by MDedge (Dec 2018) uses ICE from 12 and
CAPD below 12; the NCI Thesaurus definition of ICANS grade 1 (C188936) uses CAPD "for children 12 and under"
and ICE "for adults and children over 12". A child aged exactly 12 may therefore be graded with either tool.
"""

CAPD_MAX_AGE_YEARS = 12
"""Above this age the CAPD is used only for patients with developmental delay (ASTCT 2019)."""

MAX_AGE_YEARS = 130


@dataclass(frozen=True, slots=True)
class IcansFindings:
    """What the physician enters for ICANS grading (ASTCT 2019): the ICE score, or in a child the CAPD score.

    `ice_score` None means not performed; a patient too unarousable to do it is entered with consciousness
    UNAROUSABLE, and the ICE score then counts as 0 for grade 4.

    Children: `capd_score` (0-32) replaces the ICE score; `capd_not_possible` is "unable to perform CAPD"
    (grade 4). `age_years` is the patient's age at onset in whole years: with it, an ICE score under 12 and a
    CAPD over 12 (unless `developmental_delay`) are refused, since the consensus validated neither. Without an
    age the tool is taken as entered (an ICE score alone grades as in adults, as before this field existed).
    Level of consciousness, seizures, motor findings and raised ICP are graded as in adults: the children's
    table repeats the adult rows (as summarised by MDedge; an infant-specific wording of the consciousness row
    could not be confirmed from the paper's text here, so none is applied).
    """

    ice_score: int | None = None
    consciousness: Consciousness = Consciousness.ALERT
    seizure: Seizure = Seizure.NONE
    seizure_minutes: float | None = None
    motor: Motor = Motor.NONE
    raised_icp: frozenset[RaisedIcp] = field(default_factory=frozenset)
    death_from_icans: bool = False
    capd_score: int | None = None
    capd_not_possible: bool = False
    age_years: int | None = None
    developmental_delay: bool = False

    def __post_init__(self) -> None:
        validate_ice_score(self.ice_score)
        validate_capd_score(self.capd_score)
        validate_age(self.age_years)
        if self.seizure_minutes is not None and self.seizure_minutes < 0:
            raise GradingInputError(f"seizure duration {self.seizure_minutes} min cannot be negative")
        if self.seizure_minutes is not None and self.seizure is Seizure.NONE:
            raise GradingInputError("a seizure duration is entered but no seizure is recorded")
        _check_tool_for_age(self)

    @property
    def tool(self) -> EncephalopathyTool:
        """The tool entered; with no score entered, CAPD for a child aged 12 or under or a patient with
        developmental delay, ICE otherwise (also when the age is not known, as for adults)."""
        if self.capd_score is not None or self.capd_not_possible:
            return EncephalopathyTool.CAPD
        if self.ice_score is not None:
            return EncephalopathyTool.ICE
        if self.age_years is not None and (self.age_years <= CAPD_MAX_AGE_YEARS or self.developmental_delay):
            return EncephalopathyTool.CAPD
        return EncephalopathyTool.ICE


def validate_ice_score(score: int | None) -> None:
    """The ICE score is a whole number from 0 to 10 (10 = no impairment); anything else is refused."""
    if score is None:
        return
    if isinstance(score, bool) or not isinstance(score, int):
        raise GradingInputError(
            f"ICE score must be a whole number from 0 to 10, got {score!r}", field="ice_score"
        )
    if not 0 <= score <= ICE_MAX:
        raise GradingInputError(
            f"ICE score {score} is out of range: the ICE score runs from 0 to 10 "
            "(orientation 4, naming 3, commands 1, writing 1, attention 1)",
            field="ice_score",
        )


def validate_capd_score(score: int | None) -> None:
    """The CAPD score is a whole number from 0 to 32 (0 = no sign of delirium); anything else is refused."""
    if score is None:
        return
    if isinstance(score, bool) or not isinstance(score, int):
        raise GradingInputError(
            f"CAPD score must be a whole number from 0 to 32, got {score!r}", field="capd_score"
        )
    if not 0 <= score <= CAPD_MAX:
        raise GradingInputError(
            f"CAPD score {score} is out of range: the CAPD runs from 0 to 32 "
            "(8 observed items scored 0-4 each; 9 or more screens positive for delirium)",
            field="capd_score",
        )


def validate_age(age_years: int | None) -> None:
    """The age at onset is a whole number of years from 0 (an infant) to 130."""
    if age_years is None:
        return
    if isinstance(age_years, bool) or not isinstance(age_years, int):
        raise GradingInputError(
            f"age at onset must be a whole number of years, got {age_years!r}", field="age_years"
        )
    if not 0 <= age_years <= MAX_AGE_YEARS:
        raise GradingInputError(
            f"age at onset {age_years} years is not a patient's age (0-130); check the entry",
            field="age_years",
        )


def _check_tool_for_age(findings: IcansFindings) -> None:
    """One encephalopathy tool, and the one the consensus validated for the patient's age (ASTCT 2019)."""
    capd = findings.capd_score is not None or findings.capd_not_possible
    if findings.ice_score is not None and capd:
        raise GradingInputError(
            "enter either the ICE score or the CAPD, not both: ICE from age 12, CAPD for younger children",
            field="capd_score",
        )
    if findings.capd_score is not None and findings.capd_not_possible:
        raise GradingInputError(
            f"a CAPD score of {findings.capd_score} is entered but the CAPD is marked as not possible; keep one",
            field="capd_score",
        )
    age = findings.age_years
    if age is None:
        return
    if findings.ice_score is not None and age < ICE_MIN_AGE_YEARS:
        raise GradingInputError(
            f"ICE score entered for a child aged {age}: the ICE score is not used under 12 years "
            "(ASTCT 2019); enter the CAPD score (Cornell Assessment of Pediatric Delirium, 0-32) instead",
            field="ice_score",
        )
    if capd and age > CAPD_MAX_AGE_YEARS and not findings.developmental_delay:
        raise GradingInputError(
            f"CAPD entered for a patient aged {age}: the CAPD grades ICANS in children aged 12 or under, or "
            "in older patients with developmental delay (ASTCT 2019); enter the ICE score, or mark the "
            "developmental delay",
            field="capd_score",
        )


def age_in_years(birth_date: dt.date, on: dt.date) -> int:
    """Completed years of age on a day (a 29 February birthday counts from 1 March in common years)."""
    if on < birth_date:
        raise GradingInputError(f"the day {on.isoformat()} is before the birth date", field="age_years")
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def _who(findings: IcansFindings) -> str:
    age = findings.age_years
    if age is None:
        return ""
    delay = ", developmental delay" if findings.developmental_delay else ""
    noun = "child" if age <= CAPD_MAX_AGE_YEARS else "patient"
    return f" ({noun} aged {age}{delay})"


def _icans_ice(findings: IcansFindings) -> tuple[int, str]:
    score = findings.ice_score
    unarousable = findings.consciousness is Consciousness.UNAROUSABLE
    who = _who(findings)
    if score is None and unarousable:
        return 4, f"ICE score not possible (patient unarousable): counts as 0 with unarousable{who}"
    if score is None:
        return 0, f"ICE score not performed{who}"
    if score == 0 and unarousable:
        return 4, f"ICE score 0 with the patient unarousable{who}"
    grade = next(g for low, high, g in ICE_BANDS if low <= score <= high)
    return grade, f"ICE score {score}/10{who}"


def _icans_capd(findings: IcansFindings) -> tuple[int, str]:
    score = findings.capd_score
    tool = "CAPD (Cornell Assessment of Pediatric Delirium)"
    who = _who(findings)
    if findings.capd_not_possible:
        return 4, f"unable to perform the {tool}{who}"
    if score is None and findings.consciousness is Consciousness.UNAROUSABLE:
        return 4, f"{tool} not possible (patient unarousable){who}"
    if score is None:
        return 0, f"{tool} not performed{who}"
    grade = next(g for low, high, g in CAPD_BANDS if low <= score <= high)
    band = {0: "no sign of delirium", 1: "1-8", 3: ">= 9, screens positive for delirium"}[grade]
    return grade, f"{tool} score {score}/32 ({band}){who}"


def _icans_encephalopathy(findings: IcansFindings) -> tuple[int, str]:
    if findings.tool is EncephalopathyTool.CAPD:
        return _icans_capd(findings)
    return _icans_ice(findings)


def _icans_seizure(findings: IcansFindings) -> tuple[int, str]:
    minutes = findings.seizure_minutes
    if minutes is not None and minutes > PROLONGED_SEIZURE_MIN:
        return 4, f"seizure lasting {minutes:g} min (> 5 min: prolonged)"
    text = "no seizure" if findings.seizure is Seizure.NONE else f"seizure: {findings.seizure.value}"
    return SEIZURE_GRADE[findings.seizure], text


def _icans_raised_icp(findings: IcansFindings) -> tuple[int, str]:
    if not findings.raised_icp:
        return 0, "no raised ICP or cerebral oedema"
    names = ", ".join(sorted(f.value for f in findings.raised_icp))
    return max(RAISED_ICP_GRADE[f] for f in findings.raised_icp), f"raised ICP / cerebral oedema: {names}"


def icans_domains(findings: IcansFindings) -> tuple[tuple[int, str], ...]:
    """The five ICANS domains as (grade, reason): encephalopathy (ICE or CAPD), consciousness, seizure,
    motor, raised ICP/cerebral oedema (ASTCT 2019, adults' and children's tables)."""
    consciousness = findings.consciousness
    motor = findings.motor
    motor_text = "motor: " + motor.value
    if motor is Motor.TREMOR_OR_MYOCLONUS:
        motor_text += " (graded by CTCAE v5, does not influence ICANS)"
    return (
        _icans_encephalopathy(findings),
        (CONSCIOUSNESS_GRADE[consciousness], "level of consciousness: " + consciousness.value),
        _icans_seizure(findings),
        (MOTOR_GRADE[motor], motor_text),
        _icans_raised_icp(findings),
    )


def grade_icans(findings: IcansFindings) -> Grade:
    """ASTCT 2019 ICANS grade: the most severe of encephalopathy, consciousness, seizure, motor, raised ICP.

    The encephalopathy domain is the ICE score (adults, children >= 12) or the CAPD (children <= 12, older
    patients with developmental delay): CAPD 1-8 = 1, >= 9 = 3, unable to perform = 4 (children's table).
    Grade 5 is death due to ICANS where no other cause is the principal factor (ASTCT 2019 text).
    """
    if findings.death_from_icans:
        return Grade(5, ("death due to ICANS -> grade 5",))
    return _worst(icans_domains(findings))


# --------------------------------------------------------------------------- CTCAE v5

CTCAE_V5_GRADES: dict[int, str] = {
    1: "mild; asymptomatic or mild symptoms; clinical or diagnostic observations only; "
    "intervention not indicated",
    2: "moderate; minimal, local or noninvasive intervention indicated; "
    "limiting age-appropriate instrumental ADL",
    3: "severe or medically significant but not immediately life-threatening; hospitalisation indicated; "
    "limiting self-care ADL",
    4: "life-threatening consequences; urgent intervention indicated",
    5: "death related to adverse event",
}
"""General grade definitions of NCI CTCAE v5.0 (27 Nov 2017); term criteria stay with the physician."""


@dataclass(frozen=True, slots=True)
class CtcaeGrade:
    """A CTCAE v5.0 grade entered by the physician for an adverse event other than CRS/ICANS (T-9.2.7)."""

    term: str
    grade: int

    def __post_init__(self) -> None:
        if not self.term.strip():
            raise GradingInputError("a CTCAE grade needs the adverse-event term")
        if (
            isinstance(self.grade, bool)
            or not isinstance(self.grade, int)
            or self.grade not in CTCAE_V5_GRADES
        ):
            raise GradingInputError(f"CTCAE v5 grade must be 1, 2, 3, 4 or 5, got {self.grade!r}")

    @property
    def meaning(self) -> str:
        return CTCAE_V5_GRADES[self.grade]
