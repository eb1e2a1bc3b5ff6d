"""QC tells the hospital by EPCIS 2.0 message: release / conditional release with the CoA by reference, a late
result, a recall/hold, the product information package (issue 12 item 2; Q-2-b, Q-2.5-b, Q-2.5-c, T-7.4).

Each function runs inside the transaction of the QC change it reports and writes the outbox message with it
(decision 0017). Nothing is built or written unless this installation's role is ``manufacturer``: at ``both``
the clinic reads the QC records directly, as before (decision 0021).
"""

from __future__ import annotations

from typing import Any

from cellchain.core import clock, installation
from cellchain.exchange.epcis import epcis_enqueue
from cellchain.qc.models import PackageIssue, QcResult, RecallHold, ReleaseDecision


def _sending() -> bool:
    return installation.role() == installation.MANUFACTURER


def _hospital(batch: Any) -> Any:
    """The organisation of the hospital the batch is made for (its apheresis collection site's)."""
    return batch.intake.collection_site.organisation


def announce_release(actor: Any, decision: ReleaseDecision) -> Any | None:
    """Release or conditional release, with the CoA by reference (URI + SHA-256; Q-2-b, Q-2.5-b)."""
    if not _sending():
        return None
    from cellchain.qc.epcis import coa_document, release_message_document

    certificate, _pdf = coa_document(decision.batch)
    document = release_message_document(decision, created_at=clock.now(), certificate=certificate)
    return epcis_enqueue(actor=actor, organisation=_hospital(decision.batch), document=document)


def announce_late_result(actor: Any, result: QcResult) -> Any | None:
    """A compendial result recorded after the (conditional) release, pass or fail (Q-2.5-c)."""
    if not _sending():
        return None
    from cellchain.qc.epcis import late_result_message_document

    document = late_result_message_document(result, created_at=clock.now())
    return epcis_enqueue(actor=actor, organisation=_hospital(result.batch), document=document)


def announce_recall(actor: Any, recall: RecallHold) -> Any | None:
    """The recall/hold started by a late compendial positive (Q-2.5-c)."""
    if not _sending():
        return None
    from cellchain.qc.epcis import recall_message_document

    document = recall_message_document(recall, created_at=clock.now())
    return epcis_enqueue(actor=actor, organisation=_hospital(recall.batch), document=document)


def announce_package(actor: Any, issue: PackageIssue) -> Any | None:
    """A product information package version, by reference to its RFC 8785 bytes (T-7.4)."""
    if not _sending():
        return None
    from cellchain.qc.epcis import package_message_document

    document = package_message_document(issue, created_at=clock.now())
    return epcis_enqueue(actor=actor, organisation=issue.recipient, document=document)
