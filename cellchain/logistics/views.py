"""Pages of the logistics context: shipments, temperature chart, logger files, arrival, receipt (T-8.1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.core import clock
from cellchain.core.errors import NotFound, ServiceError, ValidationFailed
from cellchain.core.permissions import has_permission, requires
from cellchain.domain.receipt import RECEIPT_CHECKS, Answer, Source
from cellchain.logistics import selectors, services, storage_rules
from cellchain.logistics.charts import build_chart, chart_svg
from cellchain.logistics.models import (
    MonitoringDevice,
    Shipment,
    StockEvent,
    StorageLocation,
    StorageReservation,
)
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
    can_ship = has_permission(request.user, "logistics.ship")
    return render(request, "logistics/shipments.html", {"shipments": items, "can_ship": can_ship})


def _back(request: HttpRequest, default: str) -> str:
    """Where a form posted from another page returns: a path on this site only (no open redirect)."""
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@requires("logistics.ship")
@require_http_methods(["GET", "POST"])
def shipment_new(request: HttpRequest) -> HttpResponse:
    """A product shipment of a batch: only the batch (and units), the shipper and the container are chosen;
    the page shows the limits the product version gives (T-7.7-a..d, T-7.15-a..c, T-7.5-e)."""
    source = request.POST if request.method == "POST" else request.GET
    batch_number = source.get("batch", "").strip()
    preview, error = None, ""
    if batch_number:
        try:
            preview = selectors.batch_shipping_preview(request.user, batch_number)
        except ServiceError as exc:
            error = exc.message
    if request.method == "POST" and preview is not None:
        try:
            shipment = services.shipment_create(
                actor=request.user,
                data=services.ShipmentInput(
                    batch_number=batch_number,
                    kind=request.POST.get("kind", ""),
                    container_type=request.POST.get("container_type", ""),
                    container_code=request.POST.get("container_code", ""),
                    expected_units=tuple(request.POST.getlist("units")),
                ),
            )
            messages.success(request, _("Shipment %(number)s opened.") % {"number": shipment.number})
            return redirect("logistics:shipment", number=shipment.number)
        except ServiceError as exc:
            error = exc.message
    context = {
        "batch": batch_number,
        "preview": preview,
        "kinds": [(v, label) for v, label in Shipment.Kind.choices if preview and v in preview.shipper_kinds],
        "error": error,
        "posted": request.POST,
    }
    return render(request, "logistics/shipment_new.html", context)


@requires("logistics.view")
def shipment_detail(request: HttpRequest, number: str) -> HttpResponse:
    shipment = _shipment(request, number)
    series = selectors.shipment_chart_series(shipment)
    chart = build_chart(shipment, series)
    at_destination = request.user.site_id == shipment.to_site_id
    can_reserve = has_permission(request.user, "logistics.reserve") and at_destination
    active = selectors.shipment_active_reservation(shipment)
    context: dict[str, Any] = {
        "shipment": shipment,
        "series": [(link, verdict) for link, _, verdict in series],
        # chart_svg writes numbers and escaped labels only.
        "chart": mark_safe(chart_svg(chart, _("Temperature trace")) or ""),  # noqa: S308
        "packed": shipment.packed_units.select_related("scanned_by"),
        "receipt": selectors.receipt_get(shipment),
        "can_import": has_permission(request.user, "logistics.import_readings"),
        "can_receive": has_permission(request.user, "logistics.receive") and at_destination,
        "needs_reservation": services.needs_reservation(shipment),
        "reservation": active,
        "reservations": selectors.shipment_reservations(shipment),
        "can_reserve": can_reserve,
        "reservable": selectors.locations_for_shipment(request.user, shipment)
        if can_reserve and active is None and shipment.status in services.OPEN_FOR_RESERVATION
        else [],
        "storage_mode": StorageLocation.Mode(
            storage_rules.shipment_storage_mode(shipment.storage_mode, shipment.kind).value
        ).label,
    }
    return render(request, "logistics/shipment.html", context)


@requires("logistics.reserve")
@require_POST
def shipment_reserve(request: HttpRequest, number: str) -> HttpResponse:
    """Reserve a location of the product's storage mode for the shipment before dispatch (T-8.1.2-e)."""
    shipment = _shipment(request, number)
    try:
        location = selectors.storage_location_get_for(request.user, request.POST.get("location", ""))
        row = services.storage_reservation_create(actor=request.user, shipment=shipment, location=location)
        messages.success(
            request,
            _("%(positions)d position(s) reserved in %(location)s for %(number)s.")
            % {"positions": row.positions, "location": location.code, "number": shipment.number},
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(_back(request, reverse("logistics:shipment", args=[shipment.number])))


@requires("logistics.reserve")
@require_POST
def reservation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a storage reservation with the reason (T-8.1.2-e)."""
    try:
        reservation = selectors.reservation_get_for(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        services.storage_reservation_cancel(
            actor=request.user, reservation=reservation, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("Reservation cancelled."))
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(_back(request, reverse("logistics:reservations")))


@requires("logistics.storage_view")
def reservations(request: HttpRequest) -> HttpResponse:
    """Shipments on their way to the site with their storage reservation, and the reservation history
    (T-8.1.2-e)."""
    can_reserve = has_permission(request.user, "logistics.reserve")
    incoming = [
        (
            shipment,
            next(
                (r for r in shipment.reservations.all() if r.status == StorageReservation.Status.ACTIVE), None
            ),
            selectors.locations_for_shipment(request.user, shipment) if can_reserve else [],
        )
        for shipment in selectors.incoming_shipments(request.user)
    ]
    context = {
        "incoming": incoming,
        "history": selectors.reservations_for(request.user)[:100],
        "can_reserve": can_reserve,
    }
    return render(request, "logistics/reservations.html", context)


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
            code = request.POST.get("monitoring_device", "")
            services.receipt_inspect(
                actor=request.user,
                shipment=shipment,
                scanned_units=request.POST.get("scanned_units", "").split(),
                answers=_posted_answers(request),
                monitoring_device=selectors.monitoring_device_get_for(request.user, code) if code else None,
                receiving_area=request.POST.get("receiving_area", ""),
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
        # T-8.1.2-c, T-10.12: a device out of service or overdue for calibration is not offered.
        "devices": selectors.usable_devices_for(request.user, clock.now().date()),
        "last_area": selectors.last_receiving_area(request.user),
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
        "devices": selectors.usable_devices_for(request.user, now.date()),
        "location_rows": [
            (loc, services.location_occupied(loc)) for loc in selectors.storage_locations_for(request.user)
        ],
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


def _capacity(raw: str) -> int | None:
    try:
        return int(raw) if raw.strip() else None
    except ValueError as exc:
        raise ValidationFailed(
            _("The capacity is a whole number of unit positions."), field="capacity"
        ) from exc


@requires("logistics.storage_admin")
@require_POST
def storage_location_add(request: HttpRequest) -> HttpResponse:
    try:
        code = request.POST.get("monitoring_device", "")
        row = services.storage_location_create(
            actor=request.user,
            code=request.POST.get("code", ""),
            name=request.POST.get("name", ""),
            storage_mode=request.POST.get("storage_mode", ""),
            monitoring_device=selectors.monitoring_device_get_for(request.user, code) if code else None,
            capacity=_capacity(request.POST.get("capacity", "")),
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


# --- temperature-monitoring devices (T-8.1.2-c, T-10.12) ---------------------------------------------


def _date(raw: str, field: str) -> dt.date | None:
    if not raw.strip():
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise ValidationFailed(
            _("%(value)s is not a date (YYYY-MM-DD).") % {"value": raw}, field=field
        ) from exc


@requires("logistics.storage_view")
def devices(request: HttpRequest) -> HttpResponse:
    """The site's temperature-monitoring devices with their calibration status (T-8.1.2-c, T-10.12)."""
    today = clock.now().date()
    rows = [(d, services.device_gate(d, today)) for d in selectors.monitoring_devices_for(request.user)]
    context = {
        "rows": rows,
        "kinds": MonitoringDevice.Kind.choices,
        "can_admin": has_permission(request.user, "logistics.devices"),
    }
    return render(request, "logistics/devices.html", context)


@requires("logistics.devices")
@require_POST
def device_add(request: HttpRequest) -> HttpResponse:
    try:
        device = services.monitoring_device_register(
            actor=request.user,
            code=request.POST.get("code", ""),
            kind=request.POST.get("kind", ""),
            name=request.POST.get("name", ""),
            calibrated_on=_date(request.POST.get("calibrated_on", ""), "calibrated_on"),
            calibration_due=_date(request.POST.get("calibration_due", ""), "calibration_due"),
            calibration_certificate=request.POST.get("calibration_certificate", ""),
        )
        messages.success(request, _("Device %(code)s registered.") % {"code": device.code})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("logistics:devices")


@requires("logistics.devices")
@require_POST
def device_calibrate(request: HttpRequest, code: str) -> HttpResponse:
    try:
        device = selectors.monitoring_device_get_for(request.user, code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        calibrated_on = _date(request.POST.get("calibrated_on", ""), "calibrated_on")
        due = _date(request.POST.get("calibration_due", ""), "calibration_due")
        if calibrated_on is None or due is None:
            raise ValidationFailed(
                _("Give the calibration date and the next due date."), field="calibrated_on"
            )
        services.monitoring_device_calibrate(
            actor=request.user,
            device=device,
            calibrated_on=calibrated_on,
            calibration_due=due,
            certificate=request.POST.get("certificate", ""),
        )
        messages.success(request, _("Calibration of %(code)s recorded.") % {"code": device.code})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("logistics:devices")


@requires("logistics.devices")
@require_POST
def device_service(request: HttpRequest, code: str) -> HttpResponse:
    try:
        device = selectors.monitoring_device_get_for(request.user, code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        services.monitoring_device_set_in_service(
            actor=request.user,
            device=device,
            in_service=request.POST.get("in_service") == "yes",
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("Working status of %(code)s recorded.") % {"code": device.code})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("logistics:devices")
