"""Certificate of analysis, final product label and product information package, built from the records.

Clauses: T-7.2/T-7.3 (stage QC report with identity, potency, impurities, cell numbers, general tests),
T-7.4 (one versioned package), T-7.5 a-f (label; printing blocked while a field is empty; release date
only after release), T-7.6 (pseudonymous donor data only), T-7.7-T-7.15, T-7.12 (cell source checked
against the apheresis record), REGULATORY items 6 (amended values marked) and 15 (signatures shown).
Nothing here is typed twice: every field comes from the product master, the batch or the QC records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from cellchain.domain.findings import Finding, Gate
from cellchain.domain.product_information import (
    BatchFacts,
    Bilingual,
    DonorSummary,
    DonorType,
    ProductInformation,
    ProductState,
    ReleaseDecision,
    Signature,
    TemperatureRange,
)
from cellchain.domain.specification import (
    Assay,
    MethodStatus,
    ReleaseEvaluation,
    ReleaseOutcome,
    Specification,
    Verdict,
)


@dataclass(frozen=True, slots=True)
class LabelData:
    """The final product label's data (T-7.5 a-f, T-7.6-a); times are UTC, printed in local time."""

    product_name: Bilingual  # T-7.5-a
    cell_type: Bilingual  # T-7.5-a
    batch_number: str  # T-7.5-b
    manufactured_at: datetime | None  # T-7.5-b
    released_at: datetime | None  # T-7.5-b, only after the release decision
    viable_cells: Decimal | None  # T-7.5-c
    concentration: Decimal | None  # T-7.5-c
    volume_ml: Decimal | None  # T-7.5-c
    state: ProductState | None  # T-7.5-d
    expires_at: datetime | None  # T-7.5-e
    storage_temperature: str  # T-7.5-f, T-7.7-a
    storage_mode: Bilingual  # T-7.5-f, T-7.7-d
    transport_temperature: str  # T-7.5-f, T-7.15-a
    donor_type: DonorType  # T-7.6-a


LABEL_REQUIRED_FIELDS: tuple[tuple[str, str], ...] = (
    ("T-7.5-a", "product_name"),
    ("T-7.5-a", "cell_type"),
    ("T-7.5-b", "batch_number"),
    ("T-7.5-b", "manufactured_at"),
    ("T-7.5-b", "released_at"),
    ("T-7.5-c", "viable_cells"),
    ("T-7.5-c", "concentration"),
    ("T-7.5-c", "volume_ml"),
    ("T-7.5-d", "state"),
    ("T-7.5-e", "expires_at"),
    ("T-7.5-f", "storage_temperature"),
    ("T-7.5-f", "storage_mode"),
    ("T-7.5-f", "transport_temperature"),
)
"""Label fields that must all be filled before the label can be printed (T-7.5 a-f)."""


def build_label(info: ProductInformation, batch: BatchFacts, release: ReleaseDecision | None) -> LabelData:
    """The label from the product master and the batch; the release time only once released (T-7.5-b)."""
    storage = info.storage_transport
    expires_at = batch.manufactured_at + info.shelf_life if info.shelf_life is not None else None
    return LabelData(
        product_name=info.product_name,
        cell_type=info.cell_type,
        batch_number=batch.batch_number,
        manufactured_at=batch.manufactured_at,
        released_at=release.signature.signed_at if release is not None else None,
        viable_cells=batch.viable_cells,
        concentration=batch.concentration,
        volume_ml=batch.volume_ml,
        state=batch.state,
        expires_at=expires_at,
        storage_temperature=storage.storage_temperature.describe(),
        storage_mode=storage.storage_mode,
        transport_temperature=storage.transport_temperature.describe(),
        donor_type=info.donor_type,
    )


def label_missing_fields(label: LabelData) -> tuple[Finding, ...]:
    """Label fields still empty; printing is blocked while any is (T-7.5)."""
    return _missing(label, LABEL_REQUIRED_FIELDS, "label")


