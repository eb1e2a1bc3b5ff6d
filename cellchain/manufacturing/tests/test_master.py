"""The product master documents are read strictly: every refusal names the path of the bad value (P-1-a)."""

from __future__ import annotations

import copy
from decimal import Decimal
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


def without(document: dict[str, Any], *paths: tuple[str, ...]) -> dict[str, Any]:
    copy_ = copy.deepcopy(document)
    for path in paths:
        target = copy_
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return copy_


def test_clinic_keys_are_read_and_optional_so_older_versions_stay_valid() -> None:
    """T-7.8-d, T-7.14-a/c, T-8.2.6-a/b, T-8.2.7-a: coded values for the bedside; absent in older versions."""
    from cellchain.domain.clinical_timing import OvertimeHandling

    info = master.information_from_json(INFORMATION)
    assert info.use_times.overtime_action is OvertimeHandling.REJECT
    assert info.thaw_preparation.thaw_methods == ("water_bath",)
    assert info.administration is not None and info.administration.route == "intravenous"
    assert info.administration.observation is not None and info.administration.observation.seconds == 1800
    older = master.information_from_json(
        without(
            INFORMATION,
            ("use_times", "overtime_action"),
            ("thaw_preparation", "thaw_methods"),
            ("administration",),
        )
    )
    assert older.use_times.overtime_action is None and older.thaw_preparation.thaw_methods == ()
    assert older.administration is None and older.thaw_preparation.dilution_spec is None
    diluted = master.information_from_json(
        mutated(
            INFORMATION,
            ["thaw_preparation", "dilution_spec"],
            {"diluents": ["0.9% NaCl"], "ratio": "1", "tolerance": "0.02"},
        )
    )
    assert diluted.thaw_preparation.dilution_spec is not None
    assert diluted.thaw_preparation.dilution_spec.ratio == Decimal(1)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["use_times", "overtime_action"], "ignore", r"use_times\.overtime_action: 'ignore' is not one of"),
        (["thaw_preparation", "dilution_spec"], {"diluents": [], "ratio": "1"}, r"dilution_spec\.diluents"),
        (["thaw_preparation", "dilution_spec"], {"diluents": ["NaCl"], "ratio": "0"}, r"ratio must be > 0"),
        (["thaw_preparation", "dilution_spec"], {"diluents": ["NaCl"]}, r"dilution_spec\.ratio: required"),
        (["administration", "observation_hours"], "-1", r"administration\.observation_hours"),
        (["administration", "leukocyte_filter_forbidden"], "yes", r"expected true or false"),
        (["administration", "speed"], "fast", r"administration: unknown key\(s\) speed"),
        (
            ["storage_transport", "mkt_formula"],
            "arithmetic",
            r"storage_transport\.mkt_formula: 'arithmetic' is not",
        ),
    ],
)
def test_bad_clinic_key_is_refused_with_its_path(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        master.information_from_json(mutated(INFORMATION, path, value))


def test_the_mkt_formula_is_chosen_per_product_and_defaults_to_time_weighted() -> None:
    """Issue 16: a product version may ask for USP <1079.2>'s equal-weight MKT; older versions stay valid."""
    assert master.information_from_json(INFORMATION).storage_transport.mkt_formula == "time_weighted"
    chosen = master.information_from_json(
        mutated(INFORMATION, ["storage_transport", "mkt_formula"], "equal_weight")
    )
    assert chosen.storage_transport.mkt_formula == "equal_weight"
