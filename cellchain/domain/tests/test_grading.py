"""ASTCT 2019 CRS/ICANS grading (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638) and CTCAE v5.

Used by the adverse-event record (T-8.2.7, T-9.2.4, T-9.2.7, T-10.8). Table-driven over every grade boundary,
with hypothesis properties: the grade never falls when a finding gets worse, and the ICANS grade (adults and
children, ICE or CAPD) is the worst domain by an oracle written from the published tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.grading import (
    Consciousness,
    CrsFindings,
    CtcaeGrade,
    EncephalopathyTool,
    GradingInputError,
    IcansFindings,
    Motor,
    OxygenDevice,
    RaisedIcp,
    Seizure,
    Vasopressor,
    age_in_years,
    grade_crs,
    grade_icans,
)

NE, EPI, VP = Vasopressor.NOREPINEPHRINE, Vasopressor.EPINEPHRINE, Vasopressor.VASOPRESSIN


def crs(**kw: object) -> CrsFindings:
    return CrsFindings(**kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- CRS table

CRS_CASES = [
    # id, findings, expected grade
    ("afebrile_no_crs", crs(temperature_c=37.9), 0),
    ("no_temperature_no_crs", crs(), 0),
    ("fever_exactly_38_is_grade_1", crs(temperature_c=38.0), 1),
    ("fever_alone_grade_1", crs(temperature_c=39.4), 1),
    (
        "hypotension_without_fever_is_not_crs",
        crs(temperature_c=37.0, hypotension=True, vasopressors=frozenset({NE})),
        0,
    ),
    ("hypotension_no_pressor_grade_2", crs(temperature_c=38.5, hypotension=True), 2),
    ("one_pressor_grade_3", crs(temperature_c=38.5, hypotension=True, vasopressors=frozenset({NE})), 3),
    ("vasopressin_alone_grade_3", crs(temperature_c=38.5, hypotension=True, vasopressors=frozenset({VP})), 3),
    (
        "pressor_plus_vasopressin_still_grade_3",
        crs(temperature_c=38.5, hypotension=True, vasopressors=frozenset({NE, VP})),
        3,
    ),
    ("two_pressors_grade_4", crs(temperature_c=38.5, hypotension=True, vasopressors=frozenset({NE, EPI})), 4),
    ("blow_by_grade_2", crs(temperature_c=38.2, oxygen_device=OxygenDevice.BLOW_BY), 2),
    (
        "nasal_cannula_6_l_low_flow_grade_2",
        crs(temperature_c=38.2, oxygen_device=OxygenDevice.NASAL_CANNULA, oxygen_flow_l_min=6.0),
        2,
    ),
    (
        "nasal_cannula_above_6_l_high_flow_grade_3",
        crs(temperature_c=38.2, oxygen_device=OxygenDevice.NASAL_CANNULA, oxygen_flow_l_min=6.5),
        3,
    ),
    ("facemask_grade_3", crs(temperature_c=38.2, oxygen_device=OxygenDevice.FACEMASK), 3),
    ("non_rebreather_grade_3", crs(temperature_c=38.2, oxygen_device=OxygenDevice.NON_REBREATHER), 3),
    ("venturi_grade_3", crs(temperature_c=38.2, oxygen_device=OxygenDevice.VENTURI), 3),
    ("cpap_grade_4", crs(temperature_c=38.2, oxygen_device=OxygenDevice.CPAP), 4),
    ("bipap_grade_4", crs(temperature_c=38.2, oxygen_device=OxygenDevice.BIPAP), 4),
    ("ventilation_grade_4", crs(temperature_c=38.2, oxygen_device=OxygenDevice.MECHANICAL_VENTILATION), 4),
    (
        "more_severe_of_hypotension_and_hypoxia",
        crs(
            temperature_c=38.2,
            hypotension=True,
            vasopressors=frozenset({NE}),
            oxygen_device=OxygenDevice.NASAL_CANNULA,
            oxygen_flow_l_min=2,
        ),
        3,
    ),
    (
        "hypoxia_wins_over_milder_hypotension",
        crs(temperature_c=38.2, hypotension=True, oxygen_device=OxygenDevice.CPAP),
        4,
    ),
    (
        "masked_fever_graded_by_hypotension",
        crs(temperature_c=36.8, fever_masked=True, hypotension=True, vasopressors=frozenset({NE})),
        3,
    ),
    (
        "masked_fever_graded_by_hypoxia",
        crs(temperature_c=37.0, fever_masked=True, oxygen_device=OxygenDevice.BLOW_BY),
        2,
    ),
    ("masked_fever_without_hypotension_or_hypoxia_grade_1", crs(temperature_c=37.0, fever_masked=True), 1),
    ("death_from_crs_grade_5", crs(temperature_c=40.0, death_from_crs=True), 5),
]


@pytest.mark.parametrize(("findings", "expected"), [c[1:] for c in CRS_CASES], ids=[c[0] for c in CRS_CASES])
def test_crs_grade_at_every_astct_boundary(findings: CrsFindings, expected: int) -> None:
    assert grade_crs(findings).grade == expected


def test_crs_reasoning_names_vasopressin_not_counted_as_second() -> None:
    result = grade_crs(crs(temperature_c=38.5, hypotension=True, vasopressors=frozenset({NE, VP})))
    assert any("vasopressin does not count as a second" in r for r in result.reasons)
    assert result.reasons[-1].startswith("grade 3 set by: hypotension requiring one vasopressor")


def test_crs_reasoning_names_the_deciding_finding() -> None:
    result = grade_crs(crs(temperature_c=38.2, hypotension=True, oxygen_device=OxygenDevice.VENTURI))
    assert result.grade == 3
    assert "hypoxia needing oxygen by venturi" in result.reasons[-1]
    assert "hypotension not requiring vasopressors -> grade 2" in result.reasons


def test_crs_reasoning_explains_missing_fever() -> None:
    result = grade_crs(crs(temperature_c=37.2, hypotension=True))
    assert result.grade == 0
    assert "fever >= 38.0 °C is required" in result.reasons[-1]


def test_crs_masked_fever_reason_mentions_antipyretic_or_anti_cytokine() -> None:
    result = grade_crs(crs(temperature_c=37.0, fever_masked=True, oxygen_device=OxygenDevice.FACEMASK))
    assert any("anti-cytokine" in r for r in result.reasons)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature_c": 50.0}, "not a body temperature"),
        ({"temperature_c": 38.5, "vasopressors": frozenset({NE})}, "hypotension is not"),
        ({"temperature_c": 38.5, "oxygen_device": OxygenDevice.NASAL_CANNULA}, "needs the flow"),
        (
            {"temperature_c": 38.5, "oxygen_device": OxygenDevice.NASAL_CANNULA, "oxygen_flow_l_min": -1},
            "negative",
        ),
    ],
)
def test_crs_bad_findings_are_refused_with_a_message(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(GradingInputError, match=message):
        crs(**kwargs)


# --------------------------------------------------------------------------- ICANS table


def icans(**kw: object) -> IcansFindings:
    return IcansFindings(**kw)  # type: ignore[arg-type]


ICANS_CASES = [
    ("no_findings_grade_0", icans(), 0),
    ("ice_10_grade_0", icans(ice_score=10), 0),
    ("ice_9_grade_1", icans(ice_score=9), 1),
    ("ice_7_grade_1", icans(ice_score=7), 1),
    ("ice_6_grade_2", icans(ice_score=6), 2),
    ("ice_3_grade_2", icans(ice_score=3), 2),
    ("ice_2_grade_3", icans(ice_score=2), 3),
    ("ice_0_awake_grade_3", icans(ice_score=0), 3),
    ("ice_0_unarousable_grade_4", icans(ice_score=0, consciousness=Consciousness.UNAROUSABLE), 4),
    ("ice_not_possible_unarousable_grade_4", icans(consciousness=Consciousness.UNAROUSABLE), 4),
    ("awakens_spontaneously_grade_1", icans(consciousness=Consciousness.AWAKENS_SPONTANEOUSLY), 1),
    ("awakens_to_voice_grade_2", icans(consciousness=Consciousness.AWAKENS_TO_VOICE), 2),
    ("awakens_only_to_tactile_grade_3", icans(consciousness=Consciousness.AWAKENS_ONLY_TO_TACTILE), 3),
    ("seizure_resolving_rapidly_grade_3", icans(seizure=Seizure.CLINICAL_RESOLVED_RAPIDLY), 3),
    ("nonconvulsive_eeg_resolved_grade_3", icans(seizure=Seizure.NONCONVULSIVE_EEG_RESOLVED), 3),
    ("seizure_exactly_5_min_grade_3", icans(seizure=Seizure.CLINICAL_RESOLVED_RAPIDLY, seizure_minutes=5), 3),
    ("seizure_over_5_min_grade_4", icans(seizure=Seizure.CLINICAL_RESOLVED_RAPIDLY, seizure_minutes=5.5), 4),
    ("prolonged_seizure_grade_4", icans(seizure=Seizure.PROLONGED), 4),
    ("repetitive_seizures_grade_4", icans(seizure=Seizure.REPETITIVE_NO_BASELINE), 4),
    ("tremor_does_not_grade_icans", icans(motor=Motor.TREMOR_OR_MYOCLONUS), 0),
    ("hemiparesis_grade_4", icans(motor=Motor.DEEP_FOCAL_WEAKNESS), 4),
    ("focal_oedema_grade_3", icans(raised_icp=frozenset({RaisedIcp.FOCAL_OEDEMA})), 3),
    ("diffuse_oedema_grade_4", icans(raised_icp=frozenset({RaisedIcp.DIFFUSE_OEDEMA})), 4),
    ("posturing_grade_4", icans(raised_icp=frozenset({RaisedIcp.POSTURING})), 4),
    ("cn_vi_palsy_grade_4", icans(raised_icp=frozenset({RaisedIcp.CRANIAL_NERVE_VI_PALSY})), 4),
    ("papilloedema_grade_4", icans(raised_icp=frozenset({RaisedIcp.PAPILLOEDEMA})), 4),
    ("cushings_triad_grade_4", icans(raised_icp=frozenset({RaisedIcp.CUSHINGS_TRIAD})), 4),
    (
        "ice_3_with_generalised_seizure_grade_3",
        icans(ice_score=3, seizure=Seizure.CLINICAL_RESOLVED_RAPIDLY),
        3,
    ),
    ("death_from_icans_grade_5", icans(ice_score=0, death_from_icans=True), 5),
]


@pytest.mark.parametrize(
    ("findings", "expected"), [c[1:] for c in ICANS_CASES], ids=[c[0] for c in ICANS_CASES]
)
def test_icans_grade_at_every_astct_boundary(findings: IcansFindings, expected: int) -> None:
    assert grade_icans(findings).grade == expected


def test_icans_ice_score_11_is_refused_with_the_range() -> None:
    with pytest.raises(
        GradingInputError, match=r"ICE score 11 is out of range: the ICE score runs from 0 to 10"
    ):
        icans(ice_score=11)


@pytest.mark.parametrize("bad", [-1, 11, 100, 7.5, "7", True])
def test_icans_ice_score_outside_whole_0_to_10_is_refused(bad: object) -> None:
    with pytest.raises(GradingInputError, match="ICE score"):
        icans(ice_score=bad)


def test_icans_seizure_duration_without_seizure_is_refused() -> None:
    with pytest.raises(GradingInputError, match="no seizure is recorded"):
        icans(seizure_minutes=2)


def test_icans_reasoning_lists_every_domain_and_the_decider() -> None:
    result = grade_icans(icans(ice_score=5, consciousness=Consciousness.AWAKENS_ONLY_TO_TACTILE))
    assert result.grade == 3
    assert "ICE score 5/10 -> grade 2" in result.reasons
    assert result.reasons[-1] == "grade 3 set by: level of consciousness: awakens_only_to_tactile"
    assert len(result.reasons) == 6  # five domains + summary


def test_icans_unarousable_without_ice_says_it_counts_as_zero() -> None:
    result = grade_icans(icans(consciousness=Consciousness.UNAROUSABLE))
    assert any("counts as 0" in r for r in result.reasons)


# --------------------------------------------------------------------------- monotonicity (hypothesis)

temperatures = st.one_of(st.none(), st.floats(min_value=35.0, max_value=42.0))
devices = st.sampled_from(list(OxygenDevice))
flows = st.floats(min_value=0.5, max_value=60.0)
pressors = st.frozensets(st.sampled_from(list(Vasopressor)))


@st.composite
def crs_findings(draw: st.DrawFn) -> CrsFindings:
    vasopressors = draw(pressors)
    hypotension = bool(vasopressors) or draw(st.booleans())
    device = draw(devices)
    flow = draw(flows) if device is OxygenDevice.NASAL_CANNULA else None
    return CrsFindings(draw(temperatures), draw(st.booleans()), hypotension, vasopressors, device, flow)


@given(crs_findings(), st.floats(min_value=0.0, max_value=3.0))
def test_crs_grade_never_falls_as_temperature_rises(findings: CrsFindings, rise: float) -> None:
    if findings.temperature_c is None:
        return
    hotter = dataclasses.replace(findings, temperature_c=min(findings.temperature_c + rise, 45.0))
    assert grade_crs(hotter).grade >= grade_crs(findings).grade


@given(crs_findings(), st.sampled_from(list(Vasopressor)))
def test_crs_grade_never_falls_when_a_vasopressor_is_added(findings: CrsFindings, added: Vasopressor) -> None:
    worse = dataclasses.replace(findings, hypotension=True, vasopressors=findings.vasopressors | {added})
    assert grade_crs(worse).grade >= grade_crs(findings).grade


@given(crs_findings())
def test_crs_grade_never_falls_when_hypotension_or_masking_appears(findings: CrsFindings) -> None:
    base = grade_crs(findings).grade
    assert grade_crs(dataclasses.replace(findings, hypotension=True)).grade >= base
    assert grade_crs(dataclasses.replace(findings, fever_masked=True)).grade >= base
    assert grade_crs(dataclasses.replace(findings, death_from_crs=True)).grade == 5


OXYGEN_SEVERITY = [
    (OxygenDevice.NONE, None),
    (OxygenDevice.BLOW_BY, None),
    (OxygenDevice.NASAL_CANNULA, 2.0),
    (OxygenDevice.NASAL_CANNULA, 6.0),
    (OxygenDevice.NASAL_CANNULA, 8.0),
    (OxygenDevice.FACEMASK, None),
    (OxygenDevice.CPAP, None),
]


@given(crs_findings(), st.integers(0, len(OXYGEN_SEVERITY) - 2), st.integers(1, len(OXYGEN_SEVERITY) - 1))
def test_crs_grade_never_falls_as_oxygen_support_escalates(
    findings: CrsFindings, low: int, step: int
) -> None:
    high = min(low + step, len(OXYGEN_SEVERITY) - 1)
    (d1, f1), (d2, f2) = OXYGEN_SEVERITY[low], OXYGEN_SEVERITY[high]
    milder = dataclasses.replace(findings, oxygen_device=d1, oxygen_flow_l_min=f1)
    worse = dataclasses.replace(findings, oxygen_device=d2, oxygen_flow_l_min=f2)
    assert grade_crs(worse).grade >= grade_crs(milder).grade


@given(crs_findings())
def test_crs_grade_is_between_0_and_4_without_death(findings: CrsFindings) -> None:
    assert 0 <= grade_crs(findings).grade <= 4


CONSCIOUSNESS_ORDER = list(Consciousness)
SEIZURE_ORDER = [Seizure.NONE, Seizure.CLINICAL_RESOLVED_RAPIDLY, Seizure.PROLONGED]


@st.composite
def icans_findings(draw: st.DrawFn) -> IcansFindings:
    seizure = draw(st.sampled_from(list(Seizure)))
    minutes = draw(st.one_of(st.none(), st.floats(0, 30))) if seizure is not Seizure.NONE else None
    return IcansFindings(
        ice_score=draw(st.one_of(st.none(), st.integers(0, 10))),
        consciousness=draw(st.sampled_from(CONSCIOUSNESS_ORDER)),
        seizure=seizure,
        seizure_minutes=minutes,
        motor=draw(st.sampled_from(list(Motor))),
        raised_icp=draw(st.frozensets(st.sampled_from(list(RaisedIcp)))),
    )


@given(icans_findings(), st.integers(0, 10))
def test_icans_grade_never_falls_as_ice_score_drops(findings: IcansFindings, drop: int) -> None:
    if findings.ice_score is None:
        return
    lower = dataclasses.replace(findings, ice_score=max(findings.ice_score - drop, 0))
    assert grade_icans(lower).grade >= grade_icans(findings).grade


@given(icans_findings(), st.integers(0, len(CONSCIOUSNESS_ORDER) - 1))
def test_icans_grade_never_falls_as_consciousness_deepens(findings: IcansFindings, step: int) -> None:
    current = CONSCIOUSNESS_ORDER.index(findings.consciousness)
    deeper = CONSCIOUSNESS_ORDER[min(current + step, len(CONSCIOUSNESS_ORDER) - 1)]
    assert (
        grade_icans(dataclasses.replace(findings, consciousness=deeper)).grade >= grade_icans(findings).grade
    )


@given(icans_findings(), st.sampled_from(list(RaisedIcp)))
def test_icans_grade_never_falls_when_a_raised_icp_sign_is_added(
    findings: IcansFindings, sign: RaisedIcp
) -> None:
    worse = dataclasses.replace(findings, raised_icp=findings.raised_icp | {sign})
    assert grade_icans(worse).grade >= grade_icans(findings).grade


@given(icans_findings())
def test_icans_grade_never_falls_with_motor_weakness_or_prolonged_seizure(findings: IcansFindings) -> None:
    base = grade_icans(findings).grade
    assert grade_icans(dataclasses.replace(findings, motor=Motor.DEEP_FOCAL_WEAKNESS)).grade == 4
    prolonged = dataclasses.replace(findings, seizure=Seizure.PROLONGED, seizure_minutes=None)
    assert grade_icans(prolonged).grade == 4 >= base


@given(icans_findings(), st.floats(0, 30))
def test_icans_grade_never_falls_as_a_seizure_lasts_longer(findings: IcansFindings, longer: float) -> None:
    if findings.seizure is Seizure.NONE:
        return
    start = findings.seizure_minutes or 0.0
    longer_seizure = dataclasses.replace(findings, seizure_minutes=start + longer)
    assert grade_icans(longer_seizure).grade >= grade_icans(findings).grade


# --------------------------------------------------------------------------- ICANS in children (CAPD)

CAPD = EncephalopathyTool.CAPD


def child(age: int = 5, **kw: object) -> IcansFindings:
    return IcansFindings(age_years=age, **kw)  # type: ignore[arg-type]


PAEDIATRIC_CASES = [
    # ASTCT 2019 ICANS grading for children: CAPD 1-8 = grade 1 (grade 2 with awakening to voice), >= 9 = 3,
    # unable to perform CAPD = 4; the other domains as in adults.
    ("capd_0_grade_0", child(capd_score=0), 0),
    ("capd_1_grade_1", child(capd_score=1), 1),
    ("capd_8_grade_1", child(capd_score=8), 1),
    (
        "capd_8_awakens_spontaneously_grade_1",
        child(capd_score=8, consciousness=Consciousness.AWAKENS_SPONTANEOUSLY),
        1,
    ),
    ("capd_8_awakens_to_voice_grade_2", child(capd_score=8, consciousness=Consciousness.AWAKENS_TO_VOICE), 2),
    ("capd_1_awakens_to_voice_grade_2", child(capd_score=1, consciousness=Consciousness.AWAKENS_TO_VOICE), 2),
    ("capd_9_grade_3", child(capd_score=9), 3),
    ("capd_12_grade_3", child(capd_score=12), 3),
    ("capd_32_grade_3", child(capd_score=32), 3),
    (
        "capd_9_awakens_only_to_tactile_grade_3",
        child(capd_score=9, consciousness=Consciousness.AWAKENS_ONLY_TO_TACTILE),
        3,
    ),
    ("unable_to_perform_capd_grade_4", child(capd_not_possible=True), 4),
    ("capd_not_possible_unarousable_grade_4", child(consciousness=Consciousness.UNAROUSABLE), 4),
    ("capd_not_performed_grade_0", child(), 0),
    ("capd_3_with_seizure_grade_3", child(capd_score=3, seizure=Seizure.CLINICAL_RESOLVED_RAPIDLY), 3),
    ("capd_3_with_prolonged_seizure_grade_4", child(capd_score=3, seizure=Seizure.PROLONGED), 4),
    ("capd_4_with_hemiparesis_grade_4", child(capd_score=4, motor=Motor.DEEP_FOCAL_WEAKNESS), 4),
    ("capd_2_focal_oedema_grade_3", child(capd_score=2, raised_icp=frozenset({RaisedIcp.FOCAL_OEDEMA})), 3),
    ("capd_2_papilloedema_grade_4", child(capd_score=2, raised_icp=frozenset({RaisedIcp.PAPILLOEDEMA})), 4),
    ("capd_tremor_does_not_grade", child(capd_score=0, motor=Motor.TREMOR_OR_MYOCLONUS), 0),
    ("infant_capd_10_grade_3", child(age=0, capd_score=10), 3),
    ("death_from_icans_child_grade_5", child(capd_score=20, death_from_icans=True), 5),
    ("age_12_may_use_capd", child(age=12, capd_score=9), 3),
    ("age_12_may_use_ice", child(age=12, ice_score=7), 1),
    ("age_15_ice_as_adult", child(age=15, ice_score=5), 2),
    ("age_15_developmental_delay_capd", child(age=15, capd_score=10, developmental_delay=True), 3),
    (
        "age_30_developmental_delay_capd_not_possible",
        child(age=30, capd_not_possible=True, developmental_delay=True),
        4,
    ),
]


@pytest.mark.parametrize(
    ("findings", "expected"), [c[1:] for c in PAEDIATRIC_CASES], ids=[c[0] for c in PAEDIATRIC_CASES]
)
def test_icans_children_grade_at_every_astct_boundary(findings: IcansFindings, expected: int) -> None:
    assert grade_icans(findings).grade == expected


def test_capd_33_is_refused_with_the_range() -> None:
    with pytest.raises(
        GradingInputError, match=r"CAPD score 33 is out of range: the CAPD runs from 0 to 32"
    ) as e:
        child(capd_score=33)
    assert e.value.field == "capd_score"


@pytest.mark.parametrize("bad", [-1, 33, 100, 7.5, "9", True])
def test_capd_outside_whole_0_to_32_is_refused(bad: object) -> None:
    with pytest.raises(GradingInputError, match="CAPD score"):
        child(capd_score=bad)


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=33)))
def test_any_capd_outside_0_to_32_is_refused(score: int) -> None:
    with pytest.raises(GradingInputError, match=f"CAPD score {score} is out of range"):
        child(capd_score=score)


@given(st.integers(0, 32), st.integers(0, 12))
def test_every_capd_0_to_32_is_accepted_for_a_child(score: int, age: int) -> None:
    result = grade_icans(child(age=age, capd_score=score))
    assert result.grade == (0 if score == 0 else 1 if score <= 8 else 3)


@pytest.mark.parametrize("age", [0, 5, 11])
def test_ice_score_in_a_child_under_12_is_refused_naming_the_capd(age: int) -> None:
    with pytest.raises(
        GradingInputError, match=rf"ICE score entered for a child aged {age}: .* enter the CAPD"
    ) as e:
        child(age=age, ice_score=8)
    assert e.value.field == "ice_score"


@pytest.mark.parametrize("age", [13, 17, 45])
def test_capd_over_12_without_developmental_delay_is_refused(age: int) -> None:
    with pytest.raises(
        GradingInputError, match=rf"CAPD entered for a patient aged {age}: .*developmental delay"
    ):
        child(age=age, capd_score=4)
    with pytest.raises(GradingInputError, match="developmental delay"):
        child(age=age, capd_not_possible=True)


def test_ice_and_capd_together_are_refused() -> None:
    with pytest.raises(GradingInputError, match="either the ICE score or the CAPD, not both"):
        child(age=12, ice_score=9, capd_score=3)
    with pytest.raises(GradingInputError, match="not both"):
        icans(ice_score=9, capd_not_possible=True)


def test_capd_score_and_not_possible_together_are_refused() -> None:
    with pytest.raises(GradingInputError, match="marked as not possible"):
        child(capd_score=4, capd_not_possible=True)


@pytest.mark.parametrize("bad", [-1, 131, 5.5, "5", True])
def test_age_outside_0_to_130_whole_years_is_refused(bad: object) -> None:
    with pytest.raises(GradingInputError, match="age at onset") as e:
        icans(age_years=bad)
    assert e.value.field == "age_years"


def test_capd_reasoning_names_the_tool_the_age_and_the_decider() -> None:
    result = grade_icans(child(age=5, capd_score=12, consciousness=Consciousness.AWAKENS_TO_VOICE))
    assert result.grade == 3
    line = "CAPD (Cornell Assessment of Pediatric Delirium) score 12/32 (>= 9, screens positive for delirium)"
    assert f"{line} (child aged 5) -> grade 3" in result.reasons
    assert "level of consciousness: awakens_to_voice -> grade 2" in result.reasons
    assert result.reasons[-1] == f"grade 3 set by: {line} (child aged 5)"
    assert len(result.reasons) == 6  # five domains + summary


def test_capd_1_to_8_with_voice_says_consciousness_decides_grade_2() -> None:
    result = grade_icans(child(age=7, capd_score=6, consciousness=Consciousness.AWAKENS_TO_VOICE))
    assert result.grade == 2
    assert any(
        r.startswith("CAPD (Cornell Assessment of Pediatric Delirium) score 6/32 (1-8)")
        for r in result.reasons
    )
    assert result.reasons[-1] == "grade 2 set by: level of consciousness: awakens_to_voice"


def test_unable_to_perform_capd_reason() -> None:
    result = grade_icans(child(age=3, capd_not_possible=True))
    assert result.reasons[0] == (
        "unable to perform the CAPD (Cornell Assessment of Pediatric Delirium) (child aged 3) -> grade 4"
    )


def test_child_without_score_reason_says_capd_not_performed() -> None:
    findings = child(age=4)
    assert findings.tool is CAPD
    assert (
        grade_icans(findings)
        .reasons[0]
        .startswith("CAPD (Cornell Assessment of Pediatric Delirium) not performed")
    )


def test_ice_reason_names_the_age_when_known_and_keeps_the_adult_wording_without() -> None:
    assert (
        "ICE score 7/10 (patient aged 40) -> grade 1" in grade_icans(icans(ice_score=7, age_years=40)).reasons
    )
    assert "ICE score 7/10 -> grade 1" in grade_icans(icans(ice_score=7)).reasons


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (dt.date(2020, 6, 15), dt.date(2025, 6, 14), 4),
        (dt.date(2020, 6, 15), dt.date(2025, 6, 15), 5),
        (dt.date(2016, 2, 29), dt.date(2021, 2, 28), 4),
        (dt.date(2016, 2, 29), dt.date(2021, 3, 1), 5),
        (dt.date(2016, 2, 29), dt.date(2024, 2, 29), 8),
        (dt.date(2025, 1, 1), dt.date(2025, 1, 1), 0),
    ],
)
def test_age_in_completed_years(birth: dt.date, on: dt.date, age: int) -> None:
    assert age_in_years(birth, on) == age


def test_age_before_birth_is_refused() -> None:
    with pytest.raises(GradingInputError, match="before the birth date"):
        age_in_years(dt.date(2020, 1, 2), dt.date(2020, 1, 1))


# The oracle: the published ASTCT 2019 tables written out independently of the module's own tables.
ORACLE_CONSCIOUSNESS = {
    "alert": 0,
    "awakens_spontaneously": 1,
    "awakens_to_voice": 2,
    "awakens_only_to_tactile": 3,
    "unarousable": 4,
}
ORACLE_SEIZURE = {
    "none": 0,
    "clinical_resolved_rapidly": 3,
    "nonconvulsive_eeg_resolved": 3,
    "prolonged": 4,
    "repetitive_no_baseline": 4,
}


def oracle_encephalopathy(f: IcansFindings) -> int:
    unarousable = f.consciousness is Consciousness.UNAROUSABLE
    if f.capd_not_possible:
        return 4
    if f.capd_score is not None:
        return 0 if f.capd_score == 0 else 1 if f.capd_score <= 8 else 3
    if f.ice_score is None:
        return 4 if unarousable else 0
    if f.ice_score == 0 and unarousable:
        return 4
    return 0 if f.ice_score == 10 else 1 if f.ice_score >= 7 else 2 if f.ice_score >= 3 else 3


def oracle_grade(f: IcansFindings) -> int:
    if f.death_from_icans:
        return 5
    seizure = 4 if (f.seizure_minutes or 0) > 5 else ORACLE_SEIZURE[f.seizure.value]
    motor = 4 if f.motor is Motor.DEEP_FOCAL_WEAKNESS else 0
    icp = max((3 if s is RaisedIcp.FOCAL_OEDEMA else 4 for s in f.raised_icp), default=0)
    return max(oracle_encephalopathy(f), ORACLE_CONSCIOUSNESS[f.consciousness.value], seizure, motor, icp)


@st.composite
def child_findings(draw: st.DrawFn) -> IcansFindings:
    """A child's findings: age 0-12 (or older with developmental delay) graded by CAPD."""
    seizure = draw(st.sampled_from(list(Seizure)))
    not_possible = draw(st.booleans())
    delay = draw(st.booleans())
    return IcansFindings(
        consciousness=draw(st.sampled_from(CONSCIOUSNESS_ORDER)),
        seizure=seizure,
        seizure_minutes=draw(st.one_of(st.none(), st.floats(0, 30))) if seizure is not Seizure.NONE else None,
        motor=draw(st.sampled_from(list(Motor))),
        raised_icp=draw(st.frozensets(st.sampled_from(list(RaisedIcp)))),
        death_from_icans=draw(st.integers(0, 20)) == 0,
        capd_score=None if not_possible else draw(st.one_of(st.none(), st.integers(0, 32))),
        capd_not_possible=not_possible,
        age_years=draw(st.integers(0, 40) if delay else st.integers(0, 12)),
        developmental_delay=delay,
    )


