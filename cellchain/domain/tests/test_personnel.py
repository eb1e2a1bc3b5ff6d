"""The clinical team's competence rules (T-5.2.11, T-5.3.1, T-5.3.2.1, T-5.3.2.2, T-5.3.2.5, T-5.3.3.2,
T-5.3.3.4, T-5.3.5.1)."""

from __future__ import annotations

from datetime import date

from cellchain.domain import personnel as p

ON = date(2026, 12, 7)
LEADER = p.PersonnelFile("Dr Wang", "chief", "physician", date(2010, 7, 1), date(2022, 3, 1))


def test_full_years_counts_completed_years_and_a_leap_day_start() -> None:
    assert p.full_years(date(2016, 12, 8), ON) == 9 and p.full_years(date(2016, 12, 7), ON) == 10
    assert p.full_years(date(2024, 2, 29), date(2025, 2, 28)) == 1
    assert p.full_years(None, ON) == 0 and p.full_years(date(2027, 1, 1), ON) == 0


def test_a_team_leader_needs_licence_chief_rank_ten_years_and_two_in_cell_therapy() -> None:
    """T-5.3.2.1, T-5.3.2.2: leader role only when the file records all of them."""
    assert p.team_leader_check(LEADER, ON).allowed
    junior = p.PersonnelFile("Dr Li", "associate_chief", "", date(2019, 1, 1), date(2025, 6, 1))
    gate = p.team_leader_check(junior, ON)
    assert gate.checks == ("leader_licence", "leader_rank", "leader_experience", "leader_cell_therapy")
    assert [f.clause for f in gate.findings] == ["T-5.3.2.1", "T-5.3.2.1", "T-5.3.2.1", "T-5.3.2.2"]
    assert "7 years clinical, 10 needed" in gate.findings[2].message


def test_a_childs_infusion_needs_a_paediatric_physician_of_attending_rank() -> None:
    """T-5.3.1: paediatric licence and attending rank or above."""
    attending = p.PersonnelFile("Dr Zhao", "attending", "physician", None, None, paediatric_licence=True)
    assert p.paediatric_physician_check(attending).allowed
    resident = p.PersonnelFile("Dr Qian", "resident", "physician", None, None, paediatric_licence=True)
    assert p.paediatric_physician_check(resident).checks == ("paediatric_rank",)
    assert p.paediatric_physician_check(LEADER).checks == ("paediatric_licence",)


def test_a_pharmacist_of_supervisor_rank_or_above() -> None:
    """T-5.3.5.1: 主管药师 or above."""
    assert p.pharmacist_rank_check(
        p.PersonnelFile("Liu", "supervisor_pharmacist", "pharmacist", None, None)
    ).allowed
    assert p.pharmacist_rank_check(p.PersonnelFile("Liu", "pharmacist", "pharmacist", None, None)).checks == (
        "pharmacist_rank",
    )
    assert not p.pharmacist_rank_check(LEADER).allowed  # a chief physician is not on the pharmacist ladder


def test_a_failed_or_lapsed_assessment_removes_car_t_signing_rights() -> None:
    """T-5.3.3.4: the latest assessment counts; passed and not yet due."""
    passed = p.Assessment(date(2026, 1, 10), True, date(2027, 1, 10))
    assert p.competence_check("Dr Wang", [passed], ON).allowed
    assert p.competence_check("Dr Wang", [], ON).checks == ("competence_missing",)
    failed = p.Assessment(date(2026, 11, 1), False, date(2026, 12, 1))
    assert p.competence_check("Dr Wang", [passed, failed], ON).checks == ("competence_failed",)
    lapsed = p.Assessment(date(2025, 1, 10), True, date(2026, 1, 10))
    assert p.competence_check("Dr Wang", [lapsed], ON).checks == ("competence_lapsed",)
    future = p.Assessment(date(2027, 1, 1), True, date(2028, 1, 1))
    assert p.competence_check("Dr Wang", [future], ON).checks == ("competence_missing",)


def test_warnings_for_no_continuing_education_this_year_and_no_certificate_holder() -> None:
    """T-5.3.2.5, T-5.3.3.2 (yearly CE); T-5.2.11 (at least one certificate holder)."""
    assert p.continuing_education_missing("Dr Wang", [2025, 2026], 2026) is None
    missing = p.continuing_education_missing("Dr Wang", [2025], 2026)
    assert missing is not None and "2026" in missing.message and "T-5.3.2.5" in missing.message
    assert p.certificate_holder_missing(1) is None
    finding = p.certificate_holder_missing(0)
    assert finding is not None and finding.clause == "T-5.2.11"
