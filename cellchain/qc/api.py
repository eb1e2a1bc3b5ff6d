"""JSON API of the QC context: the release evaluation, results, release, certificate data."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from cellchain.core.permissions import requires
from cellchain.qc import selectors, services
from cellchain.qc.models import PackageIssue, QcResult
from cellchain.signatures.services import SignerCredentials

router = Router(tags=["qc"])


class VerdictOut(Schema):
    code: str
    assay: str
    method: str
    limit: str
    result: str
    verdict: str
    release_blocking: bool
    amended: bool


class FindingOut(Schema):
    check: str
    message: str
    clause: str
    subject: str
    value: str
    limit: str


class EvaluationOut(Schema):
    batch: str
    status: str
    outcome: str
    verdicts: list[VerdictOut]
    findings: list[FindingOut]
    pending: list[str]


class ResultIn(Schema):
    item_code: str
    value: Decimal | None = None
    outcome: str = ""
    ordered: bool = False
    issuing_lab: str = ""
    third_party: bool = False
    reason: str = ""


class ResultOut(Schema):
    id: int
    item_code: str
    value: Decimal | None
    outcome: str
    status: str
    verdict: str
    investigation: str | None
    performed_at: dt.datetime


class ReleaseIn(Schema):
    outcome: str
    password: str
    totp_code: str | None = None


class ReleaseOut(Schema):
    id: int
    outcome: str
    pending: list[str]
    decided_at: dt.datetime


class ReleasePackageOut(Schema):
    id: int
    batch: str
    version: int
    issued_at: dt.datetime
    content_sha256: str
    content: dict[str, Any]


def _batch(request: HttpRequest, batch_id: int) -> Any:
    return get_object_or_404(selectors.batches_for_qc(request.user), pk=batch_id)


def _finding(f: Any) -> dict[str, str]:
    return {
        "check": f.check,
        "message": f.message,
        "clause": f.clause,
        "subject": f.subject,
        "value": f.value,
        "limit": f.limit,
    }


@router.get("/batches/{batch_id}/evaluation", response=EvaluationOut)
@requires("qc.view")
def evaluation(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    batch = _batch(request, batch_id)
    result = selectors.release_evaluation(batch)
    return {
        "batch": batch.number,
        "status": batch.status,
        "outcome": result.outcome.value,
        "verdicts": [
            {
                "code": v.item.code,
                "assay": v.item.assay.value,
                "method": v.item.method.code,
                "limit": v.limit,
                "result": v.shown,
                "verdict": v.verdict.value,
                "release_blocking": v.item.release_blocking,
                "amended": v.amended,
            }
            for v in result.verdicts
        ],
        "findings": [_finding(f) for f in result.findings],
        "pending": list(result.pending),
    }


def _result_out(row: QcResult) -> dict[str, Any]:
    return {
        "id": row.pk,
        "item_code": row.item_code,
        "value": row.value,
        "outcome": row.outcome,
        "status": row.status,
        "verdict": row.verdict,
        "investigation": row.investigation.number if row.investigation else None,
        "performed_at": row.performed_at,
    }


@router.post("/batches/{batch_id}/results", response=ResultOut)
@requires("qc.enter_results")
def result_record(request: HttpRequest, batch_id: int, payload: ResultIn) -> dict[str, Any]:
    batch = _batch(request, batch_id)
    data = payload.dict()
    status = QcResult.Status.ORDERED if data.pop("ordered") else QcResult.Status.FINAL
    return _result_out(services.result_record(actor=request.user, batch=batch, status=status, **data))


@router.post("/batches/{batch_id}/release", response=ReleaseOut)
@requires("qc.release")
def release(request: HttpRequest, batch_id: int, payload: ReleaseIn) -> dict[str, Any]:
    batch = _batch(request, batch_id)
    signer = SignerCredentials(request.user, payload.password, payload.totp_code)
    decision = services.batch_release(actor=request.user, batch=batch, signer=signer, outcome=payload.outcome)
    return {
        "id": decision.pk,
        "outcome": decision.outcome,
        "pending": decision.pending,
        "decided_at": decision.decided_at,
    }


@router.get("/packages/{issue_id}", response=ReleasePackageOut)
@requires("qc.view_package")
def package(request: HttpRequest, issue_id: int) -> dict[str, Any]:
    visible = PackageIssue.objects.filter(
        recipient_id=request.user.organisation_id
    ) | PackageIssue.objects.filter(batch__site__organisation_id=request.user.organisation_id)
    issue = get_object_or_404(visible.select_related("batch"), pk=issue_id)
    return {
        "id": issue.pk,
        "batch": issue.batch.number,
        "version": issue.version,
        "issued_at": issue.issued_at,
        "content_sha256": issue.content_sha256,
        "content": issue.content,
    }
