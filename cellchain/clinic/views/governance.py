"""Clinic pages: protocol deviations, risk plans, agreements, unit overtime and the products adopted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.clinic import forms, packages, selectors, services
from cellchain.clinic.views._common import _found, _people
from cellchain.core import clock
from cellchain.core.errors import NotFound
from cellchain.core.pages import form_page, redirect_to, run_service, submit
from cellchain.core.permissions import has_permission, requires


@requires("clinic.view")
def deviations(request: HttpRequest) -> HttpResponse:
    reports = selectors.protocol_reports_visible_to(request.user)
    return render(
        request,
        "clinic/deviations.html",
        {"reports": reports, "can_record": has_permission(request.user, "clinic.deviation")},
    )


@requires("clinic.deviation")
@require_http_methods(["GET", "POST"])
def deviation_new(request: HttpRequest) -> HttpResponse:
    return form_page(
        request,
        forms.ProtocolDeviationForm(request.POST or None, courses=selectors.courses_visible_to(request.user)),
        lambda data: services.protocol_deviation_record(actor=request.user, site=request.user.site, **data),
        _("Protocol deviation recorded."),
        done=lambda report: redirect("clinic:deviation", report_id=report.pk),
        template="clinic/form.html",
        context={"title": _("Protocol deviation")},
    )


@requires("clinic.view")
@require_http_methods(["GET", "POST"])
def deviation(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _found(selectors.protocol_report_get, request.user, report_id)
    ec_form = forms.EcReportForm(prefix="ec")
    action_form = forms.ActionForm(prefix="action", people=_people(request))
    if request.method == "POST":
        if has_permission(request.user, "clinic.deviation"):
            _deviation_post(request, report)
        else:
            messages.error(request, _("Your role cannot update protocol deviations."))
        return redirect("clinic:deviation", report_id=report.pk)
    return render(
        request,
        "clinic/deviation.html",
        {
            "report": report,
            "ec_form": ec_form,
            "action_form": action_form,
            "close_form": forms.ActionCloseForm(),
            "open_items": services.protocol_deviation_open_items(report),
            "can_edit": has_permission(request.user, "clinic.deviation"),
        },
    )


def _deviation_post(request: HttpRequest, report: Any) -> None:
    """One step of the deviation's page: its own form posts `step` (T-9.3.1)."""
    step = request.POST.get("step")
    if step == "ec":
        submit(
            request,
            forms.EcReportForm(request.POST, prefix="ec"),
            lambda data: services.protocol_deviation_report_ec(actor=request.user, report=report, **data),
            _("Reports recorded."),
        )
    elif step == "action":
        submit(
            request,
            forms.ActionForm(request.POST, prefix="action", people=_people(request)),
            lambda data: services.corrective_action_add(actor=request.user, report=report, **data),
            _("Action added."),
        )
    elif step == "close_action":

        def close_action(data: Mapping[str, Any]) -> Any:
            chosen = request.POST.get("action_id", "")
            action = report.actions.filter(pk=int(chosen)).first() if chosen.isdigit() else None
            if action is None:
                raise NotFound(_("No such corrective action on this protocol deviation."))
            return services.corrective_action_close(actor=request.user, action=action, **data)

        submit(request, forms.ActionCloseForm(request.POST), close_action, _("Action closed."))
    elif step == "close":
        run_service(
            request,
            lambda: services.protocol_deviation_close(actor=request.user, report=report),
            _("Protocol deviation closed."),
        )
    else:
        messages.error(request, _("Nothing was changed: the form did not say which step to record."))


@requires("clinic.view")
def deviation_print(request: HttpRequest, report_id: int) -> HttpResponse:
    """The ethics-committee report (T-9.3.1), printable."""
    report = _found(selectors.protocol_report_get, request.user, report_id)
    return render(
        request,
        "clinic/deviation_print.html",
        {"report": report, "printed_at": clock.now(), "printed_by": request.user},
    )


@requires("clinic.view")
def risk_plans(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "clinic/risk_plans.html",
        {
            "plans": selectors.risk_plans_visible_to(request.user),
            "can_create": has_permission(request.user, "clinic.risk_plan"),
        },
    )


@requires("clinic.risk_plan")
@require_http_methods(["GET", "POST"])
def risk_plan_new(request: HttpRequest) -> HttpResponse:
    """A new risk plan; `?product=<id>` starts its register from the manufacturer's risks (T-9.1.2, T-7.9)."""
    form = forms.RiskPlanForm(request.POST or None, initial=_risk_plan_initial(request))
    if "risks" in form.initial:
        form.fields["risks"].help_text = _(
            "Started from the manufacturer's risks (T-7.9): give each an owner and a rating 1-25, keep every "
            "adverse reaction, add the site's own risks."
        )

    def create(data: Mapping[str, Any]) -> Any:
        plan = {k: v for k, v in data.items() if k != "risks"}
        return services.risk_plan_create(
            actor=request.user, site=request.user.site, items=data["risks"], **plan
        )

    return form_page(
        request,
        form,
        create,
        _("Risk plan recorded."),
        done=lambda plan: redirect("clinic:risk_plan", plan_id=plan.pk),
        template="clinic/form.html",
        context={"title": _("New risk plan")},
    )


