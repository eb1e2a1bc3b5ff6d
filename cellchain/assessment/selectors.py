"""Reads of the self-assessment: the sites a viewer may see, and a site's checklist with states and suggestions.

The checklist of a site costs a fixed number of queries: its answers (one), the evidence registers its
auto-answered items read (at most three), whatever the number of answers, reviews, people or equipment.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from cellchain.accounts.models import Site
from cellchain.assessment import evidence
from cellchain.assessment.models import AssessmentAnswer, EvidenceFile
from cellchain.domain import self_assessment as sa

# An item whose next review falls within this many days is shown as due (and counted on the worklist).
REVIEW_NOTICE = dt.timedelta(days=30)


def site_kind(site: Site) -> sa.SiteKind:
    """Manufacturer or clinical institution, from the site's organisation."""
    return sa.SiteKind.MANUFACTURER if site.organisation.is_manufacturer else sa.SiteKind.HOSPITAL


def sites_visible_to(viewer: Any) -> QuerySet[Site]:
    """The sites of the viewer's organisation."""
    return Site.objects.filter(organisation_id=viewer.organisation_id, voided_at__isnull=True).select_related(
        "organisation"
    )


def answers_of(site: Site) -> QuerySet[AssessmentAnswer]:
    """The site's current answers with reviewer and evidence file (without the file's bytes)."""
    return (
        AssessmentAnswer.objects.filter(site=site, voided_at__isnull=True)
        .select_related("reviewed_by", "evidence_file")
        .defer("evidence_file__content")
    )


def evidence_files_visible_to(viewer: Any) -> QuerySet[EvidenceFile]:
    return EvidenceFile.objects.filter(site__organisation_id=viewer.organisation_id, voided_at__isnull=True)


@dataclass(frozen=True)
class SuggestionView:
    """The system's answer for an item, with its reasons as sentences and the records with their pages."""

    answer: str  # "" when the records cannot tell
    reasons: tuple[str, ...]
    records: tuple[tuple[str, str], ...]  # (label, page path)


@dataclass(frozen=True)
class ChecklistRow:
    item: sa.ChecklistItem
    text: str
    answer: AssessmentAnswer | None
    state: sa.ItemState
    due_soon: bool
    suggestion: SuggestionView | None

    @property
    def differs(self) -> bool:
        """The reviewer's answer departs from what the system's records say now."""
        return bool(
            self.answer
            and self.suggestion
            and self.suggestion.answer
            and self.suggestion.answer != self.answer.answer
        )


def suggestion_view(suggestion: sa.Suggestion, viewer: Any | None = None) -> SuggestionView:
    """The suggestion for the page: reasons as sentences, records with the page `viewer` may open."""
    return SuggestionView(
        suggestion.answer.value if suggestion.answer else "",
        tuple(evidence.reason_text(r) for r in suggestion.reasons),
        tuple((ref.label, evidence.record_path(ref, viewer)) for ref in suggestion.records),
    )


def _text(item: sa.ChecklistItem, language: str) -> str:
    return item.text.zh if language.lower().startswith("zh") else item.text.en


def checklist(
    site: Site, today: dt.date, language: str = "en", only: str | None = None, viewer: Any | None = None
) -> list[ChecklistRow]:
    """Every item the site answers, in catalogue order, with its answer, state and the records' suggestion.

    `only` picks one item code (the item page); `viewer` limits the record links to pages they may open.
    """
    items = [i for i in sa.items_for(site_kind(site)) if only is None or i.code == only]
    answers = {a.item_code: a for a in answers_of(site).filter(item_code__in=[i.code for i in items])}
    suggestions = evidence.suggestions_for(site, items, today)
    rows = []
    for item in items:
        answer = answers.get(item.code)
        next_review = answer.next_review if answer else None
        state = sa.item_state(sa.Answer(answer.answer) if answer else None, next_review, today)
        suggestion = suggestions.get(item.code)
        rows.append(
            ChecklistRow(
                item,
                _text(item, language),
                answer,
                state,
                bool(next_review and state != sa.ItemState.OVERDUE and next_review <= today + REVIEW_NOTICE),
                suggestion_view(suggestion, viewer) if suggestion else None,
            )
        )
    return rows


def summary(rows: list[ChecklistRow]) -> dict[str, int]:
    """How many items are in each state, and how many are due soon."""
    counts = Counter(row.state.value for row in rows)
    return {
        **{state.value: counts.get(state.value, 0) for state in sa.ItemState},
        "due_soon": sum(r.due_soon for r in rows),
    }
