"""Commands of the manufacturing context (one transaction each, with the ledger)."""

from cellchain.manufacturing.services.batches import (
    apheresis_intake_record,
    batch_start,
    batch_status_set,
    equipment_use_record,
    fill_record,
    material_use_record,
    parameter_record,
    product_unit_status_set,
    step_complete,
    step_start,
)
from cellchain.manufacturing.services.facility import (
    area_create,
    area_environment_update,
    equipment_calibration_record,
    equipment_register,
    line_clearance_record,
    material_lot_register,
)
from cellchain.manufacturing.services.materials import (
    material_certificate_attach,
    material_certificate_content,
    material_lot_release,
    material_lot_supplier_link,
    supplier_disqualify,
    supplier_qualify,
    supplier_register,
)
from cellchain.manufacturing.services.products import (
    product_create,
    product_version_approve,
    product_version_create,
    product_version_problems,
)

__all__ = [
    "apheresis_intake_record",
    "area_create",
    "area_environment_update",
    "batch_start",
    "batch_status_set",
    "equipment_calibration_record",
    "equipment_register",
    "equipment_use_record",
    "fill_record",
    "line_clearance_record",
    "material_certificate_attach",
    "material_certificate_content",
    "material_lot_register",
    "material_lot_release",
    "material_lot_supplier_link",
    "material_use_record",
    "parameter_record",
    "product_create",
    "product_unit_status_set",
    "product_version_approve",
    "product_version_create",
    "product_version_problems",
    "step_complete",
    "step_start",
    "supplier_disqualify",
    "supplier_qualify",
    "supplier_register",
]
