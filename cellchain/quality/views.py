"""Deviation list and disposition; notifications with acknowledgement."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.core.pages import form_page, redirect_to, run_service
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
    can_disposition = has_permission(request.user, "quality.disposition_deviation")
    if request.method == "POST" and not can_disposition:
        messages.error(request, _("Only quality assurance can disposition a deviation."))
        return redirect("quality:deviation", deviation_id=deviation.pk)
    return form_page(
        request,
        DispositionForm(request.POST or None),
        lambda data: services.deviation_disposition(actor=request.user, deviation=deviation, **data),
        _("The disposition was recorded."),
        done=redirect_to("quality:deviation", deviation_id=deviation.pk),
        template="quality/deviation.html",
        context={"deviation": deviation, "can_disposition": can_disposition},
    )


@requires(SIGNED_IN)
def notifications(request: HttpRequest) -> HttpResponse:
    items = selectors.notifications_for(request.user)[:300]
    return render(request, "quality/notifications.html", {"notifications": items})


@requires("quality.view_email_outbox")
def email_outbox(request: HttpRequest) -> HttpResponse:
    """The notification e-mails of the administrator's organisation, failed ones first (issue 15)."""
    items = selectors.email_outbox_for(request.user)[:300]
    return render(request, "quality/email_outbox.html", {"emails": items})


@requires("quality.acknowledge_notification")
@require_POST
def notification_acknowledge(request: HttpRequest, notification_id: int) -> HttpResponse:
    note = get_object_or_404(selectors.notifications_for(request.user), pk=notification_id)
    run_service(
        request,
        lambda: services.notification_acknowledge(actor=request.user, notification=note),
        _("Acknowledged."),
    )
    return redirect("quality:notifications")


@requires("quality.view_safety_reports")
def safety_reports(request: HttpRequest) -> HttpResponse:
    """Adverse-event reports received from hospitals' installations (issue 12 item 2, T-7.10)."""
    flagged = request.GET.get("flagged") == "1"
    return render(
        request,
        "quality/safety_reports.html",
        {"reports": selectors.safety_reports_list(flagged_only=flagged)[:500], "flagged": flagged},
    )
