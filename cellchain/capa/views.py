"""CAPA and change-control pages (issue 13 item 4): the CAPA list with its overdue actions, one deviation's
investigation / actions / effectiveness / closure, and the change requests with their control steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cellchain.capa import forms as f
from cellchain.capa import selectors, services
from cellchain.capa.models import CapaAction, ChangeRequest
from cellchain.core import clock
from cellchain.core.pages import form_page, redirect_to, submit
from cellchain.core.permissions import has_permission, requires
from cellchain.domain import capa as rules
from cellchain.quality.models import Deviation
from cellchain.signatures.services import SignerCredentials

STATES = [s.value for s in Deviation.Status]


def _today(request: HttpRequest) -> Any:
    return clock.today(request.user.site.time_zone)  # type: ignore[union-attr]


@requires("capa.view")
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Deviations in CAPA (not closed, or one state) with their open and overdue actions; the overdue list."""
    state = request.GET.get("state", "")
    state = state if state in STATES else ""
    today = _today(request)
    context = {
        "deviations": list(selectors.deviations_in_capa(request.user, today, state)[:300]),
        "overdue": list(selectors.overdue_actions(request.user, today)[:300]),
        "state": state,
        "today": today,
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "capa/index.html#deviations", context)
    return render(request, "capa/index.html", context)


def _deviation(request: HttpRequest, deviation_id: int) -> Deviation:
    try:
        return selectors.deviation_capa(request.user, deviation_id)
    except Deviation.DoesNotExist:
        raise Http404(deviation_id) from None


def _context(request: HttpRequest, deviation: Deviation, **bound: Any) -> dict[str, Any]:
    """The deviation page: its CAPA records, what still blocks closure, and each form (a bound one with errors)."""
    user = request.user
    people = selectors.colleagues(user)
    investigation = selectors.investigation_of(deviation)
    initial = (
        {
            "investigator": investigation.investigator_id,
            "category": investigation.category,
            "root_cause": investigation.root_cause,
            "impact_assessment": investigation.impact_assessment,
        }
        if investigation
        else {}
    )
    gate = rules.closure_gate(selectors.deviation_facts(deviation))
    return {
        "deviation": deviation,
        "investigation": investigation,
        "actions": deviation.capa_actions.all(),
        "checks": deviation.effectiveness_checks.all(),
        "blocking": gate.findings,
        "today": _today(request),
        "can_manage": has_permission(user, "capa.manage") and deviation.status != Deviation.Status.CLOSED,
        "can_close": has_permission(user, "capa.close") and gate.allowed,
        "can_complete": has_permission(user, "capa.complete_action"),
        "is_manager": has_permission(user, "capa.manage"),
        "investigation_form": bound.get("investigation_form")
        or f.InvestigationForm(people=people, initial=initial),
        "action_form": bound.get("action_form")
        or f.ActionForm(people=people, changes=selectors.changes_open_for(user)),
        "effectiveness_form": bound.get("effectiveness_form") or f.EffectivenessForm(),
        "close_form": bound.get("close_form") or f.CloseForm(),
    }


@requires("capa.view")
@require_GET
def deviation(request: HttpRequest, deviation_id: int) -> HttpResponse:
    found = _deviation(request, deviation_id)
    return render(request, "capa/deviation.html", _context(request, found))


def _post(
    request: HttpRequest, deviation_id: int, name: str, form: Any, call: Any, success: str
) -> HttpResponse:
    found = _deviation(request, deviation_id)
    return form_page(
        request,
        form,
        lambda data: call(found, data),
        success,
        done=redirect_to("capa:deviation", deviation_id=found.pk),
        template="capa/deviation.html",
        context=_context(request, found, **{name: form}),
    )


@requires("capa.manage")
@require_POST
def investigation(request: HttpRequest, deviation_id: int) -> HttpResponse:
    form = f.InvestigationForm(request.POST, people=selectors.colleagues(request.user))
    return _post(
        request,
        deviation_id,
        "investigation_form",
        form,
        lambda d, data: services.investigation_record(actor=request.user, deviation=d, **data),
        _("The investigation was recorded."),
    )


@requires("capa.manage")
@require_POST
def action_add(request: HttpRequest, deviation_id: int) -> HttpResponse:
    form = f.ActionForm(
        request.POST,
        people=selectors.colleagues(request.user),
        changes=selectors.changes_open_for(request.user),
    )
    return _post(
        request,
        deviation_id,
        "action_form",
        form,
        lambda d, data: services.capa_action_add(actor=request.user, deviation=d, **data),
        _("The action was added."),
    )


@requires("capa.complete_action")
@require_POST
def action_complete(request: HttpRequest, action_id: int) -> HttpResponse:
    """Report an action done; with htmx the actions section is swapped in place with the outcome."""
    action = (
        CapaAction.objects.filter(deviation__site__organisation_id=request.user.organisation_id)  # type: ignore[union-attr]
        .select_related("deviation__site")
        .filter(pk=action_id)
        .first()
    )
    if action is None:
        raise Http404(action_id)
    submit(
        request,
        f.CompleteForm(request.POST),
        lambda data: services.capa_action_complete(actor=request.user, action=action, note=data["note"]),
        _("The action was reported done."),
    )
    if request.htmx:  # type: ignore[attr-defined]
        found = _deviation(request, action.deviation_id)
        return render(request, "capa/deviation.html#actions", _context(request, found))
    return redirect("capa:deviation", deviation_id=action.deviation_id)


