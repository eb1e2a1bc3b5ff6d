"""The clause-by-clause compliance report: clause types, where a clause applies, and each clause's state.

Issue 14 item 3: for a site, every clause of the catalogue (`clause_catalogue.CLAUSES`, generated from
REQUIREMENTS.md) that applies to the site's kind, its state, and the records that show it; gaps first.

How a state is reached:
- CHECKLIST clauses from the site's self-assessment answers (`self_assessment`): a clause split into several
  items (T-5.1.4 a-f) takes the worst of its items: any "no" -> not met; else any review overdue -> review
  overdue; else any unanswered -> not answered; all "not applicable" -> not applicable; else met.
- Other clauses where CellChain holds the records that show them at a site (an ethics approval register, a
  deviation register ...): "records held" with their count, or "no records" (which is not a finding of
  non-compliance: a site may simply not have had the event).
- Everything else: "not assessed by the system". The system never claims an ENFORCE or RECORD clause is met:
  that the software blocks an action is shown by its tests, not by a site's data.
- OUT lines: "not a software concern".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cellchain.domain.self_assessment import ItemState, SiteKind


class ClauseType(StrEnum):
    """REQUIREMENTS.md §1.3 tags."""

    ENFORCE = "ENFORCE"
    RECORD = "RECORD"
    CHECKLIST = "CHECKLIST"
    REPORT = "REPORT"
    OUT = "OUT"


BOTH = frozenset(SiteKind)
MANUFACTURER = frozenset({SiteKind.MANUFACTURER})
HOSPITAL = frozenset({SiteKind.HOSPITAL})


@dataclass(frozen=True, slots=True)
class Clause:
    """One line of the requirements catalogue."""

    id: str
    type: ClauseType
    text: str
    applies_to: frozenset[SiteKind]
    section: str

    def applies(self, kind: SiteKind) -> bool:
        return kind in self.applies_to


class ClauseState(StrEnum):
    """What the report says of a clause at a site; the order of the members is the report's order."""

    NOT_MET = "not_met"
    REVIEW_OVERDUE = "review_overdue"
    NOT_ANSWERED = "not_answered"
    MET = "met"
    NOT_APPLICABLE = "not_applicable"
    RECORDS_HELD = "records_held"
    NO_RECORDS = "no_records"
    NOT_ASSESSED = "not_assessed"
    OUT_OF_SCOPE = "out_of_scope"


GAPS = frozenset({ClauseState.NOT_MET, ClauseState.REVIEW_OVERDUE, ClauseState.NOT_ANSWERED})
_RANK = {state: rank for rank, state in enumerate(ClauseState)}


def clauses() -> tuple[Clause, ...]:
    """The whole catalogue, in REQUIREMENTS.md order."""
    from cellchain.domain.clause_catalogue import CLAUSES  # the generated module imports this one

    return CLAUSES


def clauses_for(kind: SiteKind) -> tuple[Clause, ...]:
    """The clauses that apply to a site of `kind`, in catalogue order."""
    return tuple(c for c in clauses() if c.applies(kind))


def checklist_state(items: Sequence[ItemState]) -> ClauseState:
    """A CHECKLIST clause's state from the states of its self-assessment items (the worst wins)."""
    if ItemState.NO in items:
        return ClauseState.NOT_MET
    if ItemState.OVERDUE in items:
        return ClauseState.REVIEW_OVERDUE
    if not items or ItemState.UNANSWERED in items:
        return ClauseState.NOT_ANSWERED
    if all(s == ItemState.NA for s in items):
        return ClauseState.NOT_APPLICABLE
    return ClauseState.MET


def evidence_state(clause: Clause, record_count: int | None) -> ClauseState:
    """A non-CHECKLIST clause's state: the count of records that show it, or None when the system cannot tell."""
    if clause.type == ClauseType.OUT:
        return ClauseState.OUT_OF_SCOPE
    if record_count is None:
        return ClauseState.NOT_ASSESSED
    return ClauseState.RECORDS_HELD if record_count > 0 else ClauseState.NO_RECORDS


def report_order(rows: Iterable[tuple[ClauseState, int]]) -> list[int]:
    """Indexes of (state, catalogue position) rows: gaps first, then by state, each in catalogue order."""
    indexed = list(rows)
    return sorted(range(len(indexed)), key=lambda i: (_RANK[indexed[i][0]], indexed[i][1]))
