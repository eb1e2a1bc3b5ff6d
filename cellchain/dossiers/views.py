"""Pages of inspection dossiers: request one, watch it being built (htmx polling), download it (issue 14
item 6). Handlers only parse, authorise and call the service; the export is built in the background."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cellchain.core.errors import NotFound
from cellchain.core.pages import form_errors_text, run_service
from cellchain.core.permissions import has_permission, requires
from cellchain.dossiers import jobs, selectors, services
from cellchain.dossiers.forms import ExportRequestForm
from cellchain.dossiers.models import DossierExport

LIST_LIMIT = 50


def _get(request: HttpRequest, export_id: int) -> DossierExport:
    try:
        return selectors.export_get_for(request.user, export_id)
    except NotFound as error:
        raise Http404(error.message) from None


@requires("dossiers.view")
def dossier_list(request: HttpRequest) -> HttpResponse:
    """The organisation's exports, newest first, and the request form (prefilled from ?kind=&subject=)."""
    initial = {key: request.GET[key] for key in ("kind", "subject") if key in request.GET}
    return render(
        request,
        "dossiers/list.html",
        {
            "form": ExportRequestForm(initial=initial),
            "exports": selectors.exports_visible_to(request.user)[:LIST_LIMIT],
            "can_request": has_permission(request.user, "dossiers.request"),
        },
    )


@requires("dossiers.request")
@require_POST
def dossier_request(request: HttpRequest) -> HttpResponse:
    """Record the request and show its progress; the request itself builds nothing."""
    form = ExportRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("dossiers:list")
    export = run_service(
        request,
        lambda: services.dossier_export_request(actor=request.user, **form.cleaned_data),
        None,
    )
    if export is None:
        return redirect("dossiers:list")
    if request.htmx:
        return render(request, "dossiers/detail.html#progress", {"export": export})
    return redirect("dossiers:detail", export_id=export.pk)


@requires("dossiers.view")
def dossier_detail(request: HttpRequest, export_id: int) -> HttpResponse:
    """One export: its progress while it is built (the page polls this), then its file and hashes."""
    export = _get(request, export_id)
    template = "dossiers/detail.html#progress" if request.htmx else "dossiers/detail.html"
    return render(request, template, {"export": export})


@requires("dossiers.view")
def dossier_download(request: HttpRequest, export_id: int) -> FileResponse:
    """The finished export's ZIP, to people of the organisation that asked for it."""
    export = _get(request, export_id)
    path = jobs.export_path(export) if export.status == DossierExport.Status.DONE else None
    if path is None or not path.is_file():
        raise Http404(_("This export has no file (yet)."))
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=export.file_name, content_type="application/zip"
    )
    response["X-Content-SHA256"] = export.file_sha256
    return response
