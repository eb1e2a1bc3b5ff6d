"""Clinic pages: the bedside identity check, the infusion, vital signs, observation and monitoring days."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.accounts.models import User
from cellchain.clinic import forms, selectors, services
from cellchain.clinic.models import BedsideCheck, MonitoringDay
from cellchain.clinic.views._common import _found, _today, _unit_values
from cellchain.core import clock
from cellchain.core.errors import NotAllowed, ValidationFailed
from cellchain.core.pages import form_page, redirect_to, run_service, submit
from cellchain.core.permissions import requires
from cellchain.signatures.services import signatures_of


@requires("clinic.bedside")
@require_http_methods(["GET", "POST"])
def bedside(request: HttpRequest, course_id: int) -> HttpResponse:
    item = _found(selectors.course_get, request.user, course_id)
    form = forms.BedsideScanForm(request.POST or None)

    def scan() -> Any:
        data = form.cleaned_data
        return services.bedside_scan(
            actor=request.user,
            course=item,
            wristband_scan=data["wristband"],
            unit_scan=data["unit"],
            manual_reason=data["manual_reason"],
            entry=BedsideCheck.Entry.MANUAL if data["manual_reason"].strip() else BedsideCheck.Entry.SCANNED,
        )

    # The verdict is the outcome (no message): it swaps in with a fresh form for the next scan.
    check = (
        run_service(request, scan, None, form=form) if request.method == "POST" and form.is_valid() else None
    )
    context = {
        "course": item,
        "countdowns": [c for c in (selectors.unit_countdown(u, clock.now()) for u in item.units.all()) if c],
        "form": forms.BedsideScanForm() if check else form,
        "check": check,
        "verify_form": forms.BedsideVerifyForm(),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "clinic/bedside.html#scan", context)
    return render(request, "clinic/bedside.html", context)


@requires("clinic.bedside")
@require_http_methods(["GET", "POST"])
def bedside_verify(request: HttpRequest, check_id: int) -> HttpResponse:
    check = _found(selectors.check_get, request.user, check_id)

    def verify(data: Mapping[str, Any]) -> Any:
        verifier = User.objects.filter(username=data["verifier_username"], is_active=True).first()
        if verifier is None or verifier.organisation_id != request.user.organisation_id:  # type: ignore[attr-defined]
            raise ValidationFailed(_("No such colleague at this hospital."), field="verifier_username")
        if request.user.pk != check.performer_id:
            raise NotAllowed(_("The person who scanned first completes the check with the verifier."))
        return services.bedside_verify(
            check=check,
            performer_password=data["performer_password"],
            verifier=verifier,
            verifier_password=data["verifier_password"],
            wristband_scan=data["wristband"],
            unit_scan=data["unit"],
        )

    return form_page(
        request,
        forms.BedsideVerifyForm(request.POST or None),
        verify,
        _("Bedside check verified by two people."),
        done=redirect_to("clinic:infusion_new", check_id=check.pk),
        template="clinic/bedside_verify.html",
        context={"check": check},
    )


def _checklist(product: Any) -> list[tuple[str, str]]:
    return (
        [
            (f"contraindication_absent:{c}", _("Not present: %(item)s") % {"item": c})
            for c in product.contraindications
        ]
        + [(f"precaution:{p}", _("Precaution observed: %(item)s") % {"item": p}) for p in product.precautions]
        + [(f"check:{c}", _("Checked: %(item)s") % {"item": c}) for c in product.pre_infusion_checks]
    )


@requires("clinic.infuse")
@require_http_methods(["GET", "POST"])
def infusion_new(request: HttpRequest, check_id: int) -> HttpResponse:
    check = _found(selectors.check_get, request.user, check_id)
    item = check.course
    product = _unit_values(request, check.unit) if check.unit is not None else item.product
    initial = {"route": product.route, "weight_kg": item.weight_kg}
    form = forms.InfusionForm(request.POST or None, checklist=_checklist(product), initial=initial)

    def start(data: Mapping[str, Any]) -> Any:
        values = {k: v for k, v in data.items() if not k.startswith("check_")}  # the checklist goes whole
        return services.infusion_start(
            actor=request.user, course=item, check=check, checklist=form.checklist_answers(), **values
        )

    return form_page(
        request,
        form,
        start,
        _("Infusion started."),
        done=lambda infusion: redirect("clinic:infusion", infusion_id=infusion.pk),
        template="clinic/infusion_new.html",
        context={"check": check, "course": item, "product": product, "signatures": signatures_of(check)},
    )


@requires("clinic.view")
def infusion(request: HttpRequest, infusion_id: int) -> HttpResponse:
    item = _found(selectors.infusion_get, request.user, infusion_id)
    observation = item.observation
    minimum = _unit_values(request, item.unit).observation()
    context = {
        "infusion": item,
        "observation": observation,
        "minimum_minutes": int(minimum.total_seconds() // 60),
        "earliest_close": item.ended_at + minimum if item.ended_at else None,
        "vitals": item.course.vital_signs.filter(measured_at__gte=item.started_at)[:20],
        "vitals_form": forms.VitalsForm(),
        "end_form": forms.InfusionEndForm(),
        "close_form": forms.ObservationCloseForm(),
    }
    return render(request, "clinic/infusion.html", context)


@requires("clinic.infuse")
@require_POST
def infusion_end(request: HttpRequest, infusion_id: int) -> HttpResponse:
    item = _found(selectors.infusion_get, request.user, infusion_id)
    submit(
        request,
        forms.InfusionEndForm(request.POST),
        lambda data: services.infusion_end(actor=request.user, infusion=item, **data),
        _("Infusion end recorded: observation time runs from now."),
    )
    return redirect("clinic:infusion", infusion_id=item.pk)


@requires("clinic.observe")
@require_POST
def vitals(request: HttpRequest, infusion_id: int) -> HttpResponse:
    item = _found(selectors.infusion_get, request.user, infusion_id)
    submit(
        request,
        forms.VitalsForm(request.POST),
        lambda data: services.vitals_record(actor=request.user, course=item.course, **data),
        _("Vital signs recorded."),
    )
    return redirect("clinic:infusion", infusion_id=item.pk)


@requires("clinic.observe")
@require_POST
def observation_close(request: HttpRequest, infusion_id: int) -> HttpResponse:
    item = _found(selectors.infusion_get, request.user, infusion_id)
    submit(
        request,
        forms.ObservationCloseForm(request.POST),
        lambda data: services.observation_close(
            actor=request.user, observation=item.observation, notes=data["notes"]
        ),
        _("Observation completed."),
    )
    return redirect("clinic:infusion", infusion_id=item.pk)


@requires("clinic.observe")
@require_http_methods(["GET", "POST"])
def monitoring_day(request: HttpRequest, course_id: int, day: int) -> HttpResponse:
    item = _found(selectors.course_get, request.user, course_id)
    days = {d.day: d for d in selectors.monitoring_plan(item, _today(request))}
    if day not in days:
        raise Http404("Monitoring days run from 1 to 7 after the infusion.")
    done = MonitoringDay.objects.filter(course=item, day=day, voided_at__isnull=True).first()
    form = forms.MonitoringDayForm(request.POST or None, items=days[day].items)
    return form_page(
        request,
        form,
        lambda data: services.monitoring_day_complete(
            actor=request.user, course=item, day=day, items=form.answers(), notes=data["notes"]
        ),
        _("Monitoring day completed."),
        done=redirect_to("clinic:course", course_id=item.pk),
        template="clinic/monitoring_day.html",
        context={"course": item, "day": days[day], "done": done},
    )
