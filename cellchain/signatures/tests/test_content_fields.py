"""Signatures name the fields they covered, so a column added later does not unsign a record (21 CFR 11.70).

Decision 0010 "Found while testing the upgrade": before `Signature.content_fields`, adding a column to a signed
model made every existing signature of it show as superseded. Migration 0002 fills the field list of older
signatures from the ledger (`cellchain.signatures.backfill`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction

from cellchain.core import clock
from cellchain.ledger.actor import actor_json
from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.replay import record_state
from cellchain.ledger.services import append_state, ledger_append
from cellchain.ledger.tests.behind import create_unledgered, migration_apps, update_unledgered
from cellchain.ledger.verify import verify_ledger
from cellchain.signatures import services
from cellchain.signatures.backfill import backfill_content_fields, signed_fields
from cellchain.signatures.content import content_from_state, content_of, hash_of
from cellchain.signatures.models import Signature
from cellchain.signatures.services import (
    SignerCredentials,
    record_amend,
    record_sign,
    signature_is_current,
    signature_verify,
)
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db

ORG = "accounts.organisation"


@pytest.fixture
def record(world):
    """A regulated record to sign: the hospital's organisation record."""
    return world.organisations["xiehe"]


def _sign(world, record) -> Signature:
    return record_sign(
        record=record, signer=SignerCredentials(world["admin_xiehe"], PERSONA_PASSWORD), meaning="approved"
    )


def _shape(
    monkeypatch, *, add: dict[str, Any] | None = None, drop: tuple[str, ...] = (), **change: Any
) -> None:
    """Make the services see the record's content with fields added, dropped or changed (a schema change)."""

    def reshaped(record: Any) -> dict[str, Any]:
        content = {k: v for k, v in content_of(record).items() if k not in drop}
        content.update(change)
        content.update(add or {})
        return content

    monkeypatch.setattr(services, "content_of", reshaped)


def _entry(entry: LedgerEntry) -> dict[str, Any]:
    return json.loads(bytes(entry.canonical))


class TestCoveredFields:
    def test_signature_records_the_sorted_fields_signed_and_the_ledger_names_them(self, world, record):
        signature = _sign(world, record)
        assert signature.content_fields == sorted(content_of(record))
        assert "voided_at" not in signature.content_fields
        sign = _entry(LedgerEntry.objects.filter(record_type="signatures.signature").latest("seq"))
        assert sign["extra"]["content_fields"] == signature.content_fields
        assert sign["state"]["content_fields"] == signature.content_fields

    def test_field_added_after_signing_leaves_the_signature_current(self, world, record, monkeypatch):
        """11.70: the added field was never shown to the signer, so it is not part of what was signed."""
        signature = _sign(world, record)
        _shape(monkeypatch, add={"added_by_a_migration": "default"})
        assert signature_is_current(signature, record)
        assert signature_verify(signature) == services.SignatureCheck(True, ())

    def test_without_a_field_list_an_added_field_unsigns_the_record(self, world, record, monkeypatch):
        """The behaviour before migration 0002 (and of a NULL list): the whole current content is hashed."""
        signature = _sign(world, record)
        signature.content_fields = None
        _shape(monkeypatch, add={"added_by_a_migration": "default"})
        assert not signature_is_current(signature, record)
        assert not signature_verify(signature).valid

    def test_covered_field_changed_still_unsigns_even_with_a_field_added(self, world, record, monkeypatch):
        signature = _sign(world, record)
        _shape(monkeypatch, add={"added_by_a_migration": "default"}, name="Someone else")
        assert not signature_is_current(signature, record)
        check = signature_verify(signature)
        assert not check.valid and "content hash" in check.reasons[0]

    def test_amendment_of_a_covered_field_supersedes_as_before(self, world, record):
        signature = _sign(world, record)
        record_amend(actor=world["admin_xiehe"], record=record, changes={"name_en": "PUMCH"}, reason="typo")
        signature.refresh_from_db()
        assert signature.superseded_at is not None
        assert not signature_is_current(signature, record)

    def test_covered_field_gone_fails_verification_naming_it(self, world, record, monkeypatch):
        signature = _sign(world, record)
        _shape(monkeypatch, drop=("name_en",))
        assert not signature_is_current(signature, record)
        check = signature_verify(signature)
        assert not check.valid
        assert any("name_en" in reason and "no longer exist" in reason for reason in check.reasons)

    def test_narrowing_the_field_list_breaks_the_binding(self, world, record, tamper):
        """The list is part of what the hash covers and of the ledgered row: dropping a field is caught twice."""
        signature = _sign(world, record)
        narrowed = [name for name in signature.content_fields if name != "name"]
        with tamper() as cursor:
            cursor.execute(
                "UPDATE signatures_signature SET content_fields = %s WHERE id = %s",
                [json.dumps(narrowed), signature.pk],
            )
        signature.refresh_from_db()
        assert not signature_verify(signature).valid
        findings = {(f.record_type, f.record_id) for f in verify_ledger().findings}
        assert ("signatures.signature", str(signature.pk)) in findings


