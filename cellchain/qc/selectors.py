"""Queries of the QC context and the edges to the domain: results, evaluation, certificate, label, package."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from cellchain.core.errors import Conflict
from cellchain.domain import specification as specs
from cellchain.domain.certificate import (
    CertificateOfAnalysis,
    InformationPackage,
    LabelData,
    build_certificate,
    build_information_package,
    build_label,
)
from cellchain.domain.identity import (
    IdentifierError,
    LabelPayload,
    ProductCode,
    mod37_2_check_character,
    parse_coi,
    parse_din,
)
from cellchain.domain.label_reconciliation import Reconciliation
from cellchain.domain.product_information import (
    BatchFacts,
    DonorSummary,
    ScreeningSummary,
    donor_summary_from_fields,
)
from cellchain.domain.product_information import (
    ReleaseDecision as DomainRelease,
)
from cellchain.domain.product_information import (
    Signature as DomainSignature,
)
from cellchain.domain.specification import ReleaseEvaluation, ReleaseOutcome
from cellchain.manufacturing.models import Batch, ParameterEntry, ProductUnit
from cellchain.manufacturing.selectors import ProductDefinition, product_definition
from cellchain.qc.methods import method_to_domain
from cellchain.qc.models import AuditTrailReview, QcResult, ReleaseDecision, RetainedSample
from cellchain.quality.models import Deviation
from cellchain.signatures.models import Signature
from cellchain.signatures.services import signature_is_current, signatures_of


def batches_for_qc(viewer: Any) -> QuerySet[Batch]:
    return Batch.objects.filter(site__organisation_id=viewer.organisation_id).select_related(
        "product_version__product", "intake"
    )


def current_results(batch: Batch) -> QuerySet[QcResult]:
    """The current result of each test (a retest supersedes the earlier one)."""
    return batch.qc_results.filter(is_current=True, voided_at__isnull=True).select_related(
        "method", "performed_by", "raw_file", "sample", "investigation"
    )


def result_to_domain(row: QcResult) -> specs.QcResult:
    """The stored result as a domain result (value, outcome, method and its standing when tested)."""
    return specs.QcResult(
        item_code=row.item_code,
        method=method_to_domain(row.method, row.method_standing),
        status=specs.ResultStatus(row.status),
        value=Decimal(row.value) if row.value is not None else None,
        outcome=specs.Qualitative(row.outcome) if row.outcome else None,
        performed_by=str(row.performed_by_id),
        amended=row.amended,
        instrument=row.instrument,
        issuing_lab=row.issuing_lab,
        third_party=row.third_party,
    )


def open_investigations(batch: Batch) -> tuple[str, ...]:
    """Open blocking deviations on the batch, its steps, its results or its apheresis unit (REGULATORY 10)."""
    subjects = Q(subject_type=batch.ledger_record_type(), subject_id=str(batch.pk))
    subjects |= Q(subject_type=batch.intake.ledger_record_type(), subject_id=str(batch.intake_id))
    step_type = "manufacturing.batchstep"
    subjects |= Q(
        subject_type=step_type, subject_id__in=[str(pk) for pk in batch.steps.values_list("pk", flat=True)]
    )
    result_ids = [str(pk) for pk in batch.qc_results.values_list("pk", flat=True)]
    subjects |= Q(subject_type=QcResult._meta.label_lower, subject_id__in=result_ids)
    open_rows = Deviation.objects.filter(
        subjects, blocks_subject=True, voided_at__isnull=True, status=Deviation.Status.OPEN
    )
    return tuple(open_rows.order_by("number").values_list("number", flat=True))


def latest_review(batch: Batch) -> AuditTrailReview | None:
    return batch.audit_reviews.filter(voided_at__isnull=True).select_related("reviewer").first()


def retained_sample(batch: Batch) -> RetainedSample | None:
    return batch.retained_samples.filter(voided_at__isnull=True).select_related("unit").first()


def last_entry_at(batch: Batch) -> dt.datetime | None:
    """When the newest entry of the batch record's steps, parameters or QC results was written (ledger time)."""
    from cellchain.ledger.models import LedgerEntry

    steps = [str(pk) for pk in batch.steps.values_list("pk", flat=True)]
    entries = [
        str(pk) for pk in ParameterEntry.objects.filter(step__batch=batch).values_list("pk", flat=True)
    ]
    results = [str(pk) for pk in batch.qc_results.values_list("pk", flat=True)]
    records = (
        Q(record_type="manufacturing.batchstep", record_id__in=steps)
        | Q(record_type="manufacturing.parameterentry", record_id__in=entries)
        | Q(record_type="qc.qcresult", record_id__in=results)
    )
    return LedgerEntry.objects.filter(records).order_by("-seq").values_list("recorded_at", flat=True).first()


