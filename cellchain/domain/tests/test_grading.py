"""ASTCT 2019 CRS/ICANS grading (Lee et al., Biol Blood Marrow Transplant 2019;25:625-638) and CTCAE v5.

Used by the adverse-event record (T-8.2.7, T-9.2.4, T-9.2.7, T-10.8). Table-driven over every grade boundary,
with hypothesis properties: the grade never falls when a finding gets worse.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.grading import (
    Consciousness,
    CrsFindings,
    CtcaeGrade,
    GradingInputError,
    IcansFindings,
    Motor,
    OxygenDevice,
    RaisedIcp,
    Seizure,
    Vasopressor,
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
