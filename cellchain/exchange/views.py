"""Exchange pages: the partner register (list, detail, add, deactivate) and the quarantine review
(issue 12 items 1-2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cellchain.core import installation
from cellchain.core.pages import form_page, submit
from cellchain.core.permissions import has_permission, requires
from cellchain.exchange import selectors, services
from cellchain.exchange.forms import DeactivateForm, PartnerForm, ReviewForm
from cellchain.exchange.identity import identity
from cellchain.exchange.models import Partner, QuarantinedMessage


@requires("exchange.view")
@require_GET
def partners(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "exchange/partners.html",
        {
            "partners": list(selectors.partners_list()),
            "identity": identity(),
            "installation_role": installation.role(),
            "can_manage": has_permission(request.user, "exchange.manage_partners"),
            "pending": selectors.quarantine_list(pending_only=True).count(),
        },
    )


@requires("exchange.manage_partners")
@require_http_methods(["GET", "POST"])
def partner_add(request: HttpRequest) -> HttpResponse:
    form = PartnerForm(request.POST or None)
    made: dict[str, str | None] = {}

    def call(data: Mapping[str, Any]) -> Partner:
        partner, token = services.partner_register(
            actor=request.user,
            name=data["name"],
            role=data["role"],
            base_url=data["base_url"],
            log_id=data["log_id"],
            public_key=data["public_key"],
            fingerprint=data["fingerprint"] or None,
            outbound_token=data["outbound_token"],
        )
        made["token"] = token
        return partner

    def done(partner: Partner) -> HttpResponse:
        # The token the partner will present to us is shown once, here, and never again.
        return render(request, "exchange/partner_token.html", {"partner": partner, "token": made["token"]})

    return form_page(
        request, form, call, _("The partner was registered."), done=done, template="exchange/partner_add.html"
    )


@requires("exchange.view")
@require_GET
def partner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    partner = get_object_or_404(Partner, pk=pk)
    return render(
        request,
        "exchange/partner_detail.html",
        {
            "partner": partner,
            **selectors.partner_messages(partner),
            "deactivate_form": DeactivateForm(),
            "can_manage": has_permission(request.user, "exchange.manage_partners"),
        },
    )


@requires("exchange.manage_partners")
@require_POST
def partner_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    partner = get_object_or_404(Partner, pk=pk)
    form = DeactivateForm(request.POST)
    submit(
        request,
        form,
        lambda data: services.partner_deactivate(actor=request.user, partner=partner, reason=data["reason"]),
        _("The partner was deactivated."),
    )
    return redirect("exchange:partner", pk=partner.pk)


@requires("exchange.view")
@require_GET
def quarantine(request: HttpRequest) -> HttpResponse:
    pending_only = request.GET.get("all") != "1"
    return render(
        request,
        "exchange/quarantine.html",
        {
            "rows": list(selectors.quarantine_list(pending_only=pending_only)[:200]),
            "pending_only": pending_only,
            "form": ReviewForm(),
            "can_review": has_permission(request.user, "exchange.review_quarantine"),
        },
    )


@requires("exchange.review_quarantine")
@require_POST
def quarantine_review(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(QuarantinedMessage.objects.defer("raw"), pk=pk)
    form = ReviewForm(request.POST)
    reviewed = submit(
        request,
        form,
        lambda data: services.quarantine_review(
            actor=request.user, message=row, disposition=data["disposition"], note=data["note"]
        ),
        _("The review was recorded."),
    )
    if request.htmx and reviewed is not None:  # type: ignore[attr-defined]
        return render(request, "exchange/quarantine.html#row", {"row": reviewed, "can_review": False})
    if reviewed is None and not list(messages.get_messages(request)):
        messages.error(request, _("The review was not recorded."))
    return redirect("exchange:quarantine")
