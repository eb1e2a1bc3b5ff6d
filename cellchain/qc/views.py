"""QC pages: the batch's results and release evaluation, result entry and import, retained sample,
audit-trail review, release, certificate of analysis, label and information package."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cellchain.core.pages import run_service, submit
from cellchain.core.permissions import has_permission, requires
from cellchain.domain.certificate import key_process_warnings, label_print_check, missing_fields
from cellchain.manufacturing.models import Batch, ProductUnit
from cellchain.manufacturing.selectors import product_definition
from cellchain.qc import documents, forms, imports, selectors, services
from cellchain.qc.models import PackageIssue, QcResult
from cellchain.signatures.services import SignerCredentials


def _batch(request: HttpRequest, batch_id: int) -> Batch:
    return get_object_or_404(selectors.batches_for_qc(request.user), pk=batch_id)


def _label(value: Any) -> str:
    return value.zh if (get_language() or "").startswith("zh") else value.en


def _items(batch: Batch) -> list[tuple[str, str]]:
    definition = product_definition(batch.product_version)
    return [(item.code, _label(definition.item_labels[item.code])) for item in definition.specification.items]


def _signer(request: HttpRequest, data: Mapping[str, Any]) -> SignerCredentials:
    return SignerCredentials(request.user, data["password"], data.get("totp_code") or None)


@requires("qc.view")
def batches(request: HttpRequest) -> HttpResponse:
    rows = selectors.batches_for_qc(request.user).exclude(status=Batch.Status.IN_PROCESS)[:300]
    return render(request, "qc/batches.html", {"batches": rows})


@requires("qc.view")
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    definition = product_definition(batch.product_version)
    evaluation = selectors.release_evaluation(batch, definition)
    results = {r.item_code: r for r in selectors.current_results(batch)}
    rows = [
        {"verdict": v, "label": _label(definition.item_labels[v.item.code]), "row": results.get(v.item.code)}
        for v in evaluation.verdicts
    ]
    retained_units = batch.units.filter(purpose=ProductUnit.Purpose.RETAINED, retained_sample__isnull=True)
    user = request.user
    label_reconciliation, label_rows = selectors.batch_label_reconciliation_rows(batch)
    context = {
        "batch": batch,
        "label_reconciliation": label_reconciliation,
        "label_rows": label_rows,
        "evaluation": evaluation,
        "rows": rows,
        "review": selectors.latest_review(batch),
        "retained": selectors.retained_sample(batch),
        "release": selectors.latest_release(batch),
        "result_form": forms.ResultForm(items=_items(batch), samples=batch.qc_samples.all()),
        "sample_form": forms.SampleForm(),
        "samples": batch.qc_samples.all(),
        "amend_form": forms.AmendForm(),
        "import_form": forms.ImportForm(items=_items(batch)),
        "retained_form": forms.RetainedForm(units=retained_units),
        "review_form": forms.ReviewForm(),
        "release_form": forms.ReleaseForm(initial={"outcome": evaluation.outcome.value}),
        "reject_form": forms.RejectForm(),
        "recalls": batch.recalls.all(),
        "packages": batch.packages.all(),
        "can_enter": has_permission(user, "qc.enter_results"),
        "can_release": has_permission(user, "qc.release"),
        "can_retain": has_permission(user, "qc.register_retained"),
        "releasable_status": batch.status
        in (Batch.Status.AWAITING_RELEASE, Batch.Status.CONDITIONALLY_RELEASED),
    }
    return render(request, "qc/batch.html", context)


@requires("qc.enter_results")
@require_POST
def result_enter(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)

    def record(data: Mapping[str, Any]) -> QcResult:
        return services.result_record(
            actor=request.user,
            batch=batch,
            status=QcResult.Status.ORDERED if data["ordered"] else QcResult.Status.FINAL,
            **{k: data[k] for k in _RESULT_FIELDS},
        )

    form = forms.ResultForm(request.POST, items=_items(batch), samples=batch.qc_samples.all())
    submit(request, form, record, _report(request), invalid=_("The result form is incomplete."))
    return redirect("qc:batch", batch_id=batch.pk)


_RESULT_FIELDS = ("item_code", "value", "outcome", "method", "sample", "issuing_lab", "third_party", "reason")


def _report(request: HttpRequest) -> Callable[[QcResult], str | None]:
    """A recorded result's message: OOS opens an investigation (a warning), otherwise its verdict."""

    def message(row: QcResult) -> str | None:
        if row.investigation_id:
            messages.warning(
                request,
                _("Out of specification: OOS investigation %(number)s opened.")
                % {"number": row.investigation.number},
            )
            return None
        return _("Result recorded: %(verdict)s.") % {"verdict": row.get_verdict_display()}

    return message


