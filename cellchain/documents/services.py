"""Controlled documents: each command one transaction, ledgered (issue 13 item 1).

document_register -> version_draft -> version_submit (author signs) -> version_review (reviewer signs) ->
version_approve (approver signs); version_periodic_review (T-6.4), version_retire; training_acknowledge (the
person signs read-and-understood). The gate `training_gate` and the hook `sop_version_link` are what the steps
call (apheresis, thaw, infusion, AE handling): when a document governing the step is in force at the site the
performer must have trained on it, and the record is linked to that version (T-6.1, T-6.5-a..f).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cellchain.accounts.models import Site
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.core.permissions import has_permission
from cellchain.documents import selectors
from cellchain.documents.models import (
    ControlledDocument,
    DocumentVersion,
    SopUse,
    Step,
    TrainingRecord,
    VersionSignoff,
)
from cellchain.domain import documents as rules
from cellchain.domain.findings import Gate
from cellchain.ledger.models import RegulatedModel
from cellchain.ledger.records import record_amend, record_create
from cellchain.signatures import services as signing
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials


def _refuse(gate: Gate, error: type[Exception] = Conflict) -> None:
    """Raise the gate's findings as one message naming each rule and clause; nothing is written."""
    if not gate.allowed:
        raise error(" ".join(f.message for f in gate.findings))  # type: ignore[call-arg]


def _require(actor: Any, permission: str, message: str) -> None:
    if not has_permission(actor, permission):
        raise NotAllowed(message)


def _own(actor: Any, document: ControlledDocument) -> None:
    if document.organisation_id != actor.organisation_id:
        raise NotAllowed(_("This document belongs to another organisation (T-6.1)."))


def _today(actor: Any, document: ControlledDocument) -> dt.date:
    site = document.site or getattr(actor, "site", None)
    return clock.today(getattr(site, "time_zone", None) or "UTC")


def content_sha256(text: str, file_bytes: bytes | None) -> str:
    """The SHA-256 of the file when one is given, else of the UTF-8 text."""
    return hashlib.sha256(file_bytes if file_bytes is not None else text.encode()).hexdigest()


# --------------------------------------------------------------------------- register and versions


@transaction.atomic
def document_register(
    *,
    actor: Any,
    code: str,
    title: str,
    kind: str,
    site: Site | None = None,
    step: str = "",
    drug_management: bool = False,
) -> ControlledDocument:
    """Register a controlled document of the actor's organisation, for one site or all (T-6.1, T-6.4)."""
    _require(actor, "documents.manage", _("Your role does not keep the document register (T-6.1)."))
    if site is not None and site.organisation_id != actor.organisation_id:
        raise ValidationFailed(_("The site belongs to another organisation."), field="site")
    if kind not in ControlledDocument.Kind.values:
        raise ValidationFailed(_("Choose SOP, policy or form (T-6.1)."), field="kind")
    if step not in Step.values:
        raise ValidationFailed(_("Unknown step %(step)s (T-6.5).") % {"step": step}, field="step")
    code, title = code.strip(), title.strip()
    if not code or not title:
        raise ValidationFailed(_("A document needs a code and a title (T-6.1)."), field="code")
    if ControlledDocument.objects.filter(organisation=actor.organisation, code=code).exists():
        raise Conflict(
            _("Document code %(code)s is already registered (T-6.1).") % {"code": code}, field="code"
        )
    if step and selectors.governing_document_exists(actor.organisation, site, step):
        raise Conflict(
            _(
                "Another document already governs %(step)s here: one SOP governs a step per site, so the "
                "version in force has one answer (T-6.1)."
            )
            % {"step": Step(step).label},
            field="step",
        )
    return record_create(
        actor=actor,
        record=ControlledDocument(
            code=code,
            title=title,
            kind=kind,
            organisation=actor.organisation,
            site=site,
            step=step,
            drug_management=drug_management,
            created_at=clock.now(),
            created_by=actor,
        ),
        event=f"document:register:{kind}",
    )


@transaction.atomic
def version_draft(
    *,
    actor: Any,
    document: ControlledDocument,
    label: str,
    effective_from: dt.date,
    review_interval_months: int,
    text: str = "",
    file_name: str = "",
    file_bytes: bytes | None = None,
    change_summary: str = "",
) -> DocumentVersion:
    """Draft a new version, the actor its author: its text or the SHA-256 of its file, the effective date and
    the review interval (T-6.1, T-6.4)."""
    _require(actor, "documents.author", _("Your role does not author controlled documents (T-6.1)."))
    _own(actor, document)
    label = label.strip()
    if not label:
        raise ValidationFailed(_("Give the version number (T-6.1)."), field="label")
    if not text.strip() and file_bytes is None:
        raise ValidationFailed(_("Give the text of the version or upload its file (T-6.1)."), field="text")
    if not 1 <= review_interval_months <= 60:
        raise ValidationFailed(
            _("The review interval is 1 to 60 months (T-6.4)."), field="review_interval_months"
        )
    if document.versions.filter(label=label).exists():
        raise Conflict(
            _("%(code)s already has a version %(label)s (T-6.1).") % {"code": document.code, "label": label},
            field="label",
        )
    return record_create(
        actor=actor,
        record=DocumentVersion(
            document=document,
            label=label,
            text=text.strip(),
            file_name=file_name if file_bytes is not None else "",
            content_sha256=content_sha256(text.strip(), file_bytes),
            change_summary=change_summary.strip(),
            effective_from=effective_from,
            review_interval_months=review_interval_months,
            author=actor,
            created_at=clock.now(),
        ),
        event="document:draft",
    )


