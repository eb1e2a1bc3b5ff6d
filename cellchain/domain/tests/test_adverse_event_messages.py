"""The manufacturer reads a hospital's adverse-event report: FHIR R5 AdverseEvent and ICH E2B(R3) ICSR back to
one record (issue 12 item 2; T-7.10-d: batch, unit id, pseudonymous patient; T-10.8)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from cellchain.domain.adverse_event_messages import (
    AdverseEventMessageError,
    AdverseEventReport,
    adverse_event_from_e2b,
    adverse_event_from_fhir,
)

DATA = Path(__file__).parent / "data"
FHIR = json.loads((DATA / "adverse_event_fhir_r5.json").read_text(encoding="utf-8"))
E2B = (DATA / "adverse_event_e2b_r3.xml").read_bytes()
"""Both made by cellchain.clinic.reporting from the clinic demo's CRS grade 3 event (journey 0008)."""

EXPECTED = AdverseEventReport(
    number="AE-W2001-2026-0002",
    coi="CHW200126800008",
    din="W123426800008",
    batch="B2026-0008",
    term="Cytokine release syndrome",
    category="crs",
    grade=3,
    grade_scale="ASTCT 2019 CRS",
    serious=True,
    onset_at=dt.datetime(2026, 12, 4, 18, 15, tzinfo=dt.UTC),
    outcome="ongoing",
    awareness_at=dt.datetime(2026, 12, 4, 19, 15, tzinfo=dt.UTC),
)


def test_fhir_adverse_event_reads_back_to_the_report() -> None:
    assert adverse_event_from_fhir(FHIR) == EXPECTED
    assert adverse_event_from_fhir(json.dumps(FHIR).encode()) == EXPECTED


def test_e2b_icsr_reads_back_to_the_same_report() -> None:
    # The sample FHIR resource has no informant participant; the ICSR names its sender CC-W2001 (N.2.r.2).
    expected = dataclasses.replace(EXPECTED, reporter_site="W2001")
    assert adverse_event_from_e2b(E2B) == expected
    assert adverse_event_from_e2b(E2B.decode()) == expected


def _without(path: str) -> dict[str, Any]:
    document = copy.deepcopy(FHIR)
    *parents, last = path.split(".")
    target: Any = document
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    del target[int(last) if last.isdigit() else last]
    return document


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("subject.identifier", "subject carries no identifier of system https://id.cellchain.org/coi"),
        ("identifier", "AdverseEvent.identifier has no value"),
        ("extension", "has no grade 0-5"),
        ("seriousness", "AdverseEvent.seriousness is missing"),
        ("outcome", "AdverseEvent.outcome has no code"),
        ("occurrenceDateTime", "AdverseEvent.occurrenceDateTime is missing"),
        ("code.text", "code.text (the event term) is missing"),
        ("suspectEntity", "AdverseEvent.suspectEntity is missing"),
    ],
)
def test_fhir_missing_parts_are_named(path: str, message: str) -> None:
    with pytest.raises(AdverseEventMessageError, match=re.escape(message)):
        adverse_event_from_fhir(_without(path))


def test_fhir_wrong_kinds_and_values_are_refused_clearly() -> None:
    with pytest.raises(AdverseEventMessageError, match="not JSON"):
        adverse_event_from_fhir(b"{not json")
    with pytest.raises(AdverseEventMessageError, match="expected 'AdverseEvent'"):
        adverse_event_from_fhir({**FHIR, "resourceType": "Patient"})
    with pytest.raises(AdverseEventMessageError, match="has no time zone"):
        adverse_event_from_fhir({**FHIR, "occurrenceDateTime": "2026-12-04T17:58:00"})
    bad_grade = copy.deepcopy(FHIR)
    bad_grade["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = "7"
    with pytest.raises(AdverseEventMessageError, match="no grade 0-5"):
        adverse_event_from_fhir(bad_grade)


def test_fhir_report_before_infusion_has_no_din() -> None:
    document = {**FHIR, "suspectEntity": [{"instanceCodeableConcept": {"text": "CD19 CAR-T"}}]}
    document.pop("contained")
    report = adverse_event_from_fhir(document)
    assert (report.din, report.batch, report.coi) == (None, None, "CHW200126800008")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"<MCCI_IN200100UV01 ", b"<MCCI_IN200100UV02 ", "not well-formed"),
        (b'extension="CHW200126800008"', b'extension=""', "the patient's COI"),
        (b", grade 3 (ASTCT 2019 CRS)", b"", "the grade is needed"),
        (b"(ASTCT 2019 CRS)</originalText>", b"(Made-up scale)</originalText>", "is not one of"),
        (b'<code code="27"', b'<code code="99"', "no outcome observation"),
        (b'<low value="20261204181500+0000"/>', b'<low value="20261204181500"/>', "has no time zone"),
        (b'<code code="29"', b'<code code="30"', "no reaction observation"),
    ],
)
def test_e2b_broken_messages_are_refused_with_what_and_where(old: bytes, new: bytes, message: str) -> None:
    assert old in E2B, old
    with pytest.raises(AdverseEventMessageError, match=re.escape(message)):
        adverse_event_from_e2b(E2B.replace(old, new, 1))


def test_e2b_entity_declarations_are_refused_not_expanded() -> None:
    with pytest.raises(AdverseEventMessageError, match="DOCTYPE or entity"):
        adverse_event_from_e2b(b'<!DOCTYPE a [<!ENTITY e "x">]>' + E2B.split(b"?>", 1)[1])


def test_e2b_seriousness_criteria_and_outcome_codes_are_read() -> None:
    fatal = re.sub(rb'(<code code="34"[^>]*/>\s*<value value=")false', rb"\g<1>true", E2B)
    assert fatal != E2B
    fatal = re.sub(rb'(<code code="27"[^>]*/>\s*<value code=")3"', rb'\g<1>5"', fatal)
    report = adverse_event_from_e2b(fatal)
    assert (report.fatal, report.serious, report.outcome) == (True, True, "fatal")


def test_the_sample_messages_carry_no_patient_identity() -> None:
    """Issue 12 item 2: what the hospital sends passes the outgoing scanner."""
    from cellchain.domain.patient_identity import patient_identifiers_in

    assert patient_identifiers_in(FHIR) == [] and patient_identifiers_in(E2B) == []


def test_fhir_informant_participant_names_the_reporting_site() -> None:
    """Issue 12 item 2: the manufacturer's register keeps the reporting site (the hospital's facility id)."""
    from cellchain.domain import adverse_event_messages as m

    document = json.loads(json.dumps(FHIR))
    document["participant"] = [
        {
            "function": {"coding": [{"system": m.PARTICIPATION_SYSTEM, "code": "AUT"}]},
            "actor": {"identifier": {"system": m.FACILITY_SYSTEM, "value": "NOT-THIS"}},
        },
        {
            "function": {"coding": [{"system": m.PARTICIPATION_SYSTEM, "code": m.INFORMANT}]},
            "actor": {"identifier": {"system": m.FACILITY_SYSTEM, "value": "W2001"}},
        },
    ]
    assert adverse_event_from_fhir(document).reporter_site == "W2001"
    document["detected"] = "2026-12-04T19:15:00"
    with pytest.raises(AdverseEventMessageError, match=r"detected.*no time zone"):
        adverse_event_from_fhir(document)
