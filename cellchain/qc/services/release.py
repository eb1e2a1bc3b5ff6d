"""Audit-trail review, retained sample, release (full and conditional), rejection, information package
(Q-2-b, Q-2.5-a/b, Q-2.6-c, REGULATORY items 7, 21; T-7.4)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
from typing import Any

import rfc8785
from django.db import transaction
from django.db.models import Q

from cellchain.accounts.roles import Role
from cellchain.core import clock
from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.domain.certificate import package_issue_check
from cellchain.domain.label_reconciliation import CLAUSE
from cellchain.domain.specification import ReleaseEvaluation, ReleaseOutcome
from cellchain.journeys import services as journeys
from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.records import record_amend, record_create
from cellchain.manufacturing.models import Batch, ProductUnit
from cellchain.manufacturing.services import batch_status_set
from cellchain.manufacturing.services._common import (
    findings_detail,
    findings_text,
    refuse_unless,
    require_role,
)
from cellchain.qc import selectors
from cellchain.qc.messages import announce_package, announce_release
from cellchain.qc.models import AuditTrailReview, PackageIssue, ReleaseDecision, RetainedSample
from cellchain.quality.services import notification_send
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials, record_sign

RELEASE_STATUS = {
    ReleaseOutcome.RELEASABLE: Batch.Status.RELEASED,
    ReleaseOutcome.CONDITIONALLY_RELEASABLE: Batch.Status.CONDITIONALLY_RELEASED,
}


def batch_performers(batch: Batch) -> set[int]:
    """Everyone who performed an entry of the batch record or its QC (REGULATORY item 7)."""
    people = {batch.started_by_id}
    for step in batch.steps.all():
        people.update({step.started_by_id, step.completed_by_id})
        people.update(step.entries.values_list("entered_by_id", flat=True))
    people.update(batch.qc_results.values_list("performed_by_id", flat=True))
    fill = getattr(batch, "fill", None)
    if fill is not None:
        people.add(fill.recorded_by_id)
    return {p for p in people if p is not None}


def _batch_entries(batch: Batch) -> int:
    """How many ledger entries belong to the batch record and its QC (what the reviewer went through)."""
    records = Q(record_type="manufacturing.batch", record_id=str(batch.pk))
    for model, ids in (
        ("manufacturing.batchstep", batch.steps.values_list("pk", flat=True)),
        ("qc.qcresult", batch.qc_results.values_list("pk", flat=True)),
    ):
        records |= Q(record_type=model, record_id__in=[str(i) for i in ids])
    return LedgerEntry.objects.filter(records).count()


@transaction.atomic
def audit_trail_review_record(
    *, actor: Any, batch: Batch, signer: SignerCredentials, note: str = ""
) -> AuditTrailReview:
    """Record and sign the audit-trail review of the batch, by someone who performed none of it (item 7)."""
    require_role(actor, Role.QA)
    if signer.user.pk != actor.pk:
        raise ValidationFailed("The reviewer signs the review.", field="password")
    if batch.status not in (Batch.Status.AWAITING_RELEASE, Batch.Status.CONDITIONALLY_RELEASED):
        raise Conflict(
            f"Batch {batch.number} is {batch.get_status_display()}: nothing to review for release."
        )
    if actor.pk in batch_performers(batch):
        raise Conflict(
            "You performed entries of this batch; its audit trail must be reviewed by someone else."
        )
    review = record_create(
        actor=actor,
        record=AuditTrailReview(
            batch=batch,
            reviewer=actor,
            reviewed_at=clock.now(),
            entries_reviewed=_batch_entries(batch),
            note=note,
        ),
        event="batch:audit_review",
    )
    record_sign(record=review, signer=signer, meaning=Meaning.REVIEWED, qualification="release")
    return review


@transaction.atomic
def retained_sample_register(
    *, actor: Any, unit: ProductUnit, container: str, rack: str, box: str, position: str
) -> RetainedSample:
    """Register the retained sample (留样) with its storage position (Q-2.6-c, T-10.11)."""
    require_role(actor, Role.QC_ANALYST, Role.QA)
    if unit.purpose != ProductUnit.Purpose.RETAINED:
        raise ValidationFailed(
            f"{unit.din} is a {unit.get_purpose_display()} unit, not a retained sample.", field="unit"
        )
    parts = {"container": container, "rack": rack, "box": box, "position": position}
    for name, value in parts.items():
        if not value.strip():
            raise ValidationFailed("Give the full storage position.", field=name)
    if RetainedSample.objects.filter(unit=unit).exists():
        raise Conflict(f"{unit.din} is already registered as a retained sample.")
    taken = RetainedSample.objects.filter(voided_at__isnull=True, **{k: v.strip() for k, v in parts.items()})
    if taken.exists():
        raise Conflict("That storage position already holds a retained sample.", field="position")
    sample = record_create(
        actor=actor,
        record=RetainedSample(
            batch=unit.batch,
            unit=unit,
            registered_at=clock.now(),
            registered_by=actor,
            **{k: v.strip() for k, v in parts.items()},
        ),
        event="retained:register",
    )
    return sample


def evaluation_json(evaluation: ReleaseEvaluation) -> dict[str, Any]:
    """The evaluation as stored with the release decision."""
    return {
        "outcome": evaluation.outcome.value,
        "verdicts": [
            {
                "code": v.item.code,
                "verdict": v.verdict.value,
                "result": v.shown,
                "limit": v.limit,
                "amended": v.amended,
            }
            for v in evaluation.verdicts
        ],
        "findings": findings_detail(evaluation.findings)["findings"],
        "pending": list(evaluation.pending),
    }


@transaction.atomic
def batch_release(*, actor: Any, batch: Batch, signer: SignerCredentials, outcome: str) -> ReleaseDecision:
    """QA releases the batch with an e-signature: full, or conditional while compendial sterility/mycoplasma
    are pending (Q-2-b, Q-2.5-a/b, REGULATORY item 21). `outcome` is what QA saw; a changed evaluation refuses."""
    require_role(actor, Role.QA)
    if signer.user.pk != actor.pk:
        raise ValidationFailed("Only the releasing QA person can sign the release.", field="password")
    if batch.status not in (Batch.Status.AWAITING_RELEASE, Batch.Status.CONDITIONALLY_RELEASED):
        raise Conflict(f"Batch {batch.number} is {batch.get_status_display()}; it cannot be released now.")
    _refuse_unbalanced_labels(batch)
    journeys.journey_step_allowed(batch.intake.coi, "release", din=batch.intake.din)  # T-6.4-h
    evaluation = selectors.release_evaluation(batch)
    if evaluation.outcome is ReleaseOutcome.NOT_RELEASABLE:
        raise Conflict(
            f"Batch {batch.number} is not releasable: {findings_text(evaluation.findings)}",
            detail=findings_detail(evaluation.findings),
        )
    if evaluation.outcome.value != outcome:
        raise Conflict("The evaluation changed since you opened it; review it again before signing.")
    if batch.status == Batch.Status.CONDITIONALLY_RELEASED and outcome != ReleaseOutcome.RELEASABLE:
        raise Conflict("The batch is already conditionally released; compendial results are still pending.")
    decision = record_create(
        actor=actor,
        record=ReleaseDecision(
            batch=batch,
            outcome=evaluation.outcome.value,
            pending=list(evaluation.pending),
            evaluation=evaluation_json(evaluation),
            decided_at=clock.now(),
            decided_by=actor,
        ),
        event="batch:release",
    )
    record_sign(record=decision, signer=signer, meaning=Meaning.RELEASED, qualification="release")
    batch_status_set(
        actor=actor,
        batch=batch,
        status=RELEASE_STATUS[evaluation.outcome],
        reason=f"QA release: {evaluation.outcome.value}",
        event="batch:release",
    )
    _tell_clinic(actor, batch, evaluation)
    announce_release(actor, decision)  # issue 12 item 2: to the hospital's installation, same transaction
    return decision


def _refuse_unbalanced_labels(batch: Batch) -> None:
    """Refuse the release while a label printed for the batch's apheresis unit has no fate
    (FACT-JACIE CM7.2.2.1; issue 13 item 8)."""
    reconciliation = selectors.batch_label_reconciliation(batch)
    if not reconciliation.balanced:
        raise Conflict(
            reconciliation.message(f"Batch {batch.number} cannot be released"),
            detail={"clause": CLAUSE, "outstanding": list(reconciliation.outstanding)},
        )


def _tell_clinic(actor: Any, batch: Batch, evaluation: ReleaseEvaluation) -> None:
    clinic = batch.intake.collection_site
    pending = ", ".join(evaluation.pending)
    body = (
        f"Batch {batch.number} (COI {batch.intake.coi}) is released."
        if not pending
        else f"Batch {batch.number} (COI {batch.intake.coi}) is conditionally released; compendial {pending} "
        "results are pending and you will be told at once if one is positive (Q-2.5-c)."
    )
    notification_send(
        actor=actor,
        organisation=clinic.organisation,
        site=clinic,
        subject=f"Batch {batch.number} release",
        body=body,
        about=batch,
    )


@transaction.atomic
def batch_reject(*, actor: Any, batch: Batch, signer: SignerCredentials, reason: str) -> Batch:
    """QA rejects a batch with a reason and an e-signature (Q-2-b)."""
    require_role(actor, Role.QA)
    if not reason.strip():
        raise ValidationFailed("Give the reason for rejection.", field="reason")
    if batch.status in (Batch.Status.REJECTED, Batch.Status.RELEASED):
        raise Conflict(f"Batch {batch.number} is {batch.get_status_display()}.")
    batch_status_set(
        actor=actor, batch=batch, status=Batch.Status.REJECTED, reason=reason, event="batch:reject"
    )
    record_sign(record=batch, signer=signer, meaning=Meaning.REVIEWED, qualification="release")
    return batch


def jsonable(value: Any) -> Any:
    """Domain values as JSON: dataclasses as objects, decimals and times as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds() / 3600:g} h"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return value