def label_print_check(label: LabelData) -> Gate:
    """May the final label be printed? Only with every T-7.5 field, hence only after release (T-7.5-b)."""
    return Gate(label_missing_fields(label))


def _missing(source: object, required: tuple[tuple[str, str], ...], prefix: str) -> tuple[Finding, ...]:
    return tuple(
        Finding("field_missing", f"{prefix}.{path} is empty", clause, f"{prefix}.{path}")
        for clause, path in required
        if _is_empty(_resolve(source, path))
    )


def _resolve(source: object, path: str) -> object:
    value = source
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Bilingual):
        return not value.complete
    if isinstance(value, TemperatureRange):
        return value.minimum_c is None and value.maximum_c is None
    if isinstance(value, tuple):
        return not value or any(_is_empty(v) for v in value)
    return False


@dataclass(frozen=True, slots=True)
class CoaLine:
    """One line of the certificate: test, method and its standing, limit, result, verdict, amended mark."""

    code: str
    assay: Assay
    method: str
    method_standing: str  # "compendial", "validated", "rapid (validated)"
    sampling_point: str
    limit: str
    result: str
    verdict: Verdict
    release_blocking: bool
    amended: bool  # REGULATORY item 6: printed with a mark
    issuing_lab: str
    third_party: bool


@dataclass(frozen=True, slots=True)
class CertificateOfAnalysis:
    """The certificate of analysis of one batch, generated from the specification and the evaluation."""

    product_name: Bilingual
    batch_number: str
    specification: str  # "<product> v<version>"
    manufactured_at: datetime
    outcome: ReleaseOutcome
    lines: tuple[CoaLine, ...]
    pending: tuple[str, ...]  # tests pending at a conditional release (Q-2-b)
    findings: tuple[Finding, ...]  # why the batch is not releasable
    signatures: tuple[Signature, ...]
    release: ReleaseDecision | None


STAGE_REPORT_SECTIONS: tuple[tuple[str, frozenset[Assay]], ...] = (
    ("identity", frozenset({Assay.IDENTITY, Assay.CAR_POSITIVE})),
    ("potency", frozenset({Assay.POTENCY})),
    ("impurities", frozenset({Assay.BEAD_RESIDUE, Assay.CYTOKINE_RESIDUE})),
    ("cell_numbers", frozenset({Assay.CELL_COUNT, Assay.CAR_POSITIVE})),
    (
        "general_tests",
        frozenset(
            {Assay.STERILITY, Assay.MYCOPLASMA, Assay.ENDOTOXIN, Assay.APPEARANCE, Assay.FOREIGN_MATTER}
        ),
    ),
)
"""Sections every stage QC report of an autologous product holds (T-7.3): identity (鉴别; CAR expression
identifies a CAR-T product), potency, impurities, cell numbers (viable and functional = CAR+), general tests
(sterility, mycoplasma, endotoxin, appearance, foreign matter). A section with no final result is empty."""


def _standing(status: MethodStatus, rapid: bool) -> str:
    return f"rapid ({status.value})" if rapid else status.value


def build_certificate(
    spec: Specification,
    evaluation: ReleaseEvaluation,
    info: ProductInformation,
    batch: BatchFacts,
    *,
    signatures: tuple[Signature, ...],
    release: ReleaseDecision | None,
) -> CertificateOfAnalysis:
    """The certificate from the specification, the evaluation and the signatures (T-7.2, T-7.3, Q-2-b)."""
    lines = tuple(
        CoaLine(
            code=v.item.code,
            assay=v.item.assay,
            method=v.item.method.name,
            method_standing=_standing(v.item.method.status, v.item.method.rapid),
            sampling_point=v.item.sampling_point,
            limit=v.limit,
            result=v.shown,
            verdict=v.verdict,
            release_blocking=v.item.release_blocking,
            amended=v.amended,
            issuing_lab=v.result.issuing_lab if v.result is not None else "",
            third_party=v.result.third_party if v.result is not None else False,
        )
        for v in evaluation.verdicts
    )
    return CertificateOfAnalysis(
        info.product_name,
        batch.batch_number,
        f"{spec.product_code} v{spec.version}",
        batch.manufactured_at,
        evaluation.outcome,
        lines,
        evaluation.pending,
        evaluation.findings,
        signatures,
        release,
    )


