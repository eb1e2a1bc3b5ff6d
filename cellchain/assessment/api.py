"""JSON API of the site self-assessment: a site's checklist with states and suggestions, one item, and answering
an item (issue 14 item 2). Evidence files are attached on the page; the API takes a link or a reference."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import translation
from ninja import Router, Schema

from cellchain.assessment import selectors, services
from cellchain.core import clock
from cellchain.core.errors import NotFound
from cellchain.core.permissions import requires
from cellchain.signatures.services import SignerCredentials

router = Router(tags=["assessment"])


class AssessmentSuggestionOut(Schema):
    answer: str
    reasons: list[str]
    records: list[str]


class AssessmentEvidenceOut(Schema):
    file_name: str
    file_sha256: str
    file_url: str
    link: str
    reference: str


class AssessmentItemOut(Schema):
    code: str
    clause: str
    text_zh: str
    text_en: str
    strength: str
    state: str
    due_soon: bool
    answer: str
    note: str
    evidence: AssessmentEvidenceOut | None
    reviewer: str
    reviewed_at: dt.datetime | None
    next_review: dt.date | None
    suggestion: AssessmentSuggestionOut | None
    differs_from_records: bool


class AssessmentChecklistOut(Schema):
    site: str
    kind: str
    site_date: dt.date
    summary: dict[str, int]
    items: list[AssessmentItemOut]


class AssessmentAnswerIn(Schema):
    answer: str
    next_review: dt.date
    note: str = ""
    evidence_link: str = ""
    evidence_reference: str = ""
    reason: str = ""
    password: str
    totp_code: str | None = None


def _evidence(answer: Any) -> dict[str, Any] | None:
    if answer is None:
        return None
    stored = answer.evidence_file
    return {
        "file_name": stored.name if stored else "",
        "file_sha256": stored.sha256 if stored else "",
        "file_url": reverse("assessment:evidence_file", args=[stored.pk]) if stored else "",
        "link": answer.evidence_link,
        "reference": answer.evidence_reference,
    }


def _item_out(row: selectors.ChecklistRow) -> dict[str, Any]:
    answer, suggestion = row.answer, row.suggestion
    return {
        "code": row.item.code,
        "clause": row.item.clause,
        "text_zh": row.item.text.zh,
        "text_en": row.item.text.en,
        "strength": row.item.strength.value,
        "state": row.state.value,
        "due_soon": row.due_soon,
        "answer": answer.answer if answer else "",
        "note": answer.note if answer else "",
        "evidence": _evidence(answer),
        "reviewer": answer.reviewed_by.printed_name if answer else "",
        "reviewed_at": answer.reviewed_at if answer else None,
        "next_review": answer.next_review if answer else None,
        "suggestion": None
        if suggestion is None
        else {
            "answer": suggestion.answer,
            "reasons": list(suggestion.reasons),
            "records": [path or label for label, path in suggestion.records],
        },
        "differs_from_records": row.differs,
    }


def _rows(request: HttpRequest, site: Any, only: str | None = None) -> list[selectors.ChecklistRow]:
    language = translation.get_language() or "en"
    return selectors.checklist(site, clock.today(site.time_zone), language, only=only, viewer=request.user)


@router.get("/sites/{site_code}/items", response=AssessmentChecklistOut)
@requires("assessment.view")
def checklist(request: HttpRequest, site_code: str) -> dict[str, Any]:
    site = get_object_or_404(selectors.sites_visible_to(request.user), code=site_code)
    rows = _rows(request, site)
    return {
        "site": site.code,
        "kind": selectors.site_kind(site).value,
        "site_date": clock.today(site.time_zone),
        "summary": selectors.summary(rows),
        "items": [_item_out(row) for row in rows],
    }


def _one(request: HttpRequest, site: Any, item_code: str) -> dict[str, Any]:
    rows = _rows(request, site, only=item_code)
    if not rows:
        raise NotFound(f"{item_code} is not an item of the checklist of {site.code}.", field="item_code")
    return _item_out(rows[0])


@router.get("/sites/{site_code}/items/{item_code}", response=AssessmentItemOut)
@requires("assessment.view")
def item_get(request: HttpRequest, site_code: str, item_code: str) -> dict[str, Any]:
    site = get_object_or_404(selectors.sites_visible_to(request.user), code=site_code)
    return _one(request, site, item_code)


@router.post("/sites/{site_code}/items/{item_code}/answer", response=AssessmentItemOut)
@requires("assessment.answer")
def item_answer(
    request: HttpRequest, site_code: str, item_code: str, payload: AssessmentAnswerIn
) -> dict[str, Any]:
    site = get_object_or_404(selectors.sites_visible_to(request.user), code=site_code)
    services.assessment_answer_record(
        actor=request.user,
        site=site,
        item_code=item_code,
        data=services.AnswerInput(
            answer=payload.answer,
            next_review=payload.next_review,
            note=payload.note,
            evidence_link=payload.evidence_link,
            evidence_reference=payload.evidence_reference,
            reason=payload.reason,
        ),
        signer=SignerCredentials(request.user, payload.password, payload.totp_code),
    )
    return _one(request, site, item_code)
