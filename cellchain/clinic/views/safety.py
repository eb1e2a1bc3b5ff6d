"""Clinic pages: adverse events and their grading, reporting duties and follow-up visits."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.clinic import forms, selectors, services
from cellchain.clinic.views._common import _found, _today
from cellchain.core import clock
from cellchain.core.errors import ServiceError
from cellchain.core.pages import form_errors_text, form_page, redirect_to, submit
from cellchain.core.permissions import has_permission, requires


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
