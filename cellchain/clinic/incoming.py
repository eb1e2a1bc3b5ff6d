"""What the hospital receives from its manufacturers as EPCIS 2.0 messages (issue 12 item 2, first bullet;
docs/decisions/0022-epcis-messages-wired.md).

The exchange's inbox (decision 0017) has authenticated the sender, checked the signature, validated the body
(GS1's schema and the parser of its kind, `cellchain.exchange.epcis`) and made sure the same event is applied
once; each function here then applies one message inside the receiving transaction:

* release / conditional release (Q-2-b, Q-2.5-b), late result and recall (Q-2.5-c) -> `ReportedUnit` of each
  unit, the latest event by event time standing (`services.reported.reported_unit_record`); a message older than
  the one applied changes nothing but is kept (its document references are remembered);
* product information package (T-7.4) -> its document reference on each unit's `ReportedUnit`;
* shipment (T-7.15, T-8.1.5) -> an `IncomingShipment`: units to expect, expiry, shipper, the loggers' summary
  and excursion alarms, for the receipt.

Refused (a `ServiceError`: the inbox quarantines the message, nothing is written) at a manufacturer-only
installation, and for any unit whose COI is not a journey or treatment course of this hospital's organisation:
a hospital is told only of its own patients' units.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cellchain.clinic.models import ClinicUnit, IncomingShipment, ReportedUnit
from cellchain.clinic.services._common import amend, create
from cellchain.clinic.services.reported import UnitReport, reported_unit_record
from cellchain.core import installation
from cellchain.core.errors import Conflict, NotAllowed, NotFound
from cellchain.domain.epcis_messages import (
    PARSERS,
    DocumentRef,
    LateResultNotice,
    MessageKind,
    ProductInformationNotice,
    RecallNotice,
    ReleaseNotice,
    ReleaseStatus,
    ResultOutcome,
    ShipmentNotice,
    UnitLine,
    logger_data,
)

# A unit first heard of by its package (no release reported yet) gets this event time, so that any release,
# late result or recall, whenever it happened, stands over it.
NOTHING_REPORTED = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def register_kinds() -> None:
    """Register the five manufacturer -> hospital kinds with the exchange (called from `ClinicConfig.ready`)."""
    from cellchain.exchange import kinds
    from cellchain.exchange.epcis import kind_name, validator_for

    for kind in MessageKind:
        kinds.register(kind_name(kind), validate=validator_for(kind), receive=RECEIVERS[kind])


# --------------------------------------------------------------------------- checks


def _refuse_unless_hospital(kind: MessageKind) -> None:
    if not installation.is_hospital():
        raise NotAllowed(
            f"Issue 12 item 2: a {kind.value} message is for a hospital; this installation is the "
            f"{installation.role()}'s and keeps no hospital records."
        )


def _our_sites() -> Any:
    from cellchain.accounts.models import Site

    code = installation.organisation_code()
    return Site.objects.filter(organisation__code=code) if code else Site.objects.all()


def _refuse_other_hospitals(units: tuple[UnitLine, ...], event_id: str) -> None:
    """Every unit must be of a patient of this hospital: its COI a journey enrolled here or a treatment course
    of one of our sites (issue 12 item 2; T-8.1.3-a). A message naming another hospital's unit is a misrouting
    to investigate, never a record to keep."""
    from cellchain.clinic.models import TreatmentCourse
    from cellchain.journeys.models import Journey

    sites = _our_sites()
    cois = {unit.coi for unit in units}
    known = set(Journey.objects.filter(coi__in=cois, hospital_site__in=sites).values_list("coi", flat=True))
    known |= set(TreatmentCourse.objects.filter(coi__in=cois, site__in=sites).values_list("coi", flat=True))
    strangers = sorted(f"{u.din} (COI {u.coi})" for u in units if u.coi not in known)
    if strangers:
        raise NotFound(
            f"Message {event_id}: unit(s) {', '.join(strangers)} are not of a patient of this hospital "
            "(no journey or treatment course here has that COI); refused as misrouted (issue 12 item 2, "
            "T-8.1.3-a)."
        )


def _document_json(document: DocumentRef, event_id: str) -> dict[str, str]:
    return {
        "kind": document.kind,
        "uri": document.uri,
        "sha256": document.sha256,
        "media_type": document.media_type,
        "event_id": event_id,
    }


def _remember(actor: Any, din: str, documents: list[dict[str, str]], event_id: str, sender: str) -> None:
    """Add document references to the unit's record (a reference is a fact whatever the event order)."""
    unit = ReportedUnit.objects.select_for_update().get(din=din)
    new = [d for d in documents if d not in unit.documents]
    if not new:
        return
    unit.documents = [*unit.documents, *new]
    amend(actor, unit, "unit:reported_document", reason=f"message {event_id} from {sender}")


