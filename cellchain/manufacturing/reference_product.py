"""A worked CD19 CAR-T product definition used by the demo and the tests.

The numbers are the manufacturer's (a demo manufacturer): the review gives only reference values (activation
24-48 h, expansion 7-14 days, VCN <= 5 copies/cell, fresh apheresis within 48 h), which this definition uses
where it can. Everything else is an example a QA person would replace with the product's validated values.
"""

from __future__ import annotations

from typing import Any

METHODS: list[dict[str, Any]] = [
    {"code": "visual", "name_zh": "目视检查", "name_en": "Visual inspection", "standing": "validated"},
    {
        "code": "chp-0631-ph",
        "name_zh": "pH 值测定法（药典 0631）",
        "name_en": "pH (ChP 0631)",
        "standing": "compendial",
    },
    {
        "code": "chp-0632-osmo",
        "name_zh": "渗透压摩尔浓度测定法（药典 0632）",
        "name_en": "Osmolality (ChP 0632)",
        "standing": "compendial",
    },
    {
        "code": "chp-1101-sterility",
        "name_zh": "无菌检查法（药典 1101）",
        "name_en": "Sterility (ChP 1101)",
        "standing": "compendial",
    },
    {
        "code": "rapid-sterility",
        "name_zh": "快速无菌检查（全自动微生物检测）",
        "name_en": "Rapid sterility (CO2 detection)",
        "standing": "validated",
        "rapid": True,
        "instrument": "BacT/ALERT 3D",
    },
    {
        "code": "chp-3301-myco",
        "name_zh": "支原体检查法（药典 3301）",
        "name_en": "Mycoplasma (ChP 3301)",
        "standing": "compendial",
    },
    {
        "code": "myco-qpcr",
        "name_zh": "快速支原体检测（qPCR）",
        "name_en": "Rapid mycoplasma (qPCR)",
        "standing": "validated",
        "rapid": True,
    },
    {
        "code": "chp-1143-endotoxin",
        "name_zh": "细菌内毒素检查法（药典 1143）",
        "name_en": "Endotoxin (ChP 1143)",
        "standing": "compendial",
    },
    {
        "code": "aodapi-nc202",
        "name_zh": "AO/DAPI 荧光计数（NC-202）",
        "name_en": "AO/DAPI count (NucleoCounter NC-202)",
        "standing": "validated",
        "instrument": "NucleoCounter NC-202",
        "stain": "AO/DAPI",
    },
    {
        "code": "trypan-vicell",
        "name_zh": "台盼蓝计数（Vi-CELL BLU）",
        "name_en": "Trypan blue count (Vi-CELL BLU)",
        "standing": "validated",
        "instrument": "Vi-CELL BLU",
        "stain": "trypan blue",
    },
    {
        "code": "flow-car",
        "name_zh": "流式细胞术 CAR 阳性率",
        "name_en": "Flow cytometry CAR+ (CD19 protein)",
        "standing": "validated",
        "stain": "CD19-Fc protein",
    },
    {
        "code": "flow-purity",
        "name_zh": "流式细胞术 CD3 纯度",
        "name_en": "Flow cytometry CD3 purity",
        "standing": "validated",
    },
    {
        "code": "ddpcr-vcn",
        "name_zh": "ddPCR 载体拷贝数",
        "name_en": "ddPCR vector copy number",
        "standing": "validated",
        "instrument": "QX200",
    },
    {
        "code": "ldh-killing",
        "name_zh": "靶细胞杀伤（LDH）",
        "name_en": "Target-cell killing (LDH)",
        "standing": "validated",
    },
    {"code": "rcl-qpcr", "name_zh": "RCL qPCR", "name_en": "RCL qPCR", "standing": "validated"},
    {
        "code": "bead-count",
        "name_zh": "残留磁珠计数",
        "name_en": "Residual bead count",
        "standing": "validated",
    },
    {
        "code": "il2-elisa",
        "name_zh": "残留 IL-2（ELISA）",
        "name_en": "Residual IL-2 (ELISA)",
        "standing": "validated",
    },
]


