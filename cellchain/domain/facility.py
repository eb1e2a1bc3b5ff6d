"""Production areas, line clearance, equipment and material lots for CAR-T manufacturing.

Clauses: P-1.2.1-a/b (unit-based and room-based modes, review 1.2.1), G-3 (no cross-contamination),
X-5 (two-person line clearance), T-10.12 (equipment calibration and maintenance), P-1.1-a/b and Q-2.6-a
(material and vector lots).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from cellchain.domain.findings import Finding, Gate


class FacilityMode(StrEnum):
    """Production mode of an area (review 1.2.1, P-1.2.1-a/b)."""

    UNIT_BASED = "unit_based"  # 生产单元式: one batch per unit, all its steps inside
    ROOM_BASED = "room_based"  # 功能间模块式: one batch per room at a time, except culture


@dataclass(frozen=True, slots=True)
class ProductionArea:
    """A production unit or room and its mode."""

    code: str
    mode: FacilityMode


@dataclass(frozen=True, slots=True)
class AreaUse:
    """A batch's occupation of an area: the whole batch in a unit, or one step in a room."""

    batch: str
    started_at: datetime
    ended_at: datetime | None
    is_culture: bool = False


@dataclass(frozen=True, slots=True)
class LineClearance:
    """Line clearance (清场) of an area between batches, performed and verified by two people (X-5)."""

    area: str
    performed_by: str
    verified_by: str
    completed_at: datetime


def line_clearance_check(clearance: LineClearance) -> Gate:
    """A line clearance counts only when two different people performed and verified it (P-1.2.1, X-5)."""
    if not clearance.performed_by or not clearance.verified_by:
        return Gate(
            (Finding("clearance_unsigned", "performer and verifier must both sign", "X-5", clearance.area),)
        )
    if clearance.performed_by == clearance.verified_by:
        return Gate(
            (
                Finding(
                    "clearance_same_person",
                    "the verifier cannot be the performer",
                    "X-5",
                    clearance.area,
                    clearance.verified_by,
                ),
            )
        )
    return Gate()


def area_start_check(
    area: ProductionArea,
    batch: str,
    *,
    is_culture: bool,
    uses: Sequence[AreaUse],
    clearances: Sequence[LineClearance],
) -> Gate:
    """May `batch` start work in `area`? Unit-based: no other batch open in the unit; room-based: no other
    batch at work in the room except culture beside culture; line clearance after the last other batch
    (P-1.2.1-a/b, G-3)."""
    others = [u for u in uses if u.batch != batch]
    open_others = [u for u in others if u.ended_at is None]
    if area.mode is FacilityMode.UNIT_BASED:
        blocking = open_others
        joining_culture = False
    else:
        blocking = [u for u in open_others if not (is_culture and u.is_culture)]
        joining_culture = is_culture and bool(open_others)
    found = [
        Finding(
            "area_occupied",
            f"{area.code} is in use by batch {u.batch}",
            "P-1.2.1-a" if area.mode is FacilityMode.UNIT_BASED else "P-1.2.1-b",
            area.code,
            u.batch,
        )
        for u in blocking
    ]
    if not blocking and not joining_culture:
        found += _clearance_findings(area, batch, uses, clearances)
    return Gate(tuple(found))


def _clearance_findings(
    area: ProductionArea, batch: str, uses: Sequence[AreaUse], clearances: Sequence[LineClearance]
) -> list[Finding]:
    ends = [u.ended_at for u in uses if u.batch != batch and u.ended_at is not None]
    if not ends:
        return []
    last_other = max(ends)
    if any(u.batch == batch and u.started_at >= last_other for u in uses):
        return []  # this batch came in after the other left, so its clearance was checked then
    valid = [c for c in clearances if c.area == area.code and line_clearance_check(c).allowed]
    if any(c.completed_at >= last_other for c in valid):
        return []
    return [
        Finding(
            "line_clearance_missing",
            f"{area.code} needs a two-person line clearance after the previous batch",
            "P-1.2.1-a",
            area.code,
            limit=last_other.isoformat(),
        )
    ]


@dataclass(frozen=True, slots=True)
class Equipment:
    """An equipment item as the register holds it (T-10.12)."""

    code: str
    kind: str
    in_service: bool
    calibration_due: date | None
    maintenance_due: date | None = None


def equipment_use_check(equipment: Equipment, on: date) -> Gate:
    """Equipment out of service or overdue for calibration or maintenance cannot be selected (T-10.12)."""
    found: list[Finding] = []
    if not equipment.in_service:
        found.append(
            Finding(
                "equipment_out_of_service", f"{equipment.code} is out of service", "T-10.12", equipment.code
            )
        )
    due = (("calibration", equipment.calibration_due), ("maintenance", equipment.maintenance_due))
    for what, when in due:
        if what == "calibration" and when is None:
            found.append(
                Finding(
                    "calibration_unknown",
                    f"{equipment.code} has no calibration on record",
                    "T-10.12",
                    equipment.code,
                )
            )
        elif when is not None and when < on:
            found.append(
                Finding(
                    f"{what}_overdue",
                    f"{equipment.code}: {what} was due {when.isoformat()}",
                    "T-10.12",
                    equipment.code,
                    on.isoformat(),
                    when.isoformat(),
                )
            )
    return Gate(tuple(found))