def _risk_plan_initial(request: HttpRequest) -> dict[str, Any]:
    """The product and a register seeded from its package: one line per risk, measure and owner to complete,
    rating left for the team (the form refuses a line without one)."""
    chosen = request.GET.get("product", "")
    product = selectors.products_all().filter(pk=int(chosen)).first() if chosen.isdigit() else None
    if product is None:
        return {}
    lines = [
        f"{seed.stage} | {seed.hazard} | {seed.cause} | {seed.measure} |  | "
        for seed in services.risk_plan_seed(product)
    ]
    return {
        "product": product,
        "title": _("%(product)s risk plan") % {"product": product.code},
        "risks": "\n".join(lines),
    }


@requires("clinic.view")
@require_http_methods(["GET", "POST"])
def risk_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _found(selectors.risk_plan_get, request.user, plan_id)
    form = forms.PasswordForm(request.POST or None)
    context = {"plan": plan, "uncovered": services.risk_plan_uncovered(plan)}
    if request.method == "POST" and not has_permission(request.user, "clinic.risk_plan"):
        messages.error(request, _("Your role cannot confirm risk plans."))
        return render(request, "clinic/risk_plan.html", {"form": form, **context})
    return form_page(
        request,
        form,
        lambda data: services.risk_plan_confirm(actor=request.user, plan=plan, password=data["password"]),
        _("Risk plan confirmed."),
        done=redirect_to("clinic:risk_plan", plan_id=plan.pk),
        template="clinic/risk_plan.html",
        context=context,
    )


@requires("clinic.plan")
@require_http_methods(["GET", "POST"])
def agreement_new(request: HttpRequest) -> HttpResponse:
    form = forms.AgreementForm(request.POST or None)
    return form_page(
        request,
        form,
        lambda data: services.agreement_record(
            actor=request.user,
            site=request.user.site,
            product=data["product"],
            effective_from=data["effective_from"],
            effective_until=data["effective_until"],
            items=form.items(),
            attachment_ref=data["attachment_ref"],
        ),
        _("Agreement recorded."),
        done=redirect_to("clinic:products"),
        template="clinic/form.html",
        context={"title": _("Clinic-manufacturer agreement (T-8.2.2)")},
    )


@requires("clinic.prepare")
@require_POST
def unit_overtime(request: HttpRequest, unit_id: int) -> HttpResponse:
    """Apply the product's over-time handling to a unit past its use-by (T-7.8-d)."""
    item = _found(selectors.unit_get, request.user, unit_id)
    run_service(
        request,
        lambda: services.unit_overtime_apply(actor=request.user, unit=item),
        _("Over-time handling recorded."),
    )
    return redirect("clinic:unit", unit_id=item.pk)


@requires("clinic.view")
def products(request: HttpRequest) -> HttpResponse:
    """Each product's values and where they come from (the manufacturer's package or the clinic), whether a
    newer approved version exists, and the approved versions not adopted yet (T-7.4, T-8.2.1)."""
    items = list(selectors.products_all().prefetch_related("agreements__site"))
    plans = [
        (plan, services.risk_plan_uncovered(plan))
        for plan in selectors.risk_plans_visible_to(request.user).prefetch_related("items")
    ]
    rows = [
        (
            status,
            selectors.profile_rows(status.profile),
            [(plan, missing) for plan, missing in plans if plan.product_id == status.profile.pk],
        )
        for status in services.profiles_status(items)
    ]
    return render(
        request,
        "clinic/products.html",
        {
            "rows": rows,
            "register": [(m, sorted(m.product_codes)) for m in services.register_entries()],
            "not_adopted": services.packages_not_adopted(items),
            "can_record": has_permission(request.user, "clinic.plan"),
            "can_adopt": has_permission(request.user, "clinic.product"),
            "can_plan_risks": has_permission(request.user, "clinic.risk_plan"),
        },
    )


@requires("clinic.product")
@require_http_methods(["GET", "POST"])
def product_adopt(request: HttpRequest, version_id: int) -> HttpResponse:
    """Adopt the manufacturer's approved version: its package's values are shown and copied, the clinic enters
    only what the package does not carry (T-7.4); replacing a version in use needs a reason (T-8.2.1)."""
    try:
        version = packages.version_for_adoption(version_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    package = packages.package_of(version)
    current = selectors.products_all().filter(code=package.product_code).first()
    carried = package.values.carried if package.values is not None else ()
    form = forms.ProductAdoptForm(
        request.POST or None,
        carried=carried,
        replacing=current is not None,
        initial=forms.ProductAdoptForm.initial_from(current),
    )
    return form_page(
        request,
        form,
        lambda data: services.product_profile_adopt(
            actor=request.user, product_version=version, reason=data.get("reason", ""), **form.values()
        ),
        _("%(version)s adopted: its values now apply at the bedside.") % {"version": package.label},
        done=redirect_to("clinic:products"),
        template="clinic/product_adopt.html",
        context={"package": package, "current": current, "package_rows": selectors.package_rows(package)},
    )