@requires("qc.enter_results")
@require_POST
def sample_take(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    submit(
        request,
        forms.SampleForm(request.POST),
        lambda data: services.sample_take(actor=request.user, batch=batch, **data),
        lambda sample: _("Sample %(id)s registered.") % {"id": sample.identifier},
    )
    return redirect("qc:batch", batch_id=batch.pk)


@requires("qc.enter_results")
@require_POST
def result_amend(request: HttpRequest, result_id: int) -> HttpResponse:
    """Correct a value with a reason; the certificate marks it as changed after first entry (item 6)."""
    query = QcResult.objects.filter(batch__site__organisation_id=request.user.organisation_id)
    row = get_object_or_404(query.select_related("batch__product_version__product"), pk=result_id)
    submit(
        request,
        forms.AmendForm(request.POST),
        lambda data: services.result_amend(
            actor=request.user,
            result=row,
            reason=data["reason"],
            value=data["value"],
            outcome=data["outcome"] or None,
        ),
        _("Result corrected; the change is marked on the certificate."),
        invalid=_("Give the corrected value and the reason."),
    )
    return redirect("qc:batch", batch_id=row.batch_id)


@requires("qc.enter_results")
@require_POST
def result_import(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)

    def read(data: Mapping[str, Any]) -> QcResult:
        return imports.result_import(
            actor=request.user,
            batch=batch,
            item_code=data["item_code"],
            content=data["file"].read(),
            name=data["file"].name,
            sample_name=data["sample_name"],
            control=data["control"].read() if data["control"] else None,
            reason=data["reason"],
        )

    form = forms.ImportForm(request.POST, request.FILES, items=_items(batch))
    submit(request, form, read, _report(request), invalid=_("Choose the test and the file."))
    return redirect("qc:batch", batch_id=batch.pk)


@requires("qc.register_retained")
@require_POST
def retained(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    submit(
        request,
        forms.RetainedForm(request.POST, units=batch.units.filter(purpose=ProductUnit.Purpose.RETAINED)),
        lambda data: services.retained_sample_register(actor=request.user, **data),
        _("Retained sample registered."),
        invalid=_("Give the unit and its full storage position."),
    )
    return redirect("qc:batch", batch_id=batch.pk)


@requires("qc.review")
@require_POST
def review(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    submit(
        request,
        forms.ReviewForm(request.POST),
        lambda data: services.audit_trail_review_record(
            actor=request.user, batch=batch, signer=_signer(request, data), note=data["note"]
        ),
        _("Audit-trail review signed."),
        invalid=_("Your password is needed to sign."),
    )
    return redirect("qc:batch", batch_id=batch.pk)


@requires("qc.release")
@require_POST
def release(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    submit(
        request,
        forms.ReleaseForm(request.POST),
        lambda data: services.batch_release(
            actor=request.user, batch=batch, signer=_signer(request, data), outcome=data["outcome"]
        ),
        lambda decision: (
            _("Batch %(number)s: %(outcome)s, signed.")
            % {"number": batch.number, "outcome": decision.get_outcome_display()}
        ),
        invalid=_("Your password is needed to sign."),
    )
    return redirect("qc:batch", batch_id=batch.pk)


@requires("qc.release")
@require_POST
def reject(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    submit(
        request,
        forms.RejectForm(request.POST),
        lambda data: services.batch_reject(
            actor=request.user, batch=batch, signer=_signer(request, data), reason=data["reason"]
        ),
        _("Batch rejected."),
        invalid=_("Give the reason and your password."),
    )
    return redirect("qc:batch", batch_id=batch.pk)


def _zone(request: HttpRequest) -> str:
    site = getattr(request.user, "site", None)
    return site.time_zone if site is not None else "Asia/Shanghai"


@requires("qc.documents")
def certificate_pdf(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    definition = product_definition(batch.product_version)
    pdf = documents.coa_pdf(
        selectors.certificate_for(batch, definition), definition.item_labels, _zone(request)
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="CoA-{batch.number}.pdf"'
    return response


@requires("qc.documents")
def label(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    data = selectors.label_for(batch)
    gate = label_print_check(data)
    if request.GET.get("format") == "pdf":
        if not gate.allowed:
            messages.error(request, _("The label cannot be printed while a field is empty."))
            return redirect("qc:label", batch_id=batch.pk)
        zone = _zone(request)
        units = run_service(request, lambda: selectors.label_payloads(batch, data, zone), None)
        if units is None:
            return redirect("qc:label", batch_id=batch.pk)
        response = HttpResponse(documents.label_pdf(data, zone, units), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="label-{batch.number}.pdf"'
        return response
    return render(
        request,
        "qc/label.html",
        {"batch": batch, "lines": documents.label_lines(data, _zone(request)), "gate": gate},
    )


@requires("qc.documents")
def package(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    if request.method == "POST":
        if not has_permission(request.user, "qc.release"):
            messages.error(request, _("Only QA issues the package."))
        else:
            run_service(
                request,
                lambda: services.package_issue(actor=request.user, batch=batch),
                lambda issue: _("Package version %(v)s issued to the clinic.") % {"v": issue.version},
            )
        return redirect("qc:package", batch_id=batch.pk)
    draft = selectors.package_for(batch, batch.packages.count() + 1)
    context = {
        "batch": batch,
        "missing": missing_fields(draft),
        "warnings": key_process_warnings(draft),
        "content": services.jsonable(draft),
        "issues": batch.packages.all(),
        "can_issue": has_permission(request.user, "qc.release"),
    }
    return render(request, "qc/package.html", context)


@requires("qc.view_package")
def package_issued(request: HttpRequest, issue_id: int) -> HttpResponse:
    """An issued package as the clinic reads it (its own organisation's packages only)."""
    visible = PackageIssue.objects.filter(
        recipient_id=request.user.organisation_id
    ) | PackageIssue.objects.filter(batch__site__organisation_id=request.user.organisation_id)
    issue = get_object_or_404(visible.select_related("batch", "recipient", "issued_by"), pk=issue_id)
    return render(request, "qc/package_issued.html", {"issue": issue, "content": issue.content})
