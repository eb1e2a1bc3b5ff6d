"""The outgoing patient-identity scanner: what in a message names or carries a patient's identity (issue 12
item 2: "No field that identifies the patient is ever sent (a test scans every outgoing message)").

:func:`patient_identifiers_in` walks a JSON-like value (dicts, lists, strings, numbers) or XML text and reports

* **fields that name identifying data**: keys or XML element/attribute names such as ``name``, ``given``,
  ``family``, ``birthDate``/``birthTime``, ``mrn``, national id, phone, telecom, address, e-mail,
  wristband (matched on the lower-cased name without punctuation, see :data:`IDENTIFYING_FIELDS`). A field
  that carries nothing (null, empty, or an HL7 v3 element with a ``nullFlavor`` and no content, such as
  E2B(R3)'s masked patient name ``<name nullFlavor="MSK"/>``) is not reported: it names no one. A name,
  address or contact field (:data:`THING_FIELDS`) under a product, organisation, device, site or the like
  (:data:`THING_CONTEXTS`, or a JSON object whose ``resourceType`` is one of :data:`THING_RESOURCES`) is the
  thing's own and not reported as a field (its values are still scanned);
* **values that look like identifiers**: a Chinese resident identity number (GB 11643-1999: 17 digits and
  a Mod 11-2 check character, with a valid birth date), a mobile or landline phone number, an international
  ``+`` number, an e-mail address;
* **the hospital's own identifiers** passed in ``known`` (names, MRNs, wristband ids, birth dates, ...):
  found in any string, key, XML text or attribute value, case-insensitively, and for an ISO date also in the
  compact ``YYYYMMDD`` form HL7 v3 uses.

The scanner is pure and never raises on odd input: XML that does not parse is scanned as text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

IDENTIFYING_FIELDS: dict[str, str] = {
    "name": "a name",
    "patientname": "a patient name",
    "fullname": "a name",
    "firstname": "a given name",
    "lastname": "a family name",
    "given": "a given name",
    "family": "a family name",
    "surname": "a family name",
    "initials": "a person's initials",
    "birthdate": "a birth date",
    "birthtime": "a birth date",
    "dateofbirth": "a birth date",
    "dob": "a birth date",
    "mrn": "a medical record number",
    "medicalrecordnumber": "a medical record number",
    "hospitalrecordnumber": "a medical record number",
    "emrref": "a hospital record reference",
    "nationalid": "a national identity number",
    "idcard": "a national identity number",
    "idcardnumber": "a national identity number",
    "residentid": "a national identity number",
    "ssn": "a national identity number",
    "passport": "a passport number",
    "passportnumber": "a passport number",
    "phone": "a phone number",
    "telephone": "a phone number",
    "mobile": "a phone number",
    "telecom": "a phone number or e-mail",
    "email": "an e-mail address",
    "address": "an address",
    "addr": "an address",
    "streetaddressline": "an address",
    "postalcode": "an address",
    "wristband": "a wristband id",
    "wristbandid": "a wristband id",
    "patientwristbandid": "a wristband id",
    "patientlabel": "the hospital's patient label",
}
"""Normalised field names (lower case, letters and digits only) that carry patient identity, with why."""

THING_FIELDS = frozenset(
    {"name", "address", "addr", "streetaddressline", "postalcode", "telecom", "phone", "telephone", "email"}
)
"""Fields that are a thing's or an organisation's own when they sit under one (its name, address, contact)."""

THING_CONTEXTS = frozenset(
    {
        "product",
        "kindofproduct",
        "manufacturedproduct",
        "asmanufacturedproduct",
        "medication",
        "device",
        "organization",
        "organisation",
        "representedorganization",
        "providerorganization",
        "manufacturer",
        "manufacturerorganization",
        "site",
        "facility",
        "location",
        "study",
        "researchstudy",
        "sender",
        "receiver",
        "device1",
    }
)
"""Field names under which ``name`` is the name of a thing or an organisation, not of a person."""

PERSON_CONTEXTS = frozenset(
    {
        "patient",
        "subject",
        "person",
        "player1",
        "relatedperson",
        "guardian",
        "assignedperson",
        "associatedperson",
    }
)
"""Field names under which ``name`` is a person's name again, however deep inside a thing it sits."""

