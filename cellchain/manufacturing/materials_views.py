"""Supplier register, material lots (CoA upload, signed release) and the lot recall list (issue 13 item 5).

Clauses: P-1.1-a (supplier qualification, vector lot released), P-1.1-b (CoA, documents, QA release),
Q-2.6-a (vector RCL/RCR), REGULATORY item 36 (lot -> batches -> patients, pseudonymous: X-7).
Views parse, authorise, call one service and show its message (STYLE habit 5).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cellchain.core import clock
from cellchain.core.errors import Conflict
from cellchain.core.pages import run_service, submit
from cellchain.core.permissions import has_permission, requires
from cellchain.domain import facility as fac
from cellchain.manufacturing import forms, selectors, services
from cellchain.manufacturing.models import MaterialLot, Supplier
from cellchain.signatures.services import SignerCredentials

LOT_FILTERS = ("", "usable", "blocked", "unreleased")


def _signer(request: HttpRequest, data: Any) -> SignerCredentials:
    return SignerCredentials(request.user, data["password"], data.get("totp_code") or None)


def _supplier(request: HttpRequest, supplier_id: int) -> Supplier:
    return get_object_or_404(selectors.suppliers_visible_to(request.user), pk=supplier_id)


def _lots_of(request: HttpRequest) -> Any:
    """Lots of the viewer's organisation: those of its register's suppliers, and older lots without one."""
    from django.db.models import Q

    org = request.user.organisation_id
    return selectors.lots_all().filter(
        Q(registered_supplier__site__organisation_id=org) | Q(registered_supplier__isnull=True)
    )


def _lot(request: HttpRequest, lot_id: int) -> MaterialLot:
    return get_object_or_404(_lots_of(request), pk=lot_id)


# --------------------------------------------------------------------------- suppliers


@requires("manufacturing.view")
def suppliers(request: HttpRequest) -> HttpResponse:
    can_manage = has_permission(request.user, "manufacturing.manage_materials")
    form = forms.SupplierForm(request.POST or None)
    if request.method == "POST" and can_manage and form.is_valid():
        # the registering QA person's own site, else the first site of their organisation
        site = request.user.site or request.user.organisation.sites.order_by("pk").first()
        created = run_service(
            request,
            lambda: services.supplier_register(actor=request.user, site=site, **form.cleaned_data),
            _("The supplier is in the register, not yet qualified."),
            form=form,
        )
        if created is not None:
            return redirect("manufacturing:supplier", supplier_id=created.pk)
    today = clock.now().date()
    rows = [
        {"supplier": s, "gate": fac.supplier_standing_check(selectors.supplier_to_domain(s), today)}
        for s in selectors.suppliers_visible_to(request.user)
    ]
    return render(
        request, "manufacturing/suppliers.html", {"rows": rows, "form": form, "can_manage": can_manage}
    )


@requires("manufacturing.view")
def supplier_detail(request: HttpRequest, supplier_id: int) -> HttpResponse:
    supplier = _supplier(request, supplier_id)
    gate = fac.supplier_standing_check(selectors.supplier_to_domain(supplier), clock.now().date())
    context = {
        "supplier": supplier,
        "gate": gate,
        "lots": supplier.lots.filter(voided_at__isnull=True),
        "qualify_form": forms.SupplierQualifyForm(),
        "disqualify_form": forms.SupplierDisqualifyForm(),
        "can_manage": has_permission(request.user, "manufacturing.manage_materials"),
    }
    return render(request, "manufacturing/supplier.html", context)


@requires("manufacturing.manage_materials")
@require_POST
def supplier_qualify(request: HttpRequest, supplier_id: int) -> HttpResponse:
    supplier = _supplier(request, supplier_id)
    submit(
        request,
        forms.SupplierQualifyForm(request.POST),
        lambda data: services.supplier_qualify(
            actor=request.user,
            supplier=supplier,
            signer=_signer(request, data),
            reason=data["reason"],
            requalify_by=data["requalify_by"],
            audit_reference=data["audit_reference"],
            conditional=data["conditional"],
        ),
        _("The supplier's qualification is recorded and signed."),
    )
    return redirect("manufacturing:supplier", supplier_id=supplier.pk)


@requires("manufacturing.manage_materials")
@require_POST
def supplier_disqualify(request: HttpRequest, supplier_id: int) -> HttpResponse:
    supplier = _supplier(request, supplier_id)
    submit(
        request,
        forms.SupplierDisqualifyForm(request.POST),
        lambda data: services.supplier_disqualify(
            actor=request.user, supplier=supplier, signer=_signer(request, data), reason=data["reason"]
        ),
        _("The supplier is disqualified; its lots are refused at issue."),
    )
    return redirect("manufacturing:supplier", supplier_id=supplier.pk)


# --------------------------------------------------------------------------- lots


@requires("manufacturing.view")
def lots(request: HttpRequest) -> HttpResponse:
    """Lots with what stops their issue; htmx filters the table in place (P-1.1-a/b, Q-2.6-a)."""
    can_manage = has_permission(request.user, "manufacturing.manage_materials")
    register = forms.LotForm(request.POST or None, suppliers=selectors.suppliers_visible_to(request.user))
    if request.method == "POST" and can_manage and register.is_valid():
        data = dict(register.cleaned_data)
        if run_service(
            request,
            lambda: services.material_lot_register(
                actor=request.user, material=data.pop("material"), lot=data.pop("lot"), **data
            ),
            _("The lot is registered; attach its CoA, then release it."),
            form=register,
        ):
            return redirect("manufacturing:lots")
    shown = request.GET.get("show", "")
    shown = shown if shown in LOT_FILTERS else ""
    today = clock.now().date()
    rows = []
    for lot in _lots_of(request).prefetch_related("certificates"):
        current = next((c for c in lot.certificates.all() if c.voided_at is None), None)
        domain = selectors.lot_to_domain(
            lot, coa_attached=current is not None, supplier=lot.registered_supplier
        )
        gate = fac.material_lot_check(domain, today)
        release_gate = fac.material_lot_release_check(domain, today)
        row = {"lot": lot, "coa": current, "gate": gate, "release_gate": release_gate}
        if (
            (shown == "usable" and not gate.allowed)
            or (shown == "blocked" and gate.allowed)
            or (shown == "unreleased" and lot.released)
        ):
            continue
        rows.append(row)
    context = {
        "rows": rows,
        "show": shown,
        "register": register,
        "coa_form": forms.CertificateForm(),
        "release_form": forms.LotReleaseForm(),
        "can_manage": can_manage,
    }
    if request.htmx:
        return render(request, "manufacturing/lots.html#lot-table", context)
    return render(request, "manufacturing/lots.html", context)


@requires("manufacturing.manage_materials")
@require_POST
def lot_certificate(request: HttpRequest, lot_id: int) -> HttpResponse:
    lot = _lot(request, lot_id)
    upload = request.FILES.get("coa")
    if upload is None:
        messages.error(request, _("Choose the CoA file to upload."))
    elif upload.size is not None and upload.size > settings.CELLCHAIN_MAX_EVIDENCE_FILE_BYTES:
        messages.error(request, _("The file is larger than this installation accepts."))
    else:
        run_service(
            request,
            lambda: services.material_certificate_attach(
                actor=request.user, lot=lot, name=upload.name or "coa", content=upload.read()
            ),
            _("The CoA is kept with its SHA-256."),
        )
    return redirect("manufacturing:lots")


@requires("manufacturing.view")
@require_GET
def lot_certificate_file(request: HttpRequest, lot_id: int) -> HttpResponse:
    """The lot's current CoA, its hash checked again as it is read (REGULATORY item 14)."""
    lot = _lot(request, lot_id)
    current = selectors.lot_certificate(lot)
    if current is None:
        messages.error(request, _("This lot has no CoA on file."))
        return redirect("manufacturing:lots")
    try:
        content = services.material_certificate_content(current)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("manufacturing:lots")
    response = HttpResponse(content, content_type=current.content_type)
    response["Content-Disposition"] = content_disposition_header(True, current.name) or "attachment"
    response["X-Content-SHA256"] = current.sha256
    return response


