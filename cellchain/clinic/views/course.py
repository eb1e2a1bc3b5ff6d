"""Clinic pages: the home overview, treatment courses, lymphodepletion and the unit admitted for a course."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cellchain.clinic import forms, selectors, services
from cellchain.clinic.views._common import _found, _people, _today
from cellchain.core import clock
from cellchain.core.pages import form_page, redirect_to
from cellchain.core.permissions import has_permission, requires


@requires("clinic.view")
def home(request: HttpRequest) -> HttpResponse:
    now, today = clock.now(), _today(request)
    context = {
        "courses": selectors.courses_with_stage(request.user, today),
        "stage_labels": selectors.STAGE_LABELS,
        "countdowns": selectors.running_countdowns(request.user, now),
        "overdue_duties": selectors.overdue_duties(request.user, now),
        "overdue_monitoring": selectors.overdue_monitoring(request.user, today),
        "overdue_follow_up": selectors.overdue_follow_up(request.user, today)[:50],
        "can_plan": has_permission(request.user, "clinic.plan"),
    }
    return render(request, "clinic/home.html", context)


@requires("clinic.plan")
@require_http_methods(["GET", "POST"])
def course_new(request: HttpRequest) -> HttpResponse:
    physicians = _people(request).filter(qualifications__code="cell_therapy").distinct()

    def planned(course: Any) -> HttpResponse:
        if services.agreement_in_force(course.site, course.product, _today(request)) is None:
            messages.warning(
                request,
                _(
                    "No written agreement with the manufacturer is in force for this "
                    "product at this site (T-8.2.2)."
                ),
            )
        return redirect("clinic:course", course_id=course.pk)

    return form_page(
        request,
        forms.CourseForm(request.POST or None, physicians=physicians),
        lambda data: services.course_plan(actor=request.user, site=request.user.site, **data),
        _("Treatment plan recorded."),
        done=planned,
        template="clinic/form.html",
        context={"title": _("New treatment plan")},
    )


@requires("clinic.view")
def course(request: HttpRequest, course_id: int) -> HttpResponse:
    item = _found(selectors.course_get, request.user, course_id)
    now, today = clock.now(), _today(request)
    infusions = list(item.infusions.filter(voided_at__isnull=True).select_related("unit", "observation"))
    context = {
        "course": item,
        "stage": selectors.STAGE_LABELS[selectors.course_stage(item, today)],
        "units": [(u, selectors.unit_countdown(u, now)) for u in item.units.select_related("manufacturer")],
        "timeline": selectors.course_timeline(item),
        "lymphodepletion": item.lymphodepletion.all(),
        "checks": item.bedside_checks.select_related("unit", "performer")[:10],
        "infusions": infusions,
        "monitoring": selectors.monitoring_plan(item, today),
        "follow_up": selectors.follow_up_plan(item, today),
        "events": item.adverse_events.all(),
        "agreement": services.agreement_in_force(item.site, item.product, today),
        "risk_plan": services.risk_plan_confirmed(item.site, item.product),
    }
    return render(request, "clinic/course.html", context)


@requires("clinic.plan")
@require_http_methods(["GET", "POST"])
def lymphodepletion(request: HttpRequest, course_id: int) -> HttpResponse:
    item = _found(selectors.course_get, request.user, course_id)
    return form_page(
        request,
        forms.LymphodepletionForm(request.POST or None),
        lambda data: services.lymphodepletion_record(actor=request.user, course=item, **data),
        _("Dose recorded."),
        done=redirect_to("clinic:course", course_id=item.pk),
        template="clinic/form.html",
        context={"title": _("Lymphodepletion dose"), "course": item},
    )


@requires("clinic.prepare")
@require_http_methods(["GET", "POST"])
def unit_admit(request: HttpRequest, course_id: int) -> HttpResponse:
    """Hand a received unit to the clinical team: scan its label (values from upstream) or type them."""
    item = _found(selectors.course_get, request.user, course_id)
    scanned = request.method == "POST" and "scan" in request.POST
    form = forms.UnitAdmitForm(request.POST if request.method == "POST" and not scanned else None)
    scan_form = forms.UnitScanForm(request.POST if scanned else None)

    def admit_scanned(data: Mapping[str, Any]) -> Any:
        return services.unit_admit_scanned(
            actor=request.user,
            course=item,
            scanned_text=data["scan"],
            batch_number=data.get("batch_number", ""),
            release=data.get("release", ""),
        )

    def admit_typed(data: Mapping[str, Any]) -> Any:
        return services.unit_admit(actor=request.user, course=item, **data)

    return form_page(
        request,
        scan_form if scanned else form,
        admit_scanned if scanned else admit_typed,
        _("Unit handed over to the clinical team."),
        done=redirect_to("clinic:course", course_id=item.pk),
        template="clinic/unit_admit.html",
        context={"form": form, "scan_form": scan_form, "course": item},
    )
