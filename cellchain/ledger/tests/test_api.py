"""Ledger API: heads, proofs, entry bytes and bundle export (issue 3 items 3 and 5)."""

from __future__ import annotations

import base64
import json

import pytest

from cellchain.accounts import services as accounts
from cellchain.domain import merkle
from cellchain.ledger.heads import head_issue
from cellchain.ledger.models import LedgerEntry, LedgerHead

pytestmark = pytest.mark.django_db


def b64d(text: str) -> bytes:
    return base64.b64decode(text)


def _grow() -> None:
    accounts.organisation_create(actor=None, code="acme", name="Acme", kind="hospital")


class TestHeads:
    def test_latest_head_verifies_with_its_key(self, world, client_for):
        from cellchain.domain.treehead import TreeHead
        from cellchain.verifier.signing import verify_head_signature

        head_issue()
        body = client_for("nurse_wang").get("/api/ledger/heads/latest").json()
        head = TreeHead(log_id=body["log_id"], size=body["size"], root=b64d(body["root"]), time=body["time"])
        verify_head_signature(b64d(body["public_key"]), head, b64d(body["signature"]))
        assert body["size"] == LedgerHead.objects.get().size

    def test_head_by_size_and_unknown_size(self, world, client_for):
        sth = head_issue()
        client = client_for("physician_wang")
        assert (
            client.get(f"/api/ledger/heads/{sth.size}").json()["root"] == base64.b64encode(sth.root).decode()
        )
        missing = client.get("/api/ledger/heads/999999")
        assert missing.status_code == 404 and "No signed tree head" in missing.json()["message"]

    def test_latest_head_before_any_is_404(self, world, client_for):
        assert client_for("qa_li").get("/api/ledger/heads/latest").status_code == 404

    def test_issue_head_needs_the_grant(self, world, client_for):
        assert client_for("nurse_wang").post("/api/ledger/heads").status_code == 403
        response = client_for("qa_li").post("/api/ledger/heads")
        assert response.status_code == 200 and response.json()["size"] == LedgerHead.objects.get().size

    def test_anonymous_is_refused(self, world, client):
        assert client.get("/api/ledger/heads/latest").status_code == 401


class TestProofs:
    def test_every_inclusion_proof_verifies_against_the_signed_root(self, world, client_for):
        sth = head_issue()
        client = client_for("logistics_zhao")
        for seq in range(sth.size):
            body = client.get(f"/api/ledger/proofs/inclusion/{seq}").json()
            assert b64d(body["root"]) == bytes(sth.root)
            merkle.verify_inclusion(
                seq, sth.size, b64d(body["leaf_hash"]), [b64d(p) for p in body["proof"]], bytes(sth.root)
            )
            assert b64d(body["leaf_hash"]) == bytes(LedgerEntry.objects.get(seq=seq).leaf_hash)

    def test_consistency_between_two_signed_heads_verifies(self, world, client_for):
        old = head_issue()
        _grow()
        new = head_issue()
        body = (
            client_for("qc_zhang")
            .get(f"/api/ledger/proofs/consistency?old_size={old.size}&new_size={new.size}")
            .json()
        )
        merkle.verify_consistency(
            old.size, new.size, [b64d(p) for p in body["proof"]], bytes(old.root), bytes(new.root)
        )

    def test_proof_rules_of_rfc_9162_are_enforced(self, world, client_for):
        sth = head_issue()
        client = client_for("qa_li")
        beyond = client.get(f"/api/ledger/proofs/inclusion/{sth.size}")
        assert beyond.status_code == 400 and beyond.json()["detail"]["check"] == "index_out_of_range"
        from_zero = client.get(f"/api/ledger/proofs/consistency?old_size=0&new_size={sth.size}")
        assert from_zero.status_code == 400 and from_zero.json()["detail"]["check"] == "size_zero"


