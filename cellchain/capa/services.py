"""CAPA of a deviation and change control: each command one transaction, ledgered (issue 13 item 4).

Deviation: investigation_record -> capa_action_add / capa_action_complete -> effectiveness_check_record ->
deviation_close (QA, e-signature). Change request: change_raise -> change_assess -> change_approve (QA,
e-signature) -> change_implement -> change_verify -> change_close; change_reject before approval.
Clauses: T-6.4-f, T-9.3.2, T-10.15, REGULATORY item 61 (11.10(k), Annex 11 §10), X-4 (signatures), P-1-a.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cellchain.accounts.models import Site
from cellchain.capa import selectors
from cellchain.capa.models import (
    CapaAction,
    ChangeAffectedVersion,
    ChangeRequest,
    EffectivenessCheck,
    Investigation,
)
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.core.permissions import has_permission
from cellchain.domain import capa as rules
from cellchain.domain.findings import Gate
from cellchain.ledger.records import record_amend, record_create
from cellchain.manufacturing.models import ProductVersion
from cellchain.quality.models import Deviation
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


def _own_deviation(actor: Any, deviation: Deviation) -> Deviation:
    """Lock the deviation of the actor's organisation; another organisation's is refused."""
    if deviation.site.organisation_id != actor.organisation_id:
        raise NotAllowed(_("This deviation belongs to another organisation."))
    return Deviation.objects.select_for_update().select_related("site").get(pk=deviation.pk)


def _not_closed(deviation: Deviation) -> None:
    if deviation.status == Deviation.Status.CLOSED:
        raise Conflict(
            _("%(number)s is closed: nothing more can be recorded on it (T-6.4-f).")
            % {"number": deviation.number}
        )


def _colleague(actor: Any, user: Any, field: str, what: str) -> None:
    if user is None or user.organisation_id != actor.organisation_id or not user.is_active:
        raise ValidationFailed(
            _("The %(what)s must be an active user of your organisation.") % {"what": what}, field=field
        )


def _text(value: str, field: str, label: str, clause: str) -> str:
    if not (value or "").strip():
        raise ValidationFailed(
            _("%(label)s is required (%(clause)s).") % {"label": label, "clause": clause}, field=field
        )
    return value.strip()


# --------------------------------------------------------------------------- deviation CAPA


def _step_amend(
    actor: Any, current: Any, *, status: str, stamp: str, event: str, reason: str, noted: tuple[str, ...] = ()
) -> Any:
    """Move a record to `status`, stamped `<stamp>_at` now and `<stamp>_by` the actor, and ledger the step with
    the columns it wrote (the note columns `noted` set by the caller, then status and stamp)."""
    current.status = status
    setattr(current, f"{stamp}_at", clock.now())
    setattr(current, f"{stamp}_by", actor)
    return record_amend(
        actor=actor,
        record=current,
        event=event,
        reason=reason,
        fields=[*noted, "status", f"{stamp}_at", f"{stamp}_by"],
    )


@transaction.atomic
def investigation_record(
    *,
    actor: Any,
    deviation: Deviation,
    investigator: Any,
    category: str,
    root_cause: str,
    impact_assessment: str,
    reason: str = "",
) -> Investigation:
    """Record (or revise, with a reason) the investigation: root cause, category, impact, investigator (T-6.4-f)."""
    _require(actor, "capa.manage", _("Only quality assurance records the investigation of a deviation."))
    deviation = _own_deviation(actor, deviation)
    _not_closed(deviation)
    _colleague(actor, investigator, "investigator", _("investigator"))
    if category not in Investigation.Category.values:
        raise ValidationFailed(_("Choose the root-cause category (T-6.4-f)."), field="category")
    root_cause = _text(root_cause, "root_cause", _("The root cause"), "T-6.4-f")
    impact_assessment = _text(impact_assessment, "impact_assessment", _("The impact assessment"), "T-6.4-f")
    existing = Investigation.objects.select_for_update().filter(deviation=deviation).first()
    if existing is None:
        return record_create(
            actor=actor,
            record=Investigation(
                deviation=deviation,
                investigator=investigator,
                category=category,
                root_cause=root_cause,
                impact_assessment=impact_assessment,
                recorded_at=clock.now(),
                recorded_by=actor,
            ),
            event="deviation:investigate",
        )
    if not reason.strip():
        raise ValidationFailed(_("Give the reason for revising the investigation (X-3)."), field="reason")
    existing.investigator, existing.category = investigator, category
    existing.root_cause, existing.impact_assessment = root_cause, impact_assessment
    existing.recorded_at, existing.recorded_by = clock.now(), actor
    return record_amend(actor=actor, record=existing, event="deviation:investigate", reason=reason)


@transaction.atomic
def capa_action_add(
    *,
    actor: Any,
    deviation: Deviation,
    kind: str,
    description: str,
    owner: Any,
    due_on: dt.date,
    change_request: ChangeRequest | None = None,
) -> CapaAction:
    """Add a corrective or preventive action with its owner and due date (T-9.3.2, T-10.15)."""
    _require(actor, "capa.manage", _("Only quality assurance plans the CAPA of a deviation."))
    deviation = _own_deviation(actor, deviation)
    _not_closed(deviation)
    if kind not in CapaAction.Kind.values:
        raise ValidationFailed(_("Choose corrective or preventive (T-9.3.2)."), field="kind")
    description = _text(description, "description", _("The action"), "T-9.3.2")
    _colleague(actor, owner, "owner", _("owner"))
    if due_on < clock.today(deviation.site.time_zone):
        raise ValidationFailed(_("The due date cannot be in the past."), field="due_on")
    if change_request is not None and change_request.organisation_id != actor.organisation_id:
        raise ValidationFailed(
            _("The change request belongs to another organisation."), field="change_request"
        )
    number = CapaAction.objects.filter(deviation=deviation).count() + 1
    checks = EffectivenessCheck.objects.filter(deviation=deviation, voided_at__isnull=True).count()
    return record_create(
        actor=actor,
        record=CapaAction(
            deviation=deviation,
            number=number,
            kind=kind,
            description=description,
            owner=owner,
            due_on=due_on,
            round=checks,
            change_request=change_request,
            created_at=clock.now(),
            created_by=actor,
        ),
        event=f"capa:add:{kind}",
    )


@transaction.atomic
def capa_action_complete(*, actor: Any, action: CapaAction, note: str) -> CapaAction:
    """The owner (or QA) reports an action done with its evidence (T-9.3.2)."""
    _require(actor, "capa.complete_action", _("Your role does not complete CAPA actions."))
    action = CapaAction.objects.select_for_update().select_related("deviation__site").get(pk=action.pk)
    _own_deviation(actor, action.deviation)
    _not_closed(action.deviation)
    if actor.pk != action.owner_id and not has_permission(actor, "capa.manage"):
        raise NotAllowed(_("Only the action's owner or quality assurance reports it done."))
    if action.status == CapaAction.Status.DONE:
        raise Conflict(_("%(label)s is already done.") % {"label": action.label})
    action.completion_note = _text(note, "note", _("The completion evidence"), "T-9.3.2")
    action.status, action.completed_at, action.completed_by = CapaAction.Status.DONE, clock.now(), actor
    return record_amend(
        actor=actor,
        record=action,
        event="capa:complete",
        reason="action done",
        fields=["status", "completed_at", "completed_by", "completion_note"],
    )


@transaction.atomic
def effectiveness_check_record(
    *, actor: Any, deviation: Deviation, result: str, evidence: str
) -> EffectivenessCheck:
    """QA checks whether the CAPA worked; a not-effective result needs new actions and a new check (T-9.3.2)."""
    _require(actor, "capa.manage", _("Only quality assurance checks the effectiveness of a CAPA."))
    deviation = _own_deviation(actor, deviation)
    if result not in EffectivenessCheck.Result.values:
        raise ValidationFailed(_("Choose effective or not effective (T-9.3.2)."), field="result")
    evidence = _text(evidence, "evidence", _("What was checked"), "T-9.3.2")
    facts = selectors.deviation_facts(deviation)
    _refuse(rules.effectiveness_check_gate(facts))
    return record_create(
        actor=actor,
        record=EffectivenessCheck(
            deviation=deviation,
            round=facts.current_round + 1,
            result=result,
            evidence=evidence,
            checked_at=clock.now(),
            checked_by=actor,
        ),
        event=f"capa:check:{result}",
    )


def deviation_close(
    *, actor: Any, deviation: Deviation, signer: SignerCredentials, note: str = ""
) -> Deviation:
    """QA closes the deviation with an e-signature, refused while the investigation is incomplete, an action is
    open or the effectiveness check is missing or not effective (T-6.4-f, T-9.3.2, T-10.15; X-4).

    The only way a deviation becomes closed. Checks run before the password is asked and again inside the
    signature's transaction (with the deviation locked), so a refusal writes nothing.
    """
    _require(actor, "capa.close", _("Only quality assurance closes a deviation (T-6.4-f)."))
    if signer.user.pk != actor.pk:
        raise ValidationFailed(_("The person closing the deviation signs it."), field="password")
    _refuse(rules.closure_gate(selectors.deviation_facts(_stored(actor, deviation))))

    def write() -> Deviation:
        current = _own_deviation(actor, deviation)
        _refuse(rules.closure_gate(selectors.deviation_facts(current)))
        return _step_amend(
            actor,
            current,
            status=Deviation.Status.CLOSED,
            stamp="closed",
            event="deviation:close",
            reason=note.strip() or "investigation complete, CAPA done and effective",
        )

    signing.record_sign(record=write, signer=signer, meaning=Meaning.APPROVED)
    return Deviation.objects.get(pk=deviation.pk)


def _stored(actor: Any, deviation: Deviation) -> Deviation:
    if deviation.site.organisation_id != actor.organisation_id:
        raise NotAllowed(_("This deviation belongs to another organisation."))
    return Deviation.objects.select_related("site").get(pk=deviation.pk)


# --------------------------------------------------------------------------- change control


def _change_step(step: str, change: ChangeRequest, actor: Any) -> ChangeRequest:
    """Lock the change of the actor's organisation and refuse a step out of order (REGULATORY item 61)."""
    if change.organisation_id != actor.organisation_id:
        raise NotAllowed(_("This change request belongs to another organisation."))
    current = ChangeRequest.objects.select_for_update().get(pk=change.pk)
    _refuse(rules.change_step_gate(step, current.status))
    return current