def _bi(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def _num(
    code: str, zh: str, en: str, unit: str, low: str | None, high: str | None, **extra: Any
) -> dict[str, Any]:
    return {
        "code": code,
        "label": _bi(zh, en),
        "kind": "number",
        "unit": unit,
        "min": low,
        "max": high,
        **extra,
    }


PROCESS: dict[str, Any] = {
    "activator": "cd3_cd28_beads",
    "fresh_limit_hours": "48",
    "harvest_window": {"anchor": "thaw_activation", "max_hours": "384"},
    "fill": {"retained_units": 1, "qc_units": 1, "min_patient_units": 1},
    "steps": [
        {
            "code": "activation",
            "kind": "thaw_activation",
            "title": _bi("激活", "Activation"),
            "duration_hours": {"min": "24", "max": "48"},
            "equipment_types": ["biosafety_cabinet"],
            "parameters": [
                _num(
                    "viable_cells_in",
                    "激活前活细胞数",
                    "Viable cells before activation",
                    "cells",
                    "5E7",
                    None,
                ),
                _num(
                    "bead_ratio",
                    "磁珠:细胞比例",
                    "Bead to cell ratio",
                    ":1",
                    "2.5",
                    "3.5",
                    critical=True,
                    justification="PV-2025-04 §5.2",
                ),
                {"code": "activator_lot", "label": _bi("激活磁珠批号", "Activator lot"), "kind": "text"},
            ],
        },
        {
            "code": "transduction",
            "kind": "transduction",
            "title": _bi("转导", "Transduction"),
            "parameters": [
                _num(
                    "moi", "感染复数 MOI", "MOI", "", "2", "5", critical=True, justification="PV-2025-04 §6.1"
                ),
                {"code": "vector_lot", "label": _bi("载体批号", "Vector lot"), "kind": "text"},
            ],
        },
        {
            "code": "expansion",
            "kind": "expansion",
            "title": _bi("扩增培养", "Expansion"),
            "is_culture": True,
            "duration_hours": {"min": "168", "max": "336"},
            "equipment_types": ["incubator"],
            "parameters": [
                _num(
                    "temperature",
                    "培养温度",
                    "Culture temperature",
                    "°C",
                    "36.5",
                    "37.5",
                    critical=True,
                    justification="PV-2025-04 §7",
                ),
                _num("co2", "CO2 浓度", "CO2", "%", "4.5", "5.5"),
                {
                    "code": "medium",
                    "label": _bi("培养基", "Medium"),
                    "kind": "choice",
                    "choices": ["X-VIVO 15", "TexMACS"],
                },
            ],
        },
        {
            "code": "harvest",
            "kind": "harvest",
            "title": _bi("收获洗涤（去磁珠）", "Harvest, bead removal and wash"),
            "removes_beads": True,
            "signature_required": True,
            "parameters": [_num("wash_cycles", "洗涤次数", "Wash cycles", "", "2", "4")],
        },
        {
            "code": "formulation",
            "kind": "formulation",
            "title": _bi("制剂配制", "Formulation"),
            "parameters": [
                _num(
                    "dmso",
                    "DMSO 浓度",
                    "DMSO concentration",
                    "%",
                    "5",
                    "10",
                    critical=True,
                    justification="Formulation study FS-03",
                )
            ],
        },
        {
            "code": "fill",
            "kind": "fill_cryo",
            "title": _bi("灌装、贴签、冻存", "Fill, label, cryopreserve"),
            "signature_required": True,
            "parameters": [
                {"code": "cooling_program", "label": _bi("程序降温程序", "Cooling program"), "kind": "text"}
            ],
        },
    ],
}


def _item(code: str, assay: str, method: str, zh: str, en: str, **criterion: Any) -> dict[str, Any]:
    return {"code": code, "assay": assay, "method": method, "label": _bi(zh, en), **criterion}


SPECIFICATION: dict[str, Any] = {
    "rapid_release_allowed": True,
    "items": [
        _item("appearance", "appearance", "visual", "外观", "Appearance", expected="conforms"),
        _item("ph", "ph", "chp-0631-ph", "pH 值", "pH", unit="", min="6.5", max="7.5"),
        _item(
            "osmolality",
            "osmolality",
            "chp-0632-osmo",
            "渗透压摩尔浓度",
            "Osmolality",
            unit="mOsm/kg",
            min="250",
            max="400",
        ),
        _item(
            "sterility_rapid",
            "sterility",
            "rapid-sterility",
            "无菌（快速）",
            "Sterility (rapid)",
            expected="negative",
        ),
        _item(
            "sterility",
            "sterility",
            "chp-1101-sterility",
            "无菌（药典）",
            "Sterility (compendial)",
            expected="negative",
        ),
        _item(
            "mycoplasma_rapid",
            "mycoplasma",
            "myco-qpcr",
            "支原体（快速）",
            "Mycoplasma (rapid)",
            expected="negative",
        ),
        _item(
            "mycoplasma",
            "mycoplasma",
            "chp-3301-myco",
            "支原体（药典）",
            "Mycoplasma (compendial)",
            expected="negative",
        ),
        _item(
            "endotoxin", "endotoxin", "chp-1143-endotoxin", "细菌内毒素", "Endotoxin", unit="EU/mL", max="0.5"
        ),
        _item("viability", "viability", "aodapi-nc202", "细胞活率", "Viability", unit="%", min="70"),
        _item(
            "viable_cells",
            "cell_count",
            "aodapi-nc202",
            "活细胞数",
            "Viable cells",
            unit="cells",
            min="1E8",
            max="5E8",
        ),
        _item(
            "car_positive", "car_positive", "flow-car", "CAR 阳性率", "CAR-positive cells", unit="%", min="20"
        ),
        _item("vcn", "vcn", "ddpcr-vcn", "载体拷贝数", "Vector copy number", unit="copies/cell", max="5"),
        _item("cd3", "purity", "flow-purity", "CD3+ 纯度", "CD3+ purity", unit="%", min="90"),
        _item(
            "potency", "potency", "ldh-killing", "生物学效力", "Potency (specific lysis)", unit="%", min="20"
        ),
        _item(
            "rcl",
            "rcl_rcr",
            "rcl-qpcr",
            "复制型慢病毒",
            "Replication-competent lentivirus",
            expected="negative",
        ),
        _item(
            "bead_residue",
            "bead_residue",
            "bead-count",
            "残留磁珠",
            "Residual beads",
            unit="beads/3E6 cells",
            max="100",
        ),
        _item(
            "il2_residue",
            "cytokine_residue",
            "il2-elisa",
            "残留 IL-2",
            "Residual IL-2",
            unit="pg/mL",
            max="50",
            blocking=False,
        ),
    ],
    "imports": {
        "viability": {"reader": "nucleoview"},
        "viable_cells": {"reader": "nucleoview"},
        "vcn": {"reader": "ddpcr", "target": "CAR", "reference": "RPP30"},
        "rcl": {
            "reader": "qpcr",
            "target": "VSVG",
            "limits": {"slope_min": -3.6, "slope_max": -3.1, "min_r_squared": 0.98},
        },
        "car_positive": {
            "reader": "fcs",
            "gating": {
                "template": "CAR19-GATE",
                "version": "2",
                "singlets": {
                    "area_channel": "FSC-A",
                    "height_channel": "FSC-H",
                    "min_ratio": 0.8,
                    "max_ratio": 1.3,
                },
                "viable": {"channel": "Viability", "max_value": 1000.0},
                "cd3": {"channel": "CD3", "min_value": 1000.0},
                "car": {"channel": "CAR", "control_percentile": 99.5},
            },
        },
    },
}

INFORMATION: dict[str, Any] = {
    "product_name": _bi("CD19 CAR-T 细胞注射液（示例）", "CD19 CAR-T cell injection (demo)"),
    "cell_type": _bi("自体 CD19 嵌合抗原受体 T 细胞", "autologous CD19 chimeric antigen receptor T cells"),
    "donor_type": "autologous",
    "state": "cryopreserved",
    "shelf_life_hours": "8760",
    "storage_transport": {
        "storage_temperature": {"min": None, "max": "-150"},
        "storage_mode": _bi("液氮气相", "vapour-phase liquid nitrogen"),
        "storage_time_limit_hours": "8760",
        "transport_temperature": {"min": None, "max": "-150"},
        "max_transport_hours": "72",
        "containers": ["LN2 dry shipper"],
        "delivery_acceptance": [
            _bi("全程温度记录完整且 ≤ -150 °C", "complete temperature record, ≤ -150 °C"),
            _bi("包装与标签完好", "package and label intact"),
        ],
        "anomaly_handling": _bi(
            "隔离产品并立即通知制备厂商", "quarantine the product and notify the manufacturer at once"
        ),
    },
    "use_times": {
        "after_thaw_hours": "1.5",
        "preparation_hours": "0.5",
        "after_dilution_hours": None,
        "overtime_handling": _bi("超时不得使用", "do not use after the time limit"),
        "overtime_action": "reject",
        "evidence": "Stability study STAB-2025-02; process validation PV-2025-04",
    },
    "risks": {
        "adverse_reactions": [
            _bi("细胞因子释放综合征", "cytokine release syndrome"),
            _bi("免疫效应细胞相关神经毒性综合征", "ICANS"),
        ],
        "monitoring_indicators": [
            _bi("体温", "temperature"),
            _bi("血压", "blood pressure"),
            _bi("血氧饱和度", "oxygen saturation"),
            _bi("神经系统评估", "neurological assessment"),
        ],
        "contraindications": [_bi("活动性未控制感染", "active uncontrolled infection")],
        "precautions": [_bi("避免剧烈振荡", "avoid vigorous shaking"), _bi("禁止反复冻融", "never refreeze")],
    },
    "ae_reporting": {
        "content": [
            _bi("不良反应", "adverse reactions"),
            _bi("质量异常", "quality anomalies"),
            _bi("使用异常", "use anomalies"),
        ],
        "time_limit_hours": "24",
        "route": _bi("制备厂商药物警戒专线", "manufacturer pharmacovigilance line"),
        "contacts": ["pv@shenghe.example", "+86 512 0000 0000"],
        "information_to_supply": [
            _bi("批号", "batch number"),
            _bi("产品单元编号", "unit identifier"),
            _bi("输注时间", "infusion time"),
        ],
    },
    "process_information": _bi(
        "自体 T 细胞经 CD3/CD28 磁珠激活、慢病毒载体转导、扩增后制成冻存制剂。",
        "Autologous T cells activated with CD3/CD28 beads, transduced with a lentiviral vector, "
        "expanded and cryopreserved.",
    ),
    "cell_source": {
        "tissue": _bi("外周血", "peripheral blood"),
        "collection_principle": _bi("单采分离外周血单个核细胞", "leukapheresis of mononuclear cells"),
        "collection_qc_summary": _bi(
            "无菌采集；单个核细胞计数达标", "aseptic collection; MNC count on target"
        ),
    },
    "key_process": {
        "expansion_mode": _bi("悬浮培养", "suspension culture"),
        "culture_conditions": _bi("约 37 °C，约 5% CO2", "about 37 °C, about 5% CO2"),
        "harvest_principle": _bi("离心洗涤，磁珠去除", "centrifugal wash with bead removal"),
        "formulation_form": "cryopreserved",
        "cryopreservation_principle": _bi(
            "程序降温，含 DMSO 冻存液", "controlled-rate freezing in DMSO medium"
        ),
    },
    "thaw_preparation": {
        "thaw_temperature": {"min": "36", "max": "38"},
        "thaw_method": _bi("37 °C 水浴复苏", "37 °C water bath"),
        "thaw_methods": ["water_bath"],
        "use_immediately": True,
        "pre_infusion_checks": [
            _bi("外观无异常", "appearance normal"),
            _bi("包装完整", "bag intact"),
            _bi("标签与患者一致", "label matches the patient"),
        ],
    },
    "administration": {
        "route": "intravenous",
        "leukocyte_filter_forbidden": True,
        "observation_hours": "0.5",
    },
}
