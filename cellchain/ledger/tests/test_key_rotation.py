"""Signing-key rotation: key history, handover heads, verification before and after (decision 0008).

REGULATORY items 9 (altered records discernible) and 45 (archives checkable offline); RFC 9162 §4.10 (the
key beside the signed tree head) and RFC 6962 §3.2 (a log id is the SHA-256 of the log's key).
"""

from __future__ import annotations

import base64
import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from cellchain.accounts import services as accounts
from cellchain.core import clock
from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.domain.treehead import TreeHead, key_id, tree_head_bytes
from cellchain.ledger import keys
from cellchain.ledger.export import bundle_data
from cellchain.ledger.heads import active_key, head_issue, to_tree_head
from cellchain.ledger.models import LedgerEntry, LedgerHead, LedgerSigningKey, SignedTreeHead
from cellchain.ledger.proofs import tree_root
from cellchain.ledger.rotation import KeyRotation, signing_key_rotate
from cellchain.ledger.tests.behind import create_unledgered
from cellchain.ledger.verify import verify_ledger
from cellchain.verifier.bundle import verify_bundle
from cellchain.verifier.cli import main as verify_main
from cellchain.verifier.signing import public_key_bytes, verify_head_signature

pytestmark = pytest.mark.django_db

KEY_RECORD = "ledger.ledgersigningkey"
HEAD_RECORD = "ledger.signedtreehead"


@pytest.fixture(autouse=True)
def own_key_file(settings: Any, tmp_path: Path) -> Path:
    """Each test rotates its own key file: the session's shared one stays as other tests expect it."""
    settings.CELLCHAIN_LEDGER_KEY_PATH = tmp_path / "var" / "ledger-ed25519.key"
    return Path(settings.CELLCHAIN_LEDGER_KEY_PATH)


_grown = iter(range(10**6))


def _grow(count: int = 1) -> None:
    for _ in range(count):
        number = next(_grown)
        accounts.organisation_create(actor=None, code=f"org-{number}", name=f"Org {number}", kind="hospital")


def _rotated(
    world: Any, reason: str = "annual key rotation (SOP-IT-014)"
) -> tuple[KeyRotation, Ed25519PrivateKey]:
    """A ledger with a head by the first key, a rotation, entries and a head by the new key; returns the
    rotation and the retired private key (an attacker's copy, say)."""
    head_issue()
    _grow(2)
    old_private = keys.signing_key()
    rotation = signing_key_rotate(actor=world["qa_li"], reason=reason)
    _grow(3)
    head_issue()
    return rotation, old_private


def _where(report: Any) -> set[tuple[str, str | None, str | None]]:
    return {(finding.check, finding.record_type, finding.record_id) for finding in report.findings}


