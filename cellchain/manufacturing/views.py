"""Manufacturing pages: products and approval, areas and line clearance, equipment, apheresis intake, batch
record execution. Views parse, authorise, call one service and show its message (STYLE habit 5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cellchain.accounts.models import User
from cellchain.core.errors import ServiceError
from cellchain.core.pages import run_service, submit
from cellchain.core.permissions import has_permission, requires
from cellchain.domain.product_information import Bilingual
from cellchain.manufacturing import forms, selectors, services
from cellchain.manufacturing.models import BatchStep, ProductionArea, ProductVersion
from cellchain.signatures.services import SignerCredentials


def text(value: Bilingual) -> str:
    """The text in the page's language."""
    return value.zh if (get_language() or "").startswith("zh") else value.en


# --------------------------------------------------------------------------- products


@requires("manufacturing.view")
def products(request: HttpRequest) -> HttpResponse:
    return render(
        request, "manufacturing/products.html", {"products": selectors.products_visible_to(request.user)}
    )


@requires("manufacturing.view")
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    query = ProductVersion.objects.filter(product__site__organisation_id=request.user.organisation_id)
    version = get_object_or_404(query.select_related("product", "approved_by"), pk=version_id)
    form = forms.ApproveForm(request.POST or None)
    if (
        request.method == "POST"
        and has_permission(request.user, "manufacturing.manage_products")
        and form.is_valid()
    ):
        signer = SignerCredentials(
            request.user, form.cleaned_data["password"], form.cleaned_data["totp_code"] or None
        )
        if run_service(
            request,
            lambda: services.product_version_approve(actor=request.user, version=version, signer=signer),
            _("The version is approved and signed."),
            form=form,
        ):
            return redirect("manufacturing:version", version_id=version.pk)
    try:
        problems = services.product_version_problems(version).findings
        definition = selectors.product_definition(version)
    except ServiceError as exc:
        problems, definition = (), None
        messages.error(request, exc.message)
    context = {
        "version": version,
        "problems": problems,
        "definition": definition,
        "form": form,
        "can_approve": has_permission(request.user, "manufacturing.manage_products"),
        "steps": _template_rows(definition) if definition else [],
    }
    return render(request, "manufacturing/version.html", context)


def _template_rows(definition: selectors.ProductDefinition) -> list[dict[str, Any]]:
    return [
        {
            "step": step,
            "title": text(definition.step_titles.get(step.code, Bilingual(step.title, step.title))),
            "parameters": [
                (p, text(definition.parameter_labels.get((step.code, p.code), Bilingual(p.label, p.label))))
                for p in step.parameters
            ],
        }
        for step in definition.template.steps
    ]


# --------------------------------------------------------------------------- facility


@requires("manufacturing.view")
def areas(request: HttpRequest) -> HttpResponse:
    rows = [
        {"area": a, "free": selectors.area_is_free(a), "clearances": list(selectors.clearances_of(a)[:3])}
        for a in selectors.areas_visible_to(request.user)
    ]
    return render(
        request,
        "manufacturing/areas.html",
        {
            "rows": rows,
            "form": forms.LineClearanceForm(),
            "can_clear": has_permission(request.user, "manufacturing.line_clearance"),
        },
    )


@requires("manufacturing.line_clearance")
@require_POST
def line_clearance(request: HttpRequest, area_id: int) -> HttpResponse:
    area = get_object_or_404(selectors.areas_visible_to(request.user), pk=area_id)
    form = forms.LineClearanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Both people must give their password."))
        return redirect("manufacturing:areas")
    data = form.cleaned_data
    verifier = User.objects.filter(
        username=data["verifier_username"], organisation=request.user.organisation
    ).first()
    if verifier is None:
        messages.error(request, _("The verifier's username is not known here."))
        return redirect("manufacturing:areas")
    run_service(
        request,
        lambda: services.line_clearance_record(
            actor=request.user,
            area=area,
            note=data["note"],
            performer=SignerCredentials(request.user, data["password"], data["totp_code"] or None),
            verifier=SignerCredentials(verifier, data["verifier_password"]),
        ),
        _("Line clearance recorded with a two-person check."),
    )
    return redirect("manufacturing:areas")


