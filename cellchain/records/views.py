"""Archive checklist, scanned paper records and retention pages (issue 13 item 9; T-10.16, T-6.4-g, X-6)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cellchain.core import clock
from cellchain.core.errors import Conflict
from cellchain.core.pages import form_page, redirect_to, submit
from cellchain.core.permissions import has_permission, requires
from cellchain.domain import retention as rules
from cellchain.records import forms as f
from cellchain.records import selectors, services
from cellchain.records.models import ArchiveChecklist, ArchiveTick, ScannedDocument
from cellchain.signatures.services import SignerCredentials


@requires("records.view")
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The archive checklists of the organisation, each with its journey's retention date."""
    checklists = list(selectors.checklists_for(request.user)[:300])
    retentions = selectors.journey_retentions()
    rows = [(c, retentions.get(c.coi)) for c in checklists]
    context = {
        "rows": rows,
        "open_form": f.OpenForm(),
        "can_archive": has_permission(request.user, "records.archive"),
    }
    return render(request, "records/index.html", context)


@requires("records.archive")
@require_POST
def open_checklist(request: HttpRequest) -> HttpResponse:
    form = f.OpenForm(request.POST)
    opened = submit(
        request,
        form,
        lambda data: services.archive_open(actor=request.user, coi=data["coi"]),
        lambda c: _("The archive checklist of %(coi)s was opened.") % {"coi": c.coi},
    )
    return redirect("records:checklist", checklist_id=opened.pk) if opened else redirect("records:index")


def _checklist(request: HttpRequest, checklist_id: int) -> ArchiveChecklist:
    try:
        return selectors.checklist_get_for(request.user, checklist_id)
    except ArchiveChecklist.DoesNotExist:
        raise Http404(checklist_id) from None


def _context(request: HttpRequest, checklist: ArchiveChecklist, **bound: Any) -> dict[str, Any]:
    user = request.user
    rows = selectors.checklist_rows(checklist)
    gate = rules.archive_close_gate(
        [rules.ItemState(r.item, r.found, r.tick is not None) for r in rows], coi=checklist.coi
    )
    is_open = checklist.status == ArchiveChecklist.Status.OPEN
    scans = selectors.scans_for(user).filter(coi=checklist.coi)
    return {
        "checklist": checklist,
        "rows": rows,
        "missing": gate.findings,
        "retention": selectors.journey_retention(checklist.coi),
        "adverse_events": selectors.adverse_events_of(checklist.coi),
        "scans": scans,
        "can_archive": has_permission(user, "records.archive") and is_open,
        "can_close": has_permission(user, "records.close") and is_open,
        "tick_form": bound.get("tick_form") or f.TickForm(scans=scans),
        "close_form": bound.get("close_form") or f.CloseForm(),
    }


@requires("records.view")
@require_GET
def checklist(request: HttpRequest, checklist_id: int) -> HttpResponse:
    found = _checklist(request, checklist_id)
    context = _context(request, found)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "records/checklist.html#items", context)
    return render(request, "records/checklist.html", context)


@requires("records.archive")
@require_POST
def tick(request: HttpRequest, checklist_id: int) -> HttpResponse:
    found = _checklist(request, checklist_id)
    form = f.TickForm(request.POST, scans=selectors.scans_for(request.user).filter(coi=found.coi))
    return form_page(
        request,
        form,
        lambda data: services.archive_tick(
            actor=request.user,
            checklist=found,
            item=data["item"],
            evidence=data["evidence"],
            scanned_document=data["scanned_document"],
        ),
        _("The item was ticked with its evidence."),
        done=redirect_to("records:checklist", checklist_id=found.pk),
        template="records/checklist.html",
        context=_context(request, found, tick_form=form),
    )


@requires("records.archive")
@require_POST
def untick(request: HttpRequest, tick_id: int) -> HttpResponse:
    found = ArchiveTick.objects.filter(
        pk=tick_id,
        checklist__site__organisation_id=request.user.organisation_id,  # type: ignore[union-attr]
    ).first()
    if found is None:
        raise Http404(tick_id)
    submit(
        request,
        f.UntickForm(request.POST),
        lambda data: services.archive_untick(actor=request.user, tick=found, reason=data["reason"]),
        _("The tick was withdrawn."),
    )
    return redirect("records:checklist", checklist_id=found.checklist_id)


