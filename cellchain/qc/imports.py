"""Import QC results from instrument files through the readers (Q-2.1, Q-2.2, Q-2.3-a, Q-2.4, Q-2.6-b; item 14).

Which reader feeds which test is part of the approved specification (`imports`), so a result can only come
from the instrument of the specification's method (Q-2.1). The file is kept as received with its SHA-256; a
file the reader refuses is reported with the reader's message (file, line or offset, reason) and nothing is
recorded. A qPCR run is used only when its standard curve meets the product's limits (Q-2.3-a).
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
    "fcs": {specs.Assay.CAR_POSITIVE, specs.Assay.PURITY},
    "ddpcr": {specs.Assay.VCN},
    "qpcr": {specs.Assay.VCN, specs.Assay.RCL_RCR, specs.Assay.MYCOPLASMA},
}
"""Which tests each reader can give (a qPCR run quantifies VCN, or detects RCL/RCR and mycoplasma)."""


@dataclass(frozen=True)
class Reading:
    """What a file gave for one test: the value or outcome, the instrument and how it was computed."""

    value: Decimal | None
    instrument: str
    details: dict[str, Any]
    outcome: str = ""


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
    from cellchain.instruments import formats

    # Within the specification's instrument, the reader follows the file's content (issue 16): Vi-CELL BLU
    # CSV or XR TXT/XLSX; NucleoView single measurement or NC-View table export.
    parse = formats.parse_nucleoview_export if reader == "nucleoview" else formats.parse_vicell_export
    export = parse(content, source=name)
    flagged = {f.sample_id: f for f in export.flagged}
    if sample in flagged:
        raise ValidationFailed(
            f"Sample {sample!r} (line {flagged[sample].line}) has no result: {flagged[sample].reason}. "
            "Measure it again; the other samples of the file can be imported.",
            field="sample_name",
        )
    if not sample and export.flagged and len(export.readings) == 1:
        raise ValidationFailed(  # one readable sample left beside flagged ones: never guess which was meant
            f"The file holds {len(export.readings) + len(export.flagged)} samples, "
            f"{len(export.flagged)} without a result: give the sample name.",
            field="sample_name",
        )
    reading = _pick(export.readings, sample, "sample_id")
    details = {
        "sample": reading.sample_id,
        "method": reading.method,
        "stain": reading.stain,
        "viability_basis": reading.viability_basis,
        "viable_cells_per_ml": reading.viable_cells_per_ml,
        "line": reading.line,
    }
    if export.serial_number:
        details["instrument_serial"] = export.serial_number
    if reading.notes:
        details["instrument_notes"] = list(reading.notes)  # kept with the result for the reviewer (ALCOA)
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


def _car_positive(settings: dict[str, Any], content: bytes, name: str, control: bytes | None) -> Reading:
    from cellchain.instruments.fcs import parse_fcs

    spec = gating_spec(settings.get("gating") or {})
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


def _vcn(batch: Batch, settings: dict[str, Any], content: bytes, name: str, well: str) -> Reading:
    from cellchain.instruments.ddpcr import parse_ddpcr

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


def _curve_limits(settings: dict[str, Any]) -> Any:
    from cellchain.domain.qpcr import CurveLimits

    try:
        return CurveLimits(**settings.get("limits", {}), source="product specification")
    except TypeError as error:
        raise ValidationFailed(f"The product's qPCR limits are invalid: {error}.") from None


def _qpcr_quantities(export: Any, target: str, sample: str, settings: dict[str, Any], name: str) -> list[Any]:
    """Quantities of `sample`'s wells from `target`'s standard curve, refused unless the run is accepted."""
    from cellchain.domain.qpcr import QpcrError, evaluate_standard_curve, quantify

    try:
        verdict = evaluate_standard_curve(export.standard_curve(target), _curve_limits(settings))
    except QpcrError as error:
        raise ValidationFailed(f"{name}: {target}: {error}") from None
    if not verdict.accepted:
        raise ValidationFailed(
            f"{name}: the {target} standard curve is not accepted: {'; '.join(verdict.reasons)}."
        )
    wells = [w for w in export.unknowns(target) if w.sample == sample]
    if not wells:
        raise ValidationFailed(f"{name}: no {target} well of sample {sample!r}.", field="sample_name")
    return [(quantify(verdict.curve, sample, w.cq), verdict) for w in wells]


def _qpcr(item: specs.SpecItem, settings: dict[str, Any], content: bytes, name: str, sample: str) -> Reading:
    from cellchain.domain.vcn import vcn_from_concentrations
    from cellchain.instruments.formats import parse_qpcr_export

    if not sample:
        raise ValidationFailed("Give the sample name as written in the run.", field="sample_name")
    export = parse_qpcr_export(content, source=name)  # the qPCR CSV or RDML (issue 16)
    target = _qpcr_quantities(export, settings["target"], sample, settings, name)
    curve = target[0][1].curve
    details: dict[str, Any] = {
        "target": settings["target"],
        "slope": curve.slope,
        "r_squared": curve.r_squared,
        "efficiency": curve.efficiency,
        "wells": [q.reason for q, _ in target],
    }
    if item.assay is not specs.Assay.VCN:
        detected = any(q.quantity is not None for q, _ in target)
        return Reading(None, "qPCR", details, "positive" if detected else "negative")
    reference = _qpcr_quantities(export, settings["reference"], sample, settings, name)
    if not all(q.within_standards for q, _ in target + reference):
        raise ValidationFailed(f"{name}: a {sample} well lies outside the standards; dilute and repeat.")
    mean_t = sum(q.quantity for q, _ in target) / len(target)
    mean_r = sum(q.quantity for q, _ in reference) / len(reference)
    try:
        vcn = vcn_from_concentrations("qPCR", settings["target"], settings["reference"], mean_t, mean_r)
    except VcnError as error:
        raise ValidationFailed(f"{name}: {error}") from None
    details["reference"] = settings["reference"]
    return Reading(_decimal(vcn.copies_per_diploid_cell), "qPCR", details)


def read_file(
    batch: Batch,
    item: specs.SpecItem,
    content: bytes,
    name: str,
    *,
    sample_name: str = "",
    control: bytes | None = None,
) -> Reading:
    """Read one result from an instrument file with the reader the specification names for the test;
    a reader's refusal becomes a ValidationFailed naming the file, line or offset."""
    settings = master.import_settings(batch.product_version.specification).get(item.code)
    if settings is None:
        raise ValidationFailed(
            f"The specification names no instrument file for {item.code}: enter it by hand.",
            field="item_code",
        )
    reader = settings["reader"]
    if item.assay not in READER_ASSAYS[reader]:
        raise ValidationFailed(f"A {reader} file does not give {item.code}.", field="item_code")
    try:
        if reader in ("nucleoview", "vicell"):
            return _cell_count(batch, item, reader, content, name, sample_name)
        if reader == "fcs":
            return _car_positive(settings, content, name, control)
        if reader == "ddpcr":
            return _vcn(batch, settings, content, name, sample_name)
        return _qpcr(item, settings, content, name, sample_name)
    except InstrumentFileError as error:
        raise ValidationFailed(str(error), field="file") from None


@transaction.atomic
def result_import(
    *,
    actor: Any,
    batch: Batch,
    item_code: str,
    content: bytes,
    name: str,
    sample_name: str = "",
    control: bytes | None = None,
    reason: str = "",
) -> QcResult:
    """Read the file with the specification's reader, keep it with its hash, record the result with the
    calculation details (Q-2.1, REGULATORY item 14)."""
    spec = product_definition(batch.product_version).specification
    try:
        item = spec.item(item_code)
    except KeyError:
        raise ValidationFailed(f"No test {item_code!r} in the specification.", field="item_code") from None
    reading = read_file(batch, item, content, name, sample_name=sample_name, control=control)
    reader = master.import_settings(batch.product_version.specification)[item_code]["reader"]
    raw = raw_file_store(actor=actor, name=name, reader=reader, content=content)
    return result_record(
        actor=actor,
        batch=batch,
        item_code=item_code,
        value=reading.value,
        outcome=reading.outcome,
        instrument=reading.instrument,
        details=reading.details,
        raw_file=raw,
        reason=reason,
    )
