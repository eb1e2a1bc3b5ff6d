"""Clinic pages: thin handlers that parse a form, call one service and show its message (STYLE habit 5).

Built for a bedside tablet with a keyboard-wedge scanner: scan fields take Enter, htmx swaps the verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.accounts.models import User
from cellchain.clinic import forms, packages, selectors, services
from cellchain.clinic.models import BedsideCheck, MonitoringDay
from cellchain.core import clock
from cellchain.core.errors import NotAllowed, NotFound, ServiceError, ValidationFailed
from cellchain.core.pages import form_errors_text, form_page, redirect_to, run_service, submit
from cellchain.core.permissions import has_permission, requires
from cellchain.signatures.services import signatures_of


def _today(request: HttpRequest) -> Any:
    return clock.now().astimezone(_site_tz(request)).date()


def _site_tz(request: HttpRequest) -> Any:
    from zoneinfo import ZoneInfo

    site = getattr(request.user, "site", None)
    return ZoneInfo(site.time_zone if site else "Asia/Shanghai")


def _found(select: Callable[..., Any], viewer: Any, pk: int) -> Any:
    """Look a record up after the permission check; not visible to this viewer = 404."""
    try:
        return select(viewer, pk)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _unit_values(request: HttpRequest, unit: Any) -> Any:
    """The product values the checks apply to this unit: its batch's version when that is not the adopted one
    (when that version cannot be read, the page says why and shows the adopted values)."""
    values = run_service(request, lambda: services.unit_profile(unit), None)
    return values if values is not None else unit.course.product


def _people(request: HttpRequest) -> Any:
    return User.objects.filter(site=request.user.site, is_active=True).order_by("printed_name")  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- overview


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
        "units": [(u, selectors.unit_countdown(u, now)) for u in item.units.all()],
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
        return services.unit_admit_scanned(actor=request.user, course=item, scanned_text=data["scan"])

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


# --------------------------------------------------------------------------- unit, thaw, dilution


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


# --------------------------------------------------------------------------- bedside check and infusion


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


# --------------------------------------------------------------------------- adverse events and reporting


@requires("clinic.record_ae")
@require_http_methods(["GET", "POST"])
def event_new(request: HttpRequest, course_id: int) -> HttpResponse:
    item = _found(selectors.course_get, request.user, course_id)
    # The age decides ICE or CAPD for ICANS (ASTCT 2019): shown from the enrolment record when there is one.
    age = services.course_patient_age(request.user, item, _today(request))
    findings = forms.GradingFindingsForm(request.POST or None, initial={"age_years": age})
    return form_page(
        request,
        forms.AdverseEventForm(request.POST or None),
        lambda data: services.adverse_event_record(
            actor=request.user, course=item, findings=findings.findings_for(data["category"]), **data
        ),
        _("Adverse event recorded and sent to the manufacturer."),
        done=lambda event: redirect("clinic:event", event_id=event.pk),
        template="clinic/event_new.html",
        context={"course": item, "findings": findings, "reactions": item.product.possible_reactions},
        also=[findings],
    )


@requires("clinic.grade")
@require_POST
def grade_preview(request: HttpRequest) -> HttpResponse:
    """The grade and its reasoning while the physician types the findings (htmx)."""
    findings = forms.GradingFindingsForm(request.POST)
    category = request.POST.get("category", "")
    result, error = None, ""
    if findings.is_valid():
        try:
            result = services.grade_event(
                category,
                findings.findings_for(category),
                request.POST.get("term", "-"),
                request.POST.get("ctcae_grade") or None,
            )
        except ServiceError as exc:
            error = exc.message
    else:
        error = form_errors_text(findings)
    return render(request, "clinic/event_new.html#grade", {"result": result, "error": error})


@requires("clinic.view")
def event(request: HttpRequest, event_id: int) -> HttpResponse:
    item = _found(selectors.event_get, request.user, event_id)
    now = clock.now()
    duties = [(d, selectors.duty_state(d, now)) for d in item.duties.filter(voided_at__isnull=True)]
    return render(
        request,
        "clinic/event.html",
        {
            "event": item,
            "duties": duties,
            "missing": services.manufacturer_report_missing(item),
            "sent_form": forms.DutySentForm(),
            "regrade_form": forms.RegradeForm(initial={"outcome": item.outcome}),
            "findings": forms.GradingFindingsForm(initial=item.findings),
            "can_report": has_permission(request.user, "clinic.report"),
            "can_record": has_permission(request.user, "clinic.record_ae"),
        },
    )


@requires("clinic.report")
@require_POST
def duty_sent(request: HttpRequest, duty_id: int) -> HttpResponse:
    duty = _found(selectors.duty_get, request.user, duty_id)
    submit(
        request,
        forms.DutySentForm(request.POST),
        lambda data: services.reporting_duty_mark_sent(
            actor=request.user, duty=duty, reference=data["reference"]
        ),
        _("Report recorded as sent."),
    )
    return redirect("clinic:event", event_id=duty.event_id)


@requires("clinic.record_ae")
@require_POST
def event_regrade(request: HttpRequest, event_id: int) -> HttpResponse:
    item = _found(selectors.event_get, request.user, event_id)
    findings = forms.GradingFindingsForm(request.POST)
    submit(
        request,
        forms.RegradeForm(request.POST),
        lambda data: services.adverse_event_regrade(
            actor=request.user, event=item, findings=findings.findings_for(item.category), **data
        ),
        _("Adverse event updated and sent to the manufacturer."),
        invalid=_("Check the update: every field needs a valid value."),
        also=[findings],
    )
    return redirect("clinic:event", event_id=item.pk)


@requires("clinic.view")
def reporting(request: HttpRequest) -> HttpResponse:
    now = clock.now()
    pending = selectors.duties_visible_to(request.user).filter(sent_at__isnull=True).order_by("due_at")[:200]
    return render(
        request,
        "clinic/reporting.html",
        {"overdue": selectors.overdue_duties(request.user, now), "pending": pending, "now": now},
    )


@requires("clinic.view")
def follow_up(request: HttpRequest) -> HttpResponse:
    today = _today(request)
    return render(
        request,
        "clinic/follow_up.html",
        {"overdue": selectors.overdue_follow_up(request.user, today), "today": today},
    )


@requires("clinic.follow_up")
@require_http_methods(["GET", "POST"])
def follow_up_visit(request: HttpRequest, course_id: int, key: str) -> HttpResponse:
    item = _found(selectors.course_get, request.user, course_id)
    visits = {s.visit.key: s for s in selectors.follow_up_plan(item, _today(request))}
    if key not in visits:
        raise Http404("No such visit in this course's follow-up plan.")
    form = forms.FollowUpVisitForm(request.POST or None, items=visits[key].visit.items)
    return form_page(
        request,
        form,
        lambda data: services.follow_up_visit_record(
            actor=request.user,
            course=item,
            key=key,
            done_on=data["done_on"],
            findings=form.findings(),
            notes=data["notes"],
        ),
        _("Follow-up visit recorded."),
        done=redirect_to("clinic:course", course_id=item.pk),
        template="clinic/form.html",
        context={
            "course": item,
            "title": _("Follow-up visit %(key)s, due %(due)s") % {"key": key, "due": visits[key].visit.due},
        },
    )


# --------------------------------------------------------------------------- protocol deviations, risk plans


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