def _versions_checked(actor: Any, kind: str, versions: Iterable[ProductVersion]) -> list[ProductVersion]:
    found = list(versions)
    foreign = [str(v) for v in found if v.product.site.organisation_id != actor.organisation_id]
    if foreign:
        raise ValidationFailed(
            _("Product version(s) %(names)s belong to another organisation.") % {"names": ", ".join(foreign)},
            field="affected_versions",
        )
    if kind in (ChangeRequest.Kind.PROCESS, ChangeRequest.Kind.SPECIFICATION) and not found:
        raise ValidationFailed(
            _(
                "A process or specification change names the product versions it affects (P-1-a, "
                "REGULATORY item 61)."
            ),
            field="affected_versions",
        )
    return found


def _next_change_number(site: Site) -> str:
    prefix = f"CR-{site.code.upper()[:8].rstrip('-')}-{clock.now().year}-"
    return f"{prefix}{ChangeRequest.objects.filter(number__startswith=prefix).count() + 1:04d}"


@transaction.atomic
def change_raise(
    *,
    actor: Any,
    kind: str,
    title: str,
    description: str,
    reason: str,
    risk_level: str,
    risk_assessment: str,
    affected_versions: Iterable[ProductVersion] = (),
    affected_items: str = "",
) -> ChangeRequest:
    """Raise a change request to a process, specification, equipment or document (REGULATORY item 61)."""
    _require(actor, "capa.raise_change", _("Your role does not raise change requests."))
    if kind not in ChangeRequest.Kind.values:
        raise ValidationFailed(_("Choose what the change is to (process, specification, equipment, document)."),
                               field="kind")  # fmt: skip
    if risk_level not in ChangeRequest.Risk.values:
        raise ValidationFailed(_("Choose the risk level."), field="risk_level")
    versions = _versions_checked(actor, kind, affected_versions)
    if kind in (ChangeRequest.Kind.EQUIPMENT, ChangeRequest.Kind.DOCUMENT) and not (
        versions or affected_items.strip()
    ):
        raise ValidationFailed(
            _("Name the equipment or document the change affects (REGULATORY item 61)."),
            field="affected_items",
        )
    site = actor.site
    change = record_create(
        actor=actor,
        record=ChangeRequest(
            number=_next_change_number(site),
            organisation_id=actor.organisation_id,
            site=site,
            kind=kind,
            title=_text(title, "title", _("The title"), "REGULATORY-61"),
            description=_text(description, "description", _("The description"), "REGULATORY-61"),
            reason=_text(reason, "reason", _("The reason for the change"), "REGULATORY-61"),
            risk_level=risk_level,
            risk_assessment=_text(
                risk_assessment, "risk_assessment", _("The risk assessment"), "REGULATORY-61"
            ),
            affected_items=affected_items.strip(),
            raised_at=clock.now(),
            raised_by=actor,
        ),
        event=f"change:raise:{kind}",
    )
    for version in versions:
        record_create(
            actor=actor,
            record=ChangeAffectedVersion(change=change, product_version=version),
            event="change:affects",
        )
    return change


