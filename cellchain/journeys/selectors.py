"""Queries of the journeys context: visibility by organisation, the trace, EPCIS export (T-10.4, X-7).

A manufacturer user reads journeys by COI and pseudonym; `patient_identity_for` is the only way to the
identity and refuses anyone but the patient's hospital (X-7, T-6.4-a).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from cellchain.core import clock
from cellchain.core.errors import NotAllowed, NotFound
from cellchain.domain.custody import CustodyStep
from cellchain.domain.identity import IdentifierError, compact, parse_coi, parse_unit_scan
from cellchain.domain.label_reconciliation import LabelFate, Reconciliation, reconcile
from cellchain.journeys.epcis import (
    AggregationEvent,
    EpcisAction,
    EpcisEvent,
    EpcisIds,
    EventCommon,
    ObjectEvent,
    epcis_document,
)
from cellchain.journeys.models import (
    Collection,
    CollectionSiteCertification,
    CustodyEvent,
    EligibilityChecklist,
    Journey,
    LabelDisposition,
    LabelPrint,
    PatientIdentity,
    Unit,
)
from cellchain.signatures.models import Signature


def _visible(viewer: Any) -> Q:
    if viewer.organisation_id is None:
        return Q(pk__in=[])
    if viewer.is_manufacturer_user:
        return Q(manufacturer_site__organisation_id=viewer.organisation_id)
    return Q(hospital_site__organisation_id=viewer.organisation_id)


def journey_list_for(viewer: Any) -> QuerySet[Journey]:
    """Journeys the viewer's organisation takes part in, pseudonymous columns only."""
    return (
        Journey.objects.filter(_visible(viewer))
        .select_related("hospital_site", "manufacturer_site")
        .only(
            "coi",
            "coi_check",
            "pseudonym",
            "status",
            "product_code",
            "product_name",
            "starting_material",
            "enrolled_at",
            "hospital_site__name",
            "manufacturer_site__name",
        )
        .order_by("-enrolled_at")
    )


def journey_get_for(viewer: Any, coi: str) -> Journey:
    """The journey with ``coi`` (typed with or without check character) if the viewer may see it."""
    text = compact(coi)
    try:
        data = parse_coi(text).data if len(text) == 16 else text
    except IdentifierError as error:
        raise NotFound(error.problem.message) from None
    journey = (
        Journey.objects.filter(_visible(viewer), coi=data)
        .select_related(
            "hospital_site__organisation", "manufacturer_site__organisation", "enrolled_by", "ethics_approval"
        )
        .first()
    )
    if journey is None:
        raise NotFound(f"No journey {data} visible to you.")
    return journey


def patient_identity_for(viewer: Any, journey: Journey) -> PatientIdentity:
    """The patient's identity, for the patient's own hospital only (X-7, T-6.4-a)."""
    if not viewer.is_hospital_user or viewer.organisation_id != journey.hospital_site.organisation_id:
        raise NotAllowed("Patient identity is visible only to the patient's hospital.")
    identity = PatientIdentity.objects.filter(journey=journey).first()
    if identity is None:  # a manufacturer's installation keeps none (issue 12 item 4)
        raise NotFound(f"This installation keeps no patient identity for journey {journey.coi}.")
    return identity


def unit_get_for(viewer: Any, din: str) -> Unit:
    """A unit by its 13-character DIN or any scanned/typed form, if the viewer may see its journey."""
    text = compact(din)
    data = text if len(text) == 13 else _din_from_scan(din)
    unit = (
        Unit.objects.filter(din=data, journey__in=Journey.objects.filter(_visible(viewer)))
        .select_related(
            "journey", "collection", "collection__site", "site", "destination_site", "storage_position"
        )
        .first()
    )
    if unit is None:
        raise NotFound(f"No unit {data} visible to you.")
    return unit


def _din_from_scan(text: str) -> str:
    try:
        return parse_unit_scan(text).din.data
    except IdentifierError as error:
        raise NotFound(error.problem.message) from None


