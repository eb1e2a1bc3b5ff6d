"""Queries of the manufacturing context, and the conversion of rows to domain values (`to_domain` edges)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet

from cellchain.domain import facility as fac
from cellchain.domain.process import (
    DeviationRef,
    ParameterOutcome,
    ParameterVerdict,
    ProcessTemplate,
    deviation_subject,
)
from cellchain.domain.product_information import Bilingual, ProductInformation
from cellchain.domain.specification import Specification
from cellchain.manufacturing import master
from cellchain.manufacturing.models import (
    ApheresisIntake,
    Batch,
    BatchStep,
    Equipment,
    LineClearance,
    MaterialCertificate,
    MaterialLot,
    MaterialUse,
    ParameterEntry,
    Product,
    ProductionArea,
    ProductUnit,
    ProductVersion,
    Supplier,
)
from cellchain.qc.methods import method_catalogue
from cellchain.quality.models import Deviation


@dataclass(frozen=True)
class ProductDefinition:
    """A product version read into domain values, with the bilingual names pages show."""

    version: ProductVersion
    template: ProcessTemplate
    specification: Specification
    information: ProductInformation
    step_titles: dict[str, Bilingual]
    parameter_labels: dict[tuple[str, str], Bilingual]
    item_labels: dict[str, Bilingual]


def product_definition(version: ProductVersion) -> ProductDefinition:
    """Read a version's three documents into domain values (ValidationFailed names a bad path)."""
    code, number = version.product.code, str(version.version)
    return ProductDefinition(
        version=version,
        template=master.process_from_json(version.process, code, number),
        specification=master.specification_from_json(version.specification, method_catalogue(), code, number),
        information=master.information_from_json(version.information),
        step_titles=master.step_titles(version.process),
        parameter_labels=master.parameter_labels(version.process),
        item_labels=master.item_labels(version.specification),
    )


def products_visible_to(viewer: Any) -> QuerySet[Product]:
    return Product.objects.filter(site__organisation_id=viewer.organisation_id).prefetch_related("versions")


def product_versions_approved(viewer: Any) -> QuerySet[ProductVersion]:
    return ProductVersion.objects.filter(
        product__site__organisation_id=viewer.organisation_id, status=ProductVersion.Status.APPROVED
    ).select_related("product")


# --------------------------------------------------------------------------- for the clinic (T-7.4)
# The clinic reads a version's information document only: the process template and the specification stay with
# the manufacturer (T-7.11: no process-parameter values or production-sensitive detail go to the clinic).


def _versions_for_clinic() -> QuerySet[ProductVersion]:
    return ProductVersion.objects.filter(voided_at__isnull=True).select_related("product__site__organisation")


def product_versions_for_clinic() -> QuerySet[ProductVersion]:
    """Every manufacturer's currently approved product versions, whose information packages clinics adopt."""
    return _versions_for_clinic().filter(status=ProductVersion.Status.APPROVED).order_by("product__code")


def product_version_for_clinic(version_id: int) -> ProductVersion | None:
    """An approved or superseded version (never a draft) by id, or None."""
    return _versions_for_clinic().exclude(status=ProductVersion.Status.DRAFT).filter(pk=version_id).first()


def product_version_by_number(product_code: str, number: int) -> ProductVersion | None:
    """A product's version by its number (a batch's version as the clinic names it), drafts excluded."""
    return (
        _versions_for_clinic()
        .exclude(status=ProductVersion.Status.DRAFT)
        .filter(product__code=product_code, version=number)
        .first()
    )


def product_information(version: ProductVersion) -> ProductInformation:
    """A version's information document read into domain values (T-7.4-T-7.15)."""
    return master.information_from_json(version.information)


def product_known(code: str) -> bool:
    """True when a product has this code or ISBT 128 product code (so its values come from its package)."""
    from django.db.models import Q

    code = code.strip()
    if not code:
        return False
    return Product.objects.filter(Q(code__iexact=code) | Q(isbt_product_code__iexact=code)).exists()


def product_unit_version(din: str) -> ProductVersion | None:
    """The product version a unit's batch was made under (the clinic applies that version's limits)."""
    unit = ProductUnit.objects.select_related("batch__product_version__product").filter(din=din).first()
    return None if unit is None else unit.batch.product_version


def areas_visible_to(viewer: Any) -> QuerySet[ProductionArea]:
    return ProductionArea.objects.filter(site__organisation_id=viewer.organisation_id, voided_at__isnull=True)


def equipment_visible_to(viewer: Any) -> QuerySet[Equipment]:
    return Equipment.objects.filter(site__organisation_id=viewer.organisation_id, voided_at__isnull=True)


def lots_all() -> QuerySet[MaterialLot]:
    return MaterialLot.objects.filter(voided_at__isnull=True).select_related(
        "registered_supplier", "released_by"
    )


def suppliers_visible_to(viewer: Any) -> QuerySet[Supplier]:
    """The supplier register of the viewer's organisation (P-1.1-a)."""
    return Supplier.objects.filter(
        site__organisation_id=viewer.organisation_id, voided_at__isnull=True
    ).select_related("decided_by")


