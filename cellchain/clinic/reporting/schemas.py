"""Validation of the outgoing adverse-event messages against the published schemas (issue 12 item 2:
"valid against the published schemas"). Where each schema came from: cellchain/clinic/schemas/SOURCES.md.

* FHIR R5: the official ``fhir.schema.json`` of HL7's ``hl7.fhir.r5.core`` 5.0.0 package (JSON Schema
  draft-06), and the ``fhir.resources`` R5 models (pydantic), which also check what the JSON schema does not
  (cardinalities of choice types, primitive formats).
* E2B(R3): the ICH XSDs (``multicacheschemas/MCCI_IN200100UV01.xsd`` and its imports) are used when they are
  put under ``schemas/e2b-r3/``; they could not be obtained on this machine, so today :func:`e2b_errors`
  checks well-formedness, the HL7 v3 namespace and root, and reads the message back with the manufacturer's
  parser. It never claims a schema check it did not do (:func:`e2b_schema_available`).
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

from lxml import etree

from cellchain.domain import adverse_event_messages as m

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
FHIR_SCHEMA = SCHEMAS / "fhir-r5" / "fhir.schema.json.gz"
E2B_XSD = SCHEMAS / "e2b-r3" / "multicacheschemas" / "MCCI_IN200100UV01.xsd"


@functools.cache
def _fhir_schema() -> dict[str, Any]:
    with gzip.open(FHIR_SCHEMA, "rt", encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@functools.cache
def _fhir_validator(resource_type: str) -> Any:
    """The official schema's definition of one resource type (the root's oneOf names only which failed)."""
    import jsonschema

    definitions = _fhir_schema()["definitions"]
    if resource_type not in definitions:
        return None
    return jsonschema.Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def fhir_errors(resource: dict[str, Any] | bytes | str) -> list[str]:
    """Why `resource` is not a valid FHIR R5 resource, per the official JSON schema and the fhir.resources
    R5 model; empty when valid."""
    if isinstance(resource, bytes | str):
        try:
            resource = json.loads(resource)
        except ValueError as exc:
            return [f"not JSON: {exc}"]
    if not isinstance(resource, dict):
        return ["not a JSON object"]
    validator = _fhir_validator(str(resource.get("resourceType")))
    if validator is None:
        return [f"fhir.schema.json: resourceType {resource.get('resourceType')!r} is not a FHIR R5 resource"]
    errors = [
        f"fhir.schema.json: {'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(resource)
    ]
    errors += _model_errors(resource)
    return errors


def _model_errors(resource: dict[str, Any]) -> list[str]:
    from fhir.resources import get_fhir_model_class
    from pydantic import ValidationError

    try:
        model = get_fhir_model_class(str(resource.get("resourceType")))
    except (KeyError, ValueError):
        return [f"fhir.resources: unknown resourceType {resource.get('resourceType')!r}"]
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        return [
            f"fhir.resources: {'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors()
        ]
    return []


def e2b_schema_available() -> bool:
    """True when the official ICH E2B(R3) XSDs have been put under cellchain/clinic/schemas/e2b-r3/."""
    return E2B_XSD.is_file()


@functools.cache
def _e2b_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(E2B_XSD), parser))


def e2b_errors(document: bytes) -> list[str]:
    """Why `document` is not a readable E2B(R3) ICSR: not well-formed, not an HL7 v3 MCCI_IN200100UV01, not
    valid against the ICH XSDs (when present), or not readable by the manufacturer's parser."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    try:
        tree = etree.fromstring(document, parser)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    errors: list[str] = []
    if tree.tag != f"{{{m.HL7}}}MCCI_IN200100UV01":
        errors.append(f"root element is {tree.tag}, not {{{m.HL7}}}MCCI_IN200100UV01")
    if e2b_schema_available():
        schema = _e2b_schema()
        if not schema.validate(tree):
            errors += [f"ICH E2B(R3) XSD: line {e.line}: {e.message}" for e in schema.error_log]
    try:
        m.adverse_event_from_e2b(document)
    except m.AdverseEventMessageError as exc:
        errors.append(f"not readable as a CellChain ICSR: {exc}")
    return errors