SIGN_STEPS = {
    # step: (permission, sign-off role, meaning, next status, version field naming the signer)
    "submit": (
        "documents.author",
        VersionSignoff.Role.AUTHOR,
        Meaning.AUTHORED,
        DocumentVersion.Status.IN_REVIEW,
        "",
    ),
    "review": (
        "documents.author",
        VersionSignoff.Role.REVIEWER,
        Meaning.REVIEWED,
        DocumentVersion.Status.IN_REVIEW,
        "reviewer",
    ),
    "approve": (
        "documents.approve",
        VersionSignoff.Role.APPROVER,
        Meaning.APPROVED,
        DocumentVersion.Status.APPROVED,
        "approver",
    ),
}


def version_sign(
    *, actor: Any, version: DocumentVersion, step: str, signer: SignerCredentials, note: str = ""
) -> DocumentVersion:
    """The author submits (signs "authored"), a second person reviews, a third approves; each re-enters the
    password (X-4). Author, reviewer and approver are three people (T-6.1); a drug-management SOP has a
    pharmacist as author or reviewer (T-5.3.5.2); an approved version takes effect today or later, after every
    other approved version (one version in force per date, T-6.1).

    Checks run before the password is asked and again inside the signature's transaction, so a refusal writes
    nothing.
    """
    if step not in SIGN_STEPS:
        raise ValidationFailed(_("Unknown signing step %(step)s.") % {"step": step}, field="step")
    permission, role, meaning, status, field = SIGN_STEPS[step]
    _require(actor, permission, _("Your role may not sign this step of a controlled document (T-6.1)."))
    if signer.user.pk != actor.pk:
        raise ValidationFailed(_("The person signing is the one signed in."), field="password")
    _own(actor, version.document)
    _check_sign(actor, DocumentVersion.objects.select_related("document").get(pk=version.pk), step)

    def write() -> VersionSignoff:
        current = DocumentVersion.objects.select_for_update().select_related("document").get(pk=version.pk)
        _check_sign(actor, current, step)
        if step == "submit" and actor.pk != current.author_id:
            raise NotAllowed(_("Only the author submits the version for review (T-6.1)."))
        current.status = status
        if field:
            setattr(current, field, actor)
        record_amend(
            actor=actor,
            record=current,
            event=f"document:{step}",
            reason=f"{step} signed",
            fields=["status", *([field] if field else [])],
        )
        return _signoff(actor, current, role, note)

    signing.record_sign(record=write, signer=signer, meaning=meaning)
    return DocumentVersion.objects.get(pk=version.pk)


def _check_sign(actor: Any, version: DocumentVersion, step: str) -> None:
    facts = selectors.signoffs_of(version)
    _refuse(
        rules.sign_gate(step, actor.pk, facts, rules.Stored(version.status), version.document.drug_management)
    )
    if step == "approve":
        others = [v for v in selectors.version_facts(version.document) if v.stored is rules.Stored.APPROVED]
        _refuse(rules.effective_date_gate(version.effective_from, _today(actor, version.document), others))


def _signoff(actor: Any, version: DocumentVersion, role: str, note: str = "") -> VersionSignoff:
    return record_create(
        actor=actor,
        record=VersionSignoff(
            version=version,
            role=role,
            person=actor,
            content_sha256=version.content_sha256,
            note=note.strip(),
            signed_on=_today(actor, version.document),
        ),
        event=f"document:signoff:{role}",
    )


def version_periodic_review(
    *, actor: Any, version: DocumentVersion, signer: SignerCredentials, note: str
) -> DocumentVersion:
    """Quality assurance (or the coordinator) confirms the version in force is still right, with a signature;
    its next review falls one interval later (T-6.4 "reviewed periodically")."""
    _require(actor, "documents.manage", _("Your role does not review documents periodically (T-6.4)."))
    if signer.user.pk != actor.pk:
        raise ValidationFailed(_("The person signing is the one signed in."), field="password")
    _own(actor, version.document)
    if not note.strip():
        raise ValidationFailed(_("Say what the review found (T-6.4)."), field="note")

    def write() -> VersionSignoff:
        current = DocumentVersion.objects.select_for_update().select_related("document").get(pk=version.pk)
        today = _today(actor, current.document)
        in_force = rules.in_force_on(selectors.version_facts(current.document), today)
        if in_force is None or in_force.pk != current.pk:
            raise Conflict(_("Only the version in force is reviewed periodically (T-6.4)."))
        current.last_reviewed_on = today
        record_amend(
            actor=actor,
            record=current,
            event="document:periodic_review",
            reason=note.strip(),
            fields=["last_reviewed_on"],
        )
        return _signoff(actor, current, VersionSignoff.Role.PERIODIC, note)

    signing.record_sign(record=write, signer=signer, meaning=Meaning.REVIEWED)
    return DocumentVersion.objects.get(pk=version.pk)


