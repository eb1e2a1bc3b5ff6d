"""JSON API of the journeys context: pseudonymous journeys, trace, EPCIS export, custody scans (T-10.4, G-4).

Manufacturer-facing operations return only COI, pseudonym and process data; the patient's identity has its
own operation, granted to hospital roles and refused to any other organisation (X-7).
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from cellchain.core.errors import IdentityMismatch
from cellchain.core.permissions import requires
from cellchain.domain.custody import CustodyStep
from cellchain.journeys import selectors, services
from cellchain.journeys.models import StoragePosition

router = Router(tags=["journeys"])


class JourneyOut(Schema):
    coi: str
    coi_check: str
    pseudonym: str
    status: str
    product_code: str
    product_name: str
    starting_material: str
    enrolled_at: dt.datetime


class PatientOut(Schema):
    coi: str
    name: str
    birth_date: dt.date
    hospital_record_number: str
    wristband_id: str


class TraceOut(Schema):
    at: dt.datetime
    kind: str
    summary: str
    who: str
    where: str
    identifiers: list[str]
    verdict: str
    reasons: list[str]
    signatures: list[str]


class CustodyUnitOut(Schema):
    din: str
    din_check: str
    coi: str
    state: str
    last_step: str
    volume_ml: int


class CustodyScanIn(Schema):
    step: CustodyStep
    scanned: str
    shipper_code: str = ""
    storage_position_id: int | None = None
    condition: str = ""


class ScanOut(Schema):
    event_id: int
    verdict: str
    state: str
    reasons: list[dict[str, Any]]
    identity_incident: str


def _journey_out(journey: Any) -> dict[str, Any]:
    return {f: getattr(journey, f) for f in JourneyOut.model_fields}


@router.get("/", response=list[JourneyOut])
@requires("journeys.view")
def journey_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_journey_out(j) for j in selectors.journey_list_for(request.user)[:500]]


@router.get("/{coi}", response=JourneyOut)
@requires("journeys.view")
def journey_detail(request: HttpRequest, coi: str) -> dict[str, Any]:
    return _journey_out(selectors.journey_get_for(request.user, coi))


@router.get("/{coi}/trace", response=list[TraceOut])
@requires("journeys.view")
def journey_trace(request: HttpRequest, coi: str) -> list[Any]:
    return selectors.journey_trace(selectors.journey_get_for(request.user, coi))


@router.get("/{coi}/epcis")
@requires("journeys.export")
def journey_epcis(request: HttpRequest, coi: str) -> dict[str, Any]:
    return selectors.journey_epcis(selectors.journey_get_for(request.user, coi))


@router.get("/{coi}/patient", response=PatientOut)
@requires("journeys.view_identity")
def journey_patient(request: HttpRequest, coi: str) -> dict[str, Any]:
    journey = selectors.journey_get_for(request.user, coi)
    identity = selectors.patient_identity_for(request.user, journey)
    return {"coi": journey.coi, **{f: getattr(identity, f) for f in list(PatientOut.model_fields)[1:]}}


@router.get("/units/{din}", response=CustodyUnitOut)
@requires("journeys.view")
def unit_detail(request: HttpRequest, din: str) -> dict[str, Any]:
    unit = selectors.unit_get_for(request.user, din)
    return {
        "din": unit.din,
        "din_check": unit.din_check,
        "coi": unit.journey.coi,
        "state": unit.state,
        "last_step": unit.last_step,
        "volume_ml": unit.volume_ml,
    }


@router.post("/units/{din}/scan", response=ScanOut)
@requires("journeys.scan")
def unit_scan(request: HttpRequest, din: str, payload: CustodyScanIn) -> dict[str, Any]:
    """Scan the unit expected at a step; 409 `identity_mismatch` when blocked (the event is recorded)."""
    unit = selectors.unit_get_for(request.user, din)
    position = (
        StoragePosition.objects.filter(pk=payload.storage_position_id, site=request.user.site).first()
        if payload.storage_position_id
        else None
    )
    event = services.unit_custody_scan(
        actor=request.user,
        unit=unit,
        step=payload.step,
        scanned_text=payload.scanned,
        details=services.ScanDetails(payload.shipper_code, position, payload.condition),
    )
    out = {
        "event_id": event.pk,
        "verdict": event.verdict,
        "state": event.state_after,
        "reasons": event.reasons,
        "identity_incident": event.deviation_number,
    }
    if event.verdict != "match":
        raise IdentityMismatch("; ".join(r["message"] for r in event.reasons), detail=out)
    return out
