"""Import QC results from instrument files through the readers (Q-2.1, Q-2.2, Q-2.3-a, Q-2.4; item 14).

The file is kept as received with its SHA-256 before it is read; a file the reader refuses is reported with
the reader's message (file, line or offset, reason) and nothing is recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from cellchain.core.errors import ValidationFailed
from cellchain.domain import flow
from cellchain.domain import specification as specs
from cellchain.domain.vcn import VcnError
from cellchain.instruments.errors import InstrumentFileError
from cellchain.manufacturing import master
from cellchain.manufacturing.models import Batch
from cellchain.manufacturing.selectors import product_definition
from cellchain.qc.models import QcResult
from cellchain.qc.services import raw_file_store, result_record

READER_ASSAYS = {
    "nucleoview": {specs.Assay.VIABILITY, specs.Assay.CELL_COUNT},
    "vicell": {specs.Assay.VIABILITY, specs.Assay.CELL_COUNT},
    "fcs": {specs.Assay.CAR_POSITIVE},
    "ddpcr": {specs.Assay.VCN},
}


@dataclass(frozen=True)
class Reading:
    """What a file gave for one test: the value, the instrument and how it was computed."""

    value: Decimal
    instrument: str
    details: dict[str, Any]


def _decimal(value: float) -> Decimal:
    if not math.isfinite(value):
        raise ValidationFailed(f"The file gave a non-finite value ({value}).")
    return Decimal(repr(value)).quantize(Decimal("0.000001"))


def _pick(readings: tuple[Any, ...], name: str, label: str) -> Any:
    if name:
        chosen = [r for r in readings if getattr(r, label) == name]
        if len(chosen) != 1:
            raise ValidationFailed(f"{len(chosen)} readings named {name!r} in the file.", field="sample_name")
        return chosen[0]
    if len(readings) != 1:
        raise ValidationFailed(
            f"The file holds {len(readings)} readings: give the sample name.", field="sample_name"
        )
    return readings[0]


def _cell_count(
    batch: Batch, item: specs.SpecItem, reader: str, content: bytes, name: str, sample: str
) -> Reading:
    from cellchain.instruments import cell_counters

    parse = cell_counters.parse_nucleocounter if reader == "nucleoview" else cell_counters.parse_vicell_blu
    export = parse(content, source=name)
    reading = _pick(export.readings, sample, "sample_id")
    details = {
        "sample": reading.sample_id,
        "method": reading.method,
        "stain": reading.stain,
        "viability_basis": reading.viability_basis,
        "viable_cells_per_ml": reading.viable_cells_per_ml,
        "line": reading.line,
    }
    if item.assay is specs.Assay.VIABILITY:
        return Reading(_decimal(reading.viability_percent), reading.instrument, details)
    fill = getattr(batch, "fill", None)
    if fill is None:
        raise ValidationFailed("The total viable cells need the fill volume: record the fill first.")
    volume = float(fill.patient_units * fill.volume_per_unit_ml)
    details["formulation_volume_ml"] = volume
    return Reading(_decimal(reading.viable_cells_per_ml * volume), reading.instrument, details)


def gating_spec(data: dict[str, Any]) -> flow.GatingSpec:
    """The product's versioned gating template (Q-2.4) from its specification document."""
    try:
        car = data["car"]
        threshold: flow.FixedThreshold | flow.ControlPercentile
        if "threshold" in car:
            threshold = flow.FixedThreshold(float(car["threshold"]))
        else:
            threshold = flow.ControlPercentile(float(car.get("control_percentile", 99.5)))
        return flow.GatingSpec(
            str(data["template"]),
            str(data["version"]),
            flow.SingletGate(**data["singlets"]),
            flow.ViabilityGate(**data["viable"]),
            flow.PositiveGate(**data["cd3"]),
            flow.CarGate(str(car["channel"]), threshold),
            int(data.get("min_cd3_events", 1000)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValidationFailed(f"The product's gating template is incomplete: {error}.") from None


def _car_positive(
    batch: Batch, item: specs.SpecItem, content: bytes, name: str, control: bytes | None
) -> Reading:
    from cellchain.instruments.fcs import parse_fcs

    templates = master.gating_templates(batch.product_version.specification)
    if item.code not in templates:
        raise ValidationFailed(f"The product has no gating template for {item.code}.", field="item_code")
    spec = gating_spec(templates[item.code])
    events = parse_fcs(content, source=name).first.to_flow_events()
    control_events = parse_fcs(control, source="control").first.to_flow_events() if control else None
    try:
        result = flow.car_positive_rate(events, spec, control_events)
    except flow.GatingError as error:
        raise ValidationFailed(f"{name}: {error}") from None
    details = {
        "summary": result.summary(),
        "template": f"{spec.template} v{spec.version}",
        "threshold": result.car_threshold.value,
        "threshold_reason": result.car_threshold.reason,
        "gates": [
            {"gate": g.gate, "events": g.events, "parent_events": g.parent_events, "rule": g.rule}
            for g in result.gates
        ],
    }
    return Reading(_decimal(result.car_positive_percent), "flow cytometer (FCS)", details)


def _vcn(batch: Batch, item: specs.SpecItem, content: bytes, name: str, well: str) -> Reading:
    from cellchain.instruments.ddpcr import parse_ddpcr

    settings = master.ddpcr_settings(batch.product_version.specification).get(item.code)
    if not settings:
        raise ValidationFailed(
            f"The product names no ddPCR target/reference for {item.code}.", field="item_code"
        )
    export = parse_ddpcr(content, source=name)
    if not well:
        raise ValidationFailed("Give the well of the sample (e.g. A01).", field="sample_name")
    fraction = _car_fraction(batch)
    try:
        result = export.vcn(well, settings["target"], settings["reference"], transduced_fraction=fraction)
    except (KeyError, VcnError) as error:
        raise ValidationFailed(f"{name}: {error}") from None
    details = {
        "software": export.software,
        "well": well,
        "target": result.target,
        "reference": result.reference,
        "droplet_volume_nl": result.droplet_volume_nl,
        "copies_per_diploid_cell": result.copies_per_diploid_cell,
        "transduced_fraction": fraction,
        "copies_per_transduced_cell": result.copies_per_transduced_cell,
    }
    return Reading(_decimal(result.copies_per_diploid_cell), export.software, details)


def _car_fraction(batch: Batch) -> float | None:
    """The transduced fraction the VCN per transduced cell divides by: the batch's current CAR+ result."""
    spec = product_definition(batch.product_version).specification
    codes = [i.code for i in spec.items if i.assay is specs.Assay.CAR_POSITIVE]
    row = batch.qc_results.filter(item_code__in=codes, is_current=True, status=QcResult.Status.FINAL).first()
    return float(row.value) / 100 if row is not None and row.value is not None and row.value > 0 else None


def read_file(
    batch: Batch,
    item: specs.SpecItem,
    reader: str,
    content: bytes,
    name: str,
    *,
    sample_name: str = "",
    control: bytes | None = None,
) -> Reading:
    """Read one result from an instrument file; a reader's refusal becomes a ValidationFailed naming the file."""
    if item.assay not in READER_ASSAYS.get(reader, set()):
        raise ValidationFailed(f"A {reader} file does not give {item.code}.", field="reader")
    try:
        if reader in ("nucleoview", "vicell"):
            return _cell_count(batch, item, reader, content, name, sample_name)
        if reader == "fcs":
            return _car_positive(batch, item, content, name, control)
        return _vcn(batch, item, content, name, sample_name)
    except InstrumentFileError as error:
        raise ValidationFailed(str(error), field="file") from None


@transaction.atomic
def result_import(
    *,
    actor: Any,
    batch: Batch,
    item_code: str,
    reader: str,
    content: bytes,
    name: str,
    sample_name: str = "",
    control: bytes | None = None,
    reason: str = "",
) -> QcResult:
    """Store the file, read it, record the result with the raw file and the calculation details."""
    spec = product_definition(batch.product_version).specification
    try:
        item = spec.item(item_code)
    except KeyError:
        raise ValidationFailed(f"No test {item_code!r} in the specification.", field="item_code") from None
    reading = read_file(batch, item, reader, content, name, sample_name=sample_name, control=control)
    raw = raw_file_store(actor=actor, name=name, reader=reader, content=content)
    return result_record(
        actor=actor,
        batch=batch,
        item_code=item_code,
        value=reading.value,
        instrument=reading.instrument,
        details=reading.details,
        raw_file=raw,
        reason=reason,
    )