def stage_report_missing_sections(certificate: CertificateOfAnalysis) -> tuple[Finding, ...]:
    """T-7.3 sections with no final result: the report cannot be issued while one is empty."""
    final = {
        line.assay for line in certificate.lines if line.verdict not in (Verdict.PENDING, Verdict.NOT_TESTED)
    }
    return tuple(
        Finding("report_section_empty", f"the QC report has no result for {section}", "T-7.3", section)
        for section, assays in STAGE_REPORT_SECTIONS
        if not final & assays
    )


def certificate_issue_check(certificate: CertificateOfAnalysis, donor_type: DonorType) -> Gate:
    """May the certificate be issued? (T-7.2, T-7.3, Q-2-b)

    Only for a batch released fully or conditionally, with signatures shown, every T-7.3 section filled,
    and for a non-autologous product every result issued by a qualified third party.
    """
    found = list(stage_report_missing_sections(certificate))
    if certificate.outcome is ReleaseOutcome.NOT_RELEASABLE or certificate.release is None:
        found.append(
            Finding("not_released", "the batch has no release decision", "Q-2-b", certificate.batch_number)
        )
    if not certificate.signatures:
        found.append(Finding("signatures_missing", "the certificate carries no signature", "X-4"))
    if donor_type is DonorType.ALLOGENEIC:
        found += [
            Finding(
                "not_third_party",
                f"{line.code} was not issued by a qualified third party",
                "T-7.2",
                line.code,
            )
            for line in certificate.lines
            if line.verdict is not Verdict.PENDING and not line.third_party
        ]
    return Gate(tuple(found))


@dataclass(frozen=True, slots=True)
class InformationPackage:
    """The versioned product information package for the clinic (T-7.4): label data, donor summary, the
    product-master sections T-7.7-T-7.15 with the batch's collection date, and the certificate (T-7.2, T-7.3).

    It has no place for batch process-parameter values, which never go to the clinic (T-7.11).
    """

    version: str
    label: LabelData
    donor: DonorSummary
    info: ProductInformation
    certificate: CertificateOfAnalysis


PACKAGE_REQUIRED_FIELDS: tuple[tuple[str, str], ...] = (
    ("T-7.6-b", "donor.donor_code"),
    ("T-7.6-c", "donor.screening"),
    ("T-7.7-a", "info.storage_transport.storage_temperature"),
    ("T-7.7-b", "info.storage_transport.max_transport_time"),
    ("T-7.7-c", "info.storage_transport.containers"),
    ("T-7.7-d", "info.storage_transport.storage_mode"),
    ("T-7.7-e", "info.storage_transport.storage_time_limit"),
    ("T-7.8-a", "info.use_times.after_thaw"),
    ("T-7.8-b", "info.use_times.preparation"),
    ("T-7.8-d", "info.use_times.overtime_handling"),
    ("T-7.8", "info.use_times.evidence"),
    ("T-7.9-a", "info.risks.adverse_reactions"),
    ("T-7.9-b", "info.risks.monitoring_indicators"),
    ("T-7.9-d", "info.risks.precautions"),
    ("T-7.10-a", "info.ae_reporting.content"),
    ("T-7.10-b", "info.ae_reporting.time_limit"),
    ("T-7.10-c", "info.ae_reporting.route"),
    ("T-7.10-c", "info.ae_reporting.contacts"),
    ("T-7.10-d", "info.ae_reporting.information_to_supply"),
    ("T-7.11", "info.process_information"),
    ("T-7.12-a", "info.cell_source.tissue"),
    ("T-7.12-b", "info.cell_source.collection_principle"),
    ("T-7.12-c", "info.cell_source.collection_date"),
    ("T-7.12-d", "info.cell_source.collection_qc_summary"),
    ("T-7.13-a", "info.key_process.expansion_mode"),
    ("T-7.13-b", "info.key_process.culture_conditions"),
    ("T-7.13-c", "info.key_process.harvest_principle"),
    ("T-7.14-a", "info.thaw_preparation.thaw_temperature"),
    ("T-7.14-a", "info.thaw_preparation.thaw_method"),
    ("T-7.14-e", "info.thaw_preparation.pre_infusion_checks"),
    ("T-7.15-a", "info.storage_transport.transport_temperature"),
    ("T-7.15-d", "info.storage_transport.delivery_acceptance"),
    ("T-7.15-e", "info.storage_transport.anomaly_handling"),
)
"""Package fields that must be filled before the package can be issued (T-7.4-T-7.15). Items the standard
marks "if applicable" (T-7.8-c, T-7.9-c, T-7.14-c) are optional; the conditional ones are checked apart."""