def with_age(findings: IcansFindings, age: int) -> IcansFindings:
    return dataclasses.replace(findings, age_years=age)


ice_findings_with_age = st.builds(with_age, icans_findings(), st.integers(12, 100))


@given(st.one_of(child_findings(), icans_findings(), ice_findings_with_age))
def test_icans_grade_is_the_worst_domain_for_children_and_adults(findings: IcansFindings) -> None:
    result = grade_icans(findings)
    assert result.grade == oracle_grade(findings)
    if not findings.death_from_icans:
        domain_grades = [int(r.rsplit("-> grade ", 1)[1]) for r in result.reasons[:-1]]
        assert len(domain_grades) == 5 and result.grade == max(domain_grades)


@given(child_findings())
def test_icans_encephalopathy_reason_names_the_tool_used(findings: IcansFindings) -> None:
    if findings.death_from_icans:
        return
    first = grade_icans(findings).reasons[0]
    assert findings.tool is CAPD and "CAPD (Cornell Assessment of Pediatric Delirium)" in first
    assert "ICE" not in first and f"aged {findings.age_years}" in first


@given(child_findings(), st.integers(0, 32))
def test_icans_grade_never_falls_as_the_capd_rises(findings: IcansFindings, rise: int) -> None:
    if findings.capd_score is None:
        return
    worse = dataclasses.replace(findings, capd_score=min(findings.capd_score + rise, 32))
    assert grade_icans(worse).grade >= grade_icans(findings).grade


