"""The source-document checklist rule and the grade tables of statistical reports (T-10.9, T-10.10)."""

from __future__ import annotations

import pytest

from cellchain.domain.study_records import (
    Evidence,
    ManualTick,
    SourceDocument,
    document_states,
    grade_table,
    missing_documents,
    share,
)

INFUSION = Evidence("clinic.infusion", "7", "2026-06-01 09:00")


def test_t_10_9_a_record_makes_a_document_present_and_nothing_makes_it_missing() -> None:
    states = document_states({SourceDocument.ADMINISTRATION_RECORD: [INFUSION]}, {})
    by = {s.document: s for s in states}
    assert [s.document for s in states] == list(SourceDocument)
    assert by[SourceDocument.ADMINISTRATION_RECORD].present
    assert by[SourceDocument.ADMINISTRATION_RECORD].basis == "record"
    assert set(missing_documents(states)) == set(SourceDocument) - {SourceDocument.ADMINISTRATION_RECORD}


def test_t_10_9_a_manual_tick_decides_only_where_no_record_stands() -> None:
    ticks = {
        SourceDocument.DIARY_CARD: ManualTick(True, "binder 3"),
        SourceDocument.ADMINISTRATION_RECORD: ManualTick(False, "not found"),
    }
    by = {s.document: s for s in document_states({SourceDocument.ADMINISTRATION_RECORD: [INFUSION]}, ticks)}
    assert by[SourceDocument.DIARY_CARD].present and by[SourceDocument.DIARY_CARD].basis == "manual"
    # a manual "missing" never hides the infusion record CellChain holds
    assert by[SourceDocument.ADMINISTRATION_RECORD].present


def test_t_10_10_grade_table_counts_each_subject_once_at_the_worst_grade() -> None:
    table = grade_table(["a", "b", "c", "d"], [("a", 1), ("a", 3), ("b", 2), ("c", 0)])
    assert (table.subjects, table.any_grade, table.severe) == (4, 2, 1)
    assert table.by_worst_grade == {1: 0, 2: 1, 3: 1, 4: 0, 5: 0}
    assert table.any_grade_percent == 50.0 and table.severe_percent == 25.0


def test_t_10_10_an_event_outside_the_subjects_is_refused() -> None:
    with pytest.raises(ValueError, match="not among the subjects"):
        grade_table(["a"], [("z", 2)])
    with pytest.raises(ValueError, match="outside 0-5"):
        grade_table(["a"], [("a", 6)])


def test_share_of_nobody_is_none_not_zero() -> None:
    assert share(0, 0) is None
    assert share(1, 3) == 33.3
    with pytest.raises(ValueError):
        share(4, 3)
