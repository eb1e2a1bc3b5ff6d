"""Pages of the logistics context: shipments, temperature chart, logger files, arrival, receipt (T-8.1)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.core.errors import NotFound, ServiceError
from cellchain.core.permissions import has_permission, requires
from cellchain.domain.receipt import RECEIPT_CHECKS, Answer, Source
from cellchain.logistics import selectors, services
from cellchain.logistics.charts import build_chart, chart_svg
from cellchain.logistics.models import Shipment
from cellchain.logistics.receipt_pdf import receipt_pdf
from cellchain.signatures.services import SignerCredentials, signatures_of


def _shipment(request: HttpRequest, number: str) -> Shipment:
    try:
        return selectors.shipment_get_for(request.user, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@requires("logistics.view")
def shipments(request: HttpRequest) -> HttpResponse:
    items = selectors.shipments_visible_to(request.user)[:300]
    return render(request, "logistics/shipments.html", {"shipments": items})


@requires("logistics.view")
def shipment_detail(request: HttpRequest, number: str) -> HttpResponse:
    shipment = _shipment(request, number)
    series = selectors.shipment_chart_series(shipment)
    chart = build_chart(shipment, series)
    context: dict[str, Any] = {
        "shipment": shipment,
        "series": [(link, verdict) for link, _, verdict in series],
        # chart_svg writes numbers and escaped labels only.
        "chart": mark_safe(chart_svg(chart, _("Temperature trace")) or ""),  # noqa: S308
        "packed": shipment.packed_units.select_related("scanned_by"),
        "receipt": selectors.receipt_get(shipment),
        "can_import": has_permission(request.user, "logistics.import_readings"),
        "can_receive": has_permission(request.user, "logistics.receive")
        and request.user.site_id == shipment.to_site_id,
    }
    return render(request, "logistics/shipment.html", context)


@requires("logistics.import_readings")
@require_POST
def logger_upload(request: HttpRequest, number: str, serial: str) -> HttpResponse:
    shipment = _shipment(request, number)
    upload = request.FILES.get("file")
    try:
        link = selectors.logger_get(shipment, serial)
        if upload is None:
            raise NotFound(_("Choose the logger file to import."))
        row = services.logger_file_import(
            actor=request.user, logger=link, data=upload.read(), file_name=upload.name
        )
        messages.success(request, _("Imported %(n)d readings.") % {"n": row.readings})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("logistics:shipment", number=shipment.number)


@requires("logistics.receive")
@require_POST
def shipment_arrive(request: HttpRequest, number: str) -> HttpResponse:
    shipment = _shipment(request, number)
    try:
        services.shipment_arrive(
            actor=request.user, shipment=shipment, scanned_text=request.POST.get("scan", "")
        )
        messages.success(request, _("Arrival recorded. Inspect the receipt now."))
        return redirect("logistics:receipt", number=shipment.number)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("logistics:shipment", number=shipment.number)


def _posted_answers(request: HttpRequest) -> dict[str, dict[str, str]]:
    answers = {}
    for check in RECEIPT_CHECKS:
        value = request.POST.get(f"answer_{check.id}", "")
        if value:
            answers[check.id] = {"answer": value, "note": request.POST.get(f"note_{check.id}", "")}
    return answers


@requires("logistics.receive")
@require_http_methods(["GET", "POST"])
def receipt(request: HttpRequest, number: str) -> HttpResponse:
    """The receipt form (T-8.1.3-T-8.1.5): every check answered; temperature filled in by the analysis."""
    shipment = _shipment(request, number)
    error = ""
    if request.method == "POST":
        try:
            services.receipt_inspect(
                actor=request.user,
                shipment=shipment,
                scanned_units=request.POST.get("scanned_units", "").split(),
                answers=_posted_answers(request),
                anomaly_handling=request.POST.get("anomaly_handling", ""),
            )
            messages.success(request, _("Receipt recorded. Sign the receipt record."))
            return redirect("logistics:shipment", number=shipment.number)
        except ServiceError as exc:
            error = exc.message
    series = selectors.shipment_chart_series(shipment)
    system_failed = any(not v.within_limits for _, _, v in series) or not series
    context = {
        "shipment": shipment,
        "checks": RECEIPT_CHECKS,
        "system": Source.SYSTEM,
        "answers": [a.value for a in Answer],
        "series": [(link, verdict) for link, _, verdict in series],
        "system_failed": system_failed,
        "chart": mark_safe(chart_svg(build_chart(shipment, series), _("Temperature trace")) or ""),  # noqa: S308
        "error": error,
        "posted": request.POST,
    }
    return render(request, "logistics/receipt.html", context)


@requires("logistics.receive")
@require_POST
def receipt_sign(request: HttpRequest, number: str) -> HttpResponse:
    shipment = _shipment(request, number)
    try:
        inspection = selectors.receipt_require(shipment)
        signer = SignerCredentials(
            request.user, request.POST.get("password", ""), request.POST.get("totp_code") or None
        )
        services.receipt_sign(inspection=inspection, signer=signer)
        messages.success(request, _("The receipt record is signed."))
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("logistics:shipment", number=shipment.number)


@requires("logistics.view")
def receipt_print(request: HttpRequest, number: str) -> HttpResponse:
    """The signed receipt record as PDF with the temperature chart (T-8.1.7)."""
    shipment = _shipment(request, number)
    inspection = selectors.receipt_get(shipment)
    if inspection is None:
        raise Http404(_("No receipt inspection yet."))
    chart = build_chart(shipment, selectors.shipment_chart_series(shipment))
    pdf = receipt_pdf(inspection, chart, signatures_of(inspection))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{shipment.number}.pdf"'
    return response
