"""Test helpers: check EPCIS documents with files and clients nobody here wrote (issue 12 item 2).

- the GS1 EPCIS 2.0 JSON schema (/work/shared/standards/epcis/EPCIS-JSON-Schema.json), with formats checked;
- GS1's reference event hash implementation, PyPI ``epcis-event-hash-generator`` 1.9.3 (test dependency only,
  docs/decisions/0018-epcis-event-identity.md), fed each event in a one-event copy of its document.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from cellchain.domain.epcis_hash import document_namespaces, event_hash

STANDARDS = Path(__file__).resolve().parents[3] / ".." / "shared" / "standards" / "epcis"


@functools.cache
def validator() -> Draft7Validator:
    schema = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
    checker = Draft7Validator.FORMAT_CHECKER
    # Without these the format checker silently skips uri/date-time, and the test would prove nothing.
    assert {"uri", "date-time"} <= set(checker.checkers)
    return Draft7Validator(schema, format_checker=checker)


def schema_errors(document: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(document)]


def reference_prehash(document: dict[str, Any], index: int = 0) -> str:
    """The pre-hash string GS1's reference implementation derives for event ``index`` of ``document``."""
    from epcis_event_hash_generator import hash_generator, json_to_py

    event = copy.deepcopy(document["epcisBody"]["eventList"][index])
    single = {**copy.deepcopy(document), "epcisBody": {"eventList": [event]}}
    json_to_py._namespaces.clear()  # the reference keeps prefixes in a module global between calls
    events = json_to_py.event_list_from_epcis_document_json(single)
    (prehash,) = hash_generator.derive_prehashes_from_events(events)  # it drops events it cannot read
    return prehash


def reference_hash(document: dict[str, Any], index: int = 0) -> str:
    from epcis_event_hash_generator import hash_generator

    (value,) = hash_generator.calculate_hashes_from_pre_hashes([reference_prehash(document, index)])
    return value


def assert_valid_and_identified(document: dict[str, Any]) -> None:
    """Schema-valid, and every event's eventID is its hash by our code and by GS1's reference implementation."""
    assert schema_errors(document) == []
    namespaces = document_namespaces(document)
    for index, event in enumerate(document["epcisBody"]["eventList"]):
        ours = event_hash(event, namespaces)
        assert event["eventID"] == ours, f"event {index}: eventID is not the event's hash"
        assert reference_hash(document, index) == ours, (
            f"event {index}: GS1's reference hashes it differently"
        )