def _report_all(
    actor: Any,
    units: tuple[UnitLine, ...],
    *,
    sender: str,
    event_id: str,
    event_time: dt.datetime,
    release: Any,
    reasons: tuple[str, ...],
    documents: list[dict[str, str]] = (),  # type: ignore[assignment]
) -> list[ReportedUnit]:
    out = []
    for unit in units:
        value = release(unit.din) if callable(release) else release
        row = reported_unit_record(
            actor=actor,
            report=UnitReport(
                din=unit.din,
                coi=unit.coi,
                batch_number=unit.batch_number,
                manufacturer=sender,
                release=value,
                event_time=event_time,
                event_id=event_id,
                reasons=reasons,
                product_code=unit.product_code,
            ),
        )
        if documents:
            _remember(actor, unit.din, list(documents), event_id, sender)
            row.refresh_from_db()
        out.append(row)
    return out


def _known_release(din: str, default: str) -> str:
    known = ReportedUnit.objects.filter(din=din, voided_at__isnull=True).values_list("release", flat=True)
    return known.first() or default


# --------------------------------------------------------------------------- receivers


def _received(kind: MessageKind, body: dict[str, Any], event_id: str) -> Any:
    _refuse_unless_hospital(kind)
    received = PARSERS[kind](body)
    if received.event_id != event_id:
        raise Conflict(
            f"The envelope names event {event_id}, its EPCIS document event {received.event_id}: refused "
            "(issue 12 item 2, decision 0018)."
        )
    _refuse_other_hospitals(received.notice.units, event_id)
    return received.notice