def release_evaluation(batch: Batch, definition: ProductDefinition | None = None) -> ReleaseEvaluation:
    """Evaluate the batch against its specification with the release preconditions (Q-2-b, Q-2.6-c, item 7)."""
    definition = definition or product_definition(batch.product_version)
    review = latest_review(batch)
    retained = retained_sample(batch)
    return specs.evaluate_release(
        definition.specification,
        [result_to_domain(r) for r in current_results(batch)],
        audit_review=specs.AuditTrailReview(str(review.reviewer_id), review.reviewed_at, last_entry_at(batch))
        if review
        else None,
        retained_sample=specs.RetainedSample(retained.unit.din, retained.location) if retained else None,
        bead_activator_used=definition.template.activator.is_bead,
        open_investigations=open_investigations(batch),
    )


def latest_release(batch: Batch) -> ReleaseDecision | None:
    return batch.release_decisions.filter(voided_at__isnull=True).select_related("decided_by").first()


def _signature_lines(records: list[Any]) -> tuple[DomainSignature, ...]:
    lines: list[DomainSignature] = []
    for record in records:
        for signature in signatures_of(record):
            if signature_is_current(signature, record):
                lines.append(
                    DomainSignature(
                        signature.get_meaning_display(), signature.printed_name, signature.signed_at
                    )
                )
    return tuple(lines)


def release_decision_domain(batch: Batch) -> DomainRelease | None:
    """The current release as the domain decision, with the QA signature it carries (REGULATORY item 21)."""
    release = latest_release(batch)
    if release is None:
        return None
    signed = [
        s for s in signatures_of(release) if s.meaning == "released" and signature_is_current(s, release)
    ]
    if not signed:
        return None
    sig = signed[-1]
    return DomainRelease(
        ReleaseOutcome(release.outcome),
        DomainSignature(sig.get_meaning_display(), sig.printed_name, sig.signed_at),
    )


def batch_facts(
    batch: Batch, definition: ProductDefinition, results: list[QcResult] | None = None
) -> BatchFacts:
    """Label values from the records: cell number from the count result, volume from the fill, concentration
    computed from both, never typed twice (T-7.5-c)."""
    rows = results if results is not None else list(current_results(batch))
    count_codes = {i.code for i in definition.specification.items if i.assay is specs.Assay.CELL_COUNT}
    counted = next(
        (r for r in rows if r.item_code in count_codes and r.status == QcResult.Status.FINAL), None
    )
    cells = Decimal(counted.value) if counted is not None and counted.value is not None else None
    fill = getattr(batch, "fill", None)
    volume = Decimal(fill.patient_units) * fill.volume_per_unit_ml if fill is not None else None
    concentration = (cells / volume).quantize(Decimal(1)) if cells is not None and volume else None
    return BatchFacts(
        batch.number,
        batch.manufactured_at or batch.started_at,
        definition.information.state,
        cells,
        concentration,
        volume,
        _local_date(batch.intake.collected_at, batch.intake.collection_site),
    )


def _local_date(moment: dt.datetime, site: Any) -> dt.date:
    return moment.astimezone(ZoneInfo(site.time_zone)).date()


def certificate_for(batch: Batch, definition: ProductDefinition | None = None) -> CertificateOfAnalysis:
    """The certificate of analysis from the specification, the evaluation and the signatures (T-7.2, T-7.3)."""
    definition = definition or product_definition(batch.product_version)
    evaluation = release_evaluation(batch, definition)
    records: list[Any] = [*batch.audit_reviews.filter(voided_at__isnull=True)]
    release = latest_release(batch)
    if release is not None:
        records.append(release)
    return build_certificate(
        definition.specification,
        evaluation,
        definition.information,
        batch_facts(batch, definition),
        signatures=_signature_lines(records),
        release=release_decision_domain(batch),
    )