@requires("capa.manage")
@require_POST
def effectiveness(request: HttpRequest, deviation_id: int) -> HttpResponse:
    return _post(
        request,
        deviation_id,
        "effectiveness_form",
        f.EffectivenessForm(request.POST),
        lambda d, data: services.effectiveness_check_record(actor=request.user, deviation=d, **data),
        _("The effectiveness check was recorded."),
    )


@requires("capa.close")
@require_POST
def close(request: HttpRequest, deviation_id: int) -> HttpResponse:
    return _post(
        request,
        deviation_id,
        "close_form",
        f.CloseForm(request.POST),
        lambda d, data: services.deviation_close(
            actor=request.user,
            deviation=d,
            signer=SignerCredentials(request.user, data["password"], data["totp_code"] or None),
            note=data["note"],
        ),
        _("The deviation was closed and signed."),
    )


# --------------------------------------------------------------------------- change control


@requires("capa.view_changes")
@require_GET
def changes(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    state = state if state in ChangeRequest.Status.values else ""
    context = {
        "changes": list(selectors.changes_visible_to(request.user, state)[:300]),
        "state": state,
        "states": ChangeRequest.Status.choices,
        "can_raise": has_permission(request.user, "capa.raise_change"),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "capa/changes.html#changes", context)
    return render(request, "capa/changes.html", context)


@requires("capa.raise_change")
@require_http_methods(["GET", "POST"])
def change_new(request: HttpRequest) -> HttpResponse:
    form = f.ChangeForm(request.POST or None, versions=selectors.versions_for(request.user))

    def call(data: Mapping[str, Any]) -> ChangeRequest:
        return services.change_raise(actor=request.user, **data)

    return form_page(
        request,
        form,
        call,
        _("The change request was raised."),
        done=lambda change: redirect("capa:change", change_id=change.pk),
        template="capa/change_new.html",
    )


def _change(request: HttpRequest, change_id: int) -> ChangeRequest:
    try:
        return selectors.change_get(request.user, change_id)
    except ChangeRequest.DoesNotExist:
        raise Http404(change_id) from None


# step -> (form class, service, success message, argument name of the note)
QA_STEPS = ("assess", "approve", "reject", "verify", "close")


def _change_context(request: HttpRequest, change: ChangeRequest, **bound: Any) -> dict[str, Any]:
    user, state = request.user, change.status
    qa = has_permission(user, "capa.approve_change")
    allowed = {s for s in (*QA_STEPS, "implement") if rules.change_step_gate(s, state).allowed}
    return {
        "change": change,
        "steps": {
            "assess": qa and "assess" in allowed,
            "approve": qa and "approve" in allowed,
            "reject": qa and "reject" in allowed,
            "implement": has_permission(user, "capa.implement_change") and "implement" in allowed,
            "verify": qa and "verify" in allowed,
            "close": qa and "close" in allowed,
        },
        "assess_form": bound.get("assess") or f.StepForm(initial={"note": change.impact_assessment}),
        "approve_form": bound.get("approve") or f.ApproveForm(),
        "reject_form": bound.get("reject") or f.StepForm(),
        "implement_form": bound.get("implement") or f.StepForm(),
        "verify_form": bound.get("verify") or f.StepForm(),
        "close_form": bound.get("close") or f.OptionalStepForm(),
    }


@requires("capa.view_changes")
@require_GET
def change(request: HttpRequest, change_id: int) -> HttpResponse:
    return render(request, "capa/change.html", _change_context(request, _change(request, change_id)))


def _run_step(request: HttpRequest, found: ChangeRequest, step: str) -> HttpResponse:
    user = request.user
    forms_of = {"approve": f.ApproveForm, "close": f.OptionalStepForm}
    form = forms_of.get(step, f.StepForm)(request.POST)

    def call(data: Mapping[str, Any]) -> ChangeRequest:
        if step == "approve":
            signer = SignerCredentials(user, data["password"], data["totp_code"] or None)
            return services.change_approve(actor=user, change=found, signer=signer)
        if step == "assess":
            return services.change_assess(actor=user, change=found, impact_assessment=data["note"])
        command = {
            "reject": services.change_reject,
            "implement": services.change_implement,
            "verify": services.change_verify,
            "close": services.change_close,
        }[step]
        return command(actor=user, change=found, note=data["note"])

    return form_page(
        request,
        form,
        call,
        _("The change request is now: %(state)s.") % {"state": _step_done(step)},
        done=redirect_to("capa:change", change_id=found.pk),
        template="capa/change.html",
        context=_change_context(request, found, **{step: form}),
    )


def _step_done(step: str) -> str:
    return str(
        {
            "assess": ChangeRequest.Status.ASSESSED.label,
            "approve": ChangeRequest.Status.APPROVED.label,
            "reject": ChangeRequest.Status.REJECTED.label,
            "implement": ChangeRequest.Status.IMPLEMENTED.label,
            "verify": ChangeRequest.Status.VERIFIED.label,
            "close": ChangeRequest.Status.CLOSED.label,
        }[step]
    )


@requires("capa.approve_change")
@require_POST
def change_step(request: HttpRequest, change_id: int, step: str) -> HttpResponse:
    """QA's steps: assess, approve (signed), reject, verify, close (REGULATORY item 61)."""
    if step not in QA_STEPS:
        raise Http404(step)
    return _run_step(request, _change(request, change_id), step)


@requires("capa.implement_change")
@require_POST
def change_implement(request: HttpRequest, change_id: int) -> HttpResponse:
    return _run_step(request, _change(request, change_id), "implement")
