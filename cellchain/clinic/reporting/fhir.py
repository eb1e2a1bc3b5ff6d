"""The hospital's adverse-event report to the manufacturer as an HL7 FHIR R5 AdverseEvent (issue 12 item 2;
T-7.10-d: batch, unit id and time of use; T-10.8).

The subject is a logical reference by the chain-of-identity identifier (COI) only: no name, MRN, wristband,
birth date or screen label. The suspect entity is the product unit, a contained BiologicallyDerivedProduct
identified by its DIN and batch. The grade travels in the CellChain grade extension (FHIR R5 dropped
AdverseEvent.severity); seriousness and outcome use the terminology.hl7.org code systems.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cellchain.clinic.models import AdverseEvent
from cellchain.clinic.reporting._facts import EventFacts, event_facts
from cellchain.domain import adverse_event_messages as m

FHIR_STATUS_DONE = frozenset({"recovered", "sequelae", "fatal"})


def _iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds")


def _note(facts: EventFacts) -> list[dict[str, Any]]:
    notes = [f"Description: {facts.description}"]
    if facts.treatment:
        notes.append(f"Treatment given: {facts.treatment}")
    if facts.grade_reasons:
        notes.append("Grading: " + " | ".join(facts.grade_reasons))
    if facts.infused_at is not None:
        notes.append(f"Infused {_iso(facts.infused_at)}")
    return [{"text": text} for text in notes]


def _suspect(facts: EventFacts) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Contained resources and the suspect entity: the unit by DIN, or before infusion the product by code."""
    causality = {
        "entityRelatedness": {
            "coding": [{"system": m.RELATEDNESS_SYSTEM, "code": facts.relation}],
        }
    }
    product_code = {
        "coding": [{"system": m.PRODUCT_SYSTEM, "code": facts.product_code, "display": facts.product_name}],
        "text": facts.product_name,
    }
    if facts.din is None:
        return [], {"instanceCodeableConcept": product_code, "causality": causality}
    identifiers = [{"system": m.DIN_SYSTEM, "value": facts.din}]
    if facts.batch:
        identifiers.append({"system": m.BATCH_SYSTEM, "value": facts.batch})
    unit = {
        "resourceType": "BiologicallyDerivedProduct",
        "id": "unit",
        "productCode": product_code,
        "identifier": identifiers,
        "biologicalSourceEvent": {"system": m.COI_SYSTEM, "value": facts.coi},
    }
    return [unit], {"instanceReference": {"reference": "#unit"}, "causality": causality}


def adverse_event_fhir(event: AdverseEvent) -> dict[str, Any]:
    """The FHIR R5 AdverseEvent resource (a JSON-ready dict) for `event` (issue 12 item 2, T-7.10-d)."""
    facts = event_facts(event)
    contained, suspect = _suspect(facts)
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": facts.number,
        "extension": [
            {
                "url": m.GRADE_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": m.GRADE_SYSTEMS[facts.category],
                            "code": str(facts.grade),
                            "display": f"Grade {facts.grade}",
                        }
                    ],
                    "text": f"{m.GRADE_SCALES[facts.category]} grade {facts.grade}",
                },
            }
        ],
        "identifier": [{"system": m.AE_NUMBER_SYSTEM, "value": facts.number}],
        "status": "completed" if facts.outcome in FHIR_STATUS_DONE else "in-progress",
        "actuality": "actual",
        "category": [{"coding": [{"system": m.EVENT_TYPE_SYSTEM, "code": facts.event_type}]}],
        "code": {
            "coding": [{"system": m.CATEGORY_SYSTEM, "code": facts.category}],
            "text": facts.term,
        },
        "subject": {"type": "Patient", "identifier": {"system": m.COI_SYSTEM, "value": facts.coi}},
        "occurrenceDateTime": _iso(facts.onset_at),
        "detected": _iso(facts.awareness_at),
        "recordedDate": _iso(facts.awareness_at),
        "seriousness": {
            "coding": [
                {
                    "system": m.SERIOUSNESS_SYSTEM,
                    "code": "serious" if facts.serious else "non-serious",
                    "display": "Serious" if facts.serious else "Non-serious",
                }
            ]
        },
        "outcome": [{"coding": [{"system": m.OUTCOME_SYSTEM, "code": m.FHIR_OUTCOME[facts.outcome]}]}],
        "participant": [
            {
                "function": {"coding": [{"system": m.PARTICIPATION_SYSTEM, "code": m.INFORMANT}]},
                "actor": {
                    "type": "Organization",
                    "identifier": {"system": m.FACILITY_SYSTEM, "value": facts.facility_id},
                    "display": facts.sender_name,
                },
            }
        ],
        "suspectEntity": [suspect],
        "note": _note(facts),
    }
    if contained:
        resource["contained"] = contained
    return resource


def adverse_event_fhir_json(event: AdverseEvent) -> bytes:
    """The AdverseEvent as UTF-8 JSON bytes, keys sorted (what the exchange outbox sends)."""
    return json.dumps(adverse_event_fhir(event), ensure_ascii=False, sort_keys=True).encode("utf-8")
