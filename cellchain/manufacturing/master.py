"""The product master as JSON documents, read strictly into domain values (P-1-a, Q-2-a, T-7.4-T-7.15).

A product version stores three documents: `process`, `specification` and `information`. Numbers are strings
(exact decimals), durations are hours, texts the clinic sees are {"zh": ..., "en": ...}. Reading refuses an
unknown key, a missing key or a wrong type with the path of the offending value, so a typo in a definition
cannot slip into an approved version.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from cellchain.core.errors import ValidationFailed
from cellchain.domain.clinical_timing import OvertimeHandling
from cellchain.domain.coldchain import MktFormula
from cellchain.domain.process import (
    Activator,
    DurationLimits,
    FillRequirement,
    HarvestWindow,
    ParameterKind,
    ParameterRange,
    ParameterSpec,
    ProcessTemplate,
    StepKind,
    StepTemplate,
)
from cellchain.domain.product_information import (
    Administration,
    AdverseEventReporting,
    Bilingual,
    CellSource,
    DilutionRequirement,
    DonorType,
    KeyProcess,
    ProductInformation,
    ProductState,
    RiskWarnings,
    StorageTransport,
    TemperatureRange,
    ThawPreparation,
    UseTimes,
)
from cellchain.domain.specification import (
    Assay,
    Method,
    NumericLimit,
    Qualitative,
    QualitativeLimit,
    Specification,
    SpecItem,
)

E = TypeVar("E", bound=StrEnum)


class _Reader:
    """Reads one JSON object, remembering which keys were used, so unknown keys can be refused."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise ValidationFailed(f"{path}: expected an object.", field=path)
        self.data, self.path, self.used = data, path, set[str]()

    def _get(self, key: str, required: bool = True) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise ValidationFailed(f"{self.path}.{key}: required.", field=f"{self.path}.{key}")
            return None
        return self.data[key]

    def text(self, key: str, required: bool = True) -> str:
        value = self._get(key, required)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValidationFailed(f"{self.path}.{key}: expected text.", field=f"{self.path}.{key}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._get(key, required=False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ValidationFailed(f"{self.path}.{key}: expected true or false.", field=f"{self.path}.{key}")
        return value

    def integer(self, key: str, default: int = 0) -> int:
        value = self._get(key, required=False)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValidationFailed(
                f"{self.path}.{key}: expected a whole number ≥ 0.", field=f"{self.path}.{key}"
            )
        return value

    def decimal(self, key: str, required: bool = False) -> Decimal | None:
        value = self._get(key, required)
        if value is None:
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise ValidationFailed(
                f"{self.path}.{key}: {value!r} is not a number.", field=f"{self.path}.{key}"
            )
        return number

    def hours(self, key: str, required: bool = False) -> timedelta | None:
        value = self.decimal(key, required)
        return None if value is None else timedelta(seconds=float(value * 3600))

    def choice(self, key: str, enum: type[E]) -> E:
        value = self.text(key)
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(e.value for e in enum)
            raise ValidationFailed(
                f"{self.path}.{key}: {value!r} is not one of {allowed}.", field=f"{self.path}.{key}"
            ) from None

    def bilingual(self, key: str, required: bool = True) -> Bilingual:
        value = self._get(key, required)
        if value is None:
            return Bilingual("", "")
        return bilingual_of(value, f"{self.path}.{key}")

    def bilinguals(self, key: str) -> tuple[Bilingual, ...]:
        return tuple(bilingual_of(v, f"{self.path}.{key}[{i}]") for i, v in enumerate(self.items(key)))

    def items(self, key: str, required: bool = False) -> list[Any]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValidationFailed(f"{self.path}.{key}: expected a list.", field=f"{self.path}.{key}")
        return value

    def child(self, key: str) -> _Reader:
        return _Reader(self._get(key), f"{self.path}.{key}")

    def stated(self, key: str) -> bool:
        """True when an optional key has a value; absent or null = not stated (the key counts as read)."""
        self.used.add(key)
        return self.data.get(key) is not None

    def temperature(self, key: str) -> TemperatureRange:
        child = self.child(key)
        result = TemperatureRange(child.decimal("min"), child.decimal("max"))
        child.done()
        return result

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ValidationFailed(f"{self.path}: unknown key(s) {', '.join(unknown)}.", field=self.path)


def bilingual_of(value: Any, path: str) -> Bilingual:
    """Read {"zh": ..., "en": ...}."""
    reader = _Reader(value, path)
    result = Bilingual(reader.text("zh", required=False), reader.text("en", required=False))
    reader.done()
    return result


# --------------------------------------------------------------------------- process (P-1-a, P-T2)


def process_from_json(data: Any, product_code: str = "", version: str = "") -> ProcessTemplate:
    """The process template of one product version (P-1-a, P-T2-c..i)."""
    reader = _Reader(data, "process")
    window = None
    if reader.stated("harvest_window"):
        child = reader.child("harvest_window")
        window = HarvestWindow(
            child.choice("anchor", StepKind), child.hours("max_hours", required=True) or timedelta()
        )
        child.done()
    fill = reader.child("fill")
    requirement = FillRequirement(
        fill.integer("retained_units"), fill.integer("qc_units"), fill.integer("min_patient_units", 1)
    )
    fill.done()
    steps = tuple(
        _step(item, f"process.steps[{i}]") for i, item in enumerate(reader.items("steps", required=True))
    )
    reader.decimal("fresh_limit_hours")  # read by `fresh_limit` (P-1.3.1-e); checked here for typos
    template = ProcessTemplate(
        product_code, version, steps, reader.choice("activator", Activator), requirement, window
    )
    reader.done()
    return template


def _step(data: Any, path: str) -> StepTemplate:
    reader = _Reader(data, path)
    duration = None
    if reader.stated("duration_hours"):
        child = reader.child("duration_hours")
        duration = DurationLimits(child.hours("min"), child.hours("max"))
        child.done()
    params = tuple(
        _parameter(item, f"{path}.parameters[{i}]") for i, item in enumerate(reader.items("parameters"))
    )
    step = StepTemplate(
        code=reader.text("code"),
        kind=reader.choice("kind", StepKind),
        title=reader.bilingual("title").en,
        parameters=params,
        duration=duration,
        is_culture=reader.flag("is_culture"),
        removes_beads=reader.flag("removes_beads"),
        signature_required=reader.flag("signature_required"),
        equipment_types=tuple(str(x) for x in reader.items("equipment_types")),
        open_operation=reader.flag("open_operation"),
        allowed_grades=tuple(str(x) for x in reader.items("allowed_grades")),
    )
    reader.done()
    return step


def _parameter(data: Any, path: str) -> ParameterSpec:
    reader = _Reader(data, path)
    kind = reader.choice("kind", ParameterKind)
    low, high, unit = reader.decimal("min"), reader.decimal("max"), reader.text("unit", required=False)
    allowed = ParameterRange(unit, low, high) if kind is ParameterKind.NUMBER else None
    spec = ParameterSpec(
        code=reader.text("code"),
        label=reader.bilingual("label").en,
        kind=kind,
        allowed=allowed,
        choices=tuple(str(x) for x in reader.items("choices")),
        critical=reader.flag("critical"),
        required=reader.flag("required", True),
        justification=reader.text("justification", required=False),
    )
    reader.done()
    return spec


def step_titles(data: Any) -> dict[str, Bilingual]:
    """Step code -> bilingual title, for pages (the domain template keeps the English title only)."""
    return {s["code"]: bilingual_of(s["title"], "title") for s in data.get("steps", [])}


def parameter_labels(data: Any) -> dict[tuple[str, str], Bilingual]:
    """(step, parameter) -> bilingual label and unit text for pages."""
    labels: dict[tuple[str, str], Bilingual] = {}
    for s in data.get("steps", []):
        for p in s.get("parameters", []):
            labels[(s["code"], p["code"])] = bilingual_of(p["label"], "label")
    return labels


# --------------------------------------------------------------------------- specification (Q-2-a)


def specification_from_json(
    data: Any, methods: Mapping[str, Method], product_code: str = "", version: str = ""
) -> Specification:
    """The release specification; every method code must be in the method master (Q-2-a, Q-2-c)."""
    reader = _Reader(data, "specification")
    items = tuple(
        _item(x, f"specification.items[{i}]", methods) for i, x in enumerate(reader.items("items", True))
    )
    spec = Specification(product_code, version, items, reader.flag("rapid_release_allowed"))
    reader.used.add("imports")
    import_settings(data)
    reader.done()
    return spec


def _item(data: Any, path: str, methods: Mapping[str, Method]) -> SpecItem:
    reader = _Reader(data, path)
    method_code = reader.text("method")
    if method_code not in methods:
        raise ValidationFailed(
            f"{path}.method: {method_code!r} is not in the method master.", field=f"{path}.method"
        )
    expected = reader.text("expected", required=False)
    criterion: NumericLimit | QualitativeLimit
    if expected:
        criterion = (
            QualitativeLimit(Qualitative(expected)) if expected in Qualitative else _bad(path, expected)
        )
    else:
        criterion = NumericLimit(
            reader.text("unit", required=False), reader.decimal("min"), reader.decimal("max")
        )
    reader.used.update({"unit", "min", "max", "label"})
    item = SpecItem(
        reader.text("code"),
        reader.choice("assay", Assay),
        methods[method_code],
        criterion,
        reader.flag("blocking", True),
        reader.text("sampling_point", required=False) or "final product",
    )
    if "label" in reader.data:
        bilingual_of(reader.data["label"], f"{path}.label")
    reader.done()
    return item


def _bad(path: str, expected: str) -> QualitativeLimit:
    allowed = ", ".join(q.value for q in Qualitative)
    raise ValidationFailed(
        f"{path}.expected: {expected!r} is not one of {allowed}.", field=f"{path}.expected"
    )


def item_labels(data: Any) -> dict[str, Bilingual]:
    """Specification item code -> bilingual test name for the certificate."""
    return {
        item["code"]: bilingual_of(item["label"], "label")
        if "label" in item
        else Bilingual(item["code"], item["code"])
        for item in data.get("items", [])
    }


IMPORT_READERS = frozenset({"nucleoview", "vicell", "fcs", "ddpcr", "qpcr"})
"""Instrument readers a specification item can be fed from (Q-2.1: one method, one instrument per test)."""


def import_settings(data: Any) -> dict[str, dict[str, Any]]:
    """Item code -> how its result is read from an instrument file: the reader, and its settings (gating
    template for FCS, target/reference for ddPCR and qPCR, qPCR run limits). Q-2.1, Q-2.3-a, Q-2.4."""
    section = data.get("imports") or {}
    if not isinstance(section, dict):
        raise ValidationFailed("specification.imports: expected an object.", field="specification.imports")
    codes = {item.get("code") for item in data.get("items", []) if isinstance(item, dict)}
    for code, settings in section.items():
        path = f"specification.imports.{code}"
        if code not in codes:
            raise ValidationFailed(f"{path}: no test {code!r} in the specification.", field=path)
        if not isinstance(settings, dict) or settings.get("reader") not in IMPORT_READERS:
            allowed = ", ".join(sorted(IMPORT_READERS))
            raise ValidationFailed(f"{path}.reader: must be one of {allowed}.", field=f"{path}.reader")
    return dict(section)


# --------------------------------------------------------------------------- information (T-7.4-T-7.15)


def information_from_json(data: Any) -> ProductInformation:
    """What the clinic is told about the product (T-7.5-T-7.15); the collection date comes from the batch."""
    reader = _Reader(data, "information")
    info = ProductInformation(
        product_name=reader.bilingual("product_name"),
        cell_type=reader.bilingual("cell_type"),
        donor_type=reader.choice("donor_type", DonorType),
        state=reader.choice("state", ProductState),
        shelf_life=reader.hours("shelf_life_hours"),
        storage_transport=_storage(reader.child("storage_transport")),
        use_times=_use_times(reader.child("use_times")),
        risks=_risks(reader.child("risks")),
        ae_reporting=_ae(reader.child("ae_reporting")),
        process_information=reader.bilingual("process_information"),
        cell_source=_cell_source(reader.child("cell_source")),
        key_process=_key_process(reader.child("key_process")),
        thaw_preparation=_thaw(reader.child("thaw_preparation")),
        administration=_administration(reader),
    )
    reader.done()
    return info


def _storage(r: _Reader) -> StorageTransport:
    value = StorageTransport(
        r.temperature("storage_temperature"),
        r.bilingual("storage_mode"),
        r.hours("storage_time_limit_hours"),
        r.temperature("transport_temperature"),
        r.hours("max_transport_hours"),
        tuple(str(x) for x in r.items("containers")),
        r.bilinguals("delivery_acceptance"),
        r.bilingual("anomaly_handling"),
        r.choice("mkt_formula", MktFormula).value
        if r.stated("mkt_formula")
        else MktFormula.TIME_WEIGHTED.value,
    )
    r.done()
    return value


def _use_times(r: _Reader) -> UseTimes:
    value = UseTimes(
        r.hours("after_thaw_hours"),
        r.hours("preparation_hours"),
        r.hours("after_dilution_hours"),
        r.bilingual("overtime_handling"),
        r.text("evidence", required=False),
        r.choice("overtime_action", OvertimeHandling) if r.stated("overtime_action") else None,
    )
    r.done()
    return value


def _risks(r: _Reader) -> RiskWarnings:
    value = RiskWarnings(
        r.bilinguals("adverse_reactions"),
        r.bilinguals("monitoring_indicators"),
        r.bilinguals("contraindications"),
        r.bilinguals("precautions"),
    )
    r.done()
    return value


def _ae(r: _Reader) -> AdverseEventReporting:
    value = AdverseEventReporting(
        r.bilinguals("content"),
        r.hours("time_limit_hours"),
        r.bilingual("route"),
        tuple(str(x) for x in r.items("contacts")),
        r.bilinguals("information_to_supply"),
    )
    r.done()
    return value


def _cell_source(r: _Reader) -> CellSource:
    value = CellSource(
        r.bilingual("tissue"), r.bilingual("collection_principle"), None, r.bilingual("collection_qc_summary")
    )
    r.done()
    return value


def _key_process(r: _Reader) -> KeyProcess:
    value = KeyProcess(
        r.bilingual("expansion_mode"),
        r.bilingual("culture_conditions"),
        r.bilingual("harvest_principle"),
        r.choice("formulation_form", ProductState),
        r.bilingual("cryopreservation_principle", required=False),
    )
    r.done()
    return value


def _thaw(r: _Reader) -> ThawPreparation:
    value = ThawPreparation(
        r.temperature("thaw_temperature"),
        r.bilingual("thaw_method"),
        r.flag("use_immediately", True),
        r.bilingual("further_processing", required=False),
        r.bilingual("dilution", required=False),
        r.bilinguals("pre_infusion_checks"),
        thaw_methods=tuple(str(x) for x in r.items("thaw_methods")),
        dilution_spec=_dilution_spec(r),
    )
    r.done()
    return value


def _dilution_spec(r: _Reader) -> DilutionRequirement | None:
    """Optional coded dilution values (T-7.14-c, T-8.2.5-a/b): allowed diluents, ratio and its tolerance."""
    if not r.stated("dilution_spec"):
        return None
    child = r.child("dilution_spec")
    diluents = tuple(str(x) for x in child.items("diluents", required=True))
    ratio = child.decimal("ratio", required=True)
    tolerance = child.decimal("tolerance") or Decimal(0)
    child.done()
    path = child.path
    if not diluents:
        raise ValidationFailed(f"{path}.diluents: name at least one diluent.", field=f"{path}.diluents")
    if ratio is None or ratio <= 0 or tolerance < 0:
        raise ValidationFailed(f"{path}: the ratio must be > 0 and the tolerance ≥ 0.", field=path)
    return DilutionRequirement(diluents, ratio, tolerance)


def _administration(reader: _Reader) -> Administration | None:
    """Optional section (T-8.2.6-a/b, T-8.2.7-a): route, leukocyte filter, recommended observation."""
    if not reader.stated("administration"):
        return None
    r = reader.child("administration")
    value = Administration(
        r.text("route", required=False),
        r.flag("leukocyte_filter_forbidden") if r.stated("leukocyte_filter_forbidden") else None,
        r.hours("observation_hours"),
    )
    r.done()
    if value.observation is not None and value.observation.total_seconds() < 0:
        path = f"{r.path}.observation_hours"
        raise ValidationFailed(f"{path}: expected a duration ≥ 0.", field=path)
    return value


FRESH_LIMIT_DEFAULT_HOURS = Decimal(48)
"""Reference limit for fresh apheresis before manufacture: generally within 48 h (P-1.3.1-e)."""


def fresh_limit(data: Any) -> timedelta:
    """The product's limit for fresh starting material, default 48 h (P-1.3.1-e)."""
    reader = _Reader(data, "process")
    hours = reader.decimal("fresh_limit_hours") or FRESH_LIMIT_DEFAULT_HOURS
    return timedelta(seconds=float(hours * 3600))