@transaction.atomic
def release_receive(*, actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> list[ReportedUnit]:
    """A batch release or conditional release with its CoA reference (Q-2-b, Q-2.5-b)."""
    notice: ReleaseNotice = _received(MessageKind.RELEASE, body, event_id)
    conditional = notice.status == ReleaseStatus.CONDITIONAL
    reasons = (
        (f"batch {notice.batch_number} conditionally released; pending {', '.join(notice.pending_tests)}",)
        if conditional
        else ()
    )
    return _report_all(
        actor,
        notice.units,
        sender=partner.log_id,
        event_id=event_id,
        event_time=notice.decided_at,
        release=ClinicUnit.Release.CONDITIONAL if conditional else ClinicUnit.Release.RELEASED,
        reasons=reasons,
        documents=[_document_json(notice.certificate, event_id)],
    )


@transaction.atomic
def late_result_receive(
    *, actor: Any, partner: Any, body: dict[str, Any], event_id: str
) -> list[ReportedUnit]:
    """A compendial result after the release (Q-2.5-c): a failure quarantines the units; a pass leaves their
    status as last reported (a full release comes as its own release message)."""
    notice: LateResultNotice = _received(MessageKind.LATE_RESULT, body, event_id)
    failed = notice.outcome == ResultOutcome.FAIL
    reason = f"late result {notice.test}: {'does not conform' if failed else 'conforms'} (Q-2.5-c)"
    documents = [_document_json(notice.report, event_id)] if notice.report is not None else []
    return _report_all(
        actor,
        notice.units,
        sender=partner.log_id,
        event_id=event_id,
        event_time=notice.reported_at,
        release=ClinicUnit.Release.QUARANTINED
        if failed
        else (lambda din: _known_release(din, ClinicUnit.Release.CONDITIONAL)),
        reasons=(reason,),
        documents=documents,
    )


@transaction.atomic
def recall_receive(*, actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> list[ReportedUnit]:
    """A recall or hold of the batch's units (Q-2.5-c): quarantined until the manufacturer says otherwise."""
    notice: RecallNotice = _received(MessageKind.RECALL, body, event_id)
    return _report_all(
        actor,
        notice.units,
        sender=partner.log_id,
        event_id=event_id,
        event_time=notice.started_at,
        release=ClinicUnit.Release.QUARANTINED,
        reasons=(f"{notice.disposition.value} {notice.reference}: {notice.reason} (Q-2.5-c)",),
    )


@transaction.atomic
def product_information_receive(
    *, actor: Any, partner: Any, body: dict[str, Any], event_id: str
) -> list[ReportedUnit]:
    """A product information package version (T-7.4): its reference is kept on each unit; the release status
    is not the package's to change (a unit first heard of here stands as not released)."""
    notice: ProductInformationNotice = _received(MessageKind.PRODUCT_INFORMATION, body, event_id)
    return _report_all(
        actor,
        notice.units,
        sender=partner.log_id,
        event_id=event_id,
        event_time=NOTHING_REPORTED,
        release=lambda din: _known_release(din, ClinicUnit.Release.NOT_RELEASED),
        reasons=("no release reported yet",),
        documents=[
            {**_document_json(notice.document, event_id), "version": str(notice.version)},
        ],
    )


def _logger_json(notice: ShipmentNotice) -> list[dict[str, Any]]:
    def at(moment: dt.datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(dt.UTC).isoformat()

    return [
        {
            "device_id": data.device_id,
            "start": at(data.start),
            "end": at(data.end),
            "min_c": data.min_c,
            "max_c": data.max_c,
            "mean_c": data.mean_c,
            "alarms": [at(a) for a in data.alarms],
            "errors": data.errors,
        }
        for data in logger_data(notice)
    ]


@transaction.atomic
def shipment_receive(*, actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> IncomingShipment:
    """A product shipment handed to the courier (T-7.15, T-8.1.5): the units, expiry, shipper and loggers the
    receipt will check against. The destination must be a site of this hospital."""
    notice: ShipmentNotice = _received(MessageKind.SHIPMENT, body, event_id)
    existing = IncomingShipment.objects.filter(event_id=event_id).first()
    if existing is not None:
        return existing
    site = _our_sites().filter(code=notice.to_site).first()
    if site is None:
        raise NotFound(
            f"Shipment {notice.number} is addressed to site {notice.to_site!r}, which is not a site of this "
            "hospital: refused as misrouted (issue 12 item 2, T-8.1.1)."
        )
    if IncomingShipment.objects.filter(manufacturer=partner.log_id, number=notice.number).exists():
        raise Conflict(
            f"Shipment {notice.number} of {partner.log_id} was announced before with other content; a shipment "
            "leaves once (T-7.15): ask the manufacturer which is right."
        )
    loggers = _logger_json(notice)
    record = IncomingShipment(
        number=notice.number,
        manufacturer=partner.log_id,
        to_site=site,
        from_site_code=notice.from_site,
        shipped_at=notice.shipped_at,
        expires_at=notice.expires_at,
        shipper_code=notice.shipper_code,
        shipper_kind=notice.shipper_kind,
        units=[
            {"din": u.din, "coi": u.coi, "product_code": u.product_code, "batch": u.batch_number}
            for u in notice.units
        ],
        loggers=loggers,
        excursions=sum(len(entry["alarms"]) for entry in loggers),
        event_id=event_id,
    )
    return create(actor, record, "shipment:announced", extra={"sender": partner.log_id})  # type: ignore[return-value]


RECEIVERS = {
    MessageKind.RELEASE: release_receive,
    MessageKind.LATE_RESULT: late_result_receive,
    MessageKind.RECALL: recall_receive,
    MessageKind.PRODUCT_INFORMATION: product_information_receive,
    MessageKind.SHIPMENT: shipment_receive,
}


def incoming_shipment_for(din: str) -> IncomingShipment | None:
    """The latest announced shipment carrying this unit (for the receipt at a hospital-only installation)."""
    for shipment in IncomingShipment.objects.filter(voided_at__isnull=True).order_by("-shipped_at", "-pk"):
        if din in shipment.dins:
            return shipment
    return None