THING_RESOURCES = frozenset(
    {
        "Organization",
        "Device",
        "Medication",
        "BiologicallyDerivedProduct",
        "Location",
        "Substance",
        "ResearchStudy",
        "MedicinalProductDefinition",
        "PackagedProductDefinition",
    }
)
"""FHIR resource types whose ``name`` is a thing's."""

NULL_FLAVOR = "nullflavor"
_NS = re.compile(r"^\{[^}]*\}")


@dataclass(frozen=True)
class Finding:
    """One place in a message that carries or names patient identity: where (a JSON-pointer-like path or an
    XML path) and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _NS.sub("", name).lower())


# --------------------------------------------------------------------------- values


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_RESIDENT_ID = re.compile(r"(?<![0-9])([1-9][0-9]{16}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])0[1-9][0-9]{1,2}[ -][0-9]{7,8}(?![0-9])")
_INTERNATIONAL = re.compile(r"(?<![0-9A-Za-z+])\+[1-9][0-9]{0,2}[ -]?[0-9](?:[ -]?[0-9]){6,12}(?![0-9])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A run of 12 or more hexadecimal characters with at least one letter, standing alone: a digest (an EPCIS
# event hash `ni:///sha-256;<hex>`, a document's SHA-256, a short hash in a file name). Its digits are not a
# phone or identity number, however they fall: `without_digests` blanks such runs before the patterns run
# (issue 12 item 2; decision 0022). An all-digit run is never blanked, so a number written alone still counts.
_DIGEST = re.compile(r"(?<![0-9A-Za-z])(?=[0-9]*[a-fA-F])[0-9a-fA-F]{12,}(?![0-9A-Za-z])")


def without_digests(text: str) -> str:
    """`text` with every stand-alone hexadecimal digest (12+ hex characters, at least one a-f) blanked."""
    return _DIGEST.sub(" ", text)


def resident_id_check_character(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 Mod 11-2) of the first 17 digits of a resident id."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_resident_id(text: str) -> bool:
    """True when `text` is an 18-character Chinese resident identity number with a valid birth date and
    check character (GB 11643-1999)."""
    if len(text) != 18 or not text[:17].isdigit() or text[0] == "0":
        return False
    try:
        born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2100:
        return False
    return resident_id_check_character(text[:17]) == text[17].upper()


@dataclass(frozen=True)
class _Needles:
    known: tuple[tuple[str, str], ...]
    allowed: tuple[str, ...]


def _value_findings(path: str, text: str, known: _Needles) -> Iterator[Finding]:
    folded = text.casefold()
    for needle, shown in known.known:
        if needle in folded:
            yield Finding(path, f"the hospital's patient identifier {shown}")
    for harmless in known.allowed:
        text = text.replace(harmless, " ")
    text = without_digests(text)
    for match in _RESIDENT_ID.finditer(text):
        if is_resident_id(match.group(1)):
            yield Finding(path, "a Chinese resident identity number (GB 11643)")
    if _MOBILE.search(text) or _LANDLINE.search(text) or _INTERNATIONAL.search(text):
        yield Finding(path, "a phone number")
    if _EMAIL.search(text):
        yield Finding(path, "an e-mail address")


def _known_needles(known: Iterable[str], allowed: Iterable[str]) -> _Needles:
    """Each known identifier folded for matching, with the compact form of ISO dates; shown masked."""
    needles: dict[str, str] = {}
    for raw in known:
        value = str(raw).strip()
        if len(value) < 2:
            continue
        shown = f"{value[0]}…({len(value)} characters)"
        needles[value.casefold()] = shown
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            continue
        needles[day.strftime("%Y%m%d")] = shown
    return _Needles(
        tuple(needles.items()), tuple(sorted({a for a in allowed if a.strip()}, key=len, reverse=True))
    )


# --------------------------------------------------------------------------- fields


def _field_reason(name: str, context: str) -> str | None:
    """Why the field `name` names identifying data, or None; `context` is the nearest thing/person marker."""
    key = _normalise(name)
    reason = IDENTIFYING_FIELDS.get(key)
    if reason is None:
        return None
    if key in THING_FIELDS and context == "thing":
        return None
    return f"field {name!r} names {reason}"


def _context_after(name: str, context: str) -> str:
    key = _normalise(name)
    if key in PERSON_CONTEXTS:
        return "person"
    if key in THING_CONTEXTS:
        return "thing"
    return context


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping):
        return all(_is_empty(v) for k, v in value.items() if _normalise(str(k)) != NULL_FLAVOR)
    if isinstance(value, list | tuple):
        return all(_is_empty(v) for v in value)
    return False


def _walk_json(value: Any, path: str, context: str, known: _Needles, out: list[Finding]) -> None:
    if isinstance(value, Mapping):
        resource = value.get("resourceType")
        if isinstance(resource, str):
            context = "thing" if resource in THING_RESOURCES else "person"
        for key, child in value.items():
            name = str(key)
            child_path = f"{path}/{name}"
            reason = _field_reason(name, context)
            if reason is not None and not _is_empty(child):
                out.append(Finding(child_path, reason))
            out.extend(_value_findings(child_path + " (key)", name, known))
            _walk_json(child, child_path, _context_after(name, context), known, out)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            _walk_json(child, f"{path}/{index}", context, known, out)
    elif isinstance(value, str):
        out.extend(_value_findings(path or "/", value, known))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out.extend(_value_findings(path or "/", str(value), known))


def _element_empty(element: ET.Element) -> bool:
    """No text, no children, no attribute but nullFlavor (and xsi:type): names nothing. A bare coded value
    (``<name code="1" codeSystem="..."/>``, e.g. the E2B(R3) batch type N.1.1) is a code, not a name."""
    if (element.text or "").strip() or len(element):
        return False
    attributes = {_normalise(attr) for attr in element.attrib}
    return attributes <= {NULL_FLAVOR, "type"} or "code" in attributes


def _walk_xml(element: ET.Element, path: str, context: str, known: _Needles, out: list[Finding]) -> None:
    tag = _NS.sub("", element.tag) if isinstance(element.tag, str) else "?"
    here = f"{path}/{tag}"
    reason = _field_reason(tag, context)
    if reason is not None and not _element_empty(element):
        out.append(Finding(here, reason))
    inner = _context_after(tag, context)
    for attr, value in element.attrib.items():
        attr_name = _NS.sub("", attr)
        attr_reason = _field_reason(attr_name, inner)
        if attr_reason is not None and value.strip():
            out.append(Finding(f"{here}/@{attr_name}", attr_reason))
        out.extend(_value_findings(f"{here}/@{attr_name}", value, known))
    if element.text and element.text.strip():
        out.extend(_value_findings(here, element.text, known))
    for child in element:
        _walk_xml(child, here, inner, known, out)
        if child.tail and child.tail.strip():
            out.extend(_value_findings(here, child.tail, known))


def _parse_xml(text: str) -> ET.Element | None:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        return None  # never expand entities: scanned as text instead
    try:
        return ET.fromstring(text)  # noqa: S314 - no DOCTYPE, so no entity can be declared or fetched
    except ET.ParseError:
        return None


def patient_identifiers_in(
    document: Any, *, known: Iterable[str] = (), allowed: Iterable[str] = ()
) -> list[Finding]:
    """Every place in `document` (a JSON-like value, JSON text, XML text or bytes) that names or carries
    patient identity, in document order; empty when the message may leave the hospital (issue 12 item 2).

    `known` are the hospital's actual identifiers of its patients (names, MRNs, wristband ids, birth dates,
    national ids, ...): any occurrence of one, even inside free text, is a finding. Findings show a known
    value only by its first character and length, so the report itself leaks nothing.

    `allowed` are values known not to be a patient's (the sending organisation's own phone number or
    e-mail address, say): they are not reported as phone numbers or e-mail addresses. A known patient
    identifier is reported even inside an allowed value.
    """
    needles = _known_needles(known, allowed)
    out: list[Finding] = []
    if isinstance(document, bytes | bytearray):
        document = bytes(document).decode("utf-8", errors="replace")
    if isinstance(document, str):
        stripped = document.lstrip("\ufeff \t\r\n")
        if stripped.startswith("<"):
            root = _parse_xml(stripped)
            if root is not None:
                _walk_xml(root, "", "none", needles, out)
                return out
        elif stripped[:1] in ("{", "["):
            try:
                parsed = json.loads(stripped)
            except ValueError:
                parsed = None
            if parsed is not None:
                _walk_json(parsed, "", "none", needles, out)
                return out
        out.extend(_value_findings("/", document, needles))
        return out
    _walk_json(document, "", "none", needles, out)
    return out
