"""Controlled-document pages (issue 13 item 1): the register with the overdue reviews and the user's training,
one document's versions, and one version with its sign-offs (author, reviewer, approver), periodic review,
retirement and the read-and-understood training (T-6.1, T-6.4, T-6.5-a..f, T-5.3.5.2)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cellchain.accounts.models import Site
from cellchain.core import clock
from cellchain.core.pages import form_page, redirect_to
from cellchain.core.permissions import has_permission, requires
from cellchain.documents import forms as f
from cellchain.documents import selectors, services
from cellchain.documents.models import SHOWN_LABELS, ControlledDocument, DocumentVersion
from cellchain.documents.worklist import TRAINING_NOTICE
from cellchain.domain import documents as rules
from cellchain.signatures.services import SignerCredentials


def _today(request: HttpRequest) -> Any:
    site = getattr(request.user, "site", None)
    return clock.today(getattr(site, "time_zone", None) or "UTC")


@requires("documents.view")
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The register: each document's version in force and review date; `overdue=1` lists overdue reviews only
    (T-6.4); the user's own training due (T-6.1)."""
    today = _today(request)
    overdue = request.GET.get("overdue") == "1"
    context = {
        "rows": selectors.register(request.user, today, overdue_only=overdue),
        "overdue": overdue,
        "training": selectors.training_due(request.user, today, today + TRAINING_NOTICE)
        if has_permission(request.user, "documents.acknowledge")
        else [],
        "today": today,
        "can_manage": has_permission(request.user, "documents.manage"),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "documents/index.html#register", context)
    return render(request, "documents/index.html", context)


def _sites(request: HttpRequest) -> Any:
    return Site.objects.filter(organisation_id=request.user.organisation_id)  # type: ignore[union-attr]


@requires("documents.manage")
@require_http_methods(["GET", "POST"])
def document_new(request: HttpRequest) -> HttpResponse:
    form = f.DocumentForm(request.POST or None, sites=_sites(request))
    return form_page(
        request,
        form,
        lambda data: services.document_register(
            actor=request.user,
            code=data["code"],
            title=data["title"],
            kind=data["kind"],
            site=data["site"],
            step=data["step"] or "",
            drug_management=data["drug_management"],
        ),
        _("The document was registered."),
        done=lambda document: redirect("documents:document", document_id=document.pk),
        template="documents/document_new.html",
    )


def _document(request: HttpRequest, document_id: int) -> ControlledDocument:
    try:
        return selectors.document_get(request.user, document_id)
    except ControlledDocument.DoesNotExist:
        raise Http404(document_id) from None


def _document_context(request: HttpRequest, document: ControlledDocument, form: Any = None) -> dict[str, Any]:
    return {
        "document": document,
        "versions": [
            (v, shown, SHOWN_LABELS[shown])
            for v, shown in selectors.versions_shown(document, _today(request))
        ],
        "can_author": has_permission(request.user, "documents.author"),
        "version_form": form or f.VersionForm(),
    }


@requires("documents.view")
@require_GET
def document(request: HttpRequest, document_id: int) -> HttpResponse:
    found = _document(request, document_id)
    return render(request, "documents/document.html", _document_context(request, found))


@requires("documents.author")
@require_POST
def version_new(request: HttpRequest, document_id: int) -> HttpResponse:
    found = _document(request, document_id)
    form = f.VersionForm(request.POST, request.FILES)

    def call(data: Mapping[str, Any]) -> DocumentVersion:
        upload = data.get("file")
        return services.version_draft(
            actor=request.user,
            document=found,
            label=data["label"],
            effective_from=data["effective_from"],
            review_interval_months=data["review_interval_months"],
            text=data["text"],
            file_name=upload.name if upload else "",
            file_bytes=upload.read() if upload else None,
            change_summary=data["change_summary"],
        )

    return form_page(
        request,
        form,
        call,
        _("The draft version was saved."),
        done=lambda version: redirect("documents:version", version_id=version.pk),
        template="documents/document.html",
        context=_document_context(request, found, form),
    )


def _version(request: HttpRequest, version_id: int) -> DocumentVersion:
    try:
        return selectors.version_get(request.user, version_id)
    except DocumentVersion.DoesNotExist:
        raise Http404(version_id) from None


