"""Clinic pages: a unit held at the hospital, its thaw, dilution and acknowledgement."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.clinic import forms, selectors, services
from cellchain.clinic.views._common import _found, _unit_values
from cellchain.core import clock
from cellchain.core.pages import form_page, redirect_to, run_service
from cellchain.core.permissions import requires


@requires("clinic.view")
def unit(request: HttpRequest, unit_id: int) -> HttpResponse:
    item = _found(selectors.unit_get, request.user, unit_id)
    context = {
        "unit": item,
        "countdown": selectors.unit_countdown(item, clock.now()),
        "thaw": getattr(item, "thaw", None),
        "dilution": getattr(item, "dilution", None),
        "product": _unit_values(request, item),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "clinic/unit.html#countdown", context)
    return render(request, "clinic/unit.html", context)


@requires("clinic.prepare")
@require_http_methods(["GET", "POST"])
def thaw(request: HttpRequest, unit_id: int) -> HttpResponse:
    item = _found(selectors.unit_get, request.user, unit_id)
    product = _unit_values(request, item)
    return form_page(
        request,
        forms.ThawForm(request.POST or None, methods=product.thaw_methods),
        lambda data: services.thaw_record(actor=request.user, unit=item, **data),
        _("Thaw recorded: the use-by countdown has started."),
        done=redirect_to("clinic:unit", unit_id=item.pk),
        template="clinic/thaw.html",
        context={"unit": item, "product": product},
    )


@requires("clinic.prepare")
@require_POST
def preparation_start(request: HttpRequest, unit_id: int) -> HttpResponse:
    item = _found(selectors.unit_get, request.user, unit_id)
    run_service(
        request, lambda: services.preparation_start(actor=request.user, unit=item), _("Preparation started.")
    )
    return redirect("clinic:unit", unit_id=item.pk)


@requires("clinic.prepare")
@require_http_methods(["GET", "POST"])
def dilute(request: HttpRequest, unit_id: int) -> HttpResponse:
    item = _found(selectors.unit_get, request.user, unit_id)
    return form_page(
        request,
        forms.DilutionForm(request.POST or None, diluents=_unit_values(request, item).diluents),
        lambda data: services.dilution_record(actor=request.user, unit=item, **data),
        _("Dilution recorded."),
        done=redirect_to("clinic:unit", unit_id=item.pk),
        template="clinic/form.html",
        context={"title": _("Dilution"), "unit": item},
    )


@requires("clinic.acknowledge")
@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, unit_id: int) -> HttpResponse:
    item = _found(selectors.unit_get, request.user, unit_id)
    return form_page(
        request,
        forms.PasswordForm(request.POST or None),
        lambda data: services.unit_conditional_acknowledge(
            actor=request.user, unit=item, password=data["password"]
        ),
        _("Conditional release acknowledged."),
        done=redirect_to("clinic:unit", unit_id=item.pk),
        template="clinic/form.html",
        context={"unit": item, "title": _("Acknowledge the conditional release")},
    )
