"""Adverse-event messages the hospital sends the manufacturer: HL7 FHIR R5 AdverseEvent and ICH E2B(R3) ICSR,
valid against the published schemas, pseudonymous, read back by the manufacturer (issue 12 item 2; T-7.10,
T-7.10-d: batch, unit id, time of use; T-10.8)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from cellchain.clinic import services
from cellchain.clinic.models import AdverseEvent, TreatmentCourse
from cellchain.clinic.reporting import (
    adverse_event_e2b,
    adverse_event_fhir,
    adverse_event_fhir_json,
    e2b_errors,
    fhir_errors,
    hospital_patient_identifiers,
)
from cellchain.clinic.tests.conftest import NOW
from cellchain.domain.adverse_event_messages import adverse_event_from_e2b, adverse_event_from_fhir
from cellchain.domain.patient_identity import patient_identifiers_in

pytestmark = pytest.mark.django_db


def _record(world: Any, course: TreatmentCourse, **overrides: Any) -> AdverseEvent:
    values: dict[str, Any] = {
        "category": "crs",
        "term": "Cytokine release syndrome",
        "description": "Fever 39.2 °C, hypotension needing norepinephrine",
        "onset_at": NOW - dt.timedelta(hours=1),
        "serious": True,
        "relation": "related",
        "findings": {"temperature_c": 39.2, "hypotension": True, "vasopressors": ["norepinephrine"]},
    }
    values.update(overrides)
    return services.adverse_event_record(actor=world["physician_wang"], course=course, **values)


def _assert_sendable(event: AdverseEvent, known: frozenset[str]) -> tuple[bytes, bytes]:
    """Both messages valid, free of patient identity, and read back to the clinic's record."""
    fhir, e2b = adverse_event_fhir_json(event), adverse_event_e2b(event)
    assert fhir_errors(fhir) == [], event.number
    assert e2b_errors(e2b) == [], event.number
    for message in (fhir, e2b):
        assert patient_identifiers_in(message, known=known) == [], event.number
        for value in known:
            assert value.encode("utf-8") not in message, (event.number, value[:1])
    for report in (adverse_event_from_fhir(fhir), adverse_event_from_e2b(e2b)):
        assert (report.number, report.coi, report.term, report.grade) == (
            event.number,
            event.course.coi,
            event.term,
            event.grade,
        )
        assert (report.serious, report.outcome, report.category) == (
            event.serious,
            event.outcome,
            event.category,
        )
        assert report.onset_at == event.onset_at
    return fhir, e2b


def test_every_demo_adverse_event_leaves_as_valid_pseudonymous_fhir_and_e2b() -> None:
    """Issue 12 item 2 ("No field that identifies the patient is ever sent"), T-7.10-d: the whole demo
    (enrolment with names, birth dates, MRNs and wristbands; the clinic's courses), every AE in both forms."""
    from cellchain.core.demo_loader import load_demo
    from cellchain.journeys.models import PatientIdentity

    load_demo()
    events = list(AdverseEvent.objects.select_related("course"))
    assert {e.category for e in events} >= {"crs", "icans"}
    known = hospital_patient_identifiers()
    identities = list(PatientIdentity.objects.all())
    assert identities, "the demo enrols patients with identities"
    for identity in identities:  # the scanner is told the real identifiers, not guesses
        assert {identity.name, identity.birth_date.isoformat(), identity.wristband_id} <= known
        assert identity.hospital_record_number in known
    assert {c.patient_wristband_id for c in TreatmentCourse.objects.all()} <= known
    for event in events:
        fhir, _e2b = _assert_sendable(event, known)
        unit = event.course.infusions.get(voided_at__isnull=True).unit
        report = adverse_event_from_fhir(fhir)
        assert (report.din, report.batch) == (unit.unit_id, unit.batch_number)  # T-7.10-d


def test_a_patients_name_typed_into_the_description_is_caught_before_sending(
    world: Any, course: Any, infusion: Any
) -> None:
    """Free text is where identity leaks: the scanner, told the hospital's identifiers, finds it."""
    event = _record(
        world, course, description=f"Patient {course.patient_wristband_id} febrile, call 13912345678"
    )
    known = hospital_patient_identifiers([course])
    for message in (adverse_event_fhir_json(event), adverse_event_e2b(event)):
        reasons = {f.reason for f in patient_identifiers_in(message, known=known)}
        assert "a phone number" in reasons
        assert any("patient identifier" in r for r in reasons)