@requires("manufacturing.manage_materials")
@require_POST
def lot_release(request: HttpRequest, lot_id: int) -> HttpResponse:
    lot = _lot(request, lot_id)
    submit(
        request,
        forms.LotReleaseForm(request.POST),
        lambda data: services.material_lot_release(
            actor=request.user, lot=lot, signer=_signer(request, data)
        ),
        _("The lot is released and signed."),
    )
    return redirect("manufacturing:lots")


# --------------------------------------------------------------------------- recall (REGULATORY item 36)


@requires("manufacturing.view")
@require_GET
def lot_recall(request: HttpRequest, lot_id: int) -> HttpResponse:
    lot = _lot(request, lot_id)
    rows = selectors.lot_recall(request.user, lot)
    return render(
        request,
        "manufacturing/recall.html",
        {"lot": lot, "rows": rows, "exposed": sum(1 for r in rows if r.exposed)},
    )


@requires("manufacturing.view")
@require_GET
def lot_recall_csv(request: HttpRequest, lot_id: int) -> HttpResponse:
    import hashlib

    lot = _lot(request, lot_id)
    content = ("\ufeff" + selectors.lot_recall_csv(lot, selectors.lot_recall(request.user, lot))).encode()
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    name = f"recall-{lot.lot}-{clock.now().date()}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    response["X-Content-SHA256"] = hashlib.sha256(content).hexdigest()
    return response