class TestEntries:
    def test_entry_bytes_hash_to_the_leaf(self, world, client_for):
        qa = world["qa_li"]
        accounts.organisation_create(actor=qa, code="acme", name="Acme", kind="hospital")
        entry = LedgerEntry.objects.filter(actor=qa).latest("seq")
        body = client_for("auditor_shenghe").get(f"/api/ledger/entries/{entry.seq}").json()
        assert merkle.leaf_hash(b64d(body["canonical"])) == b64d(body["leaf_hash"])
        assert body["entry"]["record"]["type"] == "accounts.organisation"

    def test_entries_of_another_organisation_are_not_served(self, world, client_for):
        accounts.organisation_create(actor=world["qa_li"], code="acme", name="Acme", kind="hospital")
        entry = LedgerEntry.objects.filter(actor=world["qa_li"]).latest("seq")
        assert client_for("auditor_xiehe").get(f"/api/ledger/entries/{entry.seq}").status_code == 404

    def test_entry_bytes_need_trail_permission(self, world, client_for):
        assert client_for("nurse_wang").get("/api/ledger/entries/0").status_code == 403


class TestExport:
    def test_bundle_round_trip_through_the_offline_verifier(self, world, client_for, tmp_path):
        """Issue 3 item 5: the exported bundle passes `cellchain-verify` with the published key."""
        from cellchain.verifier.cli import main

        head_issue()
        _grow()
        sth = head_issue()
        response = client_for("auditor_shenghe").get("/api/ledger/export")
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
        path = tmp_path / "bundle.json"
        path.write_bytes(b"".join(response.streaming_content))
        bundle = json.loads(path.read_text())
        assert len(bundle["entries"]) == sth.size and len(bundle["heads"]) == 2
        assert main([str(path), "--log-key", base64.b64encode(sth.public_key).decode()]) == 0

    def test_bundle_with_an_altered_entry_fails_offline(self, world, client_for, tmp_path):
        from cellchain.verifier.cli import main

        head_issue()
        bundle = json.loads(b"".join(client_for("qa_li").get("/api/ledger/export").streaming_content))
        entry = b64d(bundle["entries"][4]).replace(b'"action":"create"', b'"action":"amend"', 1)
        bundle["entries"][4] = base64.b64encode(entry).decode()
        path = tmp_path / "bundle.json"
        path.write_text(json.dumps(bundle))
        assert main([str(path)]) == 1

    def test_export_needs_its_grant(self, world, client_for):
        assert client_for("nurse_wang").get("/api/ledger/export").status_code == 403
        assert client_for("admin_shenghe").get("/api/ledger/export").status_code == 403

    def test_export_command_writes_a_verifiable_bundle(self, world, tmp_path, capsys):
        from django.core.management import call_command

        from cellchain.verifier.cli import main

        path = tmp_path / "bundle.json"
        call_command("ledger", "export", "--output", str(path))
        assert json.loads(path.read_text())["entries"]
        assert main([str(path)]) == 0
        assert "Result: OK" in capsys.readouterr().out


class TestVerifyApi:
    def _verified(self, client) -> dict:
        """Start a run through the API, run it as the background job would, and poll it."""
        from cellchain.ledger.verify_runs import verify_run_execute

        started = client.post("/api/ledger/verify").json()
        assert started["status"] == "queued" and started["report"] is None
        verify_run_execute(started["id"])
        body = client.get(started["poll"]).json()
        assert body["status"] == "done"
        return body

    def test_verify_reports_ok_and_then_the_tampered_record(self, world, client_for, tamper):
        client = client_for("auditor_shenghe")
        assert self._verified(client)["ok"] is True
        user = world["qc_he"]
        with tamper() as cursor:
            cursor.execute("UPDATE accounts_user SET printed_name = 'Someone Else' WHERE id = %s", [user.pk])
        body = self._verified(client)
        assert body["ok"] is False
        assert [(f["record_type"], f["record_id"]) for f in body["report"]["findings"]] == [
            ("accounts.user", str(user.pk))
        ]

    def test_unknown_run_is_a_clear_404(self, world, client_for):
        response = client_for("auditor_shenghe").get("/api/ledger/verify/999999")
        assert response.status_code == 404 and "999999" in response.content.decode()

    def test_verify_needs_its_grant(self, world, client_for):
        assert client_for("nurse_wang").post("/api/ledger/verify").status_code == 403
        assert client_for("nurse_wang").get("/api/ledger/verify/1").status_code == 403