def test_fhir_carries_subject_by_coi_unit_by_din_and_the_grade(
    world: Any, course: Any, infusion: Any
) -> None:
    event = _record(world, course)
    resource = adverse_event_fhir(event)
    assert resource["subject"] == {
        "type": "Patient",
        "identifier": {"system": "https://id.cellchain.org/coi", "value": course.coi},
    }
    unit = resource["contained"][0]
    assert unit["resourceType"] == "BiologicallyDerivedProduct"
    assert {i["value"] for i in unit["identifier"]} == {infusion.unit.unit_id, infusion.unit.batch_number}
    assert resource["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == str(event.grade) == "3"
    assert resource["seriousness"]["coding"][0]["code"] == "serious"
    keys = set(json.dumps(resource).split('"'))
    assert not {"name", "birthDate", "telecom", "address"} & keys


def test_a_report_before_infusion_names_the_product_and_no_unit(world: Any, course: Any) -> None:
    """After collection, before infusion (T-10.8): the COI identifies the product; no DIN is invented."""
    event = _record(
        world, course, category="other", term="Hypotension", ctcae_grade=2, findings={}, serious=False
    )
    fhir, e2b = _assert_sendable(event, hospital_patient_identifiers([course]))
    for report in (adverse_event_from_fhir(fhir), adverse_event_from_e2b(e2b)):
        assert (report.din, report.batch, report.grade_scale, report.serious) == (
            None,
            None,
            "CTCAE v5",
            False,
        )


def test_e2b_masks_the_patient_and_sends_an_age_group_not_a_birth_date(
    world: Any, course: Any, infusion: Any
) -> None:
    """E2B(R3) D.1 masked (nullFlavor MSK), D.2.3 age group from the age the ICANS grading recorded."""
    event = _record(
        world,
        course,
        category="icans",
        term="ICANS",
        description="ICE 5/10",
        findings={"ice_score": 5, "consciousness": "awakens_to_voice", "age_years": 67},
    )
    xml = adverse_event_e2b(event).decode()
    assert '<name nullFlavor="MSK"/>' in xml
    assert "birthTime" not in xml and course.patient_wristband_id not in xml
    assert 'code="6" codeSystem="2.16.840.1.113883.3.989.2.1.1.9"' in xml  # elderly
    assert 'code="1" codeSystem="2.16.840.1.113883.3.989.2.1.1.6"' in xml  # C.2.r.4 physician, unnamed
    assert "assignedPerson" not in xml and f"<name>{course.site.organisation.name}</name>" in xml  # C.3.2
    assert adverse_event_from_e2b(xml.encode()).grade == event.grade == 2


def test_validation_reports_a_broken_message(world: Any, course: Any, infusion: Any) -> None:
    """The schema check is real: a mistyped element or a missing subject fails the official FHIR R5 schema and
    the R5 model; a broken E2B is refused (and against the ICH XSD when present). Neither FHIR check knows
    the codes of required bindings (R5's JSON schema types `status` only as a code)."""
    resource = adverse_event_fhir(_record(world, course))
    errors = fhir_errors({**resource, "status": 5, "occurrenceDateTime": "yesterday"})
    assert any(e.startswith("fhir.schema.json: status") for e in errors)
    assert any(e.startswith("fhir.schema.json: occurrenceDateTime") for e in errors)
    assert any(e.startswith("fhir.resources: status") for e in errors)
    missing = fhir_errors({k: v for k, v in resource.items() if k != "subject"})
    assert any("'subject' is a required property" in e for e in missing)
    assert any(e.startswith("fhir.resources: subject") for e in missing)
    assert fhir_errors({**resource, "resourceType": "NoSuchThing"})
    e2b = adverse_event_e2b(AdverseEvent.objects.get())
    assert e2b_errors(e2b[:-40])[0].startswith("not well-formed XML")
    assert any("COI" in e for e in e2b_errors(e2b.replace(course.coi.encode(), b"")))