@given(child_findings())
def test_icans_unable_to_perform_capd_is_at_least_grade_4(findings: IcansFindings) -> None:
    unable = dataclasses.replace(findings, capd_score=None, capd_not_possible=True)
    assert grade_icans(unable).grade >= 4


@given(st.integers(0, 11), st.integers(0, 10))
def test_any_ice_score_under_12_is_refused(age: int, score: int) -> None:
    with pytest.raises(GradingInputError, match="enter the CAPD"):
        child(age=age, ice_score=score)


# --------------------------------------------------------------------------- CTCAE v5


@pytest.mark.parametrize("grade", [1, 2, 3, 4, 5])
def test_ctcae_grade_accepts_1_to_5_with_its_meaning(grade: int) -> None:
    value = CtcaeGrade("febrile neutropenia", grade)
    assert value.meaning


@pytest.mark.parametrize("grade", [0, 6, -1, 2.5, True])
def test_ctcae_grade_outside_1_to_5_is_refused(grade: object) -> None:
    with pytest.raises(GradingInputError, match="CTCAE v5 grade must be"):
        CtcaeGrade("anaemia", grade)  # type: ignore[arg-type]


def test_ctcae_grade_needs_a_term() -> None:
    with pytest.raises(GradingInputError, match="term"):
        CtcaeGrade("  ", 2)