class TestRotate:
    def test_rotation_then_verify_passes(self, world, own_key_file):
        rotation, _old_private = _rotated(world)
        report = verify_ledger()
        assert report.ok, report.lines()
        assert (report.keys, report.handovers, report.heads) == (2, 1, 3)
        assert report.key_fingerprint == rotation.activated.key_id
        old, new = LedgerSigningKey.objects.order_by("activated_at", "pk")
        assert (old.state, new.state) == ("retired", "active")
        assert new.predecessor == old and old.retired_at == new.activated_at
        assert (old.retired_by, old.retirement_reason) == (world["qa_li"], "annual key rotation (SOP-IT-014)")
        assert new.key_id == key_id(bytes(new.public_key))
        newest = SignedTreeHead.objects.order_by("-size").first()
        assert newest.key_id == new.key_id and newest.next_key_id is None

    def test_the_old_key_signs_a_handover_covering_the_rotation_entries(self, world):
        rotation, old_private = _rotated(world)
        handover = rotation.handover
        assert (handover.key_id, handover.next_key_id) == (rotation.retired.key_id, rotation.activated.key_id)
        # The handover's signed bytes name the new key, and the old key signed exactly those bytes.
        head = to_tree_head(handover)
        assert b'"next_key_id":"' + rotation.activated.key_id.encode() + b'"' in tree_head_bytes(head)
        verify_head_signature(public_key_bytes(old_private), head, bytes(handover.signature))
        assert bytes(handover.root) == tree_root(handover.size)
        # It covers both rotation entries: they are its last two.
        events = list(
            LedgerEntry.objects.filter(seq__in=[handover.size - 2, handover.size - 1])
            .order_by("seq")
            .values_list("event", "action", "record_id")
        )
        assert events == [
            ("ledger_key:retire", "amend", str(rotation.retired.pk)),
            ("ledger_key:activate", "create", str(rotation.activated.pk)),
        ]
        retire = json.loads(bytes(LedgerEntry.objects.get(seq=handover.size - 2).canonical))
        assert retire["reason"] == "annual key rotation (SOP-IT-014)"
        assert retire["extra"] == {"successor_key_id": rotation.activated.key_id}

    def test_new_private_key_replaces_the_old_one_in_the_key_file_mode_0600(self, world, own_key_file):
        rotation, _old_private = _rotated(world)
        assert keys.private_key_id(keys.signing_key()) == rotation.activated.key_id
        assert stat.S_IMODE(own_key_file.stat().st_mode) == 0o600
        assert [path.name for path in own_key_file.parent.iterdir()] == [own_key_file.name]

    def test_no_private_key_reaches_the_database(self, world):
        from cryptography.hazmat.primitives import serialization

        _rotation, old_private = _rotated(world)
        secrets = []
        for private in (old_private, keys.signing_key()):
            raw = private.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
            )
            secrets += [raw, base64.b64encode(raw), raw.hex().encode()]
        stored = [bytes(data) for data in LedgerEntry.objects.values_list("canonical", flat=True)]
        stored += [bytes(key.public_key) for key in LedgerSigningKey.objects.all()]
        assert not any(secret in blob for secret in secrets for blob in stored)

    def test_a_crash_between_commit_and_file_move_is_completed_by_the_next_head(self, world, own_key_file):
        """The test transaction never commits, so the move after commit did not run: the next signer does it."""
        head_issue()
        rotation = signing_key_rotate(actor=None, reason="suspected exposure of the backup tape")
        pending = keys.pending_path(rotation.activated.key_id)
        assert pending.exists() and stat.S_IMODE(pending.stat().st_mode) == 0o600
        assert keys.private_key_id(keys.signing_key()) == rotation.retired.key_id
        _grow()
        sth = head_issue()
        assert sth.key_id == rotation.activated.key_id and not pending.exists()
        assert verify_ledger().ok

    def test_one_active_key_is_a_database_constraint(self, world):
        head_issue()
        other = public_key_bytes(Ed25519PrivateKey.generate())
        with pytest.raises(IntegrityError), transaction.atomic():
            create_unledgered(
                LedgerSigningKey,
                key_id=key_id(other),
                public_key=other,
                state="active",
                activated_at=clock.now(),
                activation_reason="a second active key",
            )

    def test_reason_is_required(self, world):
        with pytest.raises(ValidationFailed, match="reason"):
            signing_key_rotate(actor=None, reason="  ")

    def test_rotation_without_the_old_private_key_is_refused(self, world, own_key_file):
        head_issue()
        own_key_file.unlink()
        keys.write_private_key(own_key_file, Ed25519PrivateKey.generate())
        with pytest.raises(Conflict, match="not in the key file"):
            signing_key_rotate(actor=None, reason="lost key")
        assert LedgerSigningKey.objects.get().state == "active"

    def test_heads_are_not_signed_with_a_key_the_history_does_not_name(self, world, own_key_file):
        head_issue()
        _grow()
        own_key_file.unlink()
        keys.write_private_key(own_key_file, Ed25519PrivateKey.generate())
        with pytest.raises(Conflict, match="not in the key file"):
            head_issue()

    def test_two_rotations_verify(self, world):
        _rotated(world)
        signing_key_rotate(actor=world["qa_guo"], reason="second rotation")
        _grow()
        head_issue()
        report = verify_ledger()
        assert report.ok, report.lines()
        assert (report.keys, report.handovers) == (3, 2)


