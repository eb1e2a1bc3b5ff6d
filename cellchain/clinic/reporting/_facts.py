"""What both adverse-event messages say, read once from the clinic's records (issue 12 item 2, T-7.10-d)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cellchain.clinic.models import AdverseEvent


@dataclass(frozen=True)
class EventFacts:
    """The pseudonymous content of one AE report: no name, MRN, wristband, birth date or free-text label."""

    number: str
    coi: str
    facility_id: str
    manufacturer_code: str
    product_code: str
    product_name: str
    din: str | None
    batch: str | None
    infused_at: dt.datetime | None
    category: str
    event_type: str
    term: str
    grade: int
    grade_reasons: tuple[str, ...]
    description: str
    treatment: str
    onset_at: dt.datetime
    awareness_at: dt.datetime
    serious: bool
    life_threatening: bool
    fatal: bool
    unexpected: bool
    relation: str
    outcome: str
    age_years: int | None
    sender_name: str
    country: str | None


def event_facts(event: AdverseEvent) -> EventFacts:
    """The facts of `event` for a message to the manufacturer (T-7.10-d: batch, unit id, time of use)."""
    course = event.course
    infusion = course.infusions.filter(voided_at__isnull=True).select_related("unit").first()
    unit = infusion.unit if infusion is not None else None
    age = (event.findings or {}).get("age_years")
    return EventFacts(
        number=event.number,
        coi=course.coi,
        facility_id=course.site.facility_id or course.site.code,
        manufacturer_code=course.product.manufacturer.code,
        product_code=course.product.source_product or course.product.code,
        product_name=course.product.name,
        din=unit.unit_id if unit is not None else None,
        batch=(unit.batch_number or None) if unit is not None else None,
        infused_at=infusion.started_at if infusion is not None else None,
        category=event.category,
        event_type=event.event_type,
        term=event.term,
        grade=event.grade,
        grade_reasons=tuple(event.grade_reasons or ()),
        description=event.description,
        treatment=event.treatment,
        onset_at=event.onset_at,
        awareness_at=event.awareness_at,
        serious=event.serious,
        life_threatening=event.life_threatening,
        fatal=event.fatal,
        unexpected=event.unexpected,
        relation=event.relation,
        outcome=event.outcome,
        age_years=age if isinstance(age, int) and not isinstance(age, bool) else None,
        sender_name=course.site.organisation.name,
        country=course.jurisdiction if course.jurisdiction in ("CN", "US") else None,  # EU is no country
    )
