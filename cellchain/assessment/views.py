"""Self-assessment pages: a site's checklist (filtered by state with htmx), an item with its answer form, and
the evidence files (issue 14 item 2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from cellchain.assessment import compliance as report_rows
from cellchain.assessment import compliance_pdf as report_pdf
from cellchain.assessment import selectors, services
from cellchain.assessment.forms import AnswerForm
from cellchain.core import clock
from cellchain.core.errors import Conflict
from cellchain.core.pages import form_page
from cellchain.core.permissions import has_permission, requires
from cellchain.domain import compliance as cc
from cellchain.domain import self_assessment as sa
from cellchain.signatures.services import SignerCredentials

STATES = [state.value for state in sa.ItemState]
INLINE_TYPES = {"application/pdf", "image/png", "image/jpeg"}


@requires("assessment.view")
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The checklist of the viewer's own site, or the organisation's sites to choose from."""
    sites = list(selectors.sites_visible_to(request.user))
    own = next((s for s in sites if s.pk == request.user.site_id), None)  # type: ignore[attr-defined]
    if own is not None:
        query = request.META.get("QUERY_STRING", "")
        return redirect(f"{reverse('assessment:checklist', args=[own.code])}{'?' + query if query else ''}")
    return render(request, "assessment/index.html", {"sites": sites})


def _site(request: HttpRequest, code: str) -> Any:
    return get_object_or_404(selectors.sites_visible_to(request.user), code=code)


@requires("assessment.view")
@require_GET
def checklist(request: HttpRequest, site_code: str) -> HttpResponse:
    site = _site(request, site_code)
    rows = selectors.checklist(
        site, clock.today(site.time_zone), translation.get_language() or "en", viewer=request.user
    )
    state = request.GET.get("state", "")
    shown = [r for r in rows if r.state.value == state or (state == "due" and r.due_soon)] if state else rows
    context = {
        "site": site,
        "rows": shown,
        "summary": selectors.summary(rows),
        "state": state,
        "states": STATES,
        "sites": selectors.sites_visible_to(request.user),
        "can_answer": has_permission(request.user, "assessment.answer"),
        "perms_report": has_permission(request.user, "assessment.report"),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "assessment/checklist.html#items", context)
    return render(request, "assessment/checklist.html", context)


@requires("assessment.view")
@require_http_methods(["GET", "POST"])
def item(request: HttpRequest, site_code: str, item_code: str) -> HttpResponse:
    site = _site(request, site_code)
    today = clock.today(site.time_zone)
    rows = selectors.checklist(
        site, today, translation.get_language() or "en", only=item_code, viewer=request.user
    )
    if not rows:
        raise Http404(item_code)
    row = rows[0]
    can_answer = has_permission(request.user, "assessment.answer")
    if request.method == "POST" and not can_answer:
        messages.error(request, _("Your role does not answer the self-assessment."))
        return redirect("assessment:item", site_code=site.code, item_code=row.item.code)
    suggested = (
        (row.suggestion.answer, next((p for _l, p in row.suggestion.records if p), ""))
        if row.suggestion
        else ("", "")
    )
    form = AnswerForm(
        request.POST or None, request.FILES or None, today=today, answered=row.answer, suggested=suggested
    )

    def record(data: Mapping[str, Any]) -> Any:
        return services.assessment_answer_record(
            actor=request.user,
            site=site,
            item_code=row.item.code,
            data=services.AnswerInput(
                answer=data["answer"],
                next_review=data["next_review"],
                note=data["note"],
                evidence_link=data["evidence_link"],
                evidence_reference=data["evidence_reference"],
                reason=data.get("reason", ""),
                keep_file=data.get("keep_file", True) if "keep_file" in form.fields else True,
            ),
            signer=SignerCredentials(request.user, data["password"], data["totp_code"] or None),
            upload=data["evidence_file"],
        )

    return form_page(
        request,
        form,
        record,
        _("The answer was recorded and signed."),
        done=lambda _answer: redirect("assessment:item", site_code=site.code, item_code=row.item.code),
        template="assessment/item.html",
        context={"site": site, "row": row, "can_answer": can_answer},
    )


