"""QC's EPCIS messages to the hospital from real records: conditional release with the CoA, the late compendial
positive with its recall/hold, the full release, the information package (issue 12 item 2, first bullet;
Q-2-b, Q-2.5-b, Q-2.5-c, T-7.4, T-7.6)."""

from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785

from cellchain.core import clock
from cellchain.domain.epcis_messages import (
    RecallDisposition,
    ReleaseStatus,
    ResultOutcome,
    parse_late_result,
    parse_message,
    parse_product_information,
    parse_recall,
    parse_release,
)
from cellchain.domain.tests.epcis_reference import assert_valid_and_identified
from cellchain.qc import services
from cellchain.qc.epcis import (
    coa_document,
    late_result_message_document,
    package_document,
    package_message_document,
    recall_message_document,
    release_message_document,
)
from cellchain.qc.models import QcResult, RecallHold, ReleaseDecision

pytestmark = pytest.mark.django_db


def _no_patient_identity(document, batch) -> None:
    """T-7.6: no value that identifies the patient, nor the hospital's pseudonym, is in the message."""
    from cellchain.journeys.models import PatientIdentity

    identity = PatientIdentity.objects.get(journey__coi=batch.intake.coi)
    text = json.dumps(document, ensure_ascii=False)
    for value in (identity.name, identity.hospital_record_number, identity.wristband_id, identity.journey.pseudonym,
                  identity.birth_date.isoformat()):  # fmt: skip
        assert value and value not in text


def _conditionally_released(mfg):
    batch = mfg.manufactured()
    for code in ("sterility", "mycoplasma"):
        services.result_record(actor=mfg.analyst, batch=batch, item_code=code, status=QcResult.Status.ORDERED)
    batch = mfg.ready_for_release(batch, sterility={"status": "ordered"}, mycoplasma={"status": "ordered"})
    decision = services.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"),
                                      outcome="conditionally_releasable")  # fmt: skip
    batch.refresh_from_db()
    return batch, decision


def test_conditional_release_then_late_positive_and_recall_as_epcis_messages(mfg):
    """Q-2.5-b: the conditional release names the pending compendial tests and references the CoA by SHA-256;
    Q-2.5-c: the late positive and the recall/hold follow, each its own event with its own ID."""
    batch, decision = _conditionally_released(mfg)
    certificate, pdf = coa_document(batch)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == certificate.sha256
    assert (
        coa_document(batch)[0] == certificate
    )  # the PDF is rendered deterministically: same bytes, same hash

    released = release_message_document(decision, created_at=clock.now(), certificate=certificate)
    assert_valid_and_identified(released)
    notice = parse_release(released).notice
    assert notice.status == ReleaseStatus.CONDITIONAL and notice.pending_tests == ("sterility", "mycoplasma")
    assert notice.certificate == certificate and {u.coi for u in notice.units} == {batch.intake.coi}
    assert sorted(u.din for u in notice.units) == sorted(
        batch.units.filter(purpose="patient").values_list("din", flat=True)
    )
    _no_patient_identity(released, batch)

    positive = services.result_record(
        actor=mfg.analyst, batch=batch, item_code="sterility", outcome="positive"
    )
    late = late_result_message_document(positive, created_at=clock.now())
    assert_valid_and_identified(late)
    assert parse_late_result(late).notice.outcome == ResultOutcome.FAIL
    assert late["epcisBody"]["eventList"][0]["disposition"] == "non_conformant"

    recall = RecallHold.objects.get(batch=batch)
    recalled = recall_message_document(recall, created_at=clock.now())
    assert_valid_and_identified(recalled)
    received = parse_recall(recalled)
    assert (
        received.notice.disposition == RecallDisposition.RECALLED and received.notice.reason == recall.reason
    )
    assert parse_message(recalled).event_id == received.event_id
    _no_patient_identity(recalled, batch)
    ids = {d["epcisBody"]["eventList"][0]["eventID"] for d in (released, late, recalled)}
    assert len(ids) == 3


def test_full_release_and_information_package_as_epcis_messages(mfg):
    """Q-2-b and T-7.4: the package goes by reference, its SHA-256 the one QC recorded at issue."""
    batch = mfg.ready_for_release(mfg.manufactured())
    decision = services.batch_release(
        actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable"
    )
    assert decision.outcome == ReleaseDecision.Outcome.RELEASED
    released = release_message_document(decision, created_at=clock.now(), certificate=coa_document(batch)[0])
    assert_valid_and_identified(released)
    assert parse_release(released).notice.status == ReleaseStatus.RELEASED

    issue = services.package_issue(actor=mfg.qa, batch=batch)
    document = package_message_document(issue, created_at=clock.now())
    assert_valid_and_identified(document)
    notice = parse_product_information(document).notice
    reference, content = package_document(issue)
    assert notice.document == reference and notice.document.sha256 == issue.content_sha256
    assert content == rfc8785.dumps(issue.content) and notice.version == issue.version
    assert "donor" not in json.dumps(document)  # the content itself is not inline
    _no_patient_identity(document, batch)
