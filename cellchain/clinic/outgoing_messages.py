"""The clinic's hospital -> manufacturer messages: infusion done (GS1 EPCIS 2.0) and follow-up visit done
(HL7 FHIR R5 Task) (issue 12 item 2; T-8.2.6, T-9.2.8; decision 0023). Shapes, validation and the
manufacturer's receipt are in `cellchain.journeys.messages`; this module only picks the facts.

Only the unit (DIN), the chain-of-identity identifier and the pseudonym name the journey: the recipient's
reaction, the findings' text and the notes stay at the hospital (X-7). Nothing is sent except at a
hospital-only installation (`journeys.messages.hospital_send`).
"""

from __future__ import annotations

from typing import Any

from cellchain.core import installation
from cellchain.journeys import messages


def _journey(coi: str) -> Any:
    """The hospital's journey of this COI (it enrolled the patient), or None for a course enrolled outside
    CellChain (on paper): then the COI alone names the journey and no pseudonym is sent."""
    from cellchain.journeys.models import Journey

    return Journey.objects.filter(coi=coi).select_related("manufacturer_site__organisation").first()


def infusion_document(infusion: Any) -> dict[str, Any]:
    """Infusion done as an EPCIS ObjectEvent dispensing/dispensed at the hospital site: the unit's chain of
    custody ends at the patient (T-8.2.6, T-10.4). Carries start, end, volume and dose only."""
    course, unit = infusion.course, infusion.unit
    return messages.epcis_message(
        messages.KIND_INFUSION,
        at=infusion.ended_at or infusion.started_at,
        site_code=course.site.code,
        units=[(unit.unit_id, unit.coi)],
        biz_step="dispensing",
        disposition="dispensed",
        details={
            "startedAt": messages._iso(infusion.started_at),
            "endedAt": messages._iso(infusion.ended_at) if infusion.ended_at else None,
            "volumeMl": infusion.volume_ml,
            "dose": infusion.car_positive_viable_cells,
        },
    )


def infusion_send(actor: Any, infusion: Any) -> Any:
    """Called by `infusion_end` in its transaction; to the manufacturer of the course's product."""
    if installation.role() != installation.HOSPITAL:
        return None
    body = infusion_document(infusion)
    return messages.hospital_send(
        actor=actor,
        organisation=infusion.course.product.manufacturer,
        kind=messages.KIND_INFUSION,
        body=body,
        event_id=messages.epcis_event_id(body),
    )


def follow_up_send(actor: Any, visit: Any) -> Any:
    """Called by `follow_up_visit_record` in its transaction: the visit key, due and done dates, the items
    checked (the plan's item names), as a FHIR R5 Task, to the product's manufacturer."""
    if installation.role() != installation.HOSPITAL:
        return None
    journey = _journey(visit.course.coi)
    body = messages.follow_up_task(
        coi=visit.course.coi,
        pseudonym=journey.pseudonym if journey is not None else None,
        key=visit.key,
        due=visit.due,
        done_on=visit.done_on,
        items=sorted(visit.findings),
    )
    return messages.hospital_send(
        actor=actor,
        organisation=visit.course.product.manufacturer,
        kind=messages.KIND_FOLLOW_UP,
        body=body,
        event_id=messages.fhir_event_id(body),
    )