@transaction.atomic
def package_issue(*, actor: Any, batch: Batch) -> PackageIssue:
    """Issue the next version of the product information package to the clinic (T-7.4); refused while a
    mandatory field is empty, the certificate is not issuable or the cell source disagrees (T-7.3-T-7.15)."""
    require_role(actor, Role.QA)
    version = batch.packages.count() + 1
    package = selectors.package_for(batch, version)
    refuse_unless(
        package_issue_check(package, collected_on=selectors.collected_on_record(batch)),
        "The package cannot be issued",
    )
    content = jsonable(package)
    clinic = batch.intake.collection_site
    issue = record_create(
        actor=actor,
        record=PackageIssue(
            batch=batch,
            version=version,
            content=content,
            content_sha256=hashlib.sha256(rfc8785.dumps(content)).hexdigest(),
            recipient=clinic.organisation,
            issued_at=clock.now(),
            issued_by=actor,
        ),
        event="package:issue",
    )
    issue.notification = notification_send(
        actor=actor,
        organisation=clinic.organisation,
        site=clinic,
        subject=f"Product information package v{version} for batch {batch.number}",
        body="Please acknowledge receipt of the product information package (T-7.4).",
        about=issue,
    )
    record_amend(
        actor=actor, record=issue, event="package:notify", reason="clinic notified", fields=["notification"]
    )
    announce_package(actor, issue)  # issue 12 item 2, T-7.4: to the hospital's installation
    return issue
