"""Pages of the logistics context: shipments, packing by scan with the two-person check, loggers, hand-off under\nthe batch's release, temperature chart, logger files, arrival, receipt (T-8.1, Q-2-b, G-4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from cellchain.core import clock
from cellchain.core.errors import NotFound, ServiceError, ValidationFailed
from cellchain.core.pages import run_service, submit
from cellchain.core.permissions import has_permission, requires
from cellchain.domain.receipt import RECEIPT_CHECKS, Answer, Source
from cellchain.logistics import forms, selectors, services, storage_rules
from cellchain.logistics.charts import build_chart, chart_svg
from cellchain.logistics.models import (
    MonitoringDevice,
    ReleaseStateChoices,
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


def _packing_rows(shipment: Shipment) -> list[tuple[str, Any]]:
    """Each unit of the order with its packing scan (None: not yet in the shipper)."""
    packed = {row.din: row for row in shipment.packed_units.select_related("scanned_by")}
    return [(din, packed.get(din)) for din in shipment.expected_units]


def _release_view(shipment: Shipment, *, current: bool = False) -> dict[str, Any]:
    """The batch release a page shows (Q-2-b): on the shipment page the one recorded at hand-off once the
    shipment has left, the current one (with what still stops the hand-off) before; `current`: QC's release
    now (the receipt form, which records it)."""
    if not shipment.is_product_shipment:
        return {}
    if shipment.release_status and not current:
        return {
            "state": shipment.release_status,
            "label": shipment.get_release_status_display(),
            "pending": shipment.release_pending,
            "blocked": [],
            "at_handoff": True,
        }
    try:
        check = services.shipment_release_check(shipment)
    except ServiceError as exc:
        return {"state": "", "label": "", "pending": [], "blocked": [exc.message], "at_handoff": False}
    if check is None:
        return {}
    return {
        "state": check.state.value,
        "label": ReleaseStateChoices(check.state.value).label,
        "pending": list(check.pending),
        # At receipt the units have left the manufacturer: only the batch's own release state matters there.
        "blocked": [
            f"{f.clause}: {f.message}" if f.clause else f.message
            for f in check.gate.findings
            if not (current and f.check == "unit_not_in_stock")
        ],
        "at_handoff": False,
    }


def _shipment_context(request: HttpRequest, shipment: Shipment) -> dict[str, Any]:
    series = selectors.shipment_chart_series(shipment)
    chart = build_chart(shipment, series)
    at_destination = request.user.site_id == shipment.to_site_id
    can_reserve = has_permission(request.user, "logistics.reserve") and at_destination
    can_ship = (
        has_permission(request.user, "logistics.ship") and request.user.site_id == shipment.from_site_id
    )
    active = selectors.shipment_active_reservation(shipment)
    rows = _packing_rows(shipment)
    return {
        "shipment": shipment,
        "series": [(link, verdict) for link, _, verdict in series],
        # chart_svg writes numbers and escaped labels only.
        "chart": mark_safe(chart_svg(chart, _("Temperature trace")) or ""),  # noqa: S308
        "packing": rows,
        "all_packed": all(row is not None for _, row in rows),
        "loggers": shipment.loggers.select_related("linked_by").order_by("serial"),
        "release": _release_view(shipment),
        "can_ship": can_ship,
        "scan_form": forms.ScanForm(),
        "verify_form": forms.PackVerifyForm(),
        "logger_form": forms.LoggerLinkForm(),
        "dispatch_form": forms.DispatchForm(),
        "packing_check": selectors.packing_check_get(shipment),
        # Packing signed on the shipment itself before the PackingCheck record existed (shown, not hidden).
        "shipment_signed": bool(signatures_of(shipment)),
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


@requires("logistics.view")
def shipment_detail(request: HttpRequest, number: str) -> HttpResponse:
    shipment = _shipment(request, number)
    return render(request, "logistics/shipment.html", _shipment_context(request, shipment))


def _handoff(request: HttpRequest, shipment: Shipment) -> HttpResponse:
    """After a packing or hand-off action: the section again with the outcome (htmx), or the whole page."""
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("logistics:shipment", number=shipment.number)
    shipment.refresh_from_db()
    context = _shipment_context(request, shipment) | {"swap": True}
    return render(request, "logistics/shipment.html#handoff", context)


@requires("logistics.ship")
@require_POST
def shipment_pack_scan(request: HttpRequest, number: str) -> HttpResponse:
    """Scan a unit into the shipper by its label barcode or typed DIN (T-8.1.3-a at the sending end, G-4)."""
    shipment = _shipment(request, number)
    submit(
        request,
        forms.ScanForm(request.POST),
        lambda data: services.shipment_pack_scan(
            actor=request.user, shipment=shipment, scanned_text=data["scan"]
        ),
        lambda row: _("Unit %(din)s packed.") % {"din": row.din},
    )
    return _handoff(request, shipment)


def _verifier(username: str) -> Any:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username.strip(), is_active=True).first()
    if user is None:
        raise ValidationFailed(
            _("No active user %(name)s to verify the packing.") % {"name": username.strip()},
            field="verifier_username",
        )
    return user


@requires("logistics.ship")
@require_POST
def shipment_pack_verify(request: HttpRequest, number: str) -> HttpResponse:
    """The two-person check of the packing: the packer and a second packer re-enter their passwords (X-5)."""
    shipment = _shipment(request, number)

    def verify(data: Mapping[str, Any]) -> Shipment:
        return services.shipment_pack_verify(
            shipment=shipment,
            performer=SignerCredentials(request.user, data["password"], data.get("totp_code") or None),
            verifier=SignerCredentials(
                _verifier(data["verifier_username"]),
                data["verifier_password"],
                data.get("verifier_totp_code") or None,
            ),
        )

    submit(request, forms.PackVerifyForm(request.POST), verify, _("Packing checked by two people."))
    return _handoff(request, shipment)


@requires("logistics.ship")
@require_POST
def shipment_logger_link(request: HttpRequest, number: str) -> HttpResponse:
    """Link a temperature logger travelling with the shipment (T-8.1.5-a)."""
    shipment = _shipment(request, number)
    submit(
        request,
        forms.LoggerLinkForm(request.POST),
        lambda data: services.logger_link(
            actor=request.user,
            shipment=shipment,
            serial=data["serial"],
            interval_s=data["interval_s"],
            armed_at=data["armed_at"] or clock.now(),
        ),
        lambda link: _("Logger %(serial)s linked.") % {"serial": link.serial},
    )
    return _handoff(request, shipment)


@requires("logistics.ship")
@require_POST
def shipment_dispatch(request: HttpRequest, number: str) -> HttpResponse:
    """Hand the shipper to the courier: refused without a standing batch release (Q-2-b, Q-2.5-c) or storage
    reserved at the hospital (T-8.1.2-e), each refusal saying what is missing."""
    shipment = _shipment(request, number)
    submit(
        request,
        forms.DispatchForm(request.POST),
        lambda data: services.shipment_dispatch(
            actor=request.user, shipment=shipment, courier=data["courier"]
        ),
        lambda done: _("Handed to %(courier)s.") % {"courier": done.courier},
    )
    return _handoff(request, shipment)


@requires("logistics.reserve")
@require_POST
def shipment_reserve(request: HttpRequest, number: str) -> HttpResponse:
    """Reserve a location of the product's storage mode for the shipment before dispatch (T-8.1.2-e)."""
    shipment = _shipment(request, number)
    run_service(
        request,
        lambda: services.storage_reservation_create(
            actor=request.user,
            shipment=shipment,
            location=selectors.storage_location_get_for(request.user, request.POST.get("location", "")),
        ),
        lambda row: (
            _("%(positions)d position(s) reserved in %(location)s for %(number)s.")
            % {"positions": row.positions, "location": row.location.code, "number": shipment.number}
        ),
    )
    return redirect(_back(request, reverse("logistics:shipment", args=[shipment.number])))


