"""Cross-organisation witnessing: export, countersign, check consistency later (issue 3 item 6)."""

from __future__ import annotations

import base64
import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError

from cellchain.core.errors import Conflict
from cellchain.domain.merkle import MemoryNodeStore, consistency_proof
from cellchain.domain.treehead import TreeHead, tree_head_to_json
from cellchain.ledger import witness
from cellchain.ledger.export import bundle_data
from cellchain.ledger.heads import head_issue
from cellchain.ledger.models import HeadCountersignature, LedgerEntry, WitnessedHead
from cellchain.verifier.bundle import verify_bundle
from cellchain.verifier.signing import countersign, public_key_bytes, sign_head

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Partner:
    """Another installation: its own key and its own ledger of entries (kept in memory here)."""

    def __init__(self, log_id: str = "xiehe-hospital") -> None:
        self.log_id, self.key, self.store = log_id, Ed25519PrivateKey.generate(), MemoryNodeStore()

    def grow(self, count: int, tag: str = "") -> None:
        for _ in range(count):
            self.store.append(f'{{"seq":{self.store.size},"tag":"{tag}"}}'.encode())

    def head_document(self, *, from_size: int | None = None, key: Ed25519PrivateKey | None = None) -> dict:
        head = TreeHead(
            log_id=self.log_id, size=self.store.size, root=self.store.root(), time="2026-11-23T08:00:00Z"
        )
        document = {
            "format": witness.HEAD_FORMAT,
            **tree_head_to_json(head),
            "signature": b64(sign_head(key or self.key, head)),
            "public_key": b64(public_key_bytes(self.key)),
        }
        if from_size is not None:
            proof = consistency_proof(from_size, self.store.size, self.store.read)
            document["consistency"] = {"from_size": from_size, "proof": [b64(p) for p in proof]}
        return document


class TestCountersignPartnerHead:
    def test_first_head_is_countersigned_and_ledgered(self, world):
        partner = Partner()
        partner.grow(5)
        witnessed = witness.partner_head_countersign(actor=world["qa_li"], document=partner.head_document())
        assert witnessed.size == 5 and witnessed.consistent_with is None
        entry = LedgerEntry.objects.latest("seq")
        assert entry.event == "witness:countersign" and entry.actor == world["qa_li"]
        # The countersignature verifies with our key over the partner's head bytes.
        from cellchain.verifier.signing import verify_countersignature

        document = witness.countersignature_document(witnessed)
        from cellchain.domain.treehead import Countersignature, tree_head_from_json

        verify_countersignature(
            base64.b64decode(document["public_key"]),
            Countersignature(
                witness_id=document["witness_id"],
                head=tree_head_from_json(document["head"]),
                signature=base64.b64decode(document["signature"]),
            ),
        )

    def test_newer_head_consistent_with_the_countersigned_one_is_accepted(self, world):
        partner = Partner()
        partner.grow(5)
        first = witness.partner_head_countersign(actor=None, document=partner.head_document())
        partner.grow(8)
        verdict = witness.partner_head_check(partner.head_document(from_size=5))
        assert verdict.ok and verdict.previous == first
        second = witness.partner_head_countersign(actor=None, document=partner.head_document(from_size=5))
        assert second.consistent_with == first and json.loads(second.consistency_proof)

    def test_rewritten_history_is_refused_as_a_fork(self, world):
        partner = Partner()
        partner.grow(5)
        witness.partner_head_countersign(actor=None, document=partner.head_document())
        forked = Partner(partner.log_id)
        forked.key = partner.key
        forked.grow(5, tag="rewritten")
        forked.grow(8)
        verdict = witness.partner_head_check(forked.head_document(from_size=5))
        assert not verdict.ok and "fork" in verdict.reasons[0]
        with pytest.raises(Conflict, match="fork"):
            witness.partner_head_countersign(actor=None, document=forked.head_document(from_size=5))
        assert WitnessedHead.objects.count() == 1

    def test_newer_head_without_proof_is_refused(self, world):
        partner = Partner()
        partner.grow(3)
        witness.partner_head_countersign(actor=None, document=partner.head_document())
        partner.grow(2)
        verdict = witness.partner_head_check(partner.head_document())
        assert not verdict.ok and "consistency proof from size 3" in verdict.reasons[0]

    def test_key_change_after_pinning_is_refused(self, world):
        partner = Partner()
        partner.grow(3)
        witness.partner_head_countersign(actor=None, document=partner.head_document())
        partner.grow(1)
        impostor = partner.head_document(from_size=3)
        other = Ed25519PrivateKey.generate()
        impostor = {**impostor, "public_key": b64(public_key_bytes(other))}
        assert any("pinned" in reason for reason in witness.partner_head_check(impostor).reasons)

    def test_bad_signature_and_wrong_fingerprint_are_refused(self, world):
        partner = Partner()
        partner.grow(3)
        forged = partner.head_document(key=Ed25519PrivateKey.generate())
        assert any("does not verify" in r for r in witness.partner_head_check(forged).reasons)
        verdict = witness.partner_head_check(partner.head_document(), expected_fingerprint="00" * 32)
        assert any("fingerprint" in r for r in verdict.reasons)

    def test_our_own_log_is_not_countersigned(self, world, settings):
        partner = Partner(settings.CELLCHAIN_LEDGER_LOG_ID)
        partner.grow(2)
        assert any("our own log" in r for r in witness.partner_head_check(partner.head_document()).reasons)