class TestVerifyRefuses:
    """Each failure names the record: the key (ledger.ledgersigningkey) or the head (ledger.signedtreehead)."""

    def test_tampered_key_history_is_named(self, world, tamper):
        rotation, _old = _rotated(world)
        impostor = public_key_bytes(Ed25519PrivateKey.generate())
        with tamper() as cursor:
            cursor.execute(
                "UPDATE ledger_ledgersigningkey SET public_key = %s WHERE id = %s",
                [impostor, rotation.activated.pk],
            )
        report = verify_ledger()
        where = _where(report)
        assert ("key history", KEY_RECORD, str(rotation.activated.pk)) in where
        assert ("replay", KEY_RECORD, str(rotation.activated.pk)) in where
        message = next(f.message for f in report.findings if f.check == "key history")
        assert "not the SHA-256 of the public key" in message

    def test_swapped_predecessor_is_named(self, world, tamper):
        rotation, _old = _rotated(world)
        with tamper() as cursor:
            cursor.execute(
                "UPDATE ledger_ledgersigningkey SET predecessor_id = NULL WHERE id = %s",
                [rotation.activated.pk],
            )
        report = verify_ledger()
        assert ("replay", KEY_RECORD, str(rotation.activated.pk)) in _where(report)
        assert any(
            f.check == "key history" and "2 keys without a previous key" in f.message for f in report.findings
        )

    def test_head_signed_by_the_retired_key_after_rotation_is_refused(self, world):
        rotation, old_private = _rotated(world)
        _grow()
        size = LedgerHead.objects.get().size
        head = TreeHead(
            log_id=rotation.handover.log_id, size=size, root=tree_root(size), time="2030-01-01T00:00:00Z"
        )
        forged = SignedTreeHead.objects.create(
            log_id=head.log_id,
            size=size,
            root=head.root,
            time=head.time,
            signature=old_private.sign(tree_head_bytes(head)),
            public_key=public_key_bytes(old_private),
            key_id=rotation.retired.key_id,
        )
        report = verify_ledger()
        findings = [
            f for f in report.findings if (f.record_type, f.record_id) == (HEAD_RECORD, str(forged.pk))
        ]
        assert findings and {f.check for f in findings} == {"head key"}
        assert any("after its retirement" in f.message for f in findings)
        assert f"size {size}" in findings[0].message

    def test_backdated_head_by_the_retired_key_is_refused_by_size(self, world):
        """A retired key's holder cannot escape by writing an early time: the handover's size bounds it."""
        rotation, old_private = _rotated(world)
        _grow()
        size = LedgerHead.objects.get().size
        head = TreeHead(
            log_id=rotation.handover.log_id, size=size, root=tree_root(size), time=rotation.handover.time
        )
        forged = SignedTreeHead.objects.create(
            log_id=head.log_id,
            size=size,
            root=head.root,
            time=head.time,
            signature=old_private.sign(tree_head_bytes(head)),
            public_key=public_key_bytes(old_private),
            key_id=rotation.retired.key_id,
        )
        report = verify_ledger()
        assert ("head key", HEAD_RECORD, str(forged.pk)) in _where(report)

    def test_handover_not_signed_by_the_previous_key_is_refused(self, world, tamper):
        rotation, _old = _rotated(world)
        new_private = keys.signing_key()
        handover = rotation.handover
        with tamper() as cursor:
            cursor.execute(
                "UPDATE ledger_signedtreehead SET signature = %s WHERE id = %s",
                [new_private.sign(tree_head_bytes(to_tree_head(handover))), handover.pk],
            )
        report = verify_ledger()
        where = _where(report)
        assert ("key handover", HEAD_RECORD, str(handover.pk)) in where
        assert ("key handover", KEY_RECORD, str(rotation.activated.pk)) in where
        assert ("head signature", HEAD_RECORD, str(handover.pk)) in where

    def test_missing_handover_is_refused(self, world, tamper):
        """The handover head is turned into an ordinary head: the new key took over without one."""
        rotation, old_private = _rotated(world)
        handover = rotation.handover
        plain = TreeHead(
            log_id=handover.log_id, size=handover.size, root=bytes(handover.root), time=handover.time
        )
        with tamper() as cursor:
            cursor.execute(
                "UPDATE ledger_signedtreehead SET next_key_id = NULL, signature = %s WHERE id = %s",
                [old_private.sign(tree_head_bytes(plain)), handover.pk],
            )
        report = verify_ledger()
        finding = next(f for f in report.findings if f.check == "key handover")
        assert (finding.record_type, finding.record_id) == (KEY_RECORD, str(rotation.activated.pk))
        assert "without a handover" in finding.message

    def test_head_naming_an_unknown_key_is_refused(self, world):
        head_issue()
        _grow()
        stranger = Ed25519PrivateKey.generate()
        size = LedgerHead.objects.get().size
        head = TreeHead(
            log_id=SignedTreeHead.objects.get().log_id,
            size=size,
            root=tree_root(size),
            time="2026-11-23T09:00:00Z",
        )
        forged = SignedTreeHead.objects.create(
            log_id=head.log_id,
            size=size,
            root=head.root,
            time=head.time,
            signature=stranger.sign(tree_head_bytes(head)),
            public_key=public_key_bytes(stranger),
            key_id=key_id(public_key_bytes(stranger)),
        )
        report = verify_ledger()
        finding = next(f for f in report.findings if f.check == "head key")
        assert (finding.record_type, finding.record_id) == (HEAD_RECORD, str(forged.pk))
        assert "not in the log's key history" in finding.message


