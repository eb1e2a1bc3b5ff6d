"""Both ledgers cosign each other's tree heads after an exchange (issue 12 item 2, via ledger.witness)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction

from cellchain.domain.treehead import Countersignature, tree_head_from_json
from cellchain.exchange import witnessing
from cellchain.exchange.models import OutboxMessage, Partner
from cellchain.exchange.services import message_enqueue
from cellchain.exchange.tests.conftest import PARTNER_LOG, TEST_KIND, deliver, their_envelope, their_head
from cellchain.ledger.heads import head_issue
from cellchain.ledger.models import HeadCountersignature, WitnessedHead
from cellchain.ledger.witness import countersignature_document
from cellchain.verifier.signing import countersign, verify_countersignature

pytestmark = pytest.mark.django_db


class TestReceiverSide:
    def test_the_receiver_countersigns_the_senders_head_and_answers_with_its_own(
        self, partner: Partner, other_key: Ed25519PrivateKey, applied: Any
    ) -> None:
        envelope = {
            **their_envelope(other_key),
            "witness": {"head": their_head(other_key), "countersigned_size": 0},
        }
        response = deliver(envelope)
        assert response.status_code == 200, response.content
        witness = response.json()["witness"]
        assert witness["refused"] == []
        witnessed = WitnessedHead.objects.get(log_id=PARTNER_LOG)
        assert witnessed.size == 1 and witness["countersigned_size"] == 1
        # Our countersignature verifies with our key over their head.
        document = witness["countersignature"]
        signed = Countersignature(
            witness_id=settings.CELLCHAIN_LEDGER_LOG_ID,
            head=tree_head_from_json(document["head"], "head"),
            signature=base64.b64decode(document["signature"]),
        )
        verify_countersignature(base64.b64decode(document["public_key"]), signed)
        # Our head covers the receipt just ledgered.
        assert witness["head"]["log_id"] == settings.CELLCHAIN_LEDGER_LOG_ID and witness["head"]["size"] >= 1

    def test_a_head_signed_by_another_key_is_not_countersigned_but_the_message_is_received(
        self, partner: Partner, other_key: Ed25519PrivateKey, applied: Any
    ) -> None:
        envelope = {
            **their_envelope(other_key),
            "witness": {"head": their_head(Ed25519PrivateKey.generate())},
        }
        response = deliver(envelope)
        assert response.status_code == 200 and response.json()["status"] == "received"
        assert "other than the one pinned" in response.json()["witness"]["refused"][0]
        assert not WitnessedHead.objects.exists()


class TestSenderSide:
    def test_the_sender_keeps_their_countersignature_countersigns_their_head_and_sends_it_back(
        self, partner: Partner, other_key: Ed25519PrivateKey, applied: Any
    ) -> None:
        with transaction.atomic():
            message = message_enqueue(
                actor=None, partner=partner, kind=TEST_KIND, body={"text": "x"}, event_id="m1"
            )
        ours = head_issue()
        attachment = witnessing.attachment(partner)
        assert attachment is not None and attachment["head"]["size"] == ours.size
        # What the partner answers: its countersignature of our head, and its own head.
        from cellchain.ledger.heads import to_tree_head

        theirs = countersign(other_key, PARTNER_LOG, to_tree_head(ours))
        answer = {
            "status": "received",
            "event_id": "m1",
            "witness": {
                "countersignature": {
                    "format": "cellchain-countersignature/1",
                    "witness_id": PARTNER_LOG,
                    "public_key": attachment and their_head(other_key)["public_key"],
                    "head": attachment["head"]
                    and {k: attachment["head"][k] for k in ("log_id", "root", "size", "time")},
                    "signature": base64.b64encode(theirs.signature).decode(),
                },
                "head": their_head(other_key),
                "countersigned_size": ours.size,
            },
        }
        assert witnessing.after_delivery(message, answer) == []
        kept = HeadCountersignature.objects.get(witness_id=PARTNER_LOG)
        assert kept.head_id == ours.pk
        witnessed = WitnessedHead.objects.get(log_id=PARTNER_LOG)
        back = OutboxMessage.objects.get(kind=witnessing.WITNESS_KIND)
        assert back.event_id == f"countersignature/{PARTNER_LOG}/{witnessed.size}"
        assert back.envelope["body"] == countersignature_document(witnessed)
        partner.refresh_from_db()
        assert partner.their_countersigned_size == ours.size
        # Delivering the countersignature message itself starts no new round.
        assert witnessing.after_delivery(back, answer) == []
        assert OutboxMessage.objects.filter(kind=witnessing.WITNESS_KIND).count() == 1

    def test_a_countersignature_message_from_the_partner_is_kept(
        self, partner: Partner, other_key: Ed25519PrivateKey
    ) -> None:
        with transaction.atomic():
            message_enqueue(actor=None, partner=partner, kind=TEST_KIND, body={"text": "x"}, event_id="m1")
        ours = head_issue()
        from cellchain.domain.treehead import tree_head_to_json
        from cellchain.ledger.heads import to_tree_head

        theirs = countersign(other_key, PARTNER_LOG, to_tree_head(ours))
        body = {
            "format": "cellchain-countersignature/1",
            "witness_id": PARTNER_LOG,
            "public_key": their_head(other_key)["public_key"],
            "head": tree_head_to_json(to_tree_head(ours)),
            "signature": base64.b64encode(theirs.signature).decode(),
        }
        response = deliver(
            their_envelope(other_key, kind=witnessing.WITNESS_KIND, event_id="cs-1", body=body)
        )
        assert response.status_code == 200, response.content
        assert HeadCountersignature.objects.get(witness_id=PARTNER_LOG).head_id == ours.pk
        # A countersignature made by another witness key is refused and quarantined.
        forged = {
            **body,
            "signature": base64.b64encode(
                countersign(Ed25519PrivateKey.generate(), PARTNER_LOG, to_tree_head(ours)).signature
            ).decode(),
        }
        refused = deliver(
            their_envelope(other_key, kind=witnessing.WITNESS_KIND, event_id="cs-2", body=forged)
        )
        assert refused.status_code == 422 and refused.json()["code"] == "not_applied"