class TestOurHeadWitnessed:
    def test_partner_countersignature_goes_into_the_bundle_and_verifies_offline(self, world):
        document = witness.head_document(head_issue())
        partner_key = Ed25519PrivateKey.generate()
        from cellchain.domain.treehead import tree_head_from_json

        signed = countersign(partner_key, "xiehe-hospital", tree_head_from_json(document))
        received = witness.countersignature_receive(
            actor=world["qa_li"],
            document={
                "format": witness.COUNTERSIGNATURE_FORMAT,
                "witness_id": "xiehe-hospital",
                "public_key": b64(public_key_bytes(partner_key)),
                "head": tree_head_to_json(signed.head),
                "signature": b64(signed.signature),
            },
        )
        assert HeadCountersignature.objects.get() == received
        report = verify_bundle(bundle_data())
        assert report.ok and report.witnesses == 1

    def test_countersignature_of_a_head_we_never_signed_is_refused(self, world):
        sth = head_issue()
        partner_key = Ed25519PrivateKey.generate()
        fake = TreeHead(log_id=sth.log_id, size=sth.size, root=bytes(32), time=sth.time)
        with pytest.raises(Conflict, match="not one we signed"):
            witness.countersignature_receive(
                actor=None,
                document={
                    "format": witness.COUNTERSIGNATURE_FORMAT,
                    "witness_id": "p",
                    "head": tree_head_to_json(fake),
                    "public_key": b64(public_key_bytes(partner_key)),
                    "signature": b64(sign_head(partner_key, fake)),
                },
            )

    def test_head_document_carries_a_proof_the_partner_can_check(self, world):
        from cellchain.accounts import services as accounts
        from cellchain.domain.merkle import verify_consistency

        old = head_issue()
        accounts.organisation_create(actor=None, code="acme", name="Acme", kind="hospital")
        new = head_issue()
        document = witness.head_document(from_size=old.size)
        verify_consistency(
            old.size,
            new.size,
            [base64.b64decode(p) for p in document["consistency"]["proof"]],
            bytes(old.root),
            bytes(new.root),
        )


class TestWitnessCommand:
    def test_two_installations_exchange_heads_through_files(self, world, tmp_path):
        partner = Partner()
        partner.grow(4)
        (tmp_path / "partner.json").write_text(json.dumps(partner.head_document()))
        call_command(
            "ledger",
            "witness",
            "countersign",
            str(tmp_path / "partner.json"),
            "--actor",
            "qa_li",
            "--output",
            str(tmp_path / "ours.json"),
            stderr=io.StringIO(),
        )
        assert json.loads((tmp_path / "ours.json").read_text())["head"]["size"] == 4
        partner.grow(3)
        (tmp_path / "newer.json").write_text(json.dumps(partner.head_document(from_size=4)))
        out = io.StringIO()
        call_command("ledger", "witness", "check", str(tmp_path / "newer.json"), stdout=out)
        assert "consistent with size 4" in out.getvalue()
        (tmp_path / "stale.json").write_text(json.dumps(partner.head_document()))
        with pytest.raises(CommandError, match="consistency proof"):
            call_command("ledger", "witness", "check", str(tmp_path / "stale.json"), stdout=io.StringIO())

    def test_export_head_command(self, world, tmp_path):
        head_issue()
        out = io.StringIO()
        call_command("ledger", "witness", "export-head", stdout=out)
        document = json.loads(out.getvalue())
        assert (
            document["format"] == witness.HEAD_FORMAT and witness.partner_head_parse(document).head.size > 0
        )
