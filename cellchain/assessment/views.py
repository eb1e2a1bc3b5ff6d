"""Self-assessment pages: a site's checklist (filtered by state with htmx), an item with its answer form, and
the evidence files (issue 14 item 2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from cellchain.assessment import selectors, services
from cellchain.assessment.forms import AnswerForm
from cellchain.core import clock
from cellchain.core.errors import Conflict
from cellchain.core.pages import form_page
from cellchain.core.permissions import has_permission, requires
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