def lot_certificate(lot: MaterialLot) -> MaterialCertificate | None:
    """The lot's current CoA: the newest one not voided (P-1.1-b)."""
    return lot.certificates.filter(voided_at__isnull=True).order_by("-uploaded_at", "-id").first()


def intakes_visible_to(viewer: Any) -> QuerySet[ApheresisIntake]:
    """Apheresis units received by the viewer's organisation (the manufacturer)."""
    return ApheresisIntake.objects.filter(received_by__organisation_id=viewer.organisation_id).select_related(
        "collection_site", "received_by", "deviation"
    )


def batches_visible_to(viewer: Any) -> QuerySet[Batch]:
    """Batches of the viewer's organisation, with what list pages show in one query."""
    return Batch.objects.filter(site__organisation_id=viewer.organisation_id).select_related(
        "product_version__product", "intake", "area", "started_by"
    )


def batch_get(viewer: Any, batch_id: int) -> Batch:
    """One batch of the viewer's organisation, with its steps, entries and uses prefetched."""
    from django.shortcuts import get_object_or_404

    steps = BatchStep.objects.select_related("area", "started_by", "completed_by", "duration_deviation")
    entries = ParameterEntry.objects.select_related("entered_by", "deviation")
    query = batches_visible_to(viewer).prefetch_related(
        Prefetch("steps", queryset=steps),
        Prefetch("steps__entries", queryset=entries),
        "steps__equipment_uses__equipment",
        "steps__material_uses__lot",
        "units",
    )
    return get_object_or_404(query, pk=batch_id)


def step_entry_verdicts(step: BatchStep) -> dict[str, ParameterVerdict]:
    """Stored entries as domain verdicts (the stored outcome was computed by `check_entry` at entry)."""
    return {
        e.code: ParameterVerdict(e.code, ParameterOutcome(e.outcome), e.value, e.limit)
        for e in step.entries.all()
        if e.voided_at is None
    }


def step_deviation_refs(step: BatchStep) -> list[DeviationRef]:
    """Deviations raised on the step's entries and duration, plus any other blocking one on the step."""
    refs: list[DeviationRef] = []
    seen: set[int] = set()
    for entry in step.entries.all():
        if entry.deviation is not None:
            refs.append(_ref(entry.deviation, deviation_subject(step.code, entry.code)))
            seen.add(entry.deviation.pk)
    if step.duration_deviation is not None:
        refs.append(_ref(step.duration_deviation, deviation_subject(step.code, "duration")))
        seen.add(step.duration_deviation.pk)
    others = Deviation.objects.filter(
        subject_type=step.ledger_record_type(),
        subject_id=str(step.pk),
        blocks_subject=True,
        voided_at__isnull=True,
    ).exclude(pk__in=seen)
    refs.extend(_ref(d, deviation_subject(step.code, "other")) for d in others)
    return refs


def _ref(deviation: Deviation, subject: str) -> DeviationRef:
    return DeviationRef(deviation.number, subject, deviation.status != Deviation.Status.OPEN)


def area_uses(area: ProductionArea) -> list[fac.AreaUse]:
    """Occupation of an area: whole batches in a unit, steps in a room (P-1.2.1-a/b)."""
    if area.mode == ProductionArea.Mode.UNIT_BASED:
        return [fac.AreaUse(b.number, b.started_at, b.closed_at) for b in area.batches.all()]
    steps = area.steps.select_related("batch")
    return [fac.AreaUse(s.batch.number, s.started_at, s.completed_at, s.is_culture) for s in steps]


def area_clearances(area: ProductionArea) -> list[fac.LineClearance]:
    return [
        fac.LineClearance(area.code, str(c.performed_by_id), str(c.verified_by_id), c.completed_at)
        for c in area.clearances.filter(voided_at__isnull=True)
    ]


def area_to_domain(area: ProductionArea) -> fac.ProductionArea:
    return fac.ProductionArea(area.code, fac.FacilityMode(area.mode))


def area_is_free(area: ProductionArea) -> bool:
    """True when no batch is open in the area (a line clearance can be done)."""
    return not any(use.ended_at is None for use in area_uses(area))


def equipment_to_domain(equipment: Equipment) -> fac.Equipment:
    return fac.Equipment(
        equipment.code,
        equipment.kind,
        equipment.in_service,
        equipment.calibration_due,
        equipment.maintenance_due,
    )


def supplier_to_domain(supplier: Supplier | None) -> fac.SupplierStanding | None:
    if supplier is None or supplier.voided_at is not None:
        return None
    return fac.SupplierStanding(supplier.code, fac.SupplierStatus(supplier.status), supplier.requalify_by)


def lot_to_domain(
    lot: MaterialLot, *, coa_attached: bool | None = None, supplier: Supplier | bool | None = True
) -> fac.MaterialLot:
    """The lot as the issue and release gates read it, with its supplier's standing and whether a CoA is on
    file (P-1.1-a/b, Q-2.6-a). By default the supplier and the CoA are read afresh from the database, so a
    disqualification takes effect at once whatever the caller holds; list pages pass what they prefetched."""
    if supplier is True:
        supplier = Supplier.objects.filter(pk=lot.registered_supplier_id).first()
    return fac.MaterialLot(
        lot.material,
        lot.lot,
        lot.released,
        lot.expires_on,
        lot.documents_attached,
        lot.research_use_only,
        lot.biological_origin,
        lot.risk_assessment_approved,
        lot.is_vector,
        lot.rcl_culture_passed,
        supplier_to_domain(supplier or None),
        lot_certificate(lot) is not None if coa_attached is None else coa_attached,
    )


