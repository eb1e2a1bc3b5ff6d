"""Adverse-event messages from a hospital to a manufacturer, read back on the manufacturer's side (issue 12
item 2: "hospital -> manufacturer: ... adverse events (HL7 FHIR R5 AdverseEvent and ICH E2B(R3) ICSR XML)";
T-7.10, T-7.10-d, T-10.8).

Both messages are pseudonymous: the patient is named only by the chain-of-identity identifier (COI), the
product by its unit (DIN) and batch. The hospital's builders live in ``cellchain.clinic.reporting``; this
module holds the code systems both sides share and the pure parsers the manufacturer uses:

* :func:`adverse_event_from_fhir` — a FHIR R5 ``AdverseEvent`` (JSON text or dict) to
  :class:`AdverseEventReport`;
* :func:`adverse_event_from_e2b` — an ICH E2B(R3) ICSR (``MCCI_IN200100UV01`` batch wrapping one
  ``PORR_IN049016UV`` message) to :class:`AdverseEventReport`.

Bad input raises :class:`AdverseEventMessageError` naming what is wrong and where; never a bare KeyError.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------- shared code systems (FHIR)

CELLCHAIN = "https://id.cellchain.org"
COI_SYSTEM = f"{CELLCHAIN}/coi"
"""FHIR identifier system of the ISBT 128 chain-of-identity identifier (DS 040 form, see domain.identity)."""
DIN_SYSTEM = f"{CELLCHAIN}/din"
"""FHIR identifier system of the ISBT 128 donation identification number of the product unit."""
BATCH_SYSTEM = f"{CELLCHAIN}/batch"
PRODUCT_SYSTEM = f"{CELLCHAIN}/product"
AE_NUMBER_SYSTEM = f"{CELLCHAIN}/adverse-event"
FACILITY_SYSTEM = f"{CELLCHAIN}/facility"
"""FHIR identifier system of the reporting hospital site's facility id (the E2B sender is ``CC-<facility id>``)."""
PARTICIPATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
INFORMANT = "INF"
CATEGORY_SYSTEM = f"{CELLCHAIN}/fhir/CodeSystem/adverse-event-category"
EVENT_TYPE_SYSTEM = f"{CELLCHAIN}/fhir/CodeSystem/adverse-event-type"
RELATEDNESS_SYSTEM = f"{CELLCHAIN}/fhir/CodeSystem/relatedness"
GRADE_EXTENSION = f"{CELLCHAIN}/fhir/StructureDefinition/adverse-event-grade"
"""FHIR R5 has no AdverseEvent.severity any more; the grade travels in this extension (valueCodeableConcept,
code = the grade 0-5, system = the grading scale below)."""
GRADE_SYSTEMS = {
    "crs": f"{CELLCHAIN}/fhir/CodeSystem/astct-2019-crs-grade",
    "icans": f"{CELLCHAIN}/fhir/CodeSystem/astct-2019-icans-grade",
    "other": f"{CELLCHAIN}/fhir/CodeSystem/ctcae-v5-grade",
}
GRADE_SCALES = {"crs": "ASTCT 2019 CRS", "icans": "ASTCT 2019 ICANS", "other": "CTCAE v5"}