class SupplierStatus(StrEnum):
    """Qualification status of a supplier in the register (P-1.1-a)."""

    PENDING = "pending"
    QUALIFIED = "qualified"
    CONDITIONAL = "conditional"
    DISQUALIFIED = "disqualified"


@dataclass(frozen=True, slots=True)
class SupplierStanding:
    """A supplier as the register holds it: its status and when it must be requalified (P-1.1-a)."""

    code: str
    status: SupplierStatus
    requalify_by: date | None = None


def supplier_standing_check(supplier: SupplierStanding | None, on: date) -> Gate:
    """Lots are accepted only from a registered supplier, qualified (or conditionally qualified) and within its
    requalification date (P-1.1-a supplier qualification; P-1.1-b for other materials)."""
    if supplier is None:
        return Gate(
            (
                Finding(
                    "supplier_unregistered",
                    "the lot's supplier is not in the supplier register",
                    "P-1.1-a",
                ),
            )
        )
    if supplier.status is SupplierStatus.DISQUALIFIED:
        return Gate(
            (
                Finding(
                    "supplier_disqualified",
                    f"supplier {supplier.code} is disqualified",
                    "P-1.1-a",
                    supplier.code,
                ),
            )
        )
    if supplier.status is SupplierStatus.PENDING:
        return Gate(
            (
                Finding(
                    "supplier_not_qualified",
                    f"supplier {supplier.code} is not yet qualified",
                    "P-1.1-a",
                    supplier.code,
                ),
            )
        )
    if supplier.requalify_by is not None and supplier.requalify_by < on:
        return Gate(
            (
                Finding(
                    "supplier_qualification_lapsed",
                    f"supplier {supplier.code}: requalification was due {supplier.requalify_by.isoformat()}",
                    "P-1.1-a",
                    supplier.code,
                    on.isoformat(),
                    supplier.requalify_by.isoformat(),
                ),
            )
        )
    return Gate()


@dataclass(frozen=True, slots=True)
class MaterialLot:
    """A lot of a material issued to a batch (P-1.1-a/b)."""

    material: str
    lot: str
    released: bool
    expires_on: date | None
    documents_attached: bool
    research_use_only: bool = False
    biological_origin: bool = False
    risk_assessment_approved: bool = False
    is_vector: bool = False
    rcl_culture_passed: bool = False
    supplier: SupplierStanding | None = None
    coa_attached: bool = False


def material_lot_check(lot: MaterialLot, on: date) -> Gate:
    """A lot is issued only released, in date, with its CoA and documents (P-1.1-b), from a qualified supplier
    (P-1.1-a); RUO or biological-origin lots also need an approved risk assessment; a vector lot needs its
    RCL/RCR culture test passed (Q-2.6-a)."""
    subject = f"{lot.material} {lot.lot}"
    unreleased = (
        ()
        if lot.released
        else (
            Finding(
                "lot_not_released", f"{subject}: the lot is not released by QA (P-1.1-b)", "P-1.1-b", subject
            ),
        )
    )
    return Gate(unreleased + material_lot_release_check(lot, on).findings)


def material_lot_release_check(lot: MaterialLot, on: date) -> Gate:
    """What QA's lot release needs: every issue rule but the release itself (P-1.1-a/b, Q-2.6-a)."""
    subject = f"{lot.material} {lot.lot}"
    rules = (
        (
            lot.expires_on is not None and lot.expires_on < on,
            "lot_expired",
            "the lot is past its expiry",
            "P-1.1-b",
        ),
        (not lot.coa_attached, "lot_coa_missing", "no certificate of analysis (CoA) on file", "P-1.1-b"),
        (
            not lot.documents_attached,
            "lot_documents_missing",
            "CoA and origin documents not attached",
            "P-1.1-b",
        ),
        (
            (lot.research_use_only or lot.biological_origin) and not lot.risk_assessment_approved,
            "risk_assessment_missing",
            "RUO or biological-origin material needs an approved risk assessment",
            "P-1.1-b",
        ),
        (
            lot.is_vector and not lot.rcl_culture_passed,
            "vector_rcl_not_passed",
            "the vector lot has not passed the RCL/RCR culture test",
            "Q-2.6-a",
        ),
    )
    supplier = tuple(
        Finding(f.check, f"{subject}: {f.message} ({f.clause})", f.clause, subject, f.value, f.limit)
        for f in supplier_standing_check(lot.supplier, on).findings
    )
    return Gate(
        supplier
        + tuple(
            Finding(check, f"{subject}: {message} ({clause})", clause, subject)
            for failed, check, message, clause in rules
            if failed
        )
    )