def build_information_package(
    info: ProductInformation,
    batch: BatchFacts,
    donor: DonorSummary,
    certificate: CertificateOfAnalysis,
    *,
    version: str,
) -> InformationPackage:
    """The package from the product master, the batch, the donor summary and the certificate (T-7.4)."""
    source = replace(info.cell_source, collection_date=batch.collection_date)
    label = build_label(info, batch, certificate.release)
    return InformationPackage(version, label, donor, replace(info, cell_source=source), certificate)


def missing_fields(package: InformationPackage) -> tuple[Finding, ...]:
    """Every empty mandatory field of the package; it cannot be issued while any is listed (T-7.3-T-7.15)."""
    return (
        *label_missing_fields(package.label),
        *_missing(package, PACKAGE_REQUIRED_FIELDS, "package"),
        *_conditional_missing(package),
    )


def _conditional_missing(package: InformationPackage) -> list[Finding]:
    info, found = package.info, []
    rules = (
        (
            "T-7.13-e",
            "cryopreservation_principle",
            info.key_process.formulation_form is ProductState.CRYOPRESERVED
            and not info.key_process.cryopreservation_principle.complete,
        ),
        (
            "T-7.14-b",
            "further_processing",
            not info.thaw_preparation.use_immediately
            and not info.thaw_preparation.further_processing.complete,
        ),
        (
            "T-7.6-d",
            "hla_match",
            package.donor.donor_type is DonorType.ALLOGENEIC and not package.donor.hla_match,
        ),
    )
    for clause, name, empty in rules:
        if empty:
            found.append(Finding("field_missing", f"package {name} is empty", clause, name))
    return found


def package_issue_check(package: InformationPackage, *, collected_on: date | None) -> Gate:
    """May the package go to the clinic? No empty field, the certificate issuable, the cell source matching
    the apheresis record (T-7.4, T-7.12); a fresh/cryopreserved mismatch is only a warning (T-7.13)."""
    found = [
        *missing_fields(package),
        *certificate_issue_check(package.certificate, package.donor.donor_type).findings,
    ]
    source_date = package.info.cell_source.collection_date
    if collected_on is None or source_date != collected_on:
        found.append(
            Finding(
                "cell_source_mismatch",
                "collection date differs from the apheresis record",
                "T-7.12-c",
                "collection_date",
                str(source_date),
                str(collected_on),
            )
        )
    return Gate(tuple(found))


def key_process_warnings(package: InformationPackage) -> tuple[Finding, ...]:
    """Warn when the key-process text says fresh/cryopreserved and the batch is the other (T-7.13-d)."""
    stated, released = package.info.key_process.formulation_form, package.label.state
    if released is None or stated is released:
        return ()
    return (
        Finding(
            "formulation_form_differs",
            f"package states {stated.value}, batch released {released.value}",
            "T-7.13-d",
            "formulation_form",
            released.value,
            stated.value,
        ),
    )
