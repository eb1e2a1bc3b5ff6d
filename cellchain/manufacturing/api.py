"""JSON API of the manufacturing context: products, batches and their steps, parameter entry."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from cellchain.core.permissions import requires
from cellchain.manufacturing import selectors, services
from cellchain.manufacturing.models import BatchStep

router = Router(tags=["manufacturing"])


class VersionOut(Schema):
    id: int
    product: str
    version: int
    status: str
    approved_at: dt.datetime | None


class ParameterEntryOut(Schema):
    code: str
    value: str
    outcome: str
    limit: str
    deviation: str | None


class StepOut(Schema):
    id: int
    code: str
    kind: str
    status: str
    area: str
    started_at: dt.datetime
    completed_at: dt.datetime | None
    entries: list[ParameterEntryOut]


class BatchOut(Schema):
    id: int
    number: str
    product_version: str
    status: str
    coi: str
    apheresis_din: str
    started_at: dt.datetime
    manufactured_at: dt.datetime | None
    steps: list[StepOut] = []


class ParameterIn(Schema):
    code: str
    value: str
    reason: str = ""


def _batch_out(batch: Any, with_steps: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": batch.pk,
        "number": batch.number,
        "product_version": str(batch.product_version),
        "status": batch.status,
        "coi": batch.intake.coi,
        "apheresis_din": batch.intake.din,
        "started_at": batch.started_at,
        "manufactured_at": batch.manufactured_at,
    }
    if with_steps:
        out["steps"] = [_step_out(s) for s in batch.steps.all()]
    return out


def _step_out(step: BatchStep) -> dict[str, Any]:
    return {
        "id": step.pk,
        "code": step.code,
        "kind": step.kind,
        "status": step.status,
        "area": step.area.code,
        "started_at": step.started_at,
        "completed_at": step.completed_at,
        "entries": [
            {
                "code": e.code,
                "value": e.value,
                "outcome": e.outcome,
                "limit": e.limit,
                "deviation": e.deviation.number if e.deviation else None,
            }
            for e in step.entries.all()
        ],
    }


@router.get("/versions", response=list[VersionOut])
@requires("manufacturing.view")
def version_list(request: HttpRequest) -> list[dict[str, Any]]:
    versions = selectors.product_versions_approved(request.user)
    return [
        {
            "id": v.pk,
            "product": v.product.code,
            "version": v.version,
            "status": v.status,
            "approved_at": v.approved_at,
        }
        for v in versions
    ]


@router.get("/batches", response=list[BatchOut])
@requires("manufacturing.view")
def batch_list(request: HttpRequest, status: str | None = None) -> list[dict[str, Any]]:
    batches = selectors.batches_visible_to(request.user)
    if status:
        batches = batches.filter(status=status)
    return [_batch_out(b) for b in batches[:300]]


@router.get("/batches/{batch_id}", response=BatchOut)
@requires("manufacturing.view")
def batch_detail(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    return _batch_out(selectors.batch_get(request.user, batch_id), with_steps=True)


@router.post("/steps/{step_id}/parameters", response=ParameterEntryOut)
@requires("manufacturing.execute")
def parameter_record(request: HttpRequest, step_id: int, payload: ParameterIn) -> dict[str, Any]:
    query = BatchStep.objects.filter(batch__site__organisation_id=request.user.organisation_id)
    step = get_object_or_404(query.select_related("batch__product_version__product"), pk=step_id)
    entry = services.parameter_record(actor=request.user, step=step, **payload.dict())
    return {
        "code": entry.code,
        "value": entry.value,
        "outcome": entry.outcome,
        "limit": entry.limit,
        "deviation": entry.deviation.number if entry.deviation else None,
    }
