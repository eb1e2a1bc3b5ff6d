"""QC's messages to the hospital as EPCIS 2.0 documents: batch release / conditional release with the CoA,
late results, recall or hold, and the product information package (issue 12 item 2, first bullet; Q-2-b,
Q-2.5-b, Q-2.5-c, T-7.4).

Reads the QC records into the notices of `cellchain.domain.epcis_messages` and lets the pure builders write
the documents (eventID = GS1 event hash). Documents travel by reference: the CoA PDF and the package content
are named by URI with the SHA-256 of their bytes, which `coa_document` / `package_document` return beside the
reference so the exchange can serve exactly those bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo

import rfc8785

from cellchain.domain.epcis_events import DEFAULT_ID_BASE, EpcisIds
from cellchain.domain.epcis_messages import (
    DocumentRef,
    LateResultNotice,
    ProductInformationNotice,
    RecallDisposition,
    RecallNotice,
    ReleaseNotice,
    ReleaseStatus,
    ResultOutcome,
    UnitLine,
    late_result_message,
    product_information_message,
    recall_message,
    release_message,
)
from cellchain.manufacturing.models import Batch, ProductUnit
from cellchain.qc.models import PackageIssue, QcResult, RecallHold, ReleaseDecision


def batch_units(batch: Batch) -> tuple[UnitLine, ...]:
    """The batch's patient units as the hospital expects them: DIN, the pseudonymous COI, product, batch."""
    code = batch.product_version.product.code
    dins = (
        batch.units.filter(purpose=ProductUnit.Purpose.PATIENT).order_by("din").values_list("din", flat=True)
    )
    return tuple(UnitLine(din, batch.intake.coi, code, batch.number) for din in dins)


def _zone(batch: Batch) -> ZoneInfo:
    return ZoneInfo(batch.site.time_zone)


def coa_document(batch: Batch, *, ids: EpcisIds | None = None) -> tuple[DocumentRef, bytes]:
    """The batch's certificate of analysis as PDF bytes and their reference (URI + SHA-256) (Q-2-b, T-7.2)."""
    from cellchain.manufacturing.selectors import product_definition
    from cellchain.qc import documents, selectors

    ids = ids or EpcisIds(DEFAULT_ID_BASE)
    definition = product_definition(batch.product_version)
    pdf = documents.coa_pdf(
        selectors.certificate_for(batch, definition), definition.item_labels, batch.site.time_zone
    )
    digest = hashlib.sha256(pdf).hexdigest()
    uri = f"{ids.base}/documents/coa/{batch.number}-{digest[:12]}.pdf"
    return DocumentRef(uri, digest, "certificate_of_analysis"), pdf


def release_notice(decision: ReleaseDecision, certificate: DocumentRef) -> ReleaseNotice:
    batch = decision.batch
    conditional = decision.outcome == ReleaseDecision.Outcome.CONDITIONAL
    return ReleaseNotice(
        product_code=batch.product_version.product.code,
        batch_number=batch.number,
        status=ReleaseStatus.CONDITIONAL if conditional else ReleaseStatus.RELEASED,
        decided_at=decision.decided_at.astimezone(_zone(batch)),
        site=batch.site.code,
        units=batch_units(batch),
        certificate=certificate,
        pending_tests=tuple(decision.pending) if conditional else (),
    )


def release_message_document(
    decision: ReleaseDecision,
    *,
    created_at: dt.datetime,
    certificate: DocumentRef,
    ids: EpcisIds | None = None,
) -> dict[str, Any]:
    """Release or conditional release of a batch with its CoA by reference (issue 12 item 2; Q-2-b, Q-2.5-b)."""
    ids = ids or EpcisIds(DEFAULT_ID_BASE)
    return release_message(release_notice(decision, certificate), ids=ids, created_at=created_at)


_OUTCOMES = {
    QcResult.Outcome.NEGATIVE: ResultOutcome.PASS,
    QcResult.Outcome.CONFORMS: ResultOutcome.PASS,
    QcResult.Outcome.POSITIVE: ResultOutcome.FAIL,
    QcResult.Outcome.DOES_NOT_CONFORM: ResultOutcome.FAIL,
}


def late_result_message_document(
    result: QcResult,
    *,
    created_at: dt.datetime,
    report: DocumentRef | None = None,
    ids: EpcisIds | None = None,
) -> dict[str, Any]:
    """A result recorded after the batch's release (the parallel compendial tests; Q-2.5-c)."""
    ids = ids or EpcisIds(DEFAULT_ID_BASE)
    if result.outcome in _OUTCOMES:
        outcome = _OUTCOMES[QcResult.Outcome(result.outcome)]
    else:
        outcome = ResultOutcome.PASS if result.verdict == QcResult.Verdict.CONFORMS else ResultOutcome.FAIL
    batch = result.batch
    notice = LateResultNotice(
        product_code=batch.product_version.product.code,
        batch_number=batch.number,
        test=result.item_code,
        outcome=outcome,
        reported_at=result.performed_at.astimezone(_zone(batch)),
        site=batch.site.code,
        units=batch_units(batch),
        report=report,
    )
    return late_result_message(notice, ids=ids, created_at=created_at)


def recall_message_document(
    recall: RecallHold, *, created_at: dt.datetime, ids: EpcisIds | None = None
) -> dict[str, Any]:
    """A recall/hold of the batch's units with its reason (issue 12 item 2; Q-2.5-c)."""
    ids = ids or EpcisIds(DEFAULT_ID_BASE)
    batch = recall.batch
    notice = RecallNotice(
        reference=f"RH-{batch.number}-{recall.started_at.astimezone(dt.UTC):%Y%m%dT%H%M%S}",
        product_code=batch.product_version.product.code,
        batch_number=batch.number,
        reason=recall.reason,
        started_at=recall.started_at.astimezone(_zone(batch)),
        site=batch.site.code,
        units=batch_units(batch),
        disposition=RecallDisposition.RECALLED,
    )
    return recall_message(notice, ids=ids, created_at=created_at)


def package_document(issue: PackageIssue, *, ids: EpcisIds | None = None) -> tuple[DocumentRef, bytes]:
    """The issued package content as RFC 8785 JSON bytes (what `content_sha256` is of) and its reference."""
    ids = ids or EpcisIds(DEFAULT_ID_BASE)
    content = rfc8785.dumps(issue.content)
    digest = hashlib.sha256(content).hexdigest()
    uri = f"{ids.base}/packages/{issue.batch.number}/v{issue.version}.json"
    return DocumentRef(uri, digest, "product_information", "application/json"), content


def package_message_document(
    issue: PackageIssue, *, created_at: dt.datetime, ids: EpcisIds | None = None
) -> dict[str, Any]:
    """A product information package version (T-7.4) by reference (issue 12 item 2)."""
    ids = ids or EpcisIds(DEFAULT_ID_BASE)
    batch = issue.batch
    document, _ = package_document(issue, ids=ids)
    notice = ProductInformationNotice(
        product_code=batch.product_version.product.code,
        batch_number=batch.number,
        version=issue.version,
        issued_at=issue.issued_at.astimezone(_zone(batch)),
        site=batch.site.code,
        units=batch_units(batch),
        document=document,
    )
    return product_information_message(notice, ids=ids, created_at=created_at)