class TestMigrationOfOldHeads:
    """Migration 0006: heads signed before key rotation existed name their key, which becomes the first key."""

    @staticmethod
    def _old_head(private: Ed25519PrivateKey, time: str) -> SignedTreeHead:
        """A head as the ledger signed them before this change: no key id, no key history."""
        size = LedgerHead.objects.get().size
        head = TreeHead(log_id="cellchain-dev", size=size, root=tree_root(size), time=time)
        return SignedTreeHead.objects.create(
            log_id=head.log_id,
            size=size,
            root=head.root,
            time=head.time,
            signature=private.sign(tree_head_bytes(head)),
            public_key=public_key_bytes(private),
            key_id=None,
        )

    @staticmethod
    def _migrate() -> None:
        import importlib

        from cellchain.ledger.tests.behind import migration_apps

        migration = importlib.import_module("cellchain.ledger.migrations.0006_heads_name_their_key")

        class Editor:  # RunPython hands the function the schema editor; it reads only its connection
            pass

        editor = Editor()
        editor.connection = connection  # type: ignore[attr-defined]
        with transaction.atomic():
            migration.forwards(migration_apps(), editor)

    def test_old_heads_are_migrated_to_the_current_key_and_verify(self, world, settings):
        current = keys.signing_key()
        first = self._old_head(current, "2026-11-01T08:00:00Z")
        _grow(2)
        second = self._old_head(current, "2026-11-02T08:00:00Z")
        assert not LedgerSigningKey.objects.exists()
        self._migrate()
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.key_id == second.key_id == keys.private_key_id(current)
        key = LedgerSigningKey.objects.get()
        assert (key.key_id, key.state, key.predecessor) == (first.key_id, "active", None)
        assert key.activated_at.isoformat() == "2026-11-01T08:00:00+00:00"
        entry = LedgerEntry.objects.get(record_type=KEY_RECORD)
        assert entry.event == "ledger_key:register" and entry.actor is None
        assert "2 head(s)" in json.loads(bytes(entry.canonical))["reason"]
        report = verify_ledger()
        assert report.ok, report.lines()
        assert report.keys == 1 and report.heads == 2

    def test_migrated_ledger_rotates_and_its_bundle_verifies_offline(self, world):
        current = keys.signing_key()
        self._old_head(current, "2026-11-01T08:00:00Z")
        self._migrate()
        signing_key_rotate(actor=world["qa_li"], reason="first rotation after the upgrade")
        _grow()
        head_issue()
        assert verify_ledger().ok
        report = verify_bundle(bundle_data(), trusted_log_key=public_key_bytes(current))
        assert report.ok, report.lines()

    def test_old_head_of_another_key_is_named_after_migration(self, world):
        lost = Ed25519PrivateKey.generate()
        stray = self._old_head(lost, "2026-10-01T08:00:00Z")
        _grow()
        self._old_head(keys.signing_key(), "2026-11-01T08:00:00Z")
        self._migrate()
        stray.refresh_from_db()
        assert stray.key_id == key_id(public_key_bytes(lost))
        assert LedgerSigningKey.objects.get().key_id == keys.private_key_id(keys.signing_key())
        assert ("head key", HEAD_RECORD, str(stray.pk)) in _where(verify_ledger())

    def test_migration_keeps_the_head_table_append_only(self, world):
        self._old_head(keys.signing_key(), "2026-11-01T08:00:00Z")
        self._migrate()
        from django.db import DatabaseError

        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE ledger_signedtreehead SET key_id = 'x'")


