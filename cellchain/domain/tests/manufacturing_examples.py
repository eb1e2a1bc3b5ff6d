"""Example specification, process template and product information used by the manufacturing/QC tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

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
    AdverseEventReporting,
    BatchFacts,
    Bilingual,
    CellSource,
    DonorSummary,
    DonorType,
    KeyProcess,
    ProductInformation,
    ProductState,
    RiskWarnings,
    ScreeningSummary,
    StorageTransport,
    TemperatureRange,
    ThawPreparation,
    UseTimes,
)
from cellchain.domain.specification import (
    Assay,
    Method,
    MethodStatus,
    NumericLimit,
    QcResult,
    Qualitative,
    QualitativeLimit,
    Specification,
    SpecItem,
    vcn_item,
)

D = Decimal
NEG = QualitativeLimit(Qualitative.NEGATIVE)
CONF = QualitativeLimit(Qualitative.CONFORMS)

COUNTER = Method("AOPI-NC202", "AO/PI count, NucleoCounter NC-202", MethodStatus.VALIDATED)
FLOW = Method("FLOW-CAR", "Flow cytometry, CD19 protein", MethodStatus.VALIDATED)
DDPCR = Method("DDPCR-VCN", "ddPCR VCN", MethodStatus.VALIDATED)
STERILITY_CP = Method("CHP-1101", "Sterility, ChP 1101", MethodStatus.COMPENDIAL)
STERILITY_RAPID = Method("BACT-ALERT", "Rapid sterility, CO2 detection", MethodStatus.VALIDATED, rapid=True)
MYCO_CP = Method("CHP-3301", "Mycoplasma, ChP 3301 culture", MethodStatus.COMPENDIAL)
MYCO_RAPID = Method("MYCO-QPCR", "Rapid mycoplasma, qPCR", MethodStatus.VALIDATED, rapid=True)
ENDOTOXIN = Method("CHP-1143", "Endotoxin, ChP 1143", MethodStatus.COMPENDIAL)
VISUAL = Method("VISUAL", "Visual inspection", MethodStatus.VALIDATED)
PH_METER = Method("CHP-0631", "pH, ChP 0631", MethodStatus.COMPENDIAL)
OSMO = Method("CHP-0632", "Osmolality, ChP 0632", MethodStatus.COMPENDIAL)
KILLING = Method("LDH-KILL", "Target-cell killing", MethodStatus.VALIDATED)
RCL_QPCR = Method("RCL-QPCR", "RCL qPCR", MethodStatus.VALIDATED)
BEADS = Method("BEAD-COUNT", "Residual bead count", MethodStatus.VALIDATED)
IL2_ELISA = Method("IL2-ELISA", "Residual IL-2 ELISA", MethodStatus.VALIDATED)

ITEMS: tuple[SpecItem, ...] = (
    SpecItem("appearance", Assay.APPEARANCE, VISUAL, CONF),
    SpecItem("ph", Assay.PH, PH_METER, NumericLimit("", D("6.5"), D("7.5"))),
    SpecItem("osmolality", Assay.OSMOLALITY, OSMO, NumericLimit("mOsm/kg", D(250), D(400))),
    SpecItem("sterility_rapid", Assay.STERILITY, STERILITY_RAPID, NEG),
    SpecItem("sterility", Assay.STERILITY, STERILITY_CP, NEG),
    SpecItem("mycoplasma_rapid", Assay.MYCOPLASMA, MYCO_RAPID, NEG),
    SpecItem("mycoplasma", Assay.MYCOPLASMA, MYCO_CP, NEG),
    SpecItem("endotoxin", Assay.ENDOTOXIN, ENDOTOXIN, NumericLimit("EU/mL", maximum=D("0.5"))),
    SpecItem("viability", Assay.VIABILITY, COUNTER, NumericLimit("%", minimum=D(70))),
    SpecItem("viable_cells", Assay.CELL_COUNT, COUNTER, NumericLimit("cells", D("1E8"), D("5E8"))),
    SpecItem("car_positive", Assay.CAR_POSITIVE, FLOW, NumericLimit("%", minimum=D(20))),
    vcn_item("vcn", DDPCR),
    SpecItem("cd3", Assay.PURITY, FLOW, NumericLimit("%", minimum=D(90))),
    SpecItem("potency", Assay.POTENCY, KILLING, NumericLimit("%", minimum=D(20))),
    SpecItem("rcl", Assay.RCL_RCR, RCL_QPCR, NEG),
    SpecItem("bead_residue", Assay.BEAD_RESIDUE, BEADS, NumericLimit("beads/3E6 cells", maximum=D(100))),
    SpecItem(
        "il2_residue",
        Assay.CYTOKINE_RESIDUE,
        IL2_ELISA,
        NumericLimit("pg/mL", maximum=D(50)),
        release_blocking=False,
    ),
)

SPEC = Specification("CD19-CART", "3", ITEMS, rapid_release_allowed=True)

PASSING_VALUES: dict[str, Decimal | Qualitative] = {
    "appearance": Qualitative.CONFORMS,
    "ph": D("7.1"),
    "osmolality": D(300),
    "sterility_rapid": Qualitative.NEGATIVE,
    "sterility": Qualitative.NEGATIVE,
    "mycoplasma_rapid": Qualitative.NEGATIVE,
    "mycoplasma": Qualitative.NEGATIVE,
    "endotoxin": D("0.1"),
    "viability": D("92.4"),
    "viable_cells": D("2.5E8"),
    "car_positive": D("41.2"),
    "vcn": D("2.1"),
    "cd3": D("97.5"),
    "potency": D(55),
    "rcl": Qualitative.NEGATIVE,
    "bead_residue": D(3),
    "il2_residue": D(10),
}


def result(
    code: str, value: Decimal | Qualitative, *, by: str = "analyst_zhao", amended: bool = False
) -> QcResult:
    """A final result for `code` by the specification's own method."""
    method = SPEC.item(code).method
    if isinstance(value, Qualitative):
        return QcResult(code, method, outcome=value, performed_by=by, amended=amended)
    return QcResult(code, method, value=value, performed_by=by, amended=amended)


