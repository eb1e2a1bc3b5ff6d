"""The inbox: every refusal is answered with its reason and quarantined; a message is applied once
(issue 12 item 2). A second installation is simulated in this process by a second Ed25519 key registered as
the partner "hospital-a"."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.exchange.models import InboxMessage, Partner, QuarantinedMessage
from cellchain.exchange.services import partner_deactivate, quarantine_review
from cellchain.exchange.tests.conftest import PARTNER_LOG, TEST_KIND, Applied, deliver, their_envelope
from cellchain.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db


def _refused(response: Any, status: int, code: str, why: str) -> QuarantinedMessage:
    assert response.status_code == status, response.content
    answer = response.json()
    assert answer["code"] == code and why in answer["message"], answer
    kept = QuarantinedMessage.objects.get(pk=answer["detail"]["quarantine_id"])
    assert kept.code == code and why in kept.reason
    assert LedgerEntry.objects.filter(
        record_type="exchange.quarantinedmessage", record_id=str(kept.pk), event="exchange:quarantine"
    ).exists()
    assert not InboxMessage.objects.exists()
    return kept


class TestAccepted:
    def test_a_signed_message_is_applied_once_and_ledgered(
        self, partner: Partner, other_key: Ed25519PrivateKey, applied: Applied
    ) -> None:
        envelope = their_envelope(other_key)
        response = deliver(envelope)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "received" and response.json()["event_id"] == "evt-1"
        assert applied.notes == [(PARTNER_LOG, "hello")]
        received = InboxMessage.objects.get()
        assert (received.sender, received.kind, received.event_id) == (PARTNER_LOG, TEST_KIND, "evt-1")
        entry = LedgerEntry.objects.get(record_type="exchange.inboxmessage", record_id=str(received.pk))
        assert entry.event == "exchange:receive"

    def test_a_repeated_delivery_is_already_received_and_not_applied_twice(
        self, partner: Partner, other_key: Ed25519PrivateKey, applied: Applied
    ) -> None:
        envelope = their_envelope(other_key)
        assert deliver(envelope).json()["status"] == "received"
        again = deliver({**envelope, "witness": None})  # the unsigned attachment may differ between tries
        assert again.status_code == 200 and again.json()["status"] == "already received"
        assert applied.notes == [(PARTNER_LOG, "hello")]
        assert InboxMessage.objects.count() == 1 and not QuarantinedMessage.objects.exists()

    def test_the_receive_runs_in_a_bounded_number_of_queries(
        self,
        partner: Partner,
        other_key: Ed25519PrivateKey,
        applied: Applied,
        django_assert_max_num_queries: Any,
    ) -> None:
        """Authenticate, check, apply, ledger, issue our head: at most 22 queries whatever the body's size or
        the number received before (the ledger's Merkle nodes vary by one or two with the tree size)."""
        deliver(their_envelope(other_key, event_id="warm-up"))  # the log's first head registers its key
        for number in range(6):
            body = {"text": "x" * (10 + 400 * number)}
            with django_assert_max_num_queries(22):
                response = deliver(their_envelope(other_key, event_id=f"evt-{number}", body=body))
            assert response.json()["status"] == "received"
        with django_assert_max_num_queries(12):  # a repeat: no apply, no append, no new head
            assert (
                deliver(their_envelope(other_key, event_id="evt-5", body=body)).json()["status"]
                == "already received"
            )


class TestRefused:
    def test_no_token(self, partner: Partner, other_key: Ed25519PrivateKey) -> None:
        kept = _refused(
            deliver(their_envelope(other_key), token=""), 401, "unknown_partner", "no bearer token"
        )
        assert kept.partner is None and kept.sender_claimed == PARTNER_LOG and kept.event_id == "evt-1"

    def test_unknown_token(self, partner: Partner, other_key: Ed25519PrivateKey) -> None:
        _refused(
            deliver(their_envelope(other_key), token="ccx_guessed"), 401, "unknown_partner", "not the token"
        )

    def test_inactive_partner(self, partner: Partner, other_key: Ed25519PrivateKey) -> None:
        partner_deactivate(actor=None, partner=partner, reason="contract ended")
        _refused(deliver(their_envelope(other_key)), 403, "partner_inactive", "inactive")

    def test_not_json(self, partner: Partner) -> None:
        kept = _refused(deliver(None, raw=b"\xff{not json"), 400, "malformed", "not UTF-8 JSON")
        assert bytes(kept.raw) == b"\xff{not json" and kept.partner == partner

    def test_not_an_envelope(self, partner: Partner, other_key: Ed25519PrivateKey) -> None:
        envelope = their_envelope(other_key)
        del envelope["event_id"]
        _refused(deliver(envelope), 400, "malformed", "event_id: missing")

    def test_sender_other_than_the_token_holder(self, partner: Partner, other_key: Ed25519PrivateKey) -> None:
        _refused(
            deliver(their_envelope(other_key, sender="hospital-b")),
            403,
            "wrong_sender",
            "token is that of hospital-a",
        )

    def test_wrong_recipient(self, partner: Partner, other_key: Ed25519PrivateKey) -> None:
        _refused(
            deliver(their_envelope(other_key, recipient="someone-else")),
            400,
            "wrong_recipient",
            "'someone-else'",
        )

    def test_tampered_body(self, partner: Partner, other_key: Ed25519PrivateKey) -> None:
        envelope = their_envelope(other_key)
        envelope["body"]["text"] = "changed on the way"
        _refused(deliver(envelope), 403, "bad_signature", "does not verify with the key pinned")

    def test_signed_with_another_key(self, partner: Partner) -> None:
        _refused(deliver(their_envelope(Ed25519PrivateKey.generate())), 403, "bad_signature", "pinned")

    def test_unknown_kind(self, partner: Partner, other_key: Ed25519PrivateKey) -> None:
        _refused(
            deliver(their_envelope(other_key, kind="epcis.unknown")), 400, "unknown_kind", "'epcis.unknown'"
        )

    def test_invalid_body(self, partner: Partner, other_key: Ed25519PrivateKey) -> None:
        kept = _refused(
            deliver(their_envelope(other_key, body={"txt": "typo"})), 422, "invalid_body", "text: missing"
        )
        assert kept.kind == TEST_KIND

    def test_refused_by_the_kind_on_apply_leaves_nothing(
        self, partner: Partner, other_key: Ed25519PrivateKey, applied: Applied
    ) -> None:
        applied.refuse = "no such journey"
        _refused(deliver(their_envelope(other_key)), 422, "not_applied", "no such journey")
        assert applied.notes == []

    def test_same_event_id_with_other_content_is_a_replay_or_forgery(
        self, partner: Partner, other_key: Ed25519PrivateKey, applied: Applied
    ) -> None:
        assert deliver(their_envelope(other_key)).status_code == 200
        response = deliver(their_envelope(other_key, body={"text": "other"}))
        assert response.status_code == 409
        assert response.json()["code"] == "tampered_duplicate"
        assert QuarantinedMessage.objects.get().code == "tampered_duplicate"
        assert applied.notes == [(PARTNER_LOG, "hello")] and InboxMessage.objects.count() == 1

    def test_too_large(self, partner: Partner, other_key: Ed25519PrivateKey, settings: Any) -> None:
        settings.CELLCHAIN_EXCHANGE_MAX_BYTES = 200
        kept = _refused(
            deliver(their_envelope(other_key, body={"text": "x" * 300})), 413, "too_large", "at most 200"
        )
        assert kept.raw_size == 200


class TestReview:
    def test_a_person_reviews_a_quarantined_message_with_a_reason(
        self, partner: Partner, world: Any, client_for: Any
    ) -> None:
        deliver(None, raw=b"garbage")
        kept = QuarantinedMessage.objects.get()
        page = client_for("qa_li").get("/exchange/quarantine/")
        assert page.status_code == 200 and b"malformed" in page.content
        response = client_for("qa_li").post(
            f"/exchange/quarantine/{kept.pk}/review/",
            {"disposition": "dismissed", "note": "test traffic from the partner's staging server"},
        )
        assert response.status_code == 302
        kept.refresh_from_db()
        assert kept.disposition == "dismissed" and kept.reviewed_by == world["qa_li"]
        entry = LedgerEntry.objects.filter(
            record_type="exchange.quarantinedmessage", event="exchange:quarantine_review"
        ).get()
        assert (
            json.loads(bytes(entry.canonical))["reason"] == "test traffic from the partner's staging server"
        )
        with pytest.raises(Exception, match="already reviewed"):
            quarantine_review(actor=world["qa_li"], message=kept, disposition="dismissed", note="again")

    def test_a_review_without_a_note_is_refused(self, partner: Partner, world: Any, client_for: Any) -> None:
        deliver(None, raw=b"garbage")
        kept = QuarantinedMessage.objects.get()
        response = client_for("qa_li").post(
            f"/exchange/quarantine/{kept.pk}/review/", {"disposition": "dismissed", "note": ""}, follow=True
        )
        assert b"Note" in response.content
        kept.refresh_from_db()
        assert kept.disposition == ""