def unit_get_by_identifier(din: str) -> Unit | None:
    """Cross-context lookup of a unit by DIN data (13 characters), no visibility filter."""
    return Unit.objects.filter(din=din).select_related("journey").first()


# --------------------------------------------------------------------------- trace


@dataclass(frozen=True)
class TraceEntry:
    """One line of a journey's timeline: when, what, who, where, identifiers, verdict, signatures (T-10.4)."""

    at: dt.datetime
    kind: str
    summary: str
    who: str
    where: str = ""
    identifiers: tuple[str, ...] = ()
    verdict: str = ""
    reasons: tuple[str, ...] = ()
    signatures: tuple[str, ...] = field(default=())


def _name(user: Any) -> str:
    return user.printed_name if user is not None else "system"


def journey_trace(journey: Journey) -> list[TraceEntry]:
    """Every event of ``journey`` in time order, in a constant number of queries (T-10.4; STYLE habit 7)."""
    entries = [
        TraceEntry(
            journey.enrolled_at,
            "enrol",
            f"Enrolled for {journey.product_name}",
            _name(journey.enrolled_by),
            journey.hospital_site.name,
            (journey.coi_keyboard,),
        )
    ]
    entries += _consent_entries(journey) + _scheduling_entries(journey) + _screening_entries(journey)
    entries += _collection_entries(journey) + _label_entries(journey) + _custody_entries(journey)
    entries += _hold_entries(journey)
    return sorted(entries, key=lambda entry: entry.at)


def _consent_entries(journey: Journey) -> list[TraceEntry]:
    out = []
    for consent in journey.consents.select_related("obtained_by"):
        at = dt.datetime.combine(consent.signed_on, dt.time(), tzinfo=dt.UTC)
        out.append(
            TraceEntry(at, "consent", f"Consent form {consent.form_version}", _name(consent.obtained_by))
        )
        if consent.withdrawn_at:
            out.append(
                TraceEntry(
                    consent.withdrawn_at, "withdraw", consent.withdrawal_reason, _name(consent.obtained_by)
                )
            )
    for assessment in journey.eligibility.select_related("assessed_by"):
        verdict = "eligible" if assessment.eligible else "not eligible"
        out.append(TraceEntry(assessment.assessed_at, "eligibility", verdict, _name(assessment.assessed_by)))
    return out


def _hold_entries(journey: Journey) -> list[TraceEntry]:
    """Suspensions, terminations and their lifting, each with its signer and reason (T-6.4-h)."""
    out = []
    for hold in journey.holds.all():
        out.append(TraceEntry(hold.placed_at, hold.kind, hold.reason, hold.placed_by_name))
        if hold.lifted_at:
            out.append(TraceEntry(hold.lifted_at, "resume", hold.lift_reason, hold.lifted_by_name))
    return out


def eligibility_checklists_for(viewer: Any) -> QuerySet[EligibilityChecklist]:
    """The eligibility checklists of the viewer's site, newest version first (T-9.2.1-2)."""
    return EligibilityChecklist.objects.filter(site_id=viewer.site_id, voided_at__isnull=True).select_related(
        "recorded_by"
    )


def collection_site_certifications_for(viewer: Any) -> QuerySet[CollectionSiteCertification]:
    """Certifications the viewer's organisation issued (manufacturer) or holds (hospital) (P-1.3.1-d)."""
    mine = Q(manufacturer_site__organisation_id=viewer.organisation_id) | Q(
        site__organisation_id=viewer.organisation_id
    )
    return (
        CollectionSiteCertification.objects.filter(mine, voided_at__isnull=True)
        .select_related("site", "manufacturer_site", "certified_by")
        .order_by("site__name", "-valid_until")
    )


def _scheduling_entries(journey: Journey) -> list[TraceEntry]:
    return [
        TraceEntry(
            b.booked_at,
            "booking",
            f"{b.kind} {b.slot.starts_at:%Y-%m-%d %H:%M} UTC: {b.status}",
            _name(b.booked_by),
            b.slot.site.name,
            reasons=(b.change_reason,) if b.change_reason else (),
        )
        for b in journey.bookings.select_related("slot__site", "booked_by")
    ]