def _legacy_signature(
    world, record, *, drop: tuple[str, ...] = (), content_hash: str | None = None
) -> Signature:
    """A signature as written before migration 0002: no field list in the row or in its `sign` entry.

    With `drop`, the record's last entry before signing lacks those fields (written before their column was
    added) and the signature's hash is over that older content; a later entry re-states the full row, as the
    schema re-baseline does, so the ledger verifies.
    """
    signer = world["admin_xiehe"]
    with transaction.atomic():
        older = {k: v for k, v in record_state(ORG, record).items() if k not in drop}
        if drop:
            append_state(
                who=actor_json(None),
                record_type=ORG,
                record_id=str(record.pk),
                state=older,
                action="amend",
                event="organisation:amend",
                reason="state before the column was added",
            )
        signature = create_unledgered(
            Signature,
            record_type=ORG,
            record_id=str(record.pk),
            signer=signer,
            printed_name=signer.printed_name,
            role="site_admin",
            meaning="approved",
            signed_at=clock.now(),
            content_hash=content_hash or hash_of(content_from_state(older)),
            content_fields=None,
        )
        signature.refresh_from_db()
        append_state(
            who=actor_json(signer),
            record_type="signatures.signature",
            record_id=str(signature.pk),
            state={k: v for k, v in signature.ledger_state().items() if k != "content_fields"},
            action="sign",
            event=f"{ORG}:sign",
        )
        if drop:
            ledger_append(
                actor=None, record=record, action="amend", event="schema:test", reason="column added"
            )
    return signature


class TestBackfill:
    """Migration 0002: older signatures get the fields of the content they signed, from the ledger."""

    def test_fields_come_from_the_record_entry_before_the_sign_entry(self, world, record):
        signature = _legacy_signature(world, record, drop=("name_en",))
        assert not signature_is_current(signature, record)  # the upgrade bug: a field added unsigns it
        before_sign = (
            LedgerEntry.objects.filter(
                record_type=ORG, record_id=str(record.pk), seq__lt=signature_seq(signature)
            )
            .latest("seq")
            .seq
        )
        covered = signed_fields(migration_apps(), signature)
        expected = sorted(name for name in content_of(record) if name != "name_en")
        assert (covered.fields, covered.source, covered.seq) == (expected, "ledger", before_sign)

        assert backfill_content_fields(migration_apps()) == {
            "ledger": 1,
            "record": 0,
            "unknown": 0,
            "unvouched": 0,
        }
        signature.refresh_from_db()
        assert signature.content_fields == expected
        assert signature_is_current(signature, record)
        assert signature_verify(signature).valid
        entry = _entry(LedgerEntry.objects.latest("seq"))
        assert (entry["action"], entry["record"]["id"], entry["state"]["content_fields"]) == (
            "migrate",
            str(signature.pk),
            expected,
        )
        assert entry["extra"]["content_fields"] == {"source": "ledger", "seq": before_sign}
        assert entry["extra"]["migration"] == "signatures.0002_signature_content_fields"
        assert verify_ledger().ok
        assert backfill_content_fields(migration_apps())["ledger"] == 0  # a second run finds nothing to do

    def test_unreproducible_hash_falls_back_to_the_current_fields(self, world, record):
        signature = _legacy_signature(world, record, content_hash="0" * 64)
        assert backfill_content_fields(migration_apps())["record"] == 1
        signature.refresh_from_db()
        assert signature.content_fields == sorted(content_of(record))
        assert not signature_verify(signature).valid  # still not the content signed, as before
        assert verify_ledger().ok

    def test_signature_of_a_missing_record_keeps_no_list_but_is_ledgered(self, world, record):
        signature = _legacy_signature(world, record)
        update_unledgered(Signature.objects.filter(pk=signature.pk), record_id="999999")
        with transaction.atomic():  # the move itself, ledgered, so only the backfill is under test
            signature.refresh_from_db()
            append_state(
                who=actor_json(None),
                record_type="signatures.signature",
                record_id=str(signature.pk),
                state={k: v for k, v in signature.ledger_state().items() if k != "content_fields"},
                action="amend",
                event="signature:test",
                reason="test",
            )
        assert backfill_content_fields(migration_apps())["unknown"] == 1
        signature.refresh_from_db()
        assert signature.content_fields is None
        assert verify_ledger().ok

    def test_signature_row_changed_behind_the_back_is_not_vouched_for(self, world, record, tamper):
        signature = _legacy_signature(world, record)
        with tamper() as cursor:
            cursor.execute("UPDATE signatures_signature SET printed_name = 'x' WHERE id = %s", [signature.pk])
        seq = LedgerEntry.objects.latest("seq").seq
        assert backfill_content_fields(migration_apps())["unvouched"] == 1
        signature.refresh_from_db()
        assert signature.content_fields is None
        assert LedgerEntry.objects.latest("seq").seq == seq
        assert not verify_ledger().ok


def signature_seq(signature: Signature) -> int:
    return LedgerEntry.objects.get(
        record_type="signatures.signature", record_id=str(signature.pk), action="sign"
    ).seq