@transaction.atomic
def change_assess(*, actor: Any, change: ChangeRequest, impact_assessment: str) -> ChangeRequest:
    """QA records the impact assessment (validation, documents, training, batches in process) (REGULATORY 61)."""
    _require(actor, "capa.approve_change", _("Only quality assurance assesses the impact of a change."))
    current = _change_step("assess", change, actor)
    current.impact_assessment = _text(
        impact_assessment, "impact_assessment", _("The impact assessment"), "REGULATORY-61"
    )
    return _step_amend(
        actor,
        current,
        status=ChangeRequest.Status.ASSESSED,
        stamp="assessed",
        event="change:assess",
        reason="impact assessed",
        noted=("impact_assessment",),
    )


def change_approve(*, actor: Any, change: ChangeRequest, signer: SignerCredentials) -> ChangeRequest:
    """QA approves the assessed change with an e-signature (REGULATORY item 61; X-4)."""
    _require(
        actor, "capa.approve_change", _("Only quality assurance approves a change (REGULATORY item 61).")
    )
    if signer.user.pk != actor.pk:
        raise ValidationFailed(_("The approver signs the change."), field="password")
    if change.organisation_id != actor.organisation_id:
        raise NotAllowed(_("This change request belongs to another organisation."))
    _refuse(rules.change_step_gate("approve", ChangeRequest.objects.get(pk=change.pk).status))

    def write() -> ChangeRequest:
        current = _change_step("approve", change, actor)
        return _step_amend(
            actor,
            current,
            status=ChangeRequest.Status.APPROVED,
            stamp="approved",
            event="change:approve",
            reason="approved by QA",
        )

    signing.record_sign(record=write, signer=signer, meaning=Meaning.APPROVED)
    return ChangeRequest.objects.get(pk=change.pk)


