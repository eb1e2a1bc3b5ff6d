"""Pages of the journeys context: list, enrolment, journey with its trace, labels, scan-to-verdict.

Views parse with a form, call one service and show a ServiceError's message on the page (STYLE habit 5).
Objects are looked up only after the permission check, and only through selectors that filter by the
viewer's organisation; the patient's identity is shown to the patient's hospital only (X-7).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from cellchain.core.pages import form_errors_text, form_page, run_service, submit
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
    def enrol(data: Mapping[str, Any]) -> Journey:
        patient = services.PatientData(
            data["name"], data["birth_date"], data["hospital_record_number"], data["wristband_id"]
        )
        return services.journey_enrol(
            actor=request.user,
            hospital_site=request.user.site,
            manufacturer_site=data["manufacturer_site"],
            product_code=data["product_code"].strip().upper(),
            product_name=data["product_name"],
            starting_material=data["starting_material"],
            patient=patient,
        )

    return form_page(
        request,
        forms.EnrolForm(request.POST or None),
        enrol,
        lambda journey: _("Enrolled: chain of identity %(coi)s") % {"coi": journey.coi_keyboard},
        done=lambda journey: redirect("journeys:detail", coi=journey.coi),
        template="journeys/enrol.html",
    )


def _detail_context(request: HttpRequest, journey: Journey) -> dict[str, Any]:
    user = request.user
    identity = None
    if has_permission(user, "journeys.view_identity") and user.is_hospital_user:
        try:
            identity = selectors.patient_identity_for(user, journey)
        except ServiceError:
            identity = None
    units = list(
        journey.units.select_related("storage_position").prefetch_related("label_prints__disposition")
    )
    for unit in units:
        unit.next_steps = [s.value for s in custody_steps_allowed(unit.state) if s not in SERVICE_ONLY_STEPS]
    open_slots = (
        Slot.objects.filter(voided_at__isnull=True, starts_at__gte=timezone.now())
        .filter(site__in=[journey.hospital_site, journey.manufacturer_site])
        .select_related("site")
        .order_by("starts_at")[:20]
    )
    checklist = services.checklist_in_force(journey)
    return {
        "journey": journey,
        "identity": identity,
        "units": units,
        "trace": selectors.journey_trace(journey),
        "bookings": journey.bookings.select_related("slot__site").order_by("booked_at"),
        "slots": open_slots,
        "screening": services.screening_verdict(journey, timezone.now().date()),
        "consent_form": forms.ConsentForm(),
        "checklist": checklist,
        "eligibility_form": forms.EligibilityForm(criteria=checklist.criteria if checklist else ()),
        **_hold_context(request, journey),
        "screening_form": forms.ScreeningForm(),
        "decision_form": forms.DecisionForm(),
        "collection_form": forms.CollectionForm(),
        "verify_form": forms.LabelVerifyForm(),
        "label_fate_form": forms.LabelFateForm(),
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
    request: HttpRequest,
    form: Any,
    coi: str,
    action: Callable[[Journey, Mapping[str, Any]], Any],
    success: str,
) -> HttpResponse:
    """A form of the journey's page: run its service, say the outcome there."""
    journey = _journey(request, coi)
    submit(request, form, lambda data: action(journey, data), success)
    return redirect("journeys:detail", coi=journey.coi)


@requires("journeys.consent")
@require_POST
def journey_consent(request: HttpRequest, coi: str) -> HttpResponse:
    return _post_form(
        request,
        forms.ConsentForm(request.POST),
        coi,
        lambda j, d: services.consent_record(actor=request.user, journey=j, **d),
        _("Consent recorded."),
    )


@requires("journeys.consent")
@require_POST
def journey_eligibility(request: HttpRequest, coi: str) -> HttpResponse:
    """A physician answers the checklist of the protocol version in force (T-9.2.1-2)."""
    checklist = services.checklist_in_force(_journey(request, coi))
    form = forms.EligibilityForm(request.POST, criteria=checklist.criteria if checklist else ())
    return _post_form(
        request,
        form,
        coi,
        lambda j, d: services.eligibility_assess(actor=request.user, journey=j, answers=form.answers()),
        _("Eligibility recorded."),
    )


def _hold_context(request: HttpRequest, journey: Journey) -> dict[str, Any]:
    holds = list(journey.holds.filter(voided_at__isnull=True))
    return {
        "holds": holds,
        "terminated": any(h.kind == "termination" for h in holds),
        "hold_form": forms.HoldForm(),
        "lift_form": forms.HoldLiftForm(),
        "can_hold": has_permission(request.user, "journeys.hold"),
    }


def _holds_done(request: HttpRequest, journey: Journey) -> HttpResponse:
    """With htmx the holds section is swapped in place with the outcome; without, back to the journey."""
    if request.htmx:  # type: ignore[attr-defined]
        journey = _journey(request, journey.coi)
        return render(
            request, "journeys/detail.html#holds", {"journey": journey, **_hold_context(request, journey)}
        )
    return redirect("journeys:detail", coi=journey.coi)


@requires("journeys.hold")
@require_POST
def journey_hold(request: HttpRequest, coi: str) -> HttpResponse:
    """Suspend or terminate the treatment with a reason, e-signed (T-6.4-h)."""
    journey = _journey(request, coi)

    def place(data: Mapping[str, Any]) -> Any:
        return services.journey_hold_place(
            actor=request.user,
            journey=journey,
            kind=data["kind"],
            reason=data["reason"],
            signer=SignerCredentials(request.user, data["password"]),
        )

    submit(request, forms.HoldForm(request.POST), place, _("The hold was signed; the other side is told."))
    return _holds_done(request, journey)


