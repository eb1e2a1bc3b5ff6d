"""Rules of clinical study records: the source documents a journey needs and the shares a statistical
report prints (T-10.9, T-10.10). Pure: no Django, no database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class SourceDocument(StrEnum):
    """The source documents T-10.9 names for each subject of a clinical study."""

    MEDICAL_RECORD = "medical_record"
    DIARY_CARD = "diary_card"
    ADMINISTRATION_RECORD = "administration_record"
    SAMPLE_COLLECTION = "sample_collection"
    SAMPLE_TRANSPORT = "sample_transport"


SOURCE_DOCUMENTS: tuple[SourceDocument, ...] = tuple(SourceDocument)
"""In the order the checklist shows them (T-10.9)."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What CellChain holds for one document: the record that stands for it (model, id, label)."""

    record_type: str
    record_id: str
    label: str


@dataclass(frozen=True, slots=True)
class ManualTick:
    """A person's statement that the paper document is (or is not) on file, with where or why."""

    present: bool
    reason: str


@dataclass(frozen=True, slots=True)
class DocumentState:
    """One line of a journey's checklist: present or missing, and on what the answer rests."""

    document: SourceDocument
    present: bool
    basis: str  # "record" (derived from a CellChain record), "manual" (ticked by a person), "none"
    evidence: tuple[Evidence, ...]
    tick: ManualTick | None


def document_states(
    derived: Mapping[SourceDocument, Iterable[Evidence]], ticks: Mapping[SourceDocument, ManualTick]
) -> tuple[DocumentState, ...]:
    """Each expected document's state (T-10.9): a record CellChain holds makes it present; otherwise the manual
    tick decides; with neither it is missing. A manual "missing" never hides a record that exists."""
    states = []
    for document in SOURCE_DOCUMENTS:
        evidence = tuple(derived.get(document, ()))
        tick = ticks.get(document)
        if evidence:
            states.append(DocumentState(document, True, "record", evidence, tick))
        elif tick is not None:
            states.append(DocumentState(document, tick.present, "manual", (), tick))
        else:
            states.append(DocumentState(document, False, "none", (), None))
    return tuple(states)


def missing_documents(states: Iterable[DocumentState]) -> tuple[SourceDocument, ...]:
    return tuple(s.document for s in states if not s.present)


def share(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent, one decimal; None when there is nothing to divide (no subject)."""
    if part < 0 or whole < 0 or part > whole:
        raise ValueError(f"a share of {part} in {whole} is not a proportion")
    return None if whole == 0 else round(100.0 * part / whole, 1)


GRADES: tuple[int, ...] = (1, 2, 3, 4, 5)
SEVERE_FROM = 3
"""Grade 3 or higher counts as severe in the tables (ASTCT 2019 for CRS/ICANS, CTCAE v5 otherwise)."""


@dataclass(frozen=True, slots=True)
class GradeTable:
    """Subjects by their worst grade of one kind of event, over the subjects treated."""

    subjects: int
    any_grade: int
    severe: int
    by_worst_grade: dict[int, int]

    @property
    def any_grade_percent(self) -> float | None:
        return share(self.any_grade, self.subjects)

    @property
    def severe_percent(self) -> float | None:
        return share(self.severe, self.subjects)


def grade_table(subjects: Iterable[str], events: Iterable[tuple[str, int]]) -> GradeTable:
    """Worst grade per subject of `(subject, grade)` events, counted over `subjects` (grade 0 is no event).

    An event of a subject outside `subjects` is a programming error: the report would count someone it does
    not list."""
    population = set(subjects)
    worst: dict[str, int] = {}
    for subject, grade in events:
        if subject not in population:
            raise ValueError(f"event of {subject!r}, who is not among the subjects of the report")
        if not 0 <= grade <= 5:
            raise ValueError(f"grade {grade} of {subject!r} is outside 0-5")
        worst[subject] = max(worst.get(subject, 0), grade)
    graded = {s: g for s, g in worst.items() if g > 0}
    return GradeTable(
        subjects=len(population),
        any_grade=len(graded),
        severe=sum(1 for g in graded.values() if g >= SEVERE_FROM),
        by_worst_grade={g: sum(1 for w in graded.values() if w == g) for g in GRADES},
    )