@requires("assessment.view")
@require_GET
def evidence_file(request: HttpRequest, file_id: int) -> HttpResponse:
    """The file as stored, after its hash is checked; PDF and images open in the browser, the rest downloads."""
    stored = get_object_or_404(selectors.evidence_files_visible_to(request.user), pk=file_id)
    try:
        content = services.evidence_file_content(stored)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("assessment:index")
    inline = stored.content_type in INLINE_TYPES
    response = HttpResponse(
        content, content_type=stored.content_type if inline else "application/octet-stream"
    )
    response["Content-Disposition"] = content_disposition_header(not inline, stored.name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------- compliance report (issue 14 item 3)

REPORT_FILTERS = ("gaps", "checklist", "evidence", "not_assessed")


def _report(request: HttpRequest, site: Any) -> list[report_rows.ReportRow]:
    return report_rows.report(
        site, clock.today(site.time_zone), translation.get_language() or "en", viewer=request.user
    )


def _filtered(rows: list[report_rows.ReportRow], show: str, clause_type: str) -> list[report_rows.ReportRow]:
    """The rows one filter keeps: gaps, CHECKLIST clauses, clauses with records, or not assessed; and a type."""
    keep = {
        "gaps": lambda r: r.gap,
        "checklist": lambda r: r.clause.type == cc.ClauseType.CHECKLIST,
        "evidence": lambda r: r.state in (cc.ClauseState.RECORDS_HELD, cc.ClauseState.NO_RECORDS),
        "not_assessed": lambda r: r.state == cc.ClauseState.NOT_ASSESSED,
    }.get(show, lambda r: True)
    return [r for r in rows if keep(r) and (not clause_type or r.clause.type.value == clause_type)]


@requires("assessment.report")
@require_GET
def compliance_index(request: HttpRequest) -> HttpResponse:
    """The report of the viewer's own site, or the organisation's sites to choose from."""
    sites = list(selectors.sites_visible_to(request.user))
    own = next((s for s in sites if s.pk == request.user.site_id), None)  # type: ignore[attr-defined]
    if own is not None:
        return redirect("assessment:compliance", site_code=own.code)
    return render(request, "assessment/compliance_index.html", {"sites": sites})


@requires("assessment.report")
@require_GET
def compliance(request: HttpRequest, site_code: str) -> HttpResponse:
    site = _site(request, site_code)
    rows = _report(request, site)
    show = request.GET.get("show", "")
    clause_type = request.GET.get("type", "")
    context = {
        "site": site,
        "rows": _filtered(rows, show, clause_type),
        "summary": report_rows.summary(rows),
        "labels": {state.value: label for state, label in report_rows.STATE_LABELS.items()},
        "show": show,
        "type": clause_type,
        "types": [t.value for t in cc.ClauseType],
        "sites": selectors.sites_visible_to(request.user),
        "digest": report_rows.content_digest(rows),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "assessment/compliance.html#clauses", context)
    return render(request, "assessment/compliance.html", context)


def _download(content: bytes, content_type: str, name: str, digest: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    response["X-Content-SHA256"] = digest
    return response


@requires("assessment.report")
@require_GET
def compliance_csv(request: HttpRequest, site_code: str) -> HttpResponse:
    """The whole report as CSV (UTF-8 with BOM); the response names its SHA-256, as the PDF's footer does."""
    site = _site(request, site_code)
    rows = _report(request, site)
    content = report_rows.report_csv(rows)
    day = clock.today(site.time_zone)
    return _download(
        content,
        "text/csv; charset=utf-8",
        f"compliance-{site.code}-{day}.csv",
        report_rows.content_digest(rows),
    )


@requires("assessment.report")
@require_GET
def compliance_pdf(request: HttpRequest, site_code: str) -> HttpResponse:
    site = _site(request, site_code)
    rows = _report(request, site)
    digest = report_rows.content_digest(rows)
    user = request.user
    content = report_pdf.report_pdf(
        site,
        rows,
        generated_at=clock.now().astimezone(ZoneInfo(site.time_zone)),
        generated_by=f"{user.printed_name or user.username} ({user.username})",  # type: ignore[union-attr]
        digest=digest,
    )
    day = clock.today(site.time_zone)
    return _download(content, "application/pdf", f"compliance-{site.code}-{day}.pdf", digest)