@requires("records.close")
@require_POST
def close(request: HttpRequest, checklist_id: int) -> HttpResponse:
    found = _checklist(request, checklist_id)
    form = f.CloseForm(request.POST)
    return form_page(
        request,
        form,
        lambda data: services.archive_close(
            actor=request.user,
            checklist=found,
            signer=SignerCredentials(request.user, data["password"], data["totp_code"] or None),
            archive_location=data["archive_location"],
        ),
        _("The archive was closed and signed."),
        done=redirect_to("records:checklist", checklist_id=found.pk),
        template="records/checklist.html",
        context=_context(request, found, close_form=form),
    )


# --------------------------------------------------------------------------- scanned records


@requires("records.view")
@require_GET
def scans(request: HttpRequest) -> HttpResponse:
    coi = request.GET.get("coi", "").strip().upper()
    found = selectors.scans_for(request.user)
    if coi:
        found = found.filter(coi=coi)
    context = {
        "scans": list(found[:300]),
        "coi": coi,
        "can_scan": has_permission(request.user, "records.scan"),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "records/scans.html#list", context)
    return render(request, "records/scans.html", context)


@requires("records.scan")
@require_http_methods(["GET", "POST"])
def scan_new(request: HttpRequest) -> HttpResponse:
    initial = {k: request.GET[k] for k in ("record_type", "record_id") if k in request.GET}
    form = f.ScanForm(request.POST or None, request.FILES or None, initial=initial)

    def call(data: Any) -> ScannedDocument:
        upload = data["file"]
        return services.scan_add(
            actor=request.user,
            record_type=data["record_type"],
            record_id=data["record_id"],
            title=data["title"],
            name=upload.name,
            media_type=upload.content_type or "",
            content=upload.read(),
            paper_archive=data["paper_archive"],
            paper_shelf=data["paper_shelf"],
            paper_box=data["paper_box"],
        )

    return form_page(
        request,
        form,
        call,
        _("The scan was filed with its paper-archive location."),
        done=redirect_to("records:scans"),
        template="records/scan_new.html",
    )


@requires("records.view")
@require_GET
def scan_file(request: HttpRequest, scan_id: int) -> HttpResponse:
    try:
        scan = selectors.scan_get_for(request.user, scan_id)
    except ScannedDocument.DoesNotExist:
        raise Http404(scan_id) from None
    try:
        content = services.scan_content(scan)
    except Conflict as exc:
        return render(request, "records/scans.html", {"scans": [], "error": exc.message}, status=409)
    response = HttpResponse(content, content_type=scan.media_type or "application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{scan.sha256[:12]}-{scan.pk}"'
    return response


@requires("records.view")
@require_GET
def retention(request: HttpRequest) -> HttpResponse:
    """The retention date of any ledgered record, by its ledger subject (X-6, T-10.3)."""
    form = f.RetentionForm(request.GET or None)
    found = None
    if form.is_valid():
        found = selectors.record_retention(
            form.cleaned_data["record_type"].lower(), form.cleaned_data["record_id"]
        )
    return render(request, "records/retention.html", {"form": form, "found": found})


@requires("records.view_restore_tests")
@require_http_methods(["GET", "POST"])
def restore_tests(request: HttpRequest) -> HttpResponse:
    """The backup restore-test log and whether a test is due (T-10.2)."""
    user = request.user
    can_record = has_permission(user, "records.restore_test")
    if request.method == "POST" and not can_record:
        raise PermissionDenied
    form = f.RestoreTestForm(request.POST or None)
    today = clock.today(user.site.time_zone)  # type: ignore[union-attr]
    context = {
        "tests": list(selectors.restore_tests_for(user)[:200]),
        "due": rules.restore_test_gate(selectors.last_passed_restore_test(user), today).findings,
        "can_record": can_record,
    }
    return form_page(
        request,
        form,
        lambda data: services.restore_test_record(actor=user, **data),
        _("The restore test was logged."),
        done=redirect_to("records:restore_tests"),
        template="records/restore_tests.html",
        context=context,
    )
