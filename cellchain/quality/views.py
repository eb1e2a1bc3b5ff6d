"""Deviation list and disposition; notifications with acknowledgement."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.core.errors import ServiceError
from cellchain.core.permissions import SIGNED_IN, has_permission, requires
from cellchain.quality import selectors, services
from cellchain.quality.forms import DispositionForm


@requires("quality.view_deviations")
def deviations(request: HttpRequest) -> HttpResponse:
    items = selectors.deviations_visible_to(request.user)
    status = request.GET.get("status")
    if status:
        items = items.filter(status=status)
    return render(request, "quality/deviations.html", {"deviations": items[:500], "status": status})


@requires("quality.view_deviations")
@require_http_methods(["GET", "POST"])
def deviation_detail(request: HttpRequest, deviation_id: int) -> HttpResponse:
    deviation = get_object_or_404(selectors.deviations_visible_to(request.user), pk=deviation_id)
    form = DispositionForm(request.POST or None)
    if request.method == "POST":
        if not has_permission(request.user, "quality.disposition_deviation"):
            messages.error(request, _("Only quality assurance can disposition a deviation."))
            return redirect("quality:deviation", deviation_id=deviation.pk)
        if form.is_valid():
            try:
                services.deviation_disposition(actor=request.user, deviation=deviation, **form.cleaned_data)
                messages.success(request, _("The disposition was recorded."))
                return redirect("quality:deviation", deviation_id=deviation.pk)
            except ServiceError as exc:
                form.add_error(None, exc.message)
    can_disposition = has_permission(request.user, "quality.disposition_deviation")
    return render(
        request,
        "quality/deviation.html",
        {"deviation": deviation, "form": form, "can_disposition": can_disposition},
    )


@requires(SIGNED_IN)
def notifications(request: HttpRequest) -> HttpResponse:
    items = selectors.notifications_for(request.user)[:300]
    return render(request, "quality/notifications.html", {"notifications": items})


@requires("quality.acknowledge_notification")
@require_POST
def notification_acknowledge(request: HttpRequest, notification_id: int) -> HttpResponse:
    note = get_object_or_404(selectors.notifications_for(request.user), pk=notification_id)
    try:
        services.notification_acknowledge(actor=request.user, notification=note)
        messages.success(request, _("Acknowledged."))
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("quality:notifications")
