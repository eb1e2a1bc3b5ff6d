"""Clean-zone pages: the areas with their grade, HVAC and latest records; one area's cleaning log and
monitoring results; the site's alert and action limits (T-5.1.3, T-5.1.5, T-5.1.6)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cellchain.core.errors import ValidationFailed
from cellchain.core.pages import submit
from cellchain.core.permissions import has_permission, requires
from cellchain.environment import forms, selectors, services
from cellchain.manufacturing import services as manufacturing
from cellchain.manufacturing.models import ProductionArea


@requires("environment.view")
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    areas = list(selectors.area_overview(request.user))
    return render(
        request,
        "environment/index.html",
        {
            "areas": areas,
            "warnings": selectors.hvac_warnings(areas),
            "limits": selectors.limits_of(request.user),
            "limit_form": forms.LimitForm(),
            "can_set_limits": has_permission(request.user, "environment.set_limits"),
        },
    )


def _area(request: HttpRequest, area_id: int) -> ProductionArea:
    return get_object_or_404(selectors.areas_of(request.user), pk=area_id)


@requires("environment.view")
@require_GET
def area(request: HttpRequest, area_id: int) -> HttpResponse:
    found = _area(request, area_id)
    return render(
        request,
        "environment/area.html",
        {
            "area": found,
            "cleanings": selectors.cleanings_of(found),
            "results": selectors.results_of(found),
            "cleaning_form": forms.CleaningForm(),
            "result_form": forms.ResultForm(),
            "area_form": forms.AreaEnvironmentForm(
                initial={"purpose": found.purpose, "grade": found.grade, "hvac_system": found.hvac_system}
            ),
            "can_clean": has_permission(request.user, "environment.clean"),
            "can_monitor": has_permission(request.user, "environment.monitor"),
            "can_set_limits": has_permission(request.user, "environment.set_limits"),
            "is_storage": found.purpose in ("virus_storage", "cell_storage"),
            "placements": selectors.placements_in(found),
            "placement_form": forms.PlacementForm(),
            "can_store": has_permission(request.user, "environment.store"),
        },
    )


@requires("environment.store")
@require_POST
def placement(request: HttpRequest, area_id: int) -> HttpResponse:
    found = _area(request, area_id)

    def place(data: dict) -> object:
        unit = selectors.unit_by_din(request.user, data["unit_din"]) if data["unit_din"] else None
        if data["unit_din"] and unit is None:
            raise ValidationFailed(
                _("No cell unit %(din)s is known here.") % {"din": data["unit_din"]}, field="unit_din"
            )
        return services.storage_place(
            actor=request.user, area=found, lot=data["lot"], unit=unit, position=data["position"]
        )

    submit(request, forms.PlacementForm(request.POST), place, _("The placement was recorded."))
    return redirect("environment:area", area_id=found.pk)


@requires("environment.clean")
@require_POST
def cleaning(request: HttpRequest, area_id: int) -> HttpResponse:
    found = _area(request, area_id)
    submit(
        request,
        forms.CleaningForm(request.POST),
        lambda data: services.area_cleaning_record(
            actor=request.user, area=found, kind=data["kind"], agent=data["agent"], note=data["note"]
        ),
        _("The cleaning was recorded."),
    )
    return redirect("environment:area", area_id=found.pk)


@requires("environment.monitor")
@require_POST
def result(request: HttpRequest, area_id: int) -> HttpResponse:
    found = _area(request, area_id)
    recorded = submit(
        request,
        forms.ResultForm(request.POST),
        lambda data: services.monitoring_result_record(
            actor=request.user,
            area=found,
            parameter=data["parameter"],
            value=data["value"],
            sample_point=data["sample_point"],
        ),
        _("The result was recorded."),
    )
    if recorded is not None and recorded.deviation is not None:
        messages.warning(
            request,
            _("Above the action limit: deviation %(number)s was opened for QA.")
            % {"number": recorded.deviation.number},
        )
    return redirect("environment:area", area_id=found.pk)


@requires("environment.set_limits")
@require_POST
def area_environment(request: HttpRequest, area_id: int) -> HttpResponse:
    found = _area(request, area_id)
    submit(
        request,
        forms.AreaEnvironmentForm(request.POST),
        lambda data: manufacturing.area_environment_update(
            actor=request.user,
            area=found,
            purpose=data["purpose"],
            grade=data["grade"],
            hvac_system=data["hvac_system"],
            reason=data["reason"],
        ),
        _("The area's register entry was changed."),
    )
    return redirect("environment:area", area_id=found.pk)


@requires("environment.set_limits")
@require_POST
def limit(request: HttpRequest) -> HttpResponse:
    submit(
        request,
        forms.LimitForm(request.POST),
        lambda data: services.monitoring_limit_set(
            actor=request.user,
            site=request.user.site,  # type: ignore[union-attr]
            grade=data["grade"],
            parameter=data["parameter"],
            alert=data["alert"],
            action=data["action"],
            reason=data["reason"],
        ),
        _("The limit was set."),
    )
    return redirect("environment:index")
