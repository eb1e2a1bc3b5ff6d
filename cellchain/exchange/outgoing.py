"""The one check of every outgoing message for patient identity (issue 12 item 2: no field that identifies
the patient is ever sent).

`outgoing_findings(body)` is called by `message_enqueue` for every message before it is written. For now it
is a deny list of keys (names, identity numbers, phone, birth date, MRN, wristband, address) and a pattern
for the mainland China resident identity number anywhere in a value; the integrator points this one function
at the domain's patient-identity scanner.
"""

from __future__ import annotations

import re
from typing import Any

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
    elif isinstance(value, str) and RESIDENT_ID.search(value):
        findings.append(f"{where or 'body'}: the value holds what looks like a resident identity number")


def outgoing_findings(body: dict[str, Any]) -> list[str]:
    """Where `body` carries patient identity, each as "path: why" (empty: nothing found)."""
    findings: list[str] = []
    _walk(body, "", findings)
    return findings