@dataclass(frozen=True)
class RecallUnit:
    din: str
    purpose: str
    status: str
    infused_at: Any


@dataclass(frozen=True)
class RecallRow:
    """One batch a lot was issued to, and the journey it serves: COI and pseudonym only (X-7)."""

    batch: Batch
    steps: tuple[str, ...]
    coi: str
    pseudonym: str
    hospital: str
    journey_status: str
    units: tuple[RecallUnit, ...]

    @property
    def exposed(self) -> bool:
        """Cells of this batch left the manufacturer: a unit was shipped or infused."""
        return any(u.status in (ProductUnit.Status.SHIPPED, ProductUnit.Status.INFUSED) for u in self.units)


def lot_recall(viewer: Any, lot: MaterialLot) -> list[RecallRow]:
    """Lot -> batches -> journeys (REGULATORY item 36, P-1.1-a): every batch of the viewer's organisation the
    lot was issued to, the journey it serves (COI and pseudonym, never identity: X-7) and its units' states.

    Three queries whatever the number of batches: the uses with their batches, the units, the journeys.
    """
    from cellchain.journeys.models import Journey

    uses = (
        MaterialUse.objects.filter(
            lot=lot, voided_at__isnull=True, step__batch__site__organisation_id=viewer.organisation_id
        )
        .select_related("step__batch__intake", "step__batch__product_version__product")
        .order_by("step__batch__number", "step__position")
    )
    batches: dict[int, Batch] = {}
    steps: dict[int, list[str]] = {}
    for use in uses:
        batch = use.step.batch
        batches.setdefault(batch.pk, batch)
        steps.setdefault(batch.pk, []).append(use.step.code)
    if not batches:
        return []
    units: dict[int, list[RecallUnit]] = {}
    for unit in ProductUnit.objects.filter(batch_id__in=batches, voided_at__isnull=True).order_by("din"):
        units.setdefault(unit.batch_id, []).append(
            RecallUnit(unit.din, unit.purpose, unit.status, unit.infused_at)
        )
    cois = {b.intake.coi for b in batches.values() if b.intake.coi}
    journeys = {
        j["coi"]: j
        for j in Journey.objects.filter(coi__in=cois).values(
            "coi", "pseudonym", "status", "hospital_site__name"
        )
    }
    rows = []
    for pk, batch in batches.items():
        journey = journeys.get(batch.intake.coi, {})
        rows.append(
            RecallRow(
                batch=batch,
                steps=tuple(dict.fromkeys(steps[pk])),
                coi=batch.intake.coi,
                pseudonym=journey.get("pseudonym", ""),
                hospital=journey.get("hospital_site__name", ""),
                journey_status=journey.get("status", ""),
                units=tuple(units.get(pk, ())),
            )
        )
    return rows


RECALL_CSV_HEADER = (
    "lot",
    "material",
    "batch",
    "batch_status",
    "product",
    "steps",
    "coi",
    "pseudonym",
    "hospital",
    "journey_status",
    "unit_din",
    "unit_purpose",
    "unit_status",
    "infused_at",
)


def lot_recall_csv(lot: MaterialLot, rows: list[RecallRow]) -> str:
    """The recall list as CSV: one line per unit (a batch without units gets one line), pseudonymous (X-7)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RECALL_CSV_HEADER)
    for row in rows:
        head = [
            lot.lot,
            lot.material,
            row.batch.number,
            row.batch.status,
            row.batch.product_version.product.code,
            " ".join(row.steps),
            row.coi,
            row.pseudonym,
            row.hospital,
            row.journey_status,
        ]
        for unit in row.units or (RecallUnit("", "", "", None),):
            infused = unit.infused_at.isoformat() if unit.infused_at else ""
            writer.writerow([*head, unit.din, unit.purpose, unit.status, infused])
    return out.getvalue()


def clearances_of(area: ProductionArea) -> QuerySet[LineClearance]:
    return area.clearances.select_related("performed_by", "verified_by")


def product_unit_get_by_identifier(din: str) -> ProductUnit | None:
    """The product unit with this DIN (for custody, shipping and bedside contexts)."""
    return ProductUnit.objects.select_related("batch", "holder_site").filter(din=din).first()


def batch_for_shipping(number: str) -> tuple[Batch, ProductInformation] | None:
    """A batch by number with its product version, apheresis intake and units, and its product version's
    approved information package read into domain values (for logistics: T-7.5-e, T-7.7, T-7.15)."""
    batch = (
        Batch.objects.select_related("product_version__product", "intake__collection_site", "site")
        .prefetch_related("units")
        .filter(number=number)
        .first()
    )
    if batch is None:
        return None
    return batch, product_information(batch.product_version)