@transaction.atomic
def version_retire(*, actor: Any, version: DocumentVersion, reason: str) -> DocumentVersion:
    """Withdraw a version (a draft abandoned, or a procedure no longer used): it is never in force again and
    cannot be trained on (T-6.1). When it was in force, the step it governed is no longer governed."""
    _require(actor, "documents.manage", _("Your role does not retire controlled documents (T-6.1)."))
    _own(actor, version.document)
    if not reason.strip():
        raise ValidationFailed(_("Give the reason for retiring the version (X-3)."), field="reason")
    current = DocumentVersion.objects.select_for_update().get(pk=version.pk)
    if current.status == DocumentVersion.Status.RETIRED:
        raise Conflict(_("%(version)s is already retired.") % {"version": current})
    current.status = DocumentVersion.Status.RETIRED
    return record_amend(
        actor=actor, record=current, event="document:retire", reason=reason.strip(), fields=["status"]
    )


# --------------------------------------------------------------------------- training and the gate


def training_acknowledge(
    *, actor: Any, version: DocumentVersion, signer: SignerCredentials
) -> TrainingRecord:
    """The person signs that they read and understood an approved version, in force or about to be; a
    superseded, retired or unapproved version cannot be trained on (T-6.1)."""
    _require(actor, "documents.acknowledge", _("Your role does not sign document training (T-6.1)."))
    if signer.user.pk != actor.pk:
        raise ValidationFailed(_("Each person signs their own training."), field="password")
    _own(actor, version.document)
    _check_trainable(actor, DocumentVersion.objects.select_related("document").get(pk=version.pk))

    def write() -> TrainingRecord:
        current = DocumentVersion.objects.select_for_update().select_related("document").get(pk=version.pk)
        _check_trainable(actor, current)
        return record_create(
            actor=actor,
            record=TrainingRecord(
                version=current,
                person=actor,
                content_sha256=current.content_sha256,
                acknowledged_at=clock.now(),
            ),
            event="document:acknowledge",
        )

    signing.record_sign(record=write, signer=signer, meaning=Meaning.ACKNOWLEDGED)
    return TrainingRecord.objects.get(version=version, person=actor, voided_at__isnull=True)


def _check_trainable(actor: Any, version: DocumentVersion) -> None:
    shown = selectors.shown_status(version, _today(actor, version.document))
    if shown not in (rules.Shown.EFFECTIVE, rules.Shown.APPROVED):
        raise Conflict(
            _(
                "%(version)s is %(status)s: only an approved version in force or about to be is trained on (T-6.1)."
            )
            % {"version": version, "status": shown.value}
        )
    if TrainingRecord.objects.filter(version=version, person=actor, voided_at__isnull=True).exists():
        raise Conflict(_("You already signed the training on %(version)s.") % {"version": version})


def sop_in_force_for(step: str, site: Site, on: dt.date) -> DocumentVersion | None:
    """The version in force on `on` of the document governing `step` at `site`: the site's own document, else
    the organisation's (T-6.1, T-6.5-a..f). None when no document governs the step there."""
    return selectors.sop_in_force_for(step, site, on)


def training_gate(user: Any, step: str, site: Site, on: dt.date) -> DocumentVersion | None:
    """The version in force for `step` at `site` on `on`, refused (NotAllowed naming document, version and
    clause) when `user` has not signed its read-and-understood training; None when nothing governs the step."""
    version = sop_in_force_for(step, site, on)
    if version is None:
        return None
    trained = TrainingRecord.objects.filter(version=version, person=user, voided_at__isnull=True).exists()
    gate = rules.training_gate(version.label, version.document.code, step, trained)
    _refuse(gate, NotAllowed)
    return version


def sop_version_link(
    *, actor: Any, step: str, site: Site, record: RegulatedModel, at: dt.datetime | None = None
) -> DocumentVersion | None:
    """Call in a step's transaction, after its record is written: refuse an untrained performer (the whole
    transaction rolls back) and link the record to the SOP version in force at `at` (T-6.1, T-6.5-b/d/e/f).
    When no document governs the step at the site, nothing happens and None is returned."""
    moment = at or clock.now()
    on = moment.astimezone(_zone(site)).date()
    version = training_gate(actor, step, site, on)
    if version is None:
        return None
    record_create(
        actor=actor,
        record=SopUse(
            version=version,
            step=step,
            record_type=record.ledger_record_type(),
            record_id=str(record.pk),
            performed_by=actor,
            performed_at=moment,
        ),
        event=f"{record.ledger_record_type()}:sop",
        extra={"sop": f"{version.document.code} v{version.label}", "content_sha256": version.content_sha256},
    )
    return version


def _zone(site: Site) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(site.time_zone or "UTC")
