"""The clause catalogue matches REQUIREMENTS.md, agrees with the self-assessment, and states clauses (issue 14
item 3)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from cellchain.domain import compliance as c
from cellchain.domain import self_assessment as sa

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT.parent / "shared" / "REQUIREMENTS.md"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_clause_catalogue", ROOT / "scripts/gen_clause_catalogue.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not REQUIREMENTS.exists(), reason="../shared/REQUIREMENTS.md is not checked out here")
def test_catalogue_is_what_requirements_md_says_now() -> None:
    gen = generator()
    parsed = gen.parse(REQUIREMENTS.read_text(encoding="utf-8"))
    assert gen.as_rows(c.clauses()) == parsed, "run scripts/gen_clause_catalogue.py and commit the module"


def test_parser_reads_ids_types_texts_and_table_2() -> None:
    gen = generator()
    text = (
        "### 2.1 Clause 5\n#### 5.1 Manufacturer (制备厂商)\n| ID | Clause | Tag |\n|---|---|---|\n"
        "| T-5.1.1 | Preparation **qualification** → site profile. | CHECKLIST |\n"
        "### 3.3 Table 2\n| P-T2-b | Sample transport | Temperature | Appearance | RECORD |\n"
        "| P-1.2.2-b | Equipment capabilities. | OUT — equipment engineering, not software |\n"
        "| No. | Product | x |\n"
    )
    assert gen.parse(text) == [
        ("T-5.1.1", "CHECKLIST", "Preparation qualification", "M", "5.1 Manufacturer (制备厂商)"),
        ("P-T2-b", "RECORD", "Sample transport: Temperature", "B", "3.3 Table 2"),
        ("P-1.2.2-b", "OUT", "Equipment capabilities.", "M", "3.3 Table 2"),
    ]
    with pytest.raises(ValueError, match="unknown tag"):
        gen.parse("| T-5.1.1 | x | MAYBE |\n")


def test_every_id_once_and_every_type_known() -> None:
    ids = [clause.id for clause in c.clauses()]
    assert len(ids) == len(set(ids)) == 300
    assert {clause.type for clause in c.clauses()} == set(c.ClauseType)


def test_sections_map_to_site_kinds() -> None:
    by_id = {clause.id: clause for clause in c.clauses()}
    assert by_id["T-5.1.7"].applies_to == c.MANUFACTURER
    assert by_id["T-5.2.2"].applies_to == c.HOSPITAL
    assert by_id["T-7.5-b"].applies_to == c.MANUFACTURER
    assert by_id["T-8.1.3-a"].applies_to == c.HOSPITAL
    assert by_id["T-8.2.2-a"].applies_to == c.BOTH
    assert by_id["X-1"].applies_to == c.BOTH
    assert by_id["Q-2.3-b"].applies_to == c.MANUFACTURER


def test_checklist_clauses_are_the_self_assessment_lines_with_the_same_kinds() -> None:
    checklist = {clause.id: clause for clause in c.clauses() if clause.type == c.ClauseType.CHECKLIST}
    assert set(checklist) == set(sa.checklist_lines())
    for line, clause in checklist.items():
        kinds = {kind for item in sa.CATALOGUE if item.clause == line for kind in item.applies_to}
        assert clause.applies_to == kinds, line


@pytest.mark.parametrize(
    ("items", "state"),
    [
        ([], c.ClauseState.NOT_ANSWERED),
        ([sa.ItemState.UNANSWERED], c.ClauseState.NOT_ANSWERED),
        ([sa.ItemState.YES, sa.ItemState.UNANSWERED], c.ClauseState.NOT_ANSWERED),
        ([sa.ItemState.YES, sa.ItemState.OVERDUE, sa.ItemState.UNANSWERED], c.ClauseState.REVIEW_OVERDUE),
        ([sa.ItemState.OVERDUE, sa.ItemState.NO], c.ClauseState.NOT_MET),
        ([sa.ItemState.NA, sa.ItemState.NA], c.ClauseState.NOT_APPLICABLE),
        ([sa.ItemState.NA, sa.ItemState.YES], c.ClauseState.MET),
    ],
)
def test_checklist_state_is_the_worst_item(items: list[sa.ItemState], state: c.ClauseState) -> None:
    assert c.checklist_state(items) == state


def test_evidence_state_never_claims_compliance() -> None:
    record = next(x for x in c.clauses() if x.type == c.ClauseType.RECORD)
    out = next(x for x in c.clauses() if x.type == c.ClauseType.OUT)
    assert c.evidence_state(record, None) == c.ClauseState.NOT_ASSESSED
    assert c.evidence_state(record, 0) == c.ClauseState.NO_RECORDS
    assert c.evidence_state(record, 3) == c.ClauseState.RECORDS_HELD
    assert c.evidence_state(out, 3) == c.ClauseState.OUT_OF_SCOPE


def test_report_order_puts_gaps_first_then_catalogue_order() -> None:
    rows = [
        (c.ClauseState.MET, 0),
        (c.ClauseState.NOT_ASSESSED, 1),
        (c.ClauseState.NOT_ANSWERED, 2),
        (c.ClauseState.NOT_MET, 3),
        (c.ClauseState.NOT_MET, 4),
    ]
    assert c.report_order(rows) == [3, 4, 2, 0, 1]