class TestBundleSpanningARotation:
    def test_exported_bundle_verifies_offline_with_either_key_trusted(self, world, tmp_path, capsys):
        rotation, old_private = _rotated(world)
        path = tmp_path / "bundle.json"
        call_command("ledger", "export", "-o", str(path), stderr=io.StringIO())
        bundle = json.loads(path.read_text())
        assert bundle["format"] == "cellchain-ledger-bundle/2"
        assert [key["key_id"] for key in bundle["keys"]] == [
            rotation.retired.key_id,
            rotation.activated.key_id,
        ]
        assert "private" not in path.read_text().lower()
        assert {head["key_id"] for head in bundle["heads"]} == {
            rotation.retired.key_id,
            rotation.activated.key_id,
        }
        old_b64 = base64.b64encode(public_key_bytes(old_private)).decode()
        new_b64 = base64.b64encode(bytes(rotation.activated.public_key)).decode()
        assert verify_main([str(path), "--log-key", old_b64]) == 0
        out = capsys.readouterr().out
        assert "Result: OK" in out and "2 signing keys" in out and "from size" in out
        assert verify_main([str(path), "--log-key", new_b64]) == 0
        assert "older than the trusted key" in capsys.readouterr().out
        stranger = base64.b64encode(public_key_bytes(Ed25519PrivateKey.generate())).decode()
        assert verify_main([str(path), "--log-key", stranger]) == 1
        assert "trusted log key is not in the bundle's key history" in capsys.readouterr().out

    def test_bundle_with_a_tampered_key_history_fails_naming_the_key(self, world):
        rotation, _old = _rotated(world)
        bundle = bundle_data()
        bundle["keys"][1]["activated_at"] = "2020-01-01T00:00:00.000000Z"
        failures = verify_bundle(bundle).failures
        assert any(
            f.check == "key history"
            and f.message.startswith(f"keys[1] (key {rotation.activated.key_id[:16]})")
            for f in failures
        )

    def test_bundle_re_keyed_consistently_is_caught_by_the_ledgers_own_key_records(self, world):
        """An attacker replaces the whole key history and re-signs every head: the entries, which the heads
        cover, still record the real keys."""
        _rotated(world)
        bundle = bundle_data()
        forged_keys = [Ed25519PrivateKey.generate() for _ in bundle["keys"]]
        ids = {
            old["key_id"]: key_id(public_key_bytes(new))
            for old, new in zip(bundle["keys"], forged_keys, strict=True)
        }
        privates = {key_id(public_key_bytes(new)): new for new in forged_keys}
        for old, new in zip(bundle["keys"], forged_keys, strict=True):
            old["public_key"] = base64.b64encode(public_key_bytes(new)).decode()
            old["predecessor"] = ids.get(old["predecessor"]) if old["predecessor"] else None
            old["key_id"] = ids[old["key_id"]]
        from cellchain.domain.treehead import tree_head_from_json

        for head in bundle["heads"]:
            head["key_id"] = ids[head["key_id"]]
            if "next_key_id" in head:
                head["next_key_id"] = ids[head["next_key_id"]]
            head["signature"] = base64.b64encode(
                privates[head["key_id"]].sign(tree_head_bytes(tree_head_from_json(head)))
            ).decode()
        bundle["witnesses"] = []
        failures = verify_bundle(bundle).failures
        assert failures and {f.check for f in failures} == {"key history"}
        assert "no record in the ledger's entries" in failures[0].message