SERIOUSNESS_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
OUTCOME_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
FHIR_OUTCOME = {
    "ongoing": "ongoing",
    "recovering": "recovering",
    "recovered": "resolved",
    "sequelae": "resolvedWithSequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}
"""CellChain AdverseEvent.Outcome -> terminology.hl7.org adverse-event-outcome code."""

# --------------------------------------------------------------------------- shared code lists (E2B(R3))

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
E2B_OBSERVATION_CODES = "2.16.840.1.113883.3.989.2.1.1.19"
E2B_REACTION = "29"
E2B_OUTCOME = "27"
E2B_AGE_GROUP = "4"
E2B_SERIOUSNESS = {
    "34": "results_in_death",
    "21": "life_threatening",
    "33": "hospitalisation",
    "35": "disability",
    "12": "congenital_anomaly",
    "26": "other_medically_important",
}
"""E.i.3.2a-f seriousness criteria: observation code -> meaning (value BL)."""
E2B_OUTCOME_CODES = "2.16.840.1.113883.3.989.2.1.1.11"
E2B_OUTCOME_VALUES = {
    "recovered": "1",
    "recovering": "2",
    "ongoing": "3",
    "sequelae": "4",
    "fatal": "5",
    "unknown": "0",
}
"""CellChain AdverseEvent.Outcome -> E.i.7 outcome code."""
E2B_AGE_GROUP_CODES = "2.16.840.1.113883.3.989.2.1.1.9"
E2B_CASE_ID_ROOT = "2.16.840.1.113883.3.989.2.1.3.1"
E2B_WORLDWIDE_ID_ROOT = "2.16.840.1.113883.3.989.2.1.3.2"
E2B_COI_ROOT = "2.16.840.1.113883.3.989.2.1.3.10"
"""D.1.1.4 patient record number of the investigation: the COI, the journey's pseudonym, goes there (never
the hospital's MRN, D.1.1.3)."""
E2B_RECORD_SOURCE_CODES = "2.16.840.1.113883.3.989.2.1.1.4"
E2B_DIN_ROOT = "0F0E3A21-C346-51BC-AA48-437D00BB1813"
"""II root of the unit's DIN (an HL7 v3 root is an OID or UUID: uuid5(URL, DIN_SYSTEM))."""
E2B_PRODUCT_CODE_SYSTEM = "88CB9275-9253-586F-9B41-72EEF86DD760"
"""Code system of CellChain product codes in kindOfProduct/code (uuid5(URL, PRODUCT_SYSTEM))."""
GRADE_IN_TERM = re.compile(r"^(?P<term>.+?), grade (?P<grade>[0-5]) \((?P<scale>[^)]+)\)$")
"""E2B(R3) has no grade element: the reaction as reported (E.i.1.1a) carries it as "<term>, grade N (scale)"."""

OUTCOMES = frozenset(FHIR_OUTCOME)


class AdverseEventMessageError(ValueError):
    """A received adverse-event message that cannot be read: says what is wrong and where."""


@dataclass(frozen=True)
class AdverseEventReport:
    """What the manufacturer keeps of a hospital's adverse-event report (T-7.10-d): pseudonymous."""

    number: str
    coi: str
    din: str | None
    batch: str | None
    term: str
    category: str
    grade: int
    grade_scale: str
    serious: bool
    onset_at: dt.datetime
    outcome: str
    fatal: bool = False
    life_threatening: bool = False
    awareness_at: dt.datetime | None = None
    """When the hospital learnt of the event (FHIR ``detected``; E2B C.1.4 first received), when stated."""
    reporter_site: str | None = None
    """The reporting site's facility id (FHIR informant participant; E2B sender ``CC-<facility id>``)."""


# --------------------------------------------------------------------------- FHIR


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    value = mapping.get(key)
    if value in (None, "", [], {}):
        raise AdverseEventMessageError(
            f"{where}.{key} is missing; a CellChain adverse-event report needs it."
        )
    return value


def _codings(concept: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(concept, Mapping):
        raise AdverseEventMessageError(f"{where} is not a CodeableConcept object.")
    codings = concept.get("coding") or []
    if not isinstance(codings, list):
        raise AdverseEventMessageError(f"{where}.coding is not a list.")
    return [c for c in codings if isinstance(c, Mapping)]


def _code_in(concept: Any, system: str, where: str) -> str | None:
    for coding in _codings(concept, where):
        if coding.get("system") == system and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def _identifier(reference_or_resource: Mapping[str, Any], system: str) -> str | None:
    found = reference_or_resource.get("identifier")
    items = found if isinstance(found, list) else [found] if isinstance(found, Mapping) else []
    for item in items:
        if isinstance(item, Mapping) and item.get("system") == system and item.get("value"):
            return str(item["value"])
    return None


def _datetime(text: Any, where: str) -> dt.datetime:
    if not isinstance(text, str):
        raise AdverseEventMessageError(f"{where} is not a date-time string.")
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AdverseEventMessageError(f"{where}: {text!r} is not an ISO 8601 date-time.") from None
    if value.tzinfo is None:
        raise AdverseEventMessageError(f"{where}: {text!r} has no time zone.")
    return value


def adverse_event_from_fhir(document: str | bytes | Mapping[str, Any]) -> AdverseEventReport:
    """Read a CellChain hospital's FHIR R5 AdverseEvent (issue 12 item 2, T-7.10-d) into an
    :class:`AdverseEventReport`: subject by COI, suspect entity by DIN and batch, term, grade extension,
    seriousness, onset and outcome."""
    if isinstance(document, bytes | str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise AdverseEventMessageError(f"The FHIR message is not JSON: {exc}.") from None
    if not isinstance(document, Mapping):
        raise AdverseEventMessageError("The FHIR message is not a JSON object.")
    if document.get("resourceType") != "AdverseEvent":
        raise AdverseEventMessageError(
            f"resourceType is {document.get('resourceType')!r}; expected 'AdverseEvent'."
        )
    number = _identifier(document, AE_NUMBER_SYSTEM)
    if number is None:
        raise AdverseEventMessageError(f"AdverseEvent.identifier has no value of system {AE_NUMBER_SYSTEM}.")
    subject = _require(document, "subject", "AdverseEvent")
    if not isinstance(subject, Mapping) or (coi := _identifier(subject, COI_SYSTEM)) is None:
        raise AdverseEventMessageError(
            f"AdverseEvent.subject carries no identifier of system {COI_SYSTEM}: the patient's COI is needed."
        )
    code = _require(document, "code", "AdverseEvent")
    term = code.get("text") if isinstance(code, Mapping) else None
    if not isinstance(term, str) or not term.strip():
        raise AdverseEventMessageError("AdverseEvent.code.text (the event term) is missing.")
    category = _code_in(code, CATEGORY_SYSTEM, "AdverseEvent.code")
    if category not in GRADE_SYSTEMS:
        raise AdverseEventMessageError(
            f"AdverseEvent.code has no coding of system {CATEGORY_SYSTEM} with one of {sorted(GRADE_SYSTEMS)}."
        )
    grade = None
    for extension in document.get("extension") or []:
        if isinstance(extension, Mapping) and extension.get("url") == GRADE_EXTENSION:
            grade = _code_in(
                extension.get("valueCodeableConcept"), GRADE_SYSTEMS[category], "grade extension"
            )
    if grade is None or not grade.isdigit() or int(grade) > 5:
        raise AdverseEventMessageError(
            f"AdverseEvent.extension {GRADE_EXTENSION} has no grade 0-5 of system {GRADE_SYSTEMS[category]}."
        )
    seriousness = _code_in(
        _require(document, "seriousness", "AdverseEvent"), SERIOUSNESS_SYSTEM, "seriousness"
    )
    if seriousness not in ("serious", "non-serious"):
        raise AdverseEventMessageError(
            f"AdverseEvent.seriousness has no code 'serious' or 'non-serious' of system {SERIOUSNESS_SYSTEM}."
        )
    outcomes = document.get("outcome") or []
    fhir_outcome = next(
        (code for o in outcomes if (code := _code_in(o, OUTCOME_SYSTEM, "AdverseEvent.outcome")) is not None),
        None,
    )
    outcome = {v: k for k, v in FHIR_OUTCOME.items()}.get(fhir_outcome or "")
    if outcome is None:
        raise AdverseEventMessageError(
            f"AdverseEvent.outcome has no code of system {OUTCOME_SYSTEM} among {sorted(FHIR_OUTCOME.values())}."
        )
    onset = _datetime(
        _require(document, "occurrenceDateTime", "AdverseEvent"), "AdverseEvent.occurrenceDateTime"
    )
    din, batch = _fhir_suspect(document)
    detected = document.get("detected")
    return AdverseEventReport(
        number=number,
        coi=coi,
        din=din,
        batch=batch,
        term=term.strip(),
        category=category,
        grade=int(grade),
        grade_scale=GRADE_SCALES[category],
        serious=seriousness == "serious",
        onset_at=onset,
        outcome=outcome,
        fatal=outcome == "fatal",
        awareness_at=_datetime(detected, "AdverseEvent.detected") if detected is not None else None,
        reporter_site=_fhir_informant(document),
    )


def _fhir_informant(document: Mapping[str, Any]) -> str | None:
    """The facility id of the participant whose function is informant (INF), if any."""
    for participant in document.get("participant") or []:
        if not isinstance(participant, Mapping):
            continue
        function = participant.get("function")
        actor = participant.get("actor")
        if (
            isinstance(function, Mapping)
            and _code_in(function, PARTICIPATION_SYSTEM, "participant.function") == INFORMANT
            and isinstance(actor, Mapping)
        ):
            return _identifier(actor, FACILITY_SYSTEM)
    return None


def _fhir_suspect(document: Mapping[str, Any]) -> tuple[str | None, str | None]:
    suspects = _require(document, "suspectEntity", "AdverseEvent")
    if not isinstance(suspects, list):
        raise AdverseEventMessageError("AdverseEvent.suspectEntity is not a list.")
    contained = {
        f"#{r.get('id')}": r
        for r in document.get("contained") or []
        if isinstance(r, Mapping) and r.get("id")
    }
    for suspect in suspects:
        reference = suspect.get("instanceReference") if isinstance(suspect, Mapping) else None
        if not isinstance(reference, Mapping):
            continue
        target = contained.get(str(reference.get("reference")), reference)
        din = _identifier(target, DIN_SYSTEM)
        if din is not None:
            return din, _identifier(target, BATCH_SYSTEM)
    return None, None


# --------------------------------------------------------------------------- E2B(R3)


def _q(path: str) -> str:
    """An ElementTree path in the HL7 v3 namespace: 'a/b' -> '{urn:hl7-org:v3}a/{urn:hl7-org:v3}b'."""
    return "/".join(part if part in (".", "..") else f"{{{HL7}}}{part}" for part in path.split("/"))


def _hl7_time(value: str | None, where: str) -> dt.datetime:
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?([+-]\d{4})?", value or "")
    if match is None:
        raise AdverseEventMessageError(f"{where}: {value!r} is not an HL7 TS (YYYYMMDD[HHMM[SS]][+ZZZZ]).")
    year, month, day, hour, minute, second, zone = match.groups()
    if zone is None:
        raise AdverseEventMessageError(f"{where}: {value!r} has no time zone offset.")
    offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * (-1 if zone[0] == "-" else 1)
    try:
        return dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            tzinfo=dt.timezone(offset),
        )  # fmt: skip
    except ValueError:
        raise AdverseEventMessageError(f"{where}: {value!r} is not a real date and time.") from None


def _one(parent: ET.Element, path: str, where: str) -> ET.Element:
    found = parent.find(_q(path))
    if found is None:
        raise AdverseEventMessageError(f"{where}: element {path} is missing.")
    return found


def _observations(role: ET.Element, code: str) -> list[ET.Element]:
    return [
        obs
        for obs in role.findall(_q("subjectOf2/observation"))
        if (c := obs.find(_q("code"))) is not None
        and c.get("code") == code
        and c.get("codeSystem") == E2B_OBSERVATION_CODES
    ]


def adverse_event_from_e2b(document: str | bytes) -> AdverseEventReport:
    """Read a CellChain hospital's ICH E2B(R3) ICSR (MCCI_IN200100UV01 / PORR_IN049016UV; issue 12 item 2,
    T-7.10-d) into an :class:`AdverseEventReport`. One ICSR per batch; the first reaction is the event."""
    if isinstance(document, str):
        document = document.encode("utf-8")
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        raise AdverseEventMessageError("The E2B message has a DOCTYPE or entity declaration; refused.")
    try:
        root = ET.fromstring(document)  # noqa: S314 - no DOCTYPE, so no entity can be declared or fetched
    except ET.ParseError as exc:
        raise AdverseEventMessageError(f"The E2B message is not well-formed XML: {exc}.") from None
    if root.tag != f"{{{HL7}}}MCCI_IN200100UV01":
        raise AdverseEventMessageError(
            f"The root element is {root.tag}; expected {{{HL7}}}MCCI_IN200100UV01."
        )
    messages = root.findall(_q("PORR_IN049016UV"))
    if len(messages) != 1:
        raise AdverseEventMessageError(
            f"The batch holds {len(messages)} PORR_IN049016UV messages; expected 1."
        )
    where = "PORR_IN049016UV"
    case = _one(messages[0], "controlActProcess/subject/investigationEvent", where)
    number = next(
        (i.get("extension") for i in case.findall(_q("id")) if i.get("root") == E2B_CASE_ID_ROOT), None
    )
    if not number:
        raise AdverseEventMessageError(f"investigationEvent: no id with root {E2B_CASE_ID_ROOT} (C.1.1).")
    role = _one(case, "component/adverseEventAssessment/subject1/primaryRole", "investigationEvent")
    coi = next(
        (i.get("extension") for i in role.findall(_q("player1/asIdentifiedEntity/id"))
         if i.get("root") == E2B_COI_ROOT),
        None,
    )  # fmt: skip
    if not coi:
        raise AdverseEventMessageError(
            f"primaryRole/player1: no asIdentifiedEntity id with root {E2B_COI_ROOT} (the patient's COI)."
        )
    reactions = _observations(role, E2B_REACTION)
    if not reactions:
        raise AdverseEventMessageError("primaryRole: no reaction observation (code 29, E.i).")
    reaction = reactions[0]
    reported = reaction.find(_q("value/originalText"))
    match = GRADE_IN_TERM.match((reported.text or "").strip() if reported is not None else "")
    if match is None:
        raise AdverseEventMessageError(
            "reaction value/originalText (E.i.1.1a) is not '<term>, grade N (scale)'; the grade is needed."
        )
    scale = match.group("scale")
    category = {v: k for k, v in GRADE_SCALES.items()}.get(scale)
    if category is None:
        raise AdverseEventMessageError(
            f"reaction grade scale {scale!r} is not one of {sorted(GRADE_SCALES.values())}."
        )
    onset = _hl7_time(_one(reaction, "effectiveTime/low", "reaction").get("value"), "reaction onset (E.i.4)")
    criteria: dict[str, bool] = {}
    outcome = None
    for related in reaction.findall(_q("outboundRelationship2/observation")):
        code_el, value_el = related.find(_q("code")), related.find(_q("value"))
        if code_el is None or value_el is None:
            continue
        code = code_el.get("code") or ""
        if code in E2B_SERIOUSNESS:
            criteria[E2B_SERIOUSNESS[code]] = value_el.get("value") == "true"
        elif code == E2B_OUTCOME:
            outcome = {v: k for k, v in E2B_OUTCOME_VALUES.items()}.get(value_el.get("code") or "")
    if outcome is None:
        raise AdverseEventMessageError(
            "reaction: no outcome observation (code 27, E.i.7) with a known value."
        )
    din, batch = _e2b_product(role)
    first_received = case.find(_q("effectiveTime/low"))
    awareness = (
        _hl7_time(first_received.get("value"), "investigationEvent first received (C.1.4)")
        if first_received is not None
        else None
    )
    sender = messages[0].find(_q("sender/device/id"))
    sender_id = (sender.get("extension") or "") if sender is not None else ""
    return AdverseEventReport(
        number=number,
        coi=coi,
        din=din,
        batch=batch,
        term=match.group("term"),
        category=category,
        grade=int(match.group("grade")),
        grade_scale=scale,
        serious=any(criteria.values()),
        onset_at=onset,
        outcome=outcome,
        fatal=criteria.get("results_in_death", False),
        life_threatening=criteria.get("life_threatening", False),
        awareness_at=awareness,
        reporter_site=sender_id.removeprefix("CC-") or None,
    )


def _e2b_product(role: ET.Element) -> tuple[str | None, str | None]:
    """DIN and batch of the suspect product (G.k.4.r.7 batch/lot; the unit DIN as the instance id)."""
    for instance in role.iter(_q("productInstanceInstance")):
        din = next(
            (i.get("extension") for i in instance.findall(_q("id")) if i.get("root") == E2B_DIN_ROOT), None
        )
        lot = instance.find(_q("lotNumberText"))
        return din, (lot.text or "").strip() or None if lot is not None else None
    return None, None
