"""Study record pages (T-10.9, T-10.10): statistical reports, source-document checklists, subject code
directories. Hospital roles only; a manufacturer user is refused every page (403) and never finds a study."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cellchain.core.errors import NotAllowed, NotFound
from cellchain.core.pages import form_page, run_service
from cellchain.core.permissions import has_permission, requires
from cellchain.reviews.services import content_hash
from cellchain.signatures.services import SignerCredentials
from cellchain.studies import documents, selectors, services
from cellchain.studies.forms import ArchiveForm, ReportDraftForm, ReportIssueForm, TickForm
from cellchain.studies.models import DOCUMENT_CHOICES, StatisticalReport

DOCUMENT_LABELS = dict(DOCUMENT_CHOICES)


@requires("studies.view")
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The statistical reports of the hospital (one query whatever their number)."""
    return render(
        request,
        "studies/index.html",
        {
            "reports": list(selectors.reports_visible_to(request.user)),
            "can_draft": has_permission(request.user, "studies.draft"),
        },
    )


@requires("studies.draft")
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    form = ReportDraftForm(
        request.POST or None,
        sites=selectors.sites_for(request.user),
        products=selectors.products_for(request.user),
        operators=selectors.main_operators_for(request.user),
    )

    def call(data: Mapping[str, Any]) -> StatisticalReport:
        return services.report_draft(
            actor=request.user,
            title=data["title"],
            site=data["site"],
            product=data["product"],
            protocol_ref=data["protocol_ref"],
            since=data["since"],
            until=data["until"],
            main_operator=data["main_operator"],
        )

    return form_page(
        request,
        form,
        call,
        _("The draft statistical report was opened."),
        done=lambda report: redirect("studies:report", pk=report.pk),
        template="studies/report_new.html",
    )


def _report(request: HttpRequest, pk: int) -> StatisticalReport:
    try:
        return selectors.report_get(request.user, pk)
    except NotFound:
        raise Http404(pk) from None


def _report_context(request: HttpRequest, report: StatisticalReport, **forms: Any) -> dict[str, Any]:
    """The frozen content once issued (and whether the sources changed since), the live figures while a draft."""
    live = selectors.report_content_live(report)
    content = report.content if report.is_issued else live
    return {
        "report": report,
        "content": content,
        "sources_changed": (content_hash(live) != report.content_sha256 if report.is_issued else None),
        "can_issue": not report.is_issued and request.user.pk == report.main_operator_id,
        "issue_form": forms.get("issue_form") or ReportIssueForm(),
    }


@requires("studies.view")
@require_GET
def report(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "studies/report.html", _report_context(request, _report(request, pk)))


@requires("studies.view")
@require_GET
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The report as printed, with its signature lines (X-4)."""
    found = _report(request, pk)
    context = _report_context(request, found)
    pdf = documents.report_pdf(found, context["content"], sources_changed=context["sources_changed"])
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{found.number}.pdf"'
    return response


@requires("studies.issue")
@require_POST
def report_issue(request: HttpRequest, pk: int) -> HttpResponse:
    found = _report(request, pk)
    form = ReportIssueForm(request.POST)
    return form_page(
        request,
        form,
        lambda data: services.report_issue(
            actor=request.user,
            report=found,
            signer=SignerCredentials(request.user, data["password"], data["totp_code"] or None),
        ),
        _("The report was reviewed, signed and issued; its figures are frozen."),
        done=lambda _r: redirect("studies:report", pk=found.pk),
        template="studies/report.html",
        context=_report_context(request, found, issue_form=form),
    )


# --------------------------------------------------------------------------- checklists


def _lines(states: Any) -> list[dict[str, Any]]:
    return [
        {"document": s.document.value, "label": DOCUMENT_LABELS[s.document.value], "state": s} for s in states
    ]


@requires("studies.view")
@require_GET
def checklists(request: HttpRequest) -> HttpResponse:
    """Every course's checklist in brief; ?missing=1 keeps the courses with a document missing (htmx swap)."""
    courses = list(selectors.courses_for(request.user))
    states = selectors.checklists(courses)
    only_missing = request.GET.get("missing") == "1"
    rows = []
    for course in courses:
        missing = [DOCUMENT_LABELS[s.document.value] for s in states[course.pk] if not s.present]
        if only_missing and not missing:
            continue
        rows.append({"course": course, "missing": missing})
    context = {"rows": rows, "only_missing": only_missing}
    template = "studies/checklists.html#rows" if request.htmx else "studies/checklists.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def _course(request: HttpRequest, course_id: int) -> Any:
    try:
        return selectors.course_get(request.user, course_id)
    except NotFound:
        raise Http404(course_id) from None