class TestApiAndCommand:
    def test_keys_endpoint_and_heads_name_their_key(self, world, client_for):
        rotation, _old = _rotated(world)
        client = client_for("nurse_wang")
        history = client.get("/api/ledger/keys").json()
        assert [key["key_id"] for key in history] == [rotation.retired.key_id, rotation.activated.key_id]
        assert history[1]["predecessor"] == rotation.retired.key_id and history[1]["retired_at"] is None
        handover = client.get(f"/api/ledger/heads/{rotation.handover.size}").json()
        assert (handover["key_id"], handover["next_key_id"]) == (
            rotation.retired.key_id,
            rotation.activated.key_id,
        )
        assert client.get("/api/ledger/heads/latest").json()["key_id"] == rotation.activated.key_id

    def test_rotate_key_command(self, world):
        head_issue()
        out = io.StringIO()
        call_command(
            "ledger", "rotate-key", "--reason", "staff change", "--actor", "admin_shenghe", stdout=out
        )
        new = active_key()
        assert f"active key   {new.key_id}" in out.getvalue()
        assert new.activated_by == world["admin_shenghe"]
        listing = io.StringIO()
        call_command("ledger", "keys", stdout=listing)
        lines = listing.getvalue().splitlines()
        assert len(lines) == 2 and "retired" in lines[0] and "ACTIVE  staff change" in lines[1]
        with pytest.raises(CommandError):
            call_command("ledger", "rotate-key", "--reason", " ", stdout=io.StringIO())

    def test_status_page_lists_the_keys(self, world, client_for):
        rotation, _old = _rotated(world)
        page = client_for("qa_li").get("/ledger/status/").content.decode()
        assert rotation.retired.key_id in page and rotation.activated.key_id in page
        assert "annual key rotation" in page


class RotatingPartner:
    """A partner installation that can rotate its key, sending its handovers with its heads (decision 0008)."""

    def __init__(self, log_id: str = "xiehe-hospital") -> None:
        from cellchain.ledger.tests.test_witness import Partner

        self.partner = Partner(log_id)
        self.handovers: list[tuple[TreeHead, dict[str, Any]]] = []

    def grow(self, count: int) -> None:
        self.partner.grow(count)

    def rotate(self, *, signer: Ed25519PrivateKey | None = None) -> Ed25519PrivateKey:
        from cellchain.verifier.signing import sign_head

        old, new = self.partner.key, Ed25519PrivateKey.generate()
        store = self.partner.store
        head = TreeHead(
            log_id=self.partner.log_id,
            size=store.size,
            root=store.root(),
            time="2026-11-23T09:00:00Z",
            next_key_id=key_id(public_key_bytes(new)),
        )
        from cellchain.domain.treehead import tree_head_to_json

        document = {
            **tree_head_to_json(head),
            "key_id": key_id(public_key_bytes(old)),
            "signature": base64.b64encode(sign_head(signer or old, head)).decode(),
            "next_public_key": base64.b64encode(public_key_bytes(new)).decode(),
        }
        self.handovers.append((head, document))
        self.partner.key = new
        return old

    def head_document(self, *, from_size: int | None = None, handovers: bool = True) -> dict[str, Any]:
        from cellchain.domain.merkle import consistency_proof

        document = self.partner.head_document(from_size=from_size)
        store = self.partner.store
        if handovers and self.handovers:
            document["key_handovers"] = [
                {
                    **handover,
                    "consistency": {
                        "to_size": store.size,
                        "proof": [
                            base64.b64encode(node).decode()
                            for node in (
                                consistency_proof(head.size, store.size, store.read)
                                if head.size < store.size
                                else []
                            )
                        ],
                    },
                }
                for head, handover in self.handovers
            ]
        return document