def _screening_entries(journey: Journey) -> list[TraceEntry]:
    out = []
    for result in journey.screening_results.select_related("recorded_by"):
        at = dt.datetime.combine(result.tested_on, dt.time(), tzinfo=dt.UTC)
        out.append(
            TraceEntry(at, "screening", f"{result.marker}: {result.outcome}", _name(result.recorded_by))
        )
    for decision in journey.screening_decisions.select_related("physician"):
        out.append(
            TraceEntry(
                decision.decided_at,
                "decision",
                f"{decision.decision}: {decision.reason}",
                _name(decision.physician),
            )
        )
    return out


def _collection_entries(journey: Journey) -> list[TraceEntry]:
    out = []
    for collection in journey.collections.select_related("operator", "site").prefetch_related("units"):
        dins = tuple(unit.din_keyboard for unit in collection.units.all())
        flag = " (MNC shortfall)" if collection.mnc_shortfall else ""
        out.append(
            TraceEntry(
                collection.collected_at,
                "collection",
                f"Apheresis {collection.collected_volume_ml} mL, MNC {collection.mnc_count:.2E}{flag}",
                _name(collection.operator),
                collection.site.name,
                dins,
            )
        )
    return out


def _label_entries(journey: Journey) -> list[TraceEntry]:
    prints = list(LabelPrint.objects.filter(unit__journey=journey).select_related("unit", "printed_by"))
    signatures: dict[str, list[str]] = {}
    rows = Signature.objects.filter(
        record_type="journeys.labelprint", record_id__in=[str(p.pk) for p in prints]
    )
    for signature in rows.order_by("signed_at"):
        signatures.setdefault(signature.record_id, []).append(
            f"{signature.printed_name} · {signature.meaning} · {signature.signed_at:%Y-%m-%d %H:%M} UTC"
        )
    return [
        TraceEntry(
            p.printed_at,
            "label",
            f"Label #{p.print_number} ({p.template_version})"
            + (f", reprint: {p.reprint_reason}" if p.reprint_reason else ""),
            _name(p.printed_by),
            identifiers=(p.unit.din_keyboard,),
            signatures=tuple(signatures.get(str(p.pk), ())),
        )
        for p in prints
    ]


def _custody_entries(journey: Journey) -> list[TraceEntry]:
    events = journey.custody_events.select_related("actor", "site", "unit", "storage_position")
    return [
        TraceEntry(
            e.at,
            f"scan:{e.step}",
            _step_summary(e),
            _name(e.actor),
            e.site.name,
            (e.scanned_text,),
            e.verdict,
            tuple(r["message"] for r in e.reasons),
        )
        for e in events
    ]


def _step_summary(event: CustodyEvent) -> str:
    text = f"{event.step} {event.unit.din_keyboard}"
    if event.storage_position_id:
        text += f" -> {event.storage_position.label}"
    if event.shipper_code:
        text += f" -> shipper {event.shipper_code}"
    if event.step == CustodyStep.START_MANUFACTURE and event.condition:
        text += f" -> {event.condition}"
    if event.deviation_number:
        text += f" · identity incident {event.deviation_number}"
    return text


# --------------------------------------------------------------------------- EPCIS

_BIZ_STEPS: dict[str, tuple[str, str]] = {
    CustodyStep.LABEL: ("commissioning", "active"),
    CustodyStep.PACK: ("packing", "container_closed"),
    CustodyStep.HAND_TO_COURIER: ("shipping", "in_transit"),
    CustodyStep.RECEIVE_AT_MANUFACTURER: ("receiving", "in_progress"),
    CustodyStep.STORE: ("storing", "in_progress"),
    CustodyStep.RETRIEVE: ("picking", "in_progress"),
    # CBV 2.0 names no business step for an input taken into manufacturing (that would be a
    # TransformationEvent, which CellChain does not emit yet): "other", the material being in process.
    CustodyStep.START_MANUFACTURE: ("other", "in_progress"),
}
"""CBV 2.0 business step and disposition per custody step (REGULATORY item 41)."""