def passing_results() -> dict[str, QcResult]:
    return {code: result(code, value) for code, value in PASSING_VALUES.items()}


T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def step(code: str, kind: StepKind, *params: ParameterSpec, **kw: object) -> StepTemplate:
    return StepTemplate(code, kind, code.replace("_", " "), tuple(params), **kw)


SEEDING_DENSITY = ParameterSpec(
    "seeding_density",
    "Seeding density",
    ParameterKind.NUMBER,
    ParameterRange("cells/mL", D("0.5E6"), D("2E6")),
    critical=True,
    justification="PV-2025-04",
)
TEMPERATURE = ParameterSpec(
    "temperature", "Incubator temperature", allowed=ParameterRange("°C", D("36.5"), D("37.5"))
)
ACTIVATOR_LOT = ParameterSpec("activator_lot", "Activator lot", ParameterKind.TEXT)
VECTOR_MOI = ParameterSpec(
    "moi", "MOI", allowed=ParameterRange("", D(1), D(5)), critical=True, justification="PV-7"
)
MEDIUM = ParameterSpec("medium", "Medium", ParameterKind.CHOICE, choices=("X-VIVO 15", "TexMACS"))

TEMPLATE = ProcessTemplate(
    product_code="CD19-CART",
    version="3",
    steps=(
        step(
            "activation",
            StepKind.THAW_ACTIVATION,
            SEEDING_DENSITY,
            ACTIVATOR_LOT,
            duration=DurationLimits(24 * H, 48 * H),
            equipment_types=("incubator",),
        ),
        step("transduction", StepKind.TRANSDUCTION, VECTOR_MOI),
        step(
            "expansion",
            StepKind.EXPANSION,
            TEMPERATURE,
            MEDIUM,
            duration=DurationLimits(7 * 24 * H, 14 * 24 * H),
            is_culture=True,
        ),
        step("harvest", StepKind.HARVEST, removes_beads=True, signature_required=True),
        step("formulation", StepKind.FORMULATION),
        step("fill", StepKind.FILL_CRYO),
    ),
    activator=Activator.CD3_CD28_BEADS,
    fill=FillRequirement(retained_units=2, qc_units=1),
    harvest_window=HarvestWindow(StepKind.THAW_ACTIVATION, 16 * 24 * H),
)


def bi(text: str) -> Bilingual:
    return Bilingual(f"{text}（中文）", text)


INFO = ProductInformation(
    product_name=Bilingual("CD19 CAR-T 细胞注射液", "CD19 CAR-T cell injection"),
    cell_type=Bilingual("自体 CAR-T 细胞", "autologous CAR-T cells"),
    donor_type=DonorType.AUTOLOGOUS,
    state=ProductState.CRYOPRESERVED,
    shelf_life=timedelta(days=365),
    storage_transport=StorageTransport(
        storage_temperature=TemperatureRange(maximum_c=D(-150)),
        storage_mode=Bilingual("液氮气相", "vapour-phase liquid nitrogen"),
        storage_time_limit=timedelta(days=365),
        transport_temperature=TemperatureRange(maximum_c=D(-150)),
        max_transport_time=timedelta(hours=72),
        containers=("LN2 dry shipper",),
        delivery_acceptance=(bi("temperature record complete"), bi("package intact")),
        anomaly_handling=bi("quarantine and notify the manufacturer"),
    ),
    use_times=UseTimes(timedelta(minutes=90), timedelta(minutes=30), None, bi("do not use"), "STAB-2025-02"),
    risks=RiskWarnings(
        (bi("CRS"), bi("ICANS")), (bi("temperature"), bi("blood pressure")), (), (bi("no shaking"),)
    ),
    ae_reporting=AdverseEventReporting(
        (bi("adverse reactions"), bi("quality anomalies")),
        timedelta(hours=24),
        bi("pharmacovigilance line"),
        ("pv@example.org",),
        (bi("batch number"), bi("infusion time")),
    ),
    process_information=bi("autologous T cells transduced with a lentiviral vector"),
    cell_source=CellSource(bi("peripheral blood"), bi("leukapheresis"), None, bi("aseptic collection")),
    key_process=KeyProcess(
        bi("suspension"),
        bi("37 °C, 5% CO2"),
        bi("centrifugal wash"),
        ProductState.CRYOPRESERVED,
        bi("controlled-rate freezing in DMSO medium"),
    ),
    thaw_preparation=ThawPreparation(
        TemperatureRange(D(36), D(38)),
        bi("water bath"),
        True,
        Bilingual("", ""),
        Bilingual("", ""),
        (bi("bag intact"), bi("label matches")),
    ),
)

BATCH = BatchFacts(
    batch_number="B26-0042",
    manufactured_at=datetime(2026, 3, 14, 9, 0, tzinfo=UTC),
    state=ProductState.CRYOPRESERVED,
    viable_cells=D("2.5E8"),
    concentration=D("5E6"),
    volume_ml=D(50),
    collection_date=date(2026, 3, 1),
)

DONOR = DonorSummary(
    DonorType.AUTOLOGOUS,
    "P-0193",
    (
        ScreeningSummary("HIV-1/2", "negative", date(2026, 2, 20)),
        ScreeningSummary("HBV", "negative", date(2026, 2, 20)),
    ),
)