def _checklist_context(request: HttpRequest, course: Any, form: TickForm | None = None) -> dict[str, Any]:
    states = selectors.checklists([course])[course.pk]
    lines = _lines(states)
    for line in lines:
        line["evidence"] = [
            {
                "label": e.label,
                "type": e.record_type,
                "id": e.record_id,
                "link": selectors.evidence_link(e, course),
            }
            for e in line["state"].evidence
        ]
    return {
        "course": course,
        "lines": lines,
        "missing": [line["label"] for line in lines if not line["state"].present],
        "can_tick": has_permission(request.user, "studies.tick"),
        "form": form or TickForm(),
    }


@requires("studies.view")
@require_GET
def checklist(request: HttpRequest, course_id: int) -> HttpResponse:
    """A journey's checklist report: each expected document, on what its state rests, what is missing."""
    return render(request, "studies/checklist.html", _checklist_context(request, _course(request, course_id)))


@requires("studies.tick")
@require_POST
def checklist_tick(request: HttpRequest, course_id: int) -> HttpResponse:
    """Tick a document by hand; an htmx post gets the checklist back in place."""
    course = _course(request, course_id)
    form = TickForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        run_service(
            request,
            lambda: services.source_document_tick(
                actor=request.user,
                course=course,
                document=data["document"],
                present=data["present"],
                reason=data["reason"],
            ),
            _("The checklist was updated."),
            form=form,
        )
        if not form.errors:
            form = TickForm()
    template = "studies/checklist.html#sheet" if request.htmx else "studies/checklist.html"  # type: ignore[attr-defined]
    return render(request, template, _checklist_context(request, course, form))


# --------------------------------------------------------------------------- subject code directory


def _study(request: HttpRequest, pk: int) -> selectors.Study:
    try:
        return selectors.study_get(request.user, pk)
    except NotFound:
        raise Http404(pk) from None


@requires("studies.directory")
@require_GET
def directories(request: HttpRequest) -> HttpResponse:
    return render(request, "studies/directories.html", {"studies": selectors.studies_for(request.user)})


def _rows(request: HttpRequest, study: selectors.Study) -> list[selectors.DirectoryRow]:
    try:
        return selectors.directory_rows(request.user, study.approval)
    except NotAllowed:
        raise Http404(study.approval.pk) from None


@requires("studies.directory")
@require_GET
def directory(request: HttpRequest, pk: int) -> HttpResponse:
    """The subject code directory of a study: code and pseudonym beside the person (hospital only, X-7)."""
    study = _study(request, pk)
    return render(
        request,
        "studies/directory.html",
        {
            "study": study,
            "rows": _rows(request, study),
            "can_archive": has_permission(request.user, "studies.archive") and study.directory is None,
            "form": ArchiveForm(),
        },
    )


@requires("studies.directory")
@require_GET
def directory_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(request, pk)
    pdf = documents.directory_pdf(study, _rows(request, study))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="subject-code-directory-{study.approval.pk}.pdf"'
    return response


@requires("studies.archive")
@require_POST
def directory_archive(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(request, pk)
    form = ArchiveForm(request.POST)
    return form_page(
        request,
        form,
        lambda data: services.directory_archive(
            actor=request.user, study=study, archive_ref=data["archive_ref"]
        ),
        _("The subject code directory was marked completed and archived."),
        done=lambda _r: redirect("studies:directory", pk=pk),
        template="studies/directory.html",
        context={
            "study": study,
            "rows": _rows(request, study),
            "can_archive": study.directory is None,
            "form": form,
        },
    )
