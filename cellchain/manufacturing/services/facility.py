"""Production areas and line clearance, equipment register, material lots (P-1.2.1, X-5, T-10.12, P-1.1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cellchain.accounts.models import Site
from cellchain.accounts.roles import Role
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.ledger.records import record_amend, record_create
from cellchain.manufacturing import selectors
from cellchain.manufacturing.models import (
    AreaPurpose,
    CleanlinessGrade,
    Equipment,
    LineClearance,
    MaterialLot,
    ProductionArea,
)
from cellchain.manufacturing.services._common import require_role
from cellchain.signatures.services import SignerCredentials, two_person_check


def _area_environment_checked(purpose: str, grade: str, hvac_system: str) -> tuple[str, str, str]:
    if purpose and purpose not in AreaPurpose.values:
        raise ValidationFailed(f"Unknown area purpose {purpose!r} (T-5.1.4).", field="purpose")
    if grade and grade not in CleanlinessGrade.values:
        raise ValidationFailed(
            f"Unknown cleanliness grade {grade!r}: A, B, C or D, or empty for unclassified (T-5.1.3).",
            field="grade",
        )
    return purpose, grade, hvac_system.strip()


@transaction.atomic
def area_create(
    *,
    actor: Any,
    site: Site,
    code: str,
    name: str,
    mode: str,
    purpose: str = "",
    grade: str = "",
    hvac_system: str = "",
) -> ProductionArea:
    """Register a production unit or room with its mode (review 1.2.1), purpose, cleanliness grade and HVAC
    system (T-5.1.3)."""
    require_role(actor, Role.QA, Role.SITE_ADMIN)
    if mode not in ProductionArea.Mode.values:
        raise ValidationFailed(f"Unknown mode {mode!r}.", field="mode")
    purpose, grade, hvac_system = _area_environment_checked(purpose, grade, hvac_system)
    area = record_create(
        actor=actor,
        record=ProductionArea(
            site=site, code=code, name=name, mode=mode, purpose=purpose, grade=grade, hvac_system=hvac_system
        ),
        event="area:create",
    )
    return area


@transaction.atomic
def area_environment_update(
    *, actor: Any, area: ProductionArea, purpose: str, grade: str, hvac_system: str, reason: str
) -> ProductionArea:
    """Change an area's purpose, grade or HVAC system with a reason, e.g. after requalification (T-5.1.3, X-3)."""
    require_role(actor, Role.QA)
    area.purpose, area.grade, area.hvac_system = _area_environment_checked(purpose, grade, hvac_system)
    record_amend(
        actor=actor,
        record=area,
        event="area:environment",
        reason=reason,
        fields=["purpose", "grade", "hvac_system"],
    )
    return area


@transaction.atomic
def line_clearance_record(
    *,
    actor: Any,
    area: ProductionArea,
    performer: SignerCredentials,
    verifier: SignerCredentials,
    note: str = "",
) -> LineClearance:
    """Record a line clearance (清场) signed by two different qualified people (P-1.2.1-a/b, X-5).

    It can be done only while no batch is open in the area: clearing around an open batch would be a fiction.
    """
    require_role(actor, Role.PRODUCTION_OPERATOR, Role.QA)
    if performer.user.pk != actor.pk:
        raise ValidationFailed("The person recording the clearance signs as its performer.", field="password")
    if not selectors.area_is_free(area):
        raise Conflict(f"{area.code} still holds an open batch; clear it after the batch is closed.")
    if performer.user.pk == verifier.user.pk:
        raise NotAllowed(
            "A two-person check needs two different people: the verifier cannot be the performer.",
            field="verifier",
        )
    clearance = record_create(
        actor=actor,
        record=LineClearance(
            area=area,
            completed_at=clock.now(),
            performed_by=performer.user,
            verified_by=verifier.user,
            note=note,
        ),
        event="area:clearance",
    )
    two_person_check(record=clearance, performer=performer, verifier=verifier, qualification="line_clearance")
    return clearance


@transaction.atomic
def equipment_register(
    *,
    actor: Any,
    site: Site,
    code: str,
    kind: str,
    name: str,
    calibration_due: dt.date | None,
    maintenance_due: dt.date | None = None,
) -> Equipment:
    """Add an equipment item to the register (T-10.12)."""
    require_role(actor, Role.QA, Role.SITE_ADMIN)
    equipment = record_create(
        actor=actor,
        record=Equipment(
            site=site,
            code=code,
            kind=kind,
            name=name,
            calibration_due=calibration_due,
            maintenance_due=maintenance_due,
        ),
        event="equipment:register",
    )
    return equipment


@transaction.atomic
def equipment_calibration_record(
    *, actor: Any, equipment: Equipment, calibration_due: dt.date, reason: str
) -> Equipment:
    """Record a calibration: the next due date moves on; the old one stays in the ledger (T-10.12, X-3)."""
    require_role(actor, Role.QA, Role.SITE_ADMIN)
    equipment.calibration_due = calibration_due
    record_amend(
        actor=actor, record=equipment, event="equipment:calibrate", reason=reason, fields=["calibration_due"]
    )
    return equipment


@transaction.atomic
def material_lot_register(*, actor: Any, material: str, lot: str, **fields: Any) -> MaterialLot:
    """Register a lot of a registered supplier (`registered_supplier`) with its documents and flags; it is
    released only by `material_lot_release`, with a signature over its CoA (P-1.1-a/b, decision 0029)."""
    require_role(actor, Role.QA)
    release_fields = {"released", "released_at", "released_by", "released_coa_sha256"}
    allowed = {f.name for f in MaterialLot._meta.get_fields()} - {
        "id",
        "voided_at",
        "void_reason",
        "uses",
        "certificates",
    }
    given_release = set(fields) & release_fields
    if given_release and any(fields[name] for name in given_release):
        raise ValidationFailed(
            "A lot is released only by QA's signed lot release, after its CoA is on file (P-1.1-b).",
            field="released",
        )
    unknown = set(fields) - (allowed - release_fields)
    if unknown:
        raise ValidationFailed(f"Unknown lot field(s): {', '.join(sorted(unknown))}.")
    supplier = fields.get("registered_supplier")
    if supplier is None:
        raise ValidationFailed(
            "Choose the lot's supplier from the supplier register (P-1.1-a).", field="registered_supplier"
        )
    fields.setdefault("supplier", supplier.name)
    if MaterialLot.objects.filter(material=material, lot=lot).exists():
        raise Conflict(f"{material} lot {lot} is already registered.", field="lot")
    record = record_create(
        actor=actor, record=MaterialLot(material=material, lot=lot, **fields), event="lot:register"
    )
    return record