@transaction.atomic
def change_reject(*, actor: Any, change: ChangeRequest, note: str) -> ChangeRequest:
    """QA rejects a change not yet approved, with the reason (REGULATORY item 61)."""
    _require(actor, "capa.approve_change", _("Only quality assurance rejects a change."))
    current = _change_step("reject", change, actor)
    current.closure_note = _text(note, "note", _("The reason for rejecting"), "REGULATORY-61")
    return _step_amend(
        actor,
        current,
        status=ChangeRequest.Status.REJECTED,
        stamp="closed",
        event="change:reject",
        reason=current.closure_note,
        noted=("closure_note",),
    )


@transaction.atomic
def change_implement(*, actor: Any, change: ChangeRequest, note: str) -> ChangeRequest:
    """Record what was implemented; only after QA's approval (REGULATORY item 61)."""
    _require(actor, "capa.implement_change", _("Your role does not implement changes."))
    current = _change_step("implement", change, actor)
    current.implementation_note = _text(note, "note", _("What was implemented"), "REGULATORY-61")
    return _step_amend(
        actor,
        current,
        status=ChangeRequest.Status.IMPLEMENTED,
        stamp="implemented",
        event="change:implement",
        reason="implemented",
        noted=("implementation_note",),
    )


@transaction.atomic
def change_verify(*, actor: Any, change: ChangeRequest, note: str) -> ChangeRequest:
    """QA verifies the implementation; the verifier is not the implementer (REGULATORY item 61, X-5 spirit)."""
    _require(actor, "capa.approve_change", _("Only quality assurance verifies a change."))
    current = _change_step("verify", change, actor)
    if current.implemented_by_id == actor.pk:
        raise NotAllowed(
            _("The implementer cannot verify their own change: another QA person verifies it."), field="note"
        )
    current.verification_note = _text(note, "note", _("How it was verified"), "REGULATORY-61")
    return _step_amend(
        actor,
        current,
        status=ChangeRequest.Status.VERIFIED,
        stamp="verified",
        event="change:verify",
        reason="verified",
        noted=("verification_note",),
    )


@transaction.atomic
def change_close(*, actor: Any, change: ChangeRequest, note: str = "") -> ChangeRequest:
    """QA closes a verified change (REGULATORY item 61)."""
    _require(actor, "capa.approve_change", _("Only quality assurance closes a change."))
    current = _change_step("close", change, actor)
    current.closure_note = note.strip()
    return _step_amend(
        actor,
        current,
        status=ChangeRequest.Status.CLOSED,
        stamp="closed",
        event="change:close",
        reason="verified and closed",
        noted=("closure_note",),
    )
