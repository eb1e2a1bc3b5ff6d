"""The one check of every outgoing message for patient identity (issue 12 item 2: no field that identifies
the patient is ever sent).

`outgoing_findings(body)` is called by `message_enqueue` for every message before it is written. It joins a deny
list of keys (names, identity numbers, phone, birth date, MRN, wristband, address) with the domain's scanner
(`cellchain.domain.patient_identity`: resident ID numbers with their check digit, phone numbers, e-mail), and at a
hospital installation with every identifying value the hospital holds of its patients, so a name typed into a
free-text field is caught too.
"""

from __future__ import annotations

import re
from typing import Any

from cellchain.core import installation
from cellchain.domain.patient_identity import patient_identifiers_in, without_digests

# Keys compared after lower-casing and removing "_", "-", " " and ".".
DENIED_KEYS = frozenset(
    {
        "patientname",
        "fullname",
        "firstname",
        "lastname",
        "givenname",
        "familyname",
        "surname",
        "given",
        "family",
        "idnumber",
        "identitynumber",
        "nationalid",
        "residentid",
        "idcard",
        "idcardnumber",
        "passport",
        "passportnumber",
        "ssn",
        "phone",
        "phonenumber",
        "telephone",
        "mobile",
        "telecom",
        "birthdate",
        "dateofbirth",
        "dob",
        "mrn",
        "medicalrecordnumber",
        "hospitalnumber",
        "wristband",
        "wristbandid",
        "wristbandcode",
        "address",
        "homeaddress",
        "email",
    }
)
# 18 characters: 6-digit area, birth date 19xx/20xx MMDD, 3-digit sequence, check digit or X (GB 11643-1999).
RESIDENT_ID = re.compile(
    r"(?<!\d)[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)"
)


def _normal(key: str) -> str:
    return re.sub(r"[_\-\s.]", "", key.lower())


def _walk(value: Any, where: str, findings: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if _normal(str(key)) in DENIED_KEYS and item not in (None, "", [], {}):
                findings.append(f"{path}: the field {key!r} may identify a patient and is never sent")
            _walk(item, path, findings)
    elif isinstance(value, list):
        for number, item in enumerate(value):
            _walk(item, f"{where}[{number}]", findings)
    elif isinstance(value, str) and RESIDENT_ID.search(without_digests(value)):
        findings.append(f"{where or 'body'}: the value holds what looks like a resident identity number")


def outgoing_findings(body: dict[str, Any]) -> list[str]:
    """Where `body` carries patient identity, each as "path: why" (empty: nothing found)."""
    findings: list[str] = []
    _walk(body, "", findings)
    seen = {_pointer(finding.split(":", 1)[0]) for finding in findings}
    for finding in patient_identifiers_in(body, known=_known_identifiers()):
        if finding.path not in seen and finding.path != "/":
            seen.add(finding.path)
            findings.append(f"{finding.path}: {finding.reason}")
    return findings


def _pointer(path: str) -> str:
    """Our "a.b[0].c" path as the scanner's JSON pointer "/a/b/0/c", so one place is reported once."""
    return "/" + "/".join(part for part in re.split(r"[.\[\]]+", path) if part)


def _known_identifiers() -> frozenset[str]:
    """The identifying values of this hospital's patients; none at a manufacturer's installation, which holds none."""
    if not installation.is_hospital():
        return frozenset()
    from cellchain.clinic.reporting import hospital_patient_identifiers

    return hospital_patient_identifiers()
