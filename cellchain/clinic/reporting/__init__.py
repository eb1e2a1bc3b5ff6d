"""Adverse-event messages the hospital sends the manufacturer: HL7 FHIR R5 AdverseEvent and ICH E2B(R3)
ICSR, pseudonymous (issue 12 item 2, T-7.10, T-7.10-d, T-10.8). Builders here; the manufacturer's parsers
are pure, in cellchain.domain.adverse_event_messages; the identity scanner in cellchain.domain.patient_identity.
"""

from cellchain.clinic.reporting.e2b import adverse_event_e2b
from cellchain.clinic.reporting.fhir import adverse_event_fhir, adverse_event_fhir_json
from cellchain.clinic.reporting.identity import hospital_patient_identifiers
from cellchain.clinic.reporting.schemas import e2b_errors, fhir_errors

__all__ = [
    "adverse_event_e2b",
    "adverse_event_fhir",
    "adverse_event_fhir_json",
    "e2b_errors",
    "fhir_errors",
    "hospital_patient_identifiers",
]