@requires("manufacturing.view")
def equipment(request: HttpRequest) -> HttpResponse:
    from cellchain.core import clock
    from cellchain.domain.facility import equipment_use_check

    today = clock.now().date()
    rows = [
        {"item": e, "gate": equipment_use_check(selectors.equipment_to_domain(e), today)}
        for e in selectors.equipment_visible_to(request.user)
    ]
    return render(request, "manufacturing/equipment.html", {"rows": rows, "lots": selectors.lots_all()})


# --------------------------------------------------------------------------- intake and batch start


@requires("manufacturing.view")
def intakes(request: HttpRequest) -> HttpResponse:
    form = forms.IntakeForm(request.POST or None)
    if request.method == "POST":
        if not has_permission(request.user, "manufacturing.intake"):
            messages.error(request, _("You may not record a manufacturing receipt."))
        elif form.is_valid() and run_service(
            request,
            lambda: services.apheresis_intake_record(actor=request.user, **form.cleaned_data),
            lambda intake: _("Unit %(din)s taken in.") % {"din": intake.din},
            form=form,
        ):
            return redirect("manufacturing:intakes")
    start = forms.BatchStartForm(
        versions=selectors.product_versions_approved(request.user),
        areas=selectors.areas_visible_to(request.user),
    )
    rows = selectors.intakes_visible_to(request.user).select_related("batch")[:200]
    return render(request, "manufacturing/intakes.html", {"form": form, "intakes": rows, "start_form": start})


@requires("manufacturing.execute")
@require_POST
def batch_start(request: HttpRequest, intake_id: int) -> HttpResponse:
    intake = get_object_or_404(selectors.intakes_visible_to(request.user), pk=intake_id)
    form = forms.BatchStartForm(
        request.POST,
        versions=selectors.product_versions_approved(request.user),
        areas=selectors.areas_visible_to(request.user),
    )
    if not form.is_valid():
        messages.error(request, _("Choose the product version and area, and scan the bag."))
        return redirect("manufacturing:intakes")
    batch = run_service(
        request,
        lambda: services.batch_start(actor=request.user, intake=intake, **form.cleaned_data),
        lambda started: _("Batch %(number)s started.") % {"number": started.number},
    )
    if batch is None:
        return redirect("manufacturing:intakes")
    return redirect("manufacturing:batch", batch_id=batch.pk)


# --------------------------------------------------------------------------- batch record


@requires("manufacturing.view")
def batches(request: HttpRequest) -> HttpResponse:
    return render(
        request, "manufacturing/batches.html", {"batches": selectors.batches_visible_to(request.user)[:300]}
    )


@dataclass
class StepRow:
    """One template step on the batch page: its record (if started) and what can be done next."""

    code: str
    title: str
    template: Any
    record: BatchStep | None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    is_next: bool = False


def _step_rows(batch: Any, definition: selectors.ProductDefinition) -> list[StepRow]:
    records = {s.code: s for s in batch.steps.all()}
    rows, next_found = [], False
    for step in definition.template.steps:
        record = records.get(step.code)
        entries = {e.code: e for e in record.entries.all()} if record else {}
        row = StepRow(step.code, text(definition.step_titles[step.code]), step, record)
        row.parameters = [
            {
                "spec": p,
                "label": text(definition.parameter_labels[(step.code, p.code)]),
                "entry": entries.get(p.code),
            }
            for p in step.parameters
        ]
        if record is None and not next_found and all(r.status == "completed" for r in records.values()):
            row.is_next, next_found = True, True
        rows.append(row)
    return rows


