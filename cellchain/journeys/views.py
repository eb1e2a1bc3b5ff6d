"""Pages of the journeys context: list, enrolment, journey with its trace, labels, scan-to-verdict.

Views parse with a form, call one service and show a ServiceError's message on the page (STYLE habit 5).
Objects are looked up only after the permission check, and only through selectors that filter by the
viewer's organisation; the patient's identity is shown to the patient's hospital only (X-7).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cellchain.core.errors import NotFound, ServiceError
from cellchain.core.permissions import has_permission, requires
from cellchain.domain.custody import SERVICE_ONLY_STEPS, CustodyStep, custody_steps_allowed
from cellchain.journeys import forms, selectors, services
from cellchain.journeys.models import Journey, Slot, StoragePosition, Unit
from cellchain.signatures.services import SignerCredentials


def _journey(request: HttpRequest, coi: str) -> Journey:
    try:
        return selectors.journey_get_for(request.user, coi)
    except NotFound as error:
        raise Http404(error.message) from None


def _unit(request: HttpRequest, din: str) -> Unit:
    try:
        return selectors.unit_get_for(request.user, din)
    except NotFound as error:
        raise Http404(error.message) from None


def _run(request: HttpRequest, action: Callable[[], Any], success: str) -> bool:
    """Call a service; show its refusal as a message instead of a server error."""
    try:
        action()
    except ServiceError as error:
        messages.error(request, error.message)
        return False
    messages.success(request, success)
    return True


@requires("journeys.view")
def journey_list(request: HttpRequest) -> HttpResponse:
    journeys = selectors.journey_list_for(request.user)[:200]
    return render(
        request,
        "journeys/list.html",
        {
            "journeys": journeys,
            "can_enrol": has_permission(request.user, "journeys.enrol"),
        },
    )


@requires("journeys.enrol")
def journey_enrol(request: HttpRequest) -> HttpResponse:
    form = forms.EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient = services.PatientData(
            data["name"], data["birth_date"], data["hospital_record_number"], data["wristband_id"]
        )
        try:
            journey = services.journey_enrol(
                actor=request.user,
                hospital_site=request.user.site,
                manufacturer_site=data["manufacturer_site"],
                product_code=data["product_code"].strip().upper(),
                product_name=data["product_name"],
                starting_material=data["starting_material"],
                patient=patient,
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request, _("Enrolled: chain of identity %(coi)s") % {"coi": journey.coi_keyboard}
            )
            return redirect("journeys:detail", coi=journey.coi)
    return render(request, "journeys/enrol.html", {"form": form})


def _detail_context(request: HttpRequest, journey: Journey) -> dict[str, Any]:
    user = request.user
    identity = None
    if has_permission(user, "journeys.view_identity") and user.is_hospital_user:
        try:
            identity = selectors.patient_identity_for(user, journey)
        except ServiceError:
            identity = None
    units = list(journey.units.select_related("storage_position").prefetch_related("label_prints"))
    for unit in units:
        unit.next_steps = [s.value for s in custody_steps_allowed(unit.state) if s not in SERVICE_ONLY_STEPS]
    open_slots = (
        Slot.objects.filter(voided_at__isnull=True, starts_at__gte=timezone.now())
        .filter(site__in=[journey.hospital_site, journey.manufacturer_site])
        .select_related("site")
        .order_by("starts_at")[:20]
    )
    return {
        "journey": journey,
        "identity": identity,
        "units": units,
        "trace": selectors.journey_trace(journey),
        "bookings": journey.bookings.select_related("slot__site").order_by("booked_at"),
        "slots": open_slots,
        "screening": services.screening_verdict(journey, timezone.now().date()),
        "consent_form": forms.ConsentForm(),
        "eligibility_form": forms.EligibilityForm(),
        "screening_form": forms.ScreeningForm(),
        "decision_form": forms.DecisionForm(),
        "collection_form": forms.CollectionForm(),
        "verify_form": forms.LabelVerifyForm(),
        "can": {
            p: has_permission(user, f"journeys.{p}")
            for p in ("consent", "schedule", "screen", "collect", "label", "scan", "export")
        },
        "is_hospital": user.is_hospital_user,
    }


@requires("journeys.view")
def journey_detail(request: HttpRequest, coi: str) -> HttpResponse:
    journey = _journey(request, coi)
    return render(request, "journeys/detail.html", _detail_context(request, journey))


def _post_form(
    request: HttpRequest, form: Any, coi: str, action: Callable[[Journey, dict[str, Any]], Any], success: str
) -> HttpResponse:
    journey = _journey(request, coi)
    if form.is_valid():
        _run(request, lambda: action(journey, form.cleaned_data), success)
    else:
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    return redirect("journeys:detail", coi=journey.coi)


@requires("journeys.consent")
@require_POST
def journey_consent(request: HttpRequest, coi: str) -> HttpResponse:
    return _post_form(
        request,
        forms.ConsentForm(request.POST),
        coi,
        lambda j, d: services.consent_record(
            actor=request.user,
            journey=j,
            form_version=d["form_version"],
            signed_on=d["signed_on"],
            signer=d["signer"],
        ),
        _("Consent recorded."),
    )


@requires("journeys.consent")
@require_POST
def journey_eligibility(request: HttpRequest, coi: str) -> HttpResponse:
    form = forms.EligibilityForm(request.POST)
    return _post_form(
        request,
        form,
        coi,
        lambda j, d: services.eligibility_assess(actor=request.user, journey=j, answers=form.answers()),
        _("Eligibility recorded."),
    )


@requires("journeys.schedule")
@require_POST
def journey_book(request: HttpRequest, coi: str) -> HttpResponse:
    def book(journey: Journey, data: dict[str, Any]) -> Any:
        slot = Slot.objects.filter(pk=data["slot"]).first()
        if slot is None:
            raise NotFound(_("No such slot."))
        return services.booking_book(actor=request.user, journey=journey, slot=slot)

    return _post_form(request, forms.BookForm(request.POST), coi, book, _("Booked."))


@requires("journeys.screen")
@require_POST
def journey_screening(request: HttpRequest, coi: str) -> HttpResponse:
    return _post_form(
        request,
        forms.ScreeningForm(request.POST),
        coi,
        lambda j, d: services.screening_result_record(
            actor=request.user, journey=j, marker=d["marker"], outcome=d["outcome"], tested_on=d["tested_on"]
        ),
        _("Screening result recorded."),
    )


@requires("journeys.screen")
@require_POST
def journey_decision(request: HttpRequest, coi: str) -> HttpResponse:
    return _post_form(
        request,
        forms.DecisionForm(request.POST),
        coi,
        lambda j, d: services.screening_decide(
            actor=request.user,
            journey=j,
            active_infection=d["active_infection"],
            decision=d["decision"],
            reason=d["reason"],
        ),
        _("Decision recorded."),
    )


@requires("journeys.collect")
@require_POST
def journey_collect(request: HttpRequest, coi: str) -> HttpResponse:
    def collect(journey: Journey, d: dict[str, Any]) -> Any:
        total = d["collected_volume_ml"]
        bags = d["bags"]
        data = services.CollectionInput(
            collected_at=d["collected_at"],
            anticoagulant_ratio=d["anticoagulant_ratio"],
            processed_blood_volume_ml=d["processed_blood_volume_ml"],
            cycles=d["cycles"],
            collected_volume_ml=total,
            mnc_count=d["mnc_count_e9"] * Decimal("1e9"),
            starting_material=journey.starting_material,
            bag_volumes_ml=tuple([total // bags] * (bags - 1) + [total - total // bags * (bags - 1)]),
            pre_assessment=d["pre_assessment"],
        )
        return services.collection_record(actor=request.user, journey=journey, data=data)

    return _post_form(request, forms.CollectionForm(request.POST), coi, collect, _("Collection recorded."))


@requires("journeys.label")
@require_POST
def unit_label_print(request: HttpRequest, din: str) -> HttpResponse:
    unit = _unit(request, din)
    form = forms.ReprintForm(request.POST)
    reason = form.data.get("reprint_reason", "")
    _run(
        request,
        lambda: services.label_print(actor=request.user, unit=unit, reprint_reason=reason),
        _("Label printed for %(din)s.") % {"din": unit.din_keyboard},
    )
    return redirect("journeys:detail", coi=unit.journey.coi)


@requires("journeys.label")
def unit_label_file(request: HttpRequest, din: str, fmt: str) -> HttpResponse:
    unit = _unit(request, din)
    if fmt not in ("pdf", "zpl"):
        raise Http404(fmt)
    try:
        rendered = services.label_render(unit)
    except ServiceError as error:
        raise Http404(error.message) from None
    if fmt == "pdf":
        response = HttpResponse(rendered.pdf, content_type="application/pdf")
    else:
        response = HttpResponse(rendered.zpl, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="label-{unit.din}.{fmt}"'
    return response


@requires("journeys.label")
@require_POST
def unit_label_verify(request: HttpRequest, din: str) -> HttpResponse:
    unit = _unit(request, din)
    form = forms.LabelVerifyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Scan the label and give both passwords."))
        return redirect("journeys:detail", coi=unit.journey.coi)
    verifier = get_user_model().objects.filter(username=form.cleaned_data["verifier"]).first()
    if verifier is None:
        messages.error(request, _("No such verifier."))
        return redirect("journeys:detail", coi=unit.journey.coi)
    holder: dict[str, Any] = {}

    def verify() -> None:
        holder["event"] = services.unit_label_verify(
            unit=unit,
            scanned_text=form.cleaned_data["scan"],
            performer=SignerCredentials(request.user, form.cleaned_data["password"]),
            verifier=SignerCredentials(verifier, form.cleaned_data["verifier_password"]),
        )

    if _run(request, verify, _("Label check recorded.")) and holder["event"].verdict != "match":
        messages.error(request, "; ".join(r["message"] for r in holder["event"].reasons))
    return redirect("journeys:detail", coi=unit.journey.coi)


@requires("journeys.scan")
def unit_scan(request: HttpRequest, din: str) -> HttpResponse:
    """Scan-to-verdict: the expected unit, a step, a keyboard-wedge scan; the verdict swaps in (G-4)."""
    unit = _unit(request, din)
    positions = StoragePosition.objects.filter(site=request.user.site, unit__isnull=True).order_by(
        "tank", "rack", "box", "position"
    )[:50]
    context: dict[str, Any] = {
        "unit": unit,
        "positions": positions,
        "steps": [s.value for s in custody_steps_allowed(unit.state) if s not in SERVICE_ONLY_STEPS],
    }
    if request.method == "POST":
        form = forms.ScanForm(request.POST)
        context["event"], context["error"] = _scan(request, unit, form)
        unit.refresh_from_db()
        template = "journeys/unit_scan.html#verdict" if request.htmx else "journeys/unit_scan.html"
        return render(request, template, context)
    return render(request, "journeys/unit_scan.html", context)


def _scan(request: HttpRequest, unit: Unit, form: forms.ScanForm) -> tuple[Any, str]:
    if not form.is_valid():
        return None, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
    data = form.cleaned_data
    position = None
    if data.get("storage_position"):
        position = StoragePosition.objects.filter(pk=data["storage_position"], site=request.user.site).first()
    try:
        event = services.unit_custody_scan(
            actor=request.user,
            unit=unit,
            step=CustodyStep(data["step"]),
            scanned_text=data["scan"],
            details=services.ScanDetails(data["shipper_code"] or "", position, data["condition"] or ""),
        )
    except ServiceError as error:
        return None, error.message
    return event, ""