@requires("logistics.reserve")
@require_POST
def reservation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a storage reservation with the reason (T-8.1.2-e)."""
    try:
        reservation = selectors.reservation_get_for(request.user, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    run_service(
        request,
        lambda: services.storage_reservation_cancel(
            actor=request.user, reservation=reservation, reason=request.POST.get("reason", "")
        ),
        _("Reservation cancelled."),
    )
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

    def import_file() -> Any:
        link = selectors.logger_get(shipment, serial)
        if upload is None:
            raise NotFound(_("Choose the logger file to import."))
        return services.logger_file_import(
            actor=request.user, logger=link, data=upload.read(), file_name=upload.name
        )

    run_service(request, import_file, lambda row: _("Imported %(n)d readings.") % {"n": row.readings})
    return redirect("logistics:shipment", number=shipment.number)


@requires("logistics.receive")
@require_POST
def shipment_arrive(request: HttpRequest, number: str) -> HttpResponse:
    """Scan the shipment or shipper barcode on arrival; the receipt form comes next (T-8.1.1)."""
    shipment = _shipment(request, number)
    arrived = submit(
        request,
        forms.ScanForm(request.POST),
        lambda data: services.shipment_arrive(
            actor=request.user, shipment=shipment, scanned_text=data["scan"]
        ),
        _("Arrival recorded. Inspect the receipt now."),
    )
    if arrived is not None:
        target = reverse("logistics:receipt", args=[shipment.number])
        return HttpResponseClientRedirect(target) if request.htmx else redirect(target)  # type: ignore[attr-defined]
    if request.htmx:  # type: ignore[attr-defined]
        return render(
            request, "logistics/shipment.html#arrival", _shipment_context(request, shipment) | {"swap": True}
        )
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
                # One scan per line: a label's DataMatrix carries spaces between its tokens.
                scanned_units=request.POST.get("scanned_units", "").splitlines(),
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
        "release": _release_view(shipment, current=True),
        # T-8.1.2-c, T-10.12: a device out of service or overdue for calibration is not offered.
        "devices": selectors.usable_devices_for(request.user, clock.now().date()),
        "last_area": selectors.last_receiving_area(request.user),
    }
    return render(request, "logistics/receipt.html", context)


@requires("logistics.receive")
@require_POST
def receipt_sign(request: HttpRequest, number: str) -> HttpResponse:
    shipment = _shipment(request, number)
    run_service(
        request,
        lambda: services.receipt_sign(
            inspection=selectors.receipt_require(shipment),
            signer=SignerCredentials(
                request.user, request.POST.get("password", ""), request.POST.get("totp_code") or None
            ),
        ),
        _("The receipt record is signed."),
    )
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
    locations = selectors.storage_locations_for(request.user)
    context = {
        "locations": locations,
        "stock": selectors.stock_list(request.user),
        "watch": selectors.expiry_watch(request.user, dt.timedelta(days=days), now),
        "history": selectors.stock_history(request.user, limit=50),
        "days": days,
        "modes": StorageLocation.Mode.choices,
        "purposes": [p for p in StockEvent.Purpose.choices if p[0] != StockEvent.Purpose.STORE],
        "can_stock": has_permission(request.user, "logistics.stock"),
        "can_admin": has_permission(request.user, "logistics.storage_admin"),
        "devices": selectors.usable_devices_for(request.user, now.date()),
        # Evaluates `locations` once: the location select and the table read the same rows.
        "location_rows": [(loc, selectors.location_occupied(loc)) for loc in locations],
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
    code = request.POST.get("monitoring_device", "")
    run_service(
        request,
        lambda: services.storage_location_create(
            actor=request.user,
            code=request.POST.get("code", ""),
            name=request.POST.get("name", ""),
            storage_mode=request.POST.get("storage_mode", ""),
            monitoring_device=selectors.monitoring_device_get_for(request.user, code) if code else None,
            capacity=_capacity(request.POST.get("capacity", "")),
        ),
        lambda row: _("Location %(code)s added.") % {"code": row.code},
    )
    return redirect("logistics:storage")


@requires("logistics.stock")
@require_POST
def storage_stock_in(request: HttpRequest) -> HttpResponse:
    """Stock-in by scan: refused unless the receipt is accepted and signed and the mode matches (T-8.1.1,
    T-7.7-d)."""
    run_service(
        request,
        lambda: services.stock_in(
            actor=request.user,
            location=selectors.storage_location_get_for(request.user, request.POST.get("location", "")),
            scanned_text=request.POST.get("scan", ""),
            storage_time_limit=_limit(request.POST.get("limit_days", "")),
            note=request.POST.get("note", ""),
        ),
        lambda event: _("Unit %(din)s stocked in %(loc)s.") % {"din": event.din, "loc": event.location.code},
    )
    return redirect("logistics:storage")


@requires("logistics.stock")
@require_POST
def storage_stock_out(request: HttpRequest) -> HttpResponse:
    """Stock-out by scan: a unit past its expiry or storage time limit is not issued for thaw (T-7.7-e)."""
    run_service(
        request,
        lambda: services.stock_out(
            actor=request.user,
            scanned_text=request.POST.get("scan", ""),
            purpose=request.POST.get("purpose", ""),
            note=request.POST.get("note", ""),
        ),
        lambda event: _("Unit %(din)s taken out of stock.") % {"din": event.din},
    )
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
    rows = [(d, selectors.device_gate(d, today)) for d in selectors.monitoring_devices_for(request.user)]
    context = {
        "rows": rows,
        "kinds": MonitoringDevice.Kind.choices,
        "can_admin": has_permission(request.user, "logistics.devices"),
    }
    return render(request, "logistics/devices.html", context)


@requires("logistics.devices")
@require_POST
def device_add(request: HttpRequest) -> HttpResponse:
    run_service(
        request,
        lambda: services.monitoring_device_register(
            actor=request.user,
            code=request.POST.get("code", ""),
            kind=request.POST.get("kind", ""),
            name=request.POST.get("name", ""),
            calibrated_on=_date(request.POST.get("calibrated_on", ""), "calibrated_on"),
            calibration_due=_date(request.POST.get("calibration_due", ""), "calibration_due"),
            calibration_certificate=request.POST.get("calibration_certificate", ""),
        ),
        lambda device: _("Device %(code)s registered.") % {"code": device.code},
    )
    return redirect("logistics:devices")


@requires("logistics.devices")
@require_POST
def device_calibrate(request: HttpRequest, code: str) -> HttpResponse:
    try:
        device = selectors.monitoring_device_get_for(request.user, code)
    except NotFound as exc:
        raise Http404(exc.message) from exc

    def calibrate() -> Any:
        calibrated_on = _date(request.POST.get("calibrated_on", ""), "calibrated_on")
        due = _date(request.POST.get("calibration_due", ""), "calibration_due")
        if calibrated_on is None or due is None:
            raise ValidationFailed(
                _("Give the calibration date and the next due date."), field="calibrated_on"
            )
        return services.monitoring_device_calibrate(
            actor=request.user,
            device=device,
            calibrated_on=calibrated_on,
            calibration_due=due,
            certificate=request.POST.get("certificate", ""),
        )

    run_service(request, calibrate, _("Calibration of %(code)s recorded.") % {"code": device.code})
    return redirect("logistics:devices")


@requires("logistics.devices")
@require_POST
def device_service(request: HttpRequest, code: str) -> HttpResponse:
    try:
        device = selectors.monitoring_device_get_for(request.user, code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    run_service(
        request,
        lambda: services.monitoring_device_set_in_service(
            actor=request.user,
            device=device,
            in_service=request.POST.get("in_service") == "yes",
            reason=request.POST.get("reason", ""),
        ),
        _("Working status of %(code)s recorded.") % {"code": device.code},
    )
    return redirect("logistics:devices")