@requires("journeys.hold")
@require_POST
def journey_hold_lift(request: HttpRequest, coi: str, hold_id: int) -> HttpResponse:
    """Lift a suspension with a reason, e-signed; a termination cannot be lifted (T-6.4-h)."""
    journey = _journey(request, coi)
    hold = journey.holds.filter(pk=hold_id).first()
    if hold is None:
        raise Http404(hold_id)

    def lift(data: Mapping[str, Any]) -> Any:
        return services.journey_hold_lift(
            actor=request.user,
            hold=hold,
            reason=data["reason"],
            signer=SignerCredentials(request.user, data["password"]),
        )

    submit(
        request,
        forms.HoldLiftForm(request.POST),
        lift,
        _("The suspension was lifted; the other side is told."),
    )
    return _holds_done(request, journey)


@requires("journeys.checklist")
def eligibility_checklists(request: HttpRequest) -> HttpResponse:
    """The protocols' eligibility checklists of the user's site; a new version supersedes the last (T-9.2.1-2)."""
    form = forms.ChecklistForm(request.POST or None)

    def record(data: Mapping[str, Any]) -> Any:
        return services.eligibility_checklist_record(
            actor=request.user,
            site=request.user.site,
            product_code=data["product_code"].strip().upper(),
            protocol=data["protocol"],
            criteria=form.criteria_list(),
        )

    return form_page(
        request,
        form,
        record,
        lambda c: _("Checklist %(name)s recorded.") % {"name": str(c)},
        done=lambda _c: redirect("journeys:checklists"),
        template="journeys/checklists.html",
        context={"checklists": selectors.eligibility_checklists_for(request.user)},
    )


@requires("journeys.certify_site")
def collection_sites(request: HttpRequest) -> HttpResponse:
    """The manufacturer's certifications of hospitals' apheresis sites (P-1.3.1-d)."""
    form = forms.SiteCertifyForm(request.POST or None)
    return form_page(
        request,
        form,
        lambda data: services.collection_site_certify(actor=request.user, **data),
        lambda c: _("Collection site certified: %(number)s.") % {"number": c.number},
        done=lambda _c: redirect("journeys:collection_sites"),
        template="journeys/collection_sites.html",
        context={"certifications": selectors.collection_site_certifications_for(request.user)},
    )


@requires("journeys.schedule")
@require_POST
def journey_book(request: HttpRequest, coi: str) -> HttpResponse:
    def book(journey: Journey, data: Mapping[str, Any]) -> Any:
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
        lambda j, d: services.screening_result_record(actor=request.user, journey=j, **d),
        _("Screening result recorded."),
    )


@requires("journeys.screen")
@require_POST
def journey_decision(request: HttpRequest, coi: str) -> HttpResponse:
    return _post_form(
        request,
        forms.DecisionForm(request.POST),
        coi,
        lambda j, d: services.screening_decide(actor=request.user, journey=j, **d),
        _("Decision recorded."),
    )


@requires("journeys.collect")
@require_POST
def journey_collect(request: HttpRequest, coi: str) -> HttpResponse:
    def collect(journey: Journey, d: Mapping[str, Any]) -> Any:
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
    run_service(
        request,
        lambda: services.label_print(actor=request.user, unit=unit, reprint_reason=reason),
        _("Label printed for %(din)s.") % {"din": unit.din_keyboard},
    )
    return redirect("journeys:detail", coi=unit.journey.coi)


@requires("journeys.label")
@require_POST
def unit_label_fate(request: HttpRequest, din: str, print_number: int) -> HttpResponse:
    """Record the fate of one printed label of the unit (FACT-JACIE CM7.2.2.1)."""
    unit = _unit(request, din)
    label = unit.label_prints.filter(print_number=print_number).first()
    if label is None:
        raise Http404(f"{din}#{print_number}")
    form = forms.LabelFateForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("journeys:detail", coi=unit.journey.coi)
    data = form.cleaned_data
    witness = None
    if data["witness"].strip():
        witness = (
            get_user_model()
            .objects.filter(username=data["witness"].strip(), organisation_id=request.user.organisation_id)
            .first()
        )
        if witness is None:
            messages.error(request, _("No user of your organisation has that username (witness)."))
            return redirect("journeys:detail", coi=unit.journey.coi)
    run_service(
        request,
        lambda: services.label_disposition_record(
            actor=request.user,
            unit=unit,
            label=label,
            fate=data["fate"],
            reason=data["reason"],
            witness=witness,
        ),
        _("Label %(label)s: fate recorded.") % {"label": f"{unit.din}#{print_number}"},
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

    def verify(data: Mapping[str, Any]) -> Any:
        verifier = get_user_model().objects.filter(username=data["verifier"]).first()
        if verifier is None:
            raise NotFound(_("No such verifier."))
        return services.unit_label_verify(
            unit=unit,
            scanned_text=data["scan"],
            performer=SignerCredentials(request.user, data["password"]),
            verifier=SignerCredentials(verifier, data["verifier_password"]),
        )

    event = submit(
        request,
        forms.LabelVerifyForm(request.POST),
        verify,
        _("Label check recorded."),
        invalid=_("Scan the label and give both passwords."),
    )
    if event is not None and event.verdict != "match":  # recorded, and it says why the label failed
        messages.error(request, "; ".join(r["message"] for r in event.reasons))
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
        return None, form_errors_text(form)
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
