"""QC's changes put their EPCIS message to the hospital into the outbox in the same transaction, only at a
manufacturer-only installation (issue 12 item 2; Q-2-b, Q-2.5-b, Q-2.5-c, T-7.4; decisions 0017, 0021, 0022)."""

from __future__ import annotations

from typing import Any

import pytest

from cellchain.domain.epcis_hash import document_namespaces, event_hash
from cellchain.domain.epcis_messages import parse_message
from cellchain.exchange.epcis import schema_reasons
from cellchain.exchange.tests.epcis_kit import epcis_outbox, kinds_sent, partner_for
from cellchain.qc import services
from cellchain.qc.models import QcResult, ReleaseDecision

pytestmark = pytest.mark.django_db


@pytest.fixture
def manufacturer(settings: Any, tmp_path: Any) -> Any:
    settings.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    return settings


def _assert_identified(message: Any) -> None:
    """The envelope's event id is the document's one eventID, GS1's event hash of the event (decision 0018),
    and the body is schema-valid."""
    body = message.envelope["body"]
    event = body["epcisBody"]["eventList"][0]
    assert message.event_id == event["eventID"] == event_hash(event, document_namespaces(body))
    assert schema_reasons(body) == []


def test_conditional_release_late_positive_and_recall_are_enqueued_to_the_hospital(mfg, manufacturer):
    """Q-2.5-b, Q-2.5-c, issue 12 item 2: conditional release, then the late positive and its recall/hold, each an
    EPCIS message to the partner standing for the hospital whose patient the batch is for."""
    batch = mfg.manufactured()
    partner = partner_for(batch.intake.collection_site.organisation)
    for code in ("sterility", "mycoplasma"):
        services.result_record(actor=mfg.analyst, batch=batch, item_code=code, status=QcResult.Status.ORDERED)
    batch = mfg.ready_for_release(batch, sterility={"status": "ordered"}, mycoplasma={"status": "ordered"})
    services.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"),
                           outcome="conditionally_releasable")  # fmt: skip
    assert kinds_sent() == ["epcis.release"]
    (release,) = epcis_outbox()
    assert release.partner == partner
    _assert_identified(release)
    notice = parse_message(release.envelope["body"]).notice
    assert notice.status.value == "conditional" and notice.pending_tests == ("sterility", "mycoplasma")

    batch.refresh_from_db()
    services.result_record(actor=mfg.analyst, batch=batch, item_code="sterility", outcome="positive")
    assert kinds_sent() == ["epcis.release", "epcis.late_result", "epcis.recall"]
    for message in epcis_outbox():
        _assert_identified(message)
        assert message.partner == partner
    assert len({m.event_id for m in epcis_outbox()}) == 3


def test_full_release_and_package_are_enqueued(mfg, manufacturer):
    """Q-2-b, T-7.4: the full release (CoA by SHA-256) and the package (its RFC 8785 SHA-256 as QC recorded it)."""
    batch = mfg.ready_for_release(mfg.manufactured())
    partner_for(batch.intake.collection_site.organisation)
    services.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable")
    issue = services.package_issue(actor=mfg.qa, batch=batch)
    assert kinds_sent() == ["epcis.release", "epcis.product_information"]
    release, package = epcis_outbox()
    _assert_identified(release)
    _assert_identified(package)
    assert parse_message(package.envelope["body"]).notice.document.sha256 == issue.content_sha256


def test_nothing_is_enqueued_at_a_single_installation(mfg, settings, tmp_path):
    """Decision 0021: at role "both" the hospital reads the same database; no message is written even with a
    partner registered for the hospital."""
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    assert settings.CELLCHAIN_INSTALLATION_ROLE == "both"
    batch = mfg.ready_for_release(mfg.manufactured())
    partner_for(batch.intake.collection_site.organisation)
    services.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable")
    services.package_issue(actor=mfg.qa, batch=batch)
    assert kinds_sent() == []


def test_without_a_partner_for_the_hospital_the_release_stands_and_nothing_is_sent(mfg, manufacturer, caplog):
    """Decision 0023: an installation with no partner for the hospital yet (its demo loads before partners are
    linked) records the release, sends nothing and logs why (issue 12 item 2)."""
    batch = mfg.ready_for_release(mfg.manufactured())
    services.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable")
    assert ReleaseDecision.objects.filter(batch=batch).exists() and kinds_sent() == []
    assert "no active exchange partner" in caplog.text