def label_for(batch: Batch, definition: ProductDefinition | None = None) -> LabelData:
    """The final label data (T-7.5 a-f); the release time appears only after release (T-7.5-b)."""
    definition = definition or product_definition(batch.product_version)
    return build_label(definition.information, batch_facts(batch, definition), release_decision_domain(batch))


def label_payloads(batch: Batch, label: LabelData, zone: str) -> list[LabelPayload]:
    """What each patient dose's final label DataMatrix carries: COI, unit DIN, product code and the expiry in
    the label's local time, in the unit label's scan format so custody, receipt and bedside scans read it
    (T-7.5-e, T-10.4, T-10.6, G-4). Raises Conflict when a symbol cannot be made, naming what is missing."""
    units = [
        unit.din
        for unit in batch.units.filter(purpose=ProductUnit.Purpose.PATIENT, voided_at__isnull=True).order_by(
            "din"
        )
    ]
    product_code = batch.product_version.product.isbt_product_code
    if not units:
        raise Conflict(f"Batch {batch.number} has no patient-dose unit to label: record the fill first.")
    if not product_code:
        raise Conflict(
            f"Product {batch.product_version.product.code} has no ISBT 128 product code, so the label's "
            "DataMatrix cannot be made: QA sets it on the product master (T-10.6)."
        )
    expires = None
    if label.expires_at is not None:
        expires = label.expires_at.astimezone(ZoneInfo(zone)).replace(tzinfo=None, second=0, microsecond=0)
    try:
        coi = parse_coi(batch.intake.coi + mod37_2_check_character(batch.intake.coi))
        return [
            LabelPayload(
                coi, parse_din(din + mod37_2_check_character(din)), ProductCode(product_code), expires
            )
            for din in units
        ]
    except (IdentifierError, ValueError) as error:
        raise Conflict(f"Batch {batch.number}: the label's identifiers are not valid ({error}).") from None


def _journey_unit(batch: Batch) -> Any:
    from cellchain.journeys.selectors import unit_get_by_identifier

    return unit_get_by_identifier(batch.intake.din)


def donor_summary(batch: Batch, definition: ProductDefinition) -> DonorSummary:
    """The pseudonymous donor summary: type, pseudonym, screening results and dates, nothing else (T-7.6)."""
    unit = _journey_unit(batch)
    screening: tuple[ScreeningSummary, ...] = ()
    code = batch.intake.coi
    if unit is not None:
        code = unit.journey.pseudonym
        screening = tuple(
            ScreeningSummary(r.marker, r.outcome, r.tested_on)
            for r in unit.journey.screening_results.filter(voided_at__isnull=True).order_by("marker")
        )
    return donor_summary_from_fields(
        {"donor_type": definition.information.donor_type.value, "donor_code": code, "screening": screening}
    )


def collected_on_record(batch: Batch) -> dt.date | None:
    """The collection date as the apheresis record holds it (journeys), to check the package (T-7.12-c)."""
    unit = _journey_unit(batch)
    if unit is None:
        return None
    return _local_date(unit.collection.collected_at, unit.journey.hospital_site)


def package_for(batch: Batch, version: int = 1) -> InformationPackage:
    """The product information package built from the records (T-7.4-T-7.15)."""
    definition = product_definition(batch.product_version)
    certificate = certificate_for(batch, definition)
    return build_information_package(
        definition.information,
        batch_facts(batch, definition),
        donor_summary(batch, definition),
        certificate,
        version=str(version),
    )


def product_release_status(unit: ProductUnit) -> str:
    """The release status of the batch a product unit belongs to (for logistics and the clinic)."""
    return unit.batch.status


def signatures_for(record: Any) -> list[Signature]:
    return signatures_of(record)


def batch_label_reconciliation_rows(batch: Batch) -> tuple[Reconciliation, list[Any]]:
    """The label reconciliation of the batch and its label rows: the labels printed for the apheresis unit it
    was started from (FACT-JACIE CM7.2.2.1)."""
    from cellchain.journeys.selectors import label_reconciliation_for_din

    return label_reconciliation_for_din(batch.intake.din)


def batch_label_reconciliation(batch: Batch) -> Reconciliation:
    """Printed = used + voided + destroyed for the batch's labels (FACT-JACIE CM7.2.2.1)."""
    return batch_label_reconciliation_rows(batch)[0]
