"""The product master documents are read strictly: every refusal names the path of the bad value (P-1-a)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cellchain.core.errors import ValidationFailed
from cellchain.domain.process import Activator, StepKind
from cellchain.domain.specification import Method, MethodStatus
from cellchain.manufacturing import master
from cellchain.manufacturing.reference_product import INFORMATION, METHODS, PROCESS, SPECIFICATION

CATALOGUE = {
    m["code"]: Method(m["code"], m["name_en"], MethodStatus(m["standing"]), m.get("rapid", False))
    for m in METHODS
}


def test_reference_documents_read_into_domain_values() -> None:
    template = master.process_from_json(PROCESS, "cd19", "1")
    spec = master.specification_from_json(SPECIFICATION, CATALOGUE, "cd19", "1")
    info = master.information_from_json(INFORMATION)
    assert template.activator is Activator.CD3_CD28_BEADS and template.steps[2].kind is StepKind.EXPANSION
    assert spec.item("vcn").criterion.describe() == "≤ 5 copies/cell" and spec.rapid_release_allowed
    assert info.use_times.after_thaw is not None and info.use_times.after_thaw.total_seconds() == 5400
    assert master.fresh_limit(PROCESS).total_seconds() == 48 * 3600


def mutated(document: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    copy_ = copy.deepcopy(document)
    target = copy_
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy_


@pytest.mark.parametrize(
    ("document", "path", "value", "message"),
    [
        ("process", ["activator"], "magnets", r"process\.activator: 'magnets' is not one of"),
        (
            "process",
            ["steps", 0, "parameters", 1, "min"],
            "two",
            r"process\.steps\[0\]\.parameters\[1\]\.min",
        ),
        ("process", ["steps", 0, "colour"], "red", r"process\.steps\[0\]: unknown key\(s\) colour"),
        ("process", ["fill", "retained_units"], -1, r"process\.fill\.retained_units"),
        (
            "specification",
            ["items", 0, "method"],
            "nope",
            r"items\[0\]\.method: 'nope' is not in the method master",
        ),
        ("specification", ["items", 0, "expected"], "fine", r"items\[0\]\.expected: 'fine'"),
        ("specification", ["imports", "ph"], {"reader": "fcs"}, None),
        ("specification", ["imports", "nothing"], {"reader": "fcs"}, r"imports\.nothing: no test"),
        ("specification", ["imports", "vcn", "reader"], "abacus", r"imports\.vcn\.reader: must be one of"),
        ("information", ["donor_type"], "cousin", r"information\.donor_type"),
        ("information", ["storage_transport", "storage_mode"], "LN2", r"storage_mode: expected an object"),
    ],
)
def test_bad_value_is_refused_with_its_path(
    document: str, path: list[Any], value: Any, message: str | None
) -> None:
    readers = {
        "process": lambda d: master.process_from_json(d),
        "specification": lambda d: master.specification_from_json(d, CATALOGUE),
        "information": lambda d: master.information_from_json(d),
    }
    source = {"process": PROCESS, "specification": SPECIFICATION, "information": INFORMATION}[document]
    if message is None:  # accepted by the reader; the import checks the reader against the test later
        readers[document](mutated(source, path, value))
        return
    with pytest.raises(ValidationFailed, match=message):
        readers[document](mutated(source, path, value))