def _version_context(request: HttpRequest, version: DocumentVersion, **bound: Any) -> dict[str, Any]:
    user, today = request.user, _today(request)
    shown = selectors.shown_status(version, today)
    editable = shown in (rules.Shown.DRAFT, rules.Shown.IN_REVIEW)
    return {
        "version": version,
        "document": version.document,
        "shown": shown,
        "shown_label": SHOWN_LABELS[shown],
        "review_due": rules.review_due(selectors.to_facts(version))
        if shown is rules.Shown.EFFECTIVE
        else None,
        "signoffs": selectors.signoff_rows(version),
        "trainings": selectors.trainings_of(version),
        "trained": selectors.has_trained(user, version),
        "uses": version.uses.filter(voided_at__isnull=True).count(),
        "can_submit": shown is rules.Shown.DRAFT and user.pk == version.author_id,
        "can_review": shown is rules.Shown.IN_REVIEW
        and version.reviewer_id is None
        and has_permission(user, "documents.author"),
        "can_approve": shown is rules.Shown.IN_REVIEW and has_permission(user, "documents.approve"),
        "can_acknowledge": shown in (rules.Shown.EFFECTIVE, rules.Shown.APPROVED)
        and has_permission(user, "documents.acknowledge"),
        "can_periodic": shown is rules.Shown.EFFECTIVE and has_permission(user, "documents.manage"),
        "can_retire": shown is not rules.Shown.RETIRED and has_permission(user, "documents.manage"),
        "editable": editable,
        "sign_form": bound.get("sign") or f.NoteSignForm(),
        "ack_form": bound.get("acknowledge") or f.SignForm(),
        "periodic_form": bound.get("periodic") or f.PeriodicReviewForm(),
        "retire_form": bound.get("retire") or f.RetireForm(),
    }


@requires("documents.view")
@require_GET
def version(request: HttpRequest, version_id: int) -> HttpResponse:
    found = _version(request, version_id)
    return render(request, "documents/version.html", _version_context(request, found))


def _signer(request: HttpRequest, data: Mapping[str, Any]) -> SignerCredentials:
    return SignerCredentials(request.user, data["password"], data.get("totp_code") or None)


def _post(
    request: HttpRequest,
    version_id: int,
    name: str,
    form: Any,
    call: Callable[[DocumentVersion, Mapping[str, Any]], Any],
    success: str,
) -> HttpResponse:
    found = _version(request, version_id)
    return form_page(
        request,
        form,
        lambda data: call(found, data),
        success,
        done=redirect_to("documents:version", version_id=found.pk),
        template="documents/version.html",
        context=_version_context(request, found, **{name: form}),
    )


def _sign_step(request: HttpRequest, version_id: int, step: str, success: str) -> HttpResponse:
    return _post(
        request,
        version_id,
        "sign",
        f.NoteSignForm(request.POST),
        lambda found, data: services.version_sign(
            actor=request.user, version=found, step=step, signer=_signer(request, data), note=data["note"]
        ),
        success,
    )


@requires("documents.author")
@require_POST
def version_submit(request: HttpRequest, version_id: int) -> HttpResponse:
    """The author signs the version and sends it for review (T-6.1)."""
    return _sign_step(request, version_id, "submit", _("Signed as author: the version is in review."))


@requires("documents.author")
@require_POST
def version_review(request: HttpRequest, version_id: int) -> HttpResponse:
    """A second person signs the review (T-6.1; a pharmacist for drug management, T-5.3.5.2)."""
    return _sign_step(request, version_id, "review", _("Signed as reviewer."))


@requires("documents.approve")
@require_POST
def version_approve(request: HttpRequest, version_id: int) -> HttpResponse:
    """A third person approves with a signature; the version takes effect on its date (T-6.1)."""
    return _sign_step(request, version_id, "approve", _("Signed as approver: the version is approved."))


@requires("documents.manage")
@require_POST
def periodic_review(request: HttpRequest, version_id: int) -> HttpResponse:
    """The periodic review of the version in force, signed (T-6.4)."""
    return _post(
        request,
        version_id,
        "periodic",
        f.PeriodicReviewForm(request.POST),
        lambda found, data: services.version_periodic_review(
            actor=request.user, version=found, signer=_signer(request, data), note=data["note"]
        ),
        _("The periodic review was signed."),
    )


@requires("documents.manage")
@require_POST
def retire(request: HttpRequest, version_id: int) -> HttpResponse:
    return _post(
        request,
        version_id,
        "retire",
        f.RetireForm(request.POST),
        lambda found, data: services.version_retire(actor=request.user, version=found, reason=data["reason"]),
        _("The version was retired."),
    )


@requires("documents.acknowledge")
@require_POST
def acknowledge(request: HttpRequest, version_id: int) -> HttpResponse:
    """The signed-in person signs read-and-understood training on the version (T-6.1)."""
    return _post(
        request,
        version_id,
        "acknowledge",
        f.SignForm(request.POST),
        lambda found, data: services.training_acknowledge(
            actor=request.user, version=found, signer=_signer(request, data)
        ),
        _("Your read-and-understood training was signed."),
    )