class TestWitnessingAcrossRotation:
    def test_partner_rotation_with_a_handover_is_followed_and_the_new_key_pinned(self, world):
        from cellchain.ledger import witness
        from cellchain.ledger.models import WitnessedHead

        partner = RotatingPartner()
        partner.grow(5)
        first = witness.partner_head_countersign(actor=None, document=partner.head_document())
        partner.grow(3)
        old = partner.rotate()
        partner.grow(4)
        check = witness.partner_head_check(partner.head_document(from_size=5))
        assert check.ok, check.reasons
        assert [step.head.size for step in check.handovers] == [8]
        second = witness.partner_head_countersign(
            actor=world["qa_li"], document=partner.head_document(from_size=5)
        )
        assert second.consistent_with == first
        assert bytes(second.public_key) == public_key_bytes(partner.partner.key) != public_key_bytes(old)
        extra = json.loads(bytes(LedgerEntry.objects.latest("seq").canonical))["extra"]
        assert extra["key_handovers_followed"] == [
            {
                "size": 8,
                "from": key_id(public_key_bytes(old)),
                "to": key_id(public_key_bytes(partner.partner.key)),
            }
        ]
        # From now on the new key is the pinned one: a later head needs no handover.
        partner.grow(2)
        later = partner.head_document(from_size=12, handovers=False)
        assert witness.partner_head_check(later).ok
        assert WitnessedHead.objects.count() == 2

    def test_published_fingerprint_of_either_the_pinned_or_the_new_key_is_accepted(self, world):
        from cellchain.ledger import witness
        from cellchain.verifier.signing import key_fingerprint

        partner = RotatingPartner()
        partner.grow(5)
        witness.partner_head_countersign(actor=None, document=partner.head_document())
        old = partner.rotate()
        partner.grow(2)
        document = partner.head_document(from_size=5)
        for published in (public_key_bytes(old), public_key_bytes(partner.partner.key)):
            assert witness.partner_head_check(document, expected_fingerprint=key_fingerprint(published)).ok
        stranger = key_fingerprint(public_key_bytes(Ed25519PrivateKey.generate()))
        verdict = witness.partner_head_check(document, expected_fingerprint=stranger)
        assert not verdict.ok and "fingerprint the partner published" in verdict.reasons[0]

    def test_partner_key_change_without_a_handover_is_refused(self, world):
        from cellchain.ledger import witness

        partner = RotatingPartner()
        partner.grow(5)
        witness.partner_head_countersign(actor=None, document=partner.head_document())
        partner.rotate()
        partner.grow(2)
        verdict = witness.partner_head_check(partner.head_document(from_size=5, handovers=False))
        assert not verdict.ok and "without a key handover signed by" in verdict.reasons[0]

    def test_handover_not_signed_by_the_pinned_key_is_refused(self, world):
        from cellchain.core.errors import Conflict as Refused
        from cellchain.ledger import witness

        partner = RotatingPartner()
        partner.grow(5)
        witness.partner_head_countersign(actor=None, document=partner.head_document())
        partner.rotate(signer=Ed25519PrivateKey.generate())
        partner.grow(2)
        verdict = witness.partner_head_check(partner.head_document(from_size=5))
        assert not verdict.ok and "not signed by the pinned key" in verdict.reasons[0]
        with pytest.raises(Refused, match="not signed by the pinned key"):
            witness.partner_head_countersign(actor=None, document=partner.head_document(from_size=5))

    def test_handover_on_another_history_is_refused_as_a_fork(self, world):
        """The pinned key signed the handover, but over a history the new head does not extend."""
        from cellchain.domain.merkle import MemoryNodeStore
        from cellchain.domain.treehead import tree_head_to_json
        from cellchain.ledger import witness
        from cellchain.verifier.signing import sign_head

        partner = RotatingPartner()
        partner.grow(5)
        witness.partner_head_countersign(actor=None, document=partner.head_document())
        partner.grow(3)
        old = partner.rotate()
        head, document = partner.handovers[0]
        other = MemoryNodeStore()
        for number in range(head.size):
            other.append(f'{{"seq":{number},"tag":"other history"}}'.encode())
        forged = TreeHead(
            log_id=head.log_id,
            size=head.size,
            root=other.root(),
            time=head.time,
            next_key_id=head.next_key_id,
        )
        document.update(
            tree_head_to_json(forged), signature=base64.b64encode(sign_head(old, forged)).decode()
        )
        partner.handovers[0] = (forged, document)
        partner.grow(2)
        verdict = witness.partner_head_check(partner.head_document(from_size=5))
        assert not verdict.ok
        assert any("fork" in reason and "key handover at size 8" in reason for reason in verdict.reasons)

    def test_countersigning_a_handover_head_keeps_its_next_key_in_our_countersignature(self, world):
        from cellchain.domain.treehead import Countersignature, tree_head_from_json
        from cellchain.ledger import witness
        from cellchain.verifier.signing import verify_countersignature

        partner = RotatingPartner()
        partner.grow(4)
        witness.partner_head_countersign(actor=None, document=partner.head_document())
        partner.grow(2)
        old = partner.rotate()
        head, handover = partner.handovers[0]
        from cellchain.domain.merkle import consistency_proof

        document = {
            "format": witness.HEAD_FORMAT,
            **{name: value for name, value in handover.items() if name != "next_public_key"},
            "public_key": base64.b64encode(public_key_bytes(old)).decode(),
            "consistency": {
                "from_size": 4,
                "proof": [
                    base64.b64encode(node).decode()
                    for node in consistency_proof(4, head.size, partner.partner.store.read)
                ],
            },
        }
        witnessed = witness.partner_head_countersign(actor=None, document=document)
        ours = witness.countersignature_document(witnessed)
        signed = tree_head_from_json(ours["head"])
        assert signed.next_key_id == head.next_key_id
        verify_countersignature(
            base64.b64decode(ours["public_key"]),
            Countersignature(ours["witness_id"], signed, base64.b64decode(ours["signature"])),
        )

    def test_our_countersignature_made_before_our_rotation_still_names_the_key_that_made_it(self, world):
        from cellchain.domain.treehead import Countersignature, tree_head_from_json
        from cellchain.ledger import witness
        from cellchain.verifier.signing import verify_countersignature

        partner = RotatingPartner()
        partner.grow(3)
        witnessed = witness.partner_head_countersign(actor=None, document=partner.head_document())
        old_public = keys.public_key_bytes()
        rotation = signing_key_rotate(actor=None, reason="rotation after countersigning")
        document = witness.countersignature_document(witnessed)
        assert base64.b64decode(document["public_key"]) == old_public
        verify_countersignature(
            old_public,
            Countersignature(
                document["witness_id"],
                tree_head_from_json(document["head"]),
                base64.b64decode(document["signature"]),
            ),
        )
        assert [item["next_key_id"] for item in document["key_handovers"]] == [rotation.activated.key_id]

    def test_witness_that_rotated_is_followed_when_it_countersigns_again(self, world):
        from cellchain.domain.treehead import tree_head_to_json
        from cellchain.ledger import witness
        from cellchain.ledger.models import HeadCountersignature
        from cellchain.verifier.signing import countersign

        hospital = RotatingPartner("xiehe-hospital")
        hospital.grow(3)

        def countersignature(sth: SignedTreeHead, *, handovers: bool) -> dict[str, Any]:
            signed = countersign(hospital.partner.key, "xiehe-hospital", to_tree_head(sth))
            document = {
                "format": witness.COUNTERSIGNATURE_FORMAT,
                "witness_id": "xiehe-hospital",
                "public_key": base64.b64encode(public_key_bytes(hospital.partner.key)).decode(),
                "head": tree_head_to_json(signed.head),
                "signature": base64.b64encode(signed.signature).decode(),
            }
            if handovers:
                document["key_handovers"] = [handover for _head, handover in hospital.handovers]
            return document

        witness.countersignature_receive(actor=None, document=countersignature(head_issue(), handovers=True))
        hospital.rotate()
        _grow()
        newer = head_issue()
        with pytest.raises(Conflict, match="without a key handover"):
            witness.countersignature_receive(actor=None, document=countersignature(newer, handovers=False))
        received = witness.countersignature_receive(
            actor=None, document=countersignature(newer, handovers=True)
        )
        assert bytes(received.public_key) == public_key_bytes(hospital.partner.key)
        assert HeadCountersignature.objects.count() == 2
        assert verify_bundle(bundle_data()).ok