def _epcis_event(event: CustodyEvent, ids: EpcisIds) -> EpcisEvent:
    zone = ZoneInfo(event.site.time_zone)
    matched = event.verdict == CustodyEvent.Verdict.MATCH
    biz_step, disposition = _BIZ_STEPS[event.step] if matched else ("inspecting", "mismatch_instance")
    extensions = [
        ("scanned", event.scanned_text),
        ("verdict", event.verdict),
        ("actor", event.actor.printed_name),
        ("step", event.step),
    ]
    if event.condition:
        extensions.append(("condition", event.condition))
    if event.deviation_number:
        extensions.append(("identityIncident", event.deviation_number))
    sources: tuple[tuple[str, str], ...] = ()
    destinations: tuple[tuple[str, str], ...] = ()
    if matched and event.step == CustodyStep.HAND_TO_COURIER:
        sources = (("location", ids.site(event.site.code)),)
        destinations = (("location", ids.site(event.unit.destination_site.code)),)
    common = EventCommon(
        event_time=event.at.astimezone(zone),
        record_time=event.at.astimezone(zone),
        biz_step=biz_step,
        disposition=disposition,
        read_point=ids.site(event.site.code),
        biz_location=ids.storage_position(event.site.code, event.storage_position.label)
        if event.storage_position_id
        else None,
        sources=sources,
        destinations=destinations,
        extensions=tuple(extensions),
    )
    epc = ids.unit(event.unit.din)
    if matched and event.step == CustodyStep.PACK:
        return AggregationEvent(common, ids.shipper(event.shipper_code), (epc,), EpcisAction.ADD)
    action = EpcisAction.ADD if matched and event.step == CustodyStep.LABEL else EpcisAction.OBSERVE
    return ObjectEvent(common, (epc,), action)


def journey_epcis(journey: Journey, ids: EpcisIds | None = None) -> dict[str, Any]:
    """The journey's custody events as one EPCIS 2.0 ``EPCISDocument`` (REGULATORY item 41)."""
    ids = ids or EpcisIds()
    events = journey.custody_events.select_related(
        "site", "actor", "unit__destination_site", "storage_position"
    )
    return epcis_document(
        (_epcis_event(e, ids) for e in events), document_id=ids.journey(journey.coi), created_at=clock.now()
    )


@dataclass(frozen=True)
class LabelRow:
    """One printed label with its fate (blank while outstanding), for the reconciliation page."""

    label: LabelPrint
    name: str
    disposition: LabelDisposition | None


def _label_rows(prints: QuerySet[LabelPrint]) -> list[LabelRow]:
    rows = prints.select_related("unit", "disposition", "disposition__recorded_by", "disposition__witness")
    out = []
    for label in rows.order_by("unit__din", "print_number"):
        # A missing reverse one-to-one raises an AttributeError subclass: getattr's default covers it.
        disposition = getattr(label, "disposition", None)
        out.append(LabelRow(label, f"{label.unit.din}#{label.print_number}", disposition))
    return out


def _reconcile(rows: list[LabelRow]) -> Reconciliation:
    fates = {r.name: LabelFate(r.disposition.fate) for r in rows if r.disposition is not None}
    return reconcile([r.name for r in rows], fates)


def label_reconciliation_for_collection(collection: Collection) -> tuple[Reconciliation, list[LabelRow]]:
    """Printed = used + voided + destroyed over all units of a collection (FACT-JACIE CM7.2.2.1)."""
    rows = _label_rows(LabelPrint.objects.filter(unit__collection=collection))
    return _reconcile(rows), rows


def label_reconciliation_for_din(din: str) -> tuple[Reconciliation, list[LabelRow]]:
    """The reconciliation of the labels printed for the apheresis unit ``din`` (a batch starts from one unit;
    FACT-JACIE CM7.2.2.1). A DIN with no unit here has printed no label: it balances."""
    rows = _label_rows(LabelPrint.objects.filter(unit__din=din))
    return _reconcile(rows), rows