def _batch_context(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    batch = selectors.batch_get(request.user, batch_id)
    definition = selectors.product_definition(batch.product_version)
    rooms = selectors.areas_visible_to(request.user).filter(mode=ProductionArea.Mode.ROOM_BASED)
    return {
        "batch": batch,
        "definition": definition,
        "rows": _step_rows(batch, definition),
        "can_execute": has_permission(request.user, "manufacturing.execute") and batch.status == "in_process",
        "start_form": forms.StepStartForm(rooms=rooms),
        "room_based": batch.area_id is None,
        "equipment_form": forms.EquipmentUseForm(equipment=selectors.equipment_visible_to(request.user)),
        "material_form": forms.MaterialUseForm(lots=selectors.lots_all()),
        "fill_form": forms.FillForm(),
        "complete_form": forms.StepCompleteForm(),
    }


@requires("manufacturing.view")
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    return render(request, "manufacturing/batch.html", _batch_context(request, batch_id))


def _step_of(request: HttpRequest, step_id: int) -> BatchStep:
    query = BatchStep.objects.filter(batch__site__organisation_id=request.user.organisation_id)
    return get_object_or_404(
        query.select_related("batch__product_version__product", "batch__intake"), pk=step_id
    )


def _back(request: HttpRequest, batch_id: int) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return render(request, "manufacturing/batch.html#steps", _batch_context(request, batch_id))
    return redirect("manufacturing:batch", batch_id=batch_id)


@requires("manufacturing.execute")
@require_POST
def step_start(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(selectors.batches_visible_to(request.user), pk=batch_id)
    rooms = selectors.areas_visible_to(request.user).filter(mode=ProductionArea.Mode.ROOM_BASED)
    submit(
        request,
        forms.StepStartForm(request.POST, rooms=rooms),
        lambda data: services.step_start(
            actor=request.user, batch=batch, step_code=data["step"], scan=data["scan"], area=data["area"]
        ),
        _("Step started."),
        invalid=_("Scan the bag to start the step."),
    )
    return _back(request, batch.pk)


def _deviation_warning(request: HttpRequest) -> Callable[[Any], None]:
    """An out-of-range entry opened a deviation: warn that QA must disposition it first (P-T2)."""

    def warn(entry: Any) -> None:
        if entry.deviation_id:
            messages.warning(
                request,
                _(
                    "Out of range: deviation %(number)s opened; QA must disposition it "
                    "before the step can be completed."
                )
                % {"number": entry.deviation.number},
            )

    return warn


@requires("manufacturing.execute")
@require_POST
def parameter(request: HttpRequest, step_id: int) -> HttpResponse:
    step = _step_of(request, step_id)
    submit(
        request,
        forms.ParameterForm(request.POST),
        lambda data: services.parameter_record(actor=request.user, step=step, **data),
        _deviation_warning(request),
    )
    return _back(request, step.batch_id)


@requires("manufacturing.execute")
@require_POST
def equipment_use(request: HttpRequest, step_id: int) -> HttpResponse:
    step = _step_of(request, step_id)
    submit(
        request,
        forms.EquipmentUseForm(request.POST, equipment=selectors.equipment_visible_to(request.user)),
        lambda data: services.equipment_use_record(actor=request.user, step=step, **data),
        None,
    )
    return _back(request, step.batch_id)


@requires("manufacturing.execute")
@require_POST
def material_use(request: HttpRequest, step_id: int) -> HttpResponse:
    step = _step_of(request, step_id)
    submit(
        request,
        forms.MaterialUseForm(request.POST, lots=selectors.lots_all()),
        lambda data: services.material_use_record(actor=request.user, step=step, **data),
        None,
    )
    return _back(request, step.batch_id)


@requires("manufacturing.execute")
@require_POST
def fill(request: HttpRequest, step_id: int) -> HttpResponse:
    step = _step_of(request, step_id)
    submit(
        request,
        forms.FillForm(request.POST),
        lambda data: services.fill_record(actor=request.user, step=step, **data),
        None,
    )
    return _back(request, step.batch_id)


@requires("manufacturing.execute")
@require_POST
def step_complete(request: HttpRequest, step_id: int) -> HttpResponse:
    step = _step_of(request, step_id)
    form = forms.StepCompleteForm(request.POST)
    form.is_valid()
    password = form.cleaned_data.get("password") or ""
    signer = (
        SignerCredentials(request.user, password, form.cleaned_data.get("totp_code") or None)
        if password
        else None
    )
    run_service(
        request,
        lambda: services.step_complete(actor=request.user, step=step, signer=signer),
        _("Step completed."),
    )
    return _back(request, step.batch_id)
