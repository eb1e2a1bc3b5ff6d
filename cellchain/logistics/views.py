"""Pages of the logistics context: shipments, temperature chart, logger files, arrival, receipt (T-8.1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.core import clock
from cellchain.core.errors import NotFound, ServiceError, ValidationFailed
from cellchain.core.permissions import has_permission, requires
from cellchain.domain.receipt import RECEIPT_CHECKS, Answer, Source
from cellchain.logistics import selectors, services
from cellchain.logistics.charts import build_chart, chart_svg
from cellchain.logistics.models import Shipment, StockEvent, StorageLocation
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


# --- hospital storage (issue 6 item 5) ---------------------------------------------------------------

WATCH_DEFAULT_DAYS = 14


def _watch_days(request: HttpRequest) -> int:
    try:
        return max(0, min(3650, int(request.GET.get("days", WATCH_DEFAULT_DAYS))))
    except ValueError:
        return WATCH_DEFAULT_DAYS


@requires("logistics.storage_view")
def storage(request: HttpRequest) -> HttpResponse:
    """The site's storage: locations, units in stock, the expiry watch, stock moves by scan (T-7.7-d/e)."""
    days = _watch_days(request)
    now = clock.now()
    context = {
        "locations": selectors.storage_locations_for(request.user),
        "stock": selectors.stock_list(request.user),
        "watch": selectors.expiry_watch(request.user, dt.timedelta(days=days), now),
        "history": selectors.stock_history(request.user, limit=50),
        "days": days,
        "modes": StorageLocation.Mode.choices,
        "purposes": [p for p in StockEvent.Purpose.choices if p[0] != StockEvent.Purpose.STORE],
        "can_stock": has_permission(request.user, "logistics.stock"),
        "can_admin": has_permission(request.user, "logistics.storage_admin"),
    }
    return render(request, "logistics/storage.html", context)


def _limit(raw: str) -> dt.timedelta | None:
    if not raw.strip():
        return None
    try:
        days = float(raw)
        if not 0 < days <= 36500:
            raise ValueError(raw)
        return dt.timedelta(days=days)
    except ValueError as exc:
        raise ValidationFailed(
            _("The storage time limit is a positive number of days."), field="limit_days"
        ) from exc


@requires("logistics.storage_admin")
@require_POST
def storage_location_add(request: HttpRequest) -> HttpResponse:
    try:
        row = services.storage_location_create(
            actor=request.user,
            code=request.POST.get("code", ""),
            name=request.POST.get("name", ""),
            storage_mode=request.POST.get("storage_mode", ""),
            monitoring_reference=request.POST.get("monitoring_reference", ""),
        )
        messages.success(request, _("Location %(code)s added.") % {"code": row.code})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("logistics:storage")


@requires("logistics.stock")
@require_POST
def storage_stock_in(request: HttpRequest) -> HttpResponse:
    """Stock-in by scan: refused unless the receipt is accepted and signed and the mode matches (T-8.1.1,
    T-7.7-d)."""
    try:
        location = selectors.storage_location_get_for(request.user, request.POST.get("location", ""))
        event = services.stock_in(
            actor=request.user,
            location=location,
            scanned_text=request.POST.get("scan", ""),
            storage_time_limit=_limit(request.POST.get("limit_days", "")),
            note=request.POST.get("note", ""),
        )
        messages.success(
            request, _("Unit %(din)s stocked in %(loc)s.") % {"din": event.din, "loc": location.code}
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("logistics:storage")


@requires("logistics.stock")
@require_POST
def storage_stock_out(request: HttpRequest) -> HttpResponse:
    """Stock-out by scan: a unit past its expiry or storage time limit is not issued for thaw (T-7.7-e)."""
    try:
        event = services.stock_out(
            actor=request.user,
            scanned_text=request.POST.get("scan", ""),
            purpose=request.POST.get("purpose", ""),
            note=request.POST.get("note", ""),
        )
        messages.success(request, _("Unit %(din)s taken out of stock.") % {"din": event.din})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("logistics:storage")
