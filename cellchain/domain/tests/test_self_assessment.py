"""The self-assessment catalogue and its rules (issue 14 item 2; the CHECKLIST lines of REQUIREMENTS.md)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cellchain.domain.self_assessment import (
    CATALOGUE,
    MAX_REVIEW_INTERVAL_DAYS,
    AgreementFact,
    Answer,
    AutoEvidence,
    DeviceFact,
    ItemState,
    PersonFact,
    QualificationFact,
    QualificationKind,
    RecordRef,
    SiteKind,
    Strength,
    agreement_suggestion,
    answer_check,
    catalogue_item,
    checklist_lines,
    emergency_equipment_suggestion,
    equipment_calibration_suggestion,
    item_state,
    items_for,
    staff_training_suggestion,
)

# The 25 lines tagged CHECKLIST in ../shared/REQUIREMENTS.md (grep '| CHECKLIST |'), in the file's order.
CHECKLIST_LINES = (
    "T-5.1.1", "T-5.1.2", "T-5.1.4", "T-5.1.5", "T-5.2.1", "T-5.2.3", "T-5.2.4", "T-5.2.5", "T-5.2.6",
    "T-5.2.7", "T-5.2.8", "T-5.2.9", "T-5.2.10", "T-5.2.12", "T-5.2.13", "T-5.2.14", "T-5.2.15",
    "T-5.3.6.1", "T-6.2", "T-8.1.2-d", "T-8.2.2-h", "T-8.2.3", "T-10.17", "G-1", "G-6",
)  # fmt: skip
TODAY = date(2026, 6, 1)


def ref(label: str) -> RecordRef:
    return RecordRef("x.y", label, label)


class TestCatalogue:
    def test_covers_exactly_the_25_checklist_lines(self) -> None:
        assert len(CHECKLIST_LINES) == 25
        assert sorted(checklist_lines()) == sorted(CHECKLIST_LINES)

    def test_codes_are_unique_and_every_item_has_both_languages(self) -> None:
        codes = [item.code for item in CATALOGUE]
        assert len(codes) == len(set(codes))
        assert all(item.text.complete for item in CATALOGUE)

    def test_manufacturer_items_are_5_1_and_g_hospital_items_are_5_2_5_3_and_8(self) -> None:
        manufacturer = {i.code for i in items_for(SiteKind.MANUFACTURER)}
        hospital = {i.code for i in items_for(SiteKind.HOSPITAL)}
        assert "T-5.1.1" in manufacturer and "T-5.1.1" not in hospital
        assert "T-5.2.7-a" in hospital and "T-5.2.7-a" not in manufacturer
        assert {"G-6-a", "G-6-b"} <= manufacturer and "T-8.2.3" in hospital
        assert manufacturer & hospital == {"T-6.2"}
        assert (len(manufacturer), len(hospital)) == (15, 28)

    def test_lettered_items_follow_the_clause_list(self) -> None:
        assert [i.code for i in CATALOGUE if i.clause == "T-5.1.4"] == [f"T-5.1.4-{c}" for c in "abcdef"]
        assert catalogue_item("T-5.1.4-d").strength == Strength.IF_APPLICABLE
        assert catalogue_item("T-5.1.4-f").strength == Strength.MAY
        assert catalogue_item("T-8.2.2-h").strength == Strength.SHOULD

    def test_auto_answered_items_are_named(self) -> None:
        auto = {i.code: i.auto for i in CATALOGUE if i.auto is not None}
        assert auto == {
            "G-6-a": AutoEvidence.STAFF_TRAINING,
            "G-6-b": AutoEvidence.EQUIPMENT_CALIBRATION,
            "T-5.2.7-a": AutoEvidence.EMERGENCY_EQUIPMENT,
            "T-5.2.7-b": AutoEvidence.EMERGENCY_EQUIPMENT,
            "T-5.2.7-c": AutoEvidence.EMERGENCY_EQUIPMENT,
            "T-5.2.7-d": AutoEvidence.EMERGENCY_EQUIPMENT,
            "T-8.2.2-h": AutoEvidence.AGREEMENT_RESPONSIBILITIES,
        }
        assert {catalogue_item(f"T-5.2.7-{c}").equipment_kind for c in "abcd"} == {
            "oxygen",
            "suction",
            "ecg_monitor",
            "ventilator",
        }

    def test_unknown_code_is_a_key_error(self) -> None:
        with pytest.raises(KeyError):
            catalogue_item("T-99")


class TestAnswerCheck:
    def check(
        self, answer: Answer, note: str = "", evidence: bool = False, days: int = 365
    ) -> tuple[str, ...]:
        gate = answer_check(
            answer, note=note, has_evidence=evidence, reviewed_on=TODAY, next_review=TODAY + timedelta(days)
        )
        return gate.checks

    def test_yes_needs_evidence(self) -> None:
        assert self.check(Answer.YES) == ("evidence_missing",)
        assert self.check(Answer.YES, evidence=True) == ()

    def test_no_and_na_need_a_note(self) -> None:
        assert self.check(Answer.NA) == ("note_missing_na",)
        assert self.check(Answer.NO, note="  ") == ("note_missing_no",)
        assert self.check(Answer.NA, note="no virus is made at this site") == ()

    def test_next_review_comes_after_this_one_and_not_decades_ahead(self) -> None:
        assert self.check(Answer.YES, evidence=True, days=0) == ("next_review_not_after",)
        assert self.check(Answer.YES, evidence=True, days=MAX_REVIEW_INTERVAL_DAYS + 1) == (
            "next_review_too_far",
        )
        assert self.check(Answer.YES, evidence=True, days=MAX_REVIEW_INTERVAL_DAYS) == ()


class TestItemState:
    def test_states(self) -> None:
        assert item_state(None, None, TODAY) == ItemState.UNANSWERED
        assert item_state(Answer.NA, TODAY, TODAY) == ItemState.NA
        assert item_state(Answer.YES, TODAY - timedelta(days=1), TODAY) == ItemState.OVERDUE


class TestSuggestions:
    def test_agreement_in_force_with_responsibilities_answers_yes(self) -> None:
        good = AgreementFact(ref("A1"), TODAY - timedelta(days=10), None, True, "AGR-1")
        expired = AgreementFact(
            ref("A0"), TODAY - timedelta(days=900), TODAY - timedelta(days=1), True, "AGR-0"
        )
        assert agreement_suggestion([expired, good], TODAY).answer == Answer.YES
        assert agreement_suggestion([expired, good], TODAY).records == (good.ref,)
        lapsed = agreement_suggestion([expired], TODAY)
        assert (lapsed.answer, lapsed.reasons[0].code) == (Answer.NO, "no_agreement_in_force")
        assert agreement_suggestion([], TODAY).reasons[0].code == "no_agreement"

    def test_emergency_equipment_by_kind(self) -> None:
        oxygen = DeviceFact(ref("OX-1"), "oxygen", True, TODAY + timedelta(days=30), None)
        late = DeviceFact(ref("OX-2"), "oxygen", True, TODAY - timedelta(days=1), None)
        assert emergency_equipment_suggestion("suction", [oxygen], TODAY).answer is None
        assert emergency_equipment_suggestion("oxygen", [oxygen, late], TODAY).records == (oxygen.ref,)
        only_late = emergency_equipment_suggestion("oxygen", [late], TODAY)
        assert only_late.answer == Answer.NO
        assert only_late.reasons[0].code == "calibration_overdue" and only_late.reasons[0].subject == "OX-2"

    def test_equipment_calibration_names_each_overdue_item(self) -> None:
        ok = DeviceFact(ref("INC-1"), "incubator", True, TODAY, TODAY)
        late = DeviceFact(
            ref("BSC-1"), "biosafety_cabinet", True, TODAY + timedelta(days=5), TODAY - timedelta(1)
        )
        retired = DeviceFact(ref("OLD"), "incubator", False, TODAY - timedelta(days=300), None)
        assert equipment_calibration_suggestion([ok, retired], TODAY).answer == Answer.YES
        verdict = equipment_calibration_suggestion([ok, late, retired], TODAY)
        assert verdict.answer == Answer.NO and [(r.code, r.subject) for r in verdict.reasons] == [
            ("maintenance_overdue", "BSC-1")
        ]
        assert equipment_calibration_suggestion([retired], TODAY).answer is None

    def test_staff_need_current_training_and_health_check(self) -> None:
        year = timedelta(days=365)
        trained = QualificationFact(QualificationKind.TRAINING, TODAY - year, TODAY + year)
        healthy = QualificationFact(QualificationKind.HEALTH, TODAY - year, TODAY + year)
        stale = QualificationFact(QualificationKind.HEALTH, TODAY - 2 * year, TODAY - timedelta(days=1))
        chen = PersonFact(ref("Chen"), (trained, healthy))
        wu = PersonFact(ref("Wu"), (trained, stale))
        assert staff_training_suggestion([chen], TODAY).answer == Answer.YES
        verdict = staff_training_suggestion([chen, wu], TODAY)
        assert verdict.answer == Answer.NO
        assert [(r.code, r.subject) for r in verdict.reasons] == [("health_missing", "Wu")]
        assert verdict.records == (wu.ref,)
        assert staff_training_suggestion([], TODAY).answer is None
