"""The subset bundle of an inspection dossier: each entry proven included in one signed head, the record list
held both ways, the head's key trusted through its history (issue 14 item 6; REGULATORY.md #9, #45)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.domain import merkle
from cellchain.domain.merkle import MemoryNodeStore
from cellchain.domain.treehead import TreeHead, key_id, tree_head_to_json
from cellchain.verifier import BundleError, public_key_bytes, sign_head, verify_subset_bundle
from cellchain.verifier.bundle import TrustedHead
from cellchain.verifier.cli import EXIT_FAILED, EXIT_MALFORMED, EXIT_OK, EXIT_UNVERIFIED, main

LOG_ID = "cellchain-sh01"
OLD_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
NEW_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(96, 128)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(64, 96)))
BATCH = ("manufacturing.batch", "7")
STEP = ("manufacturing.batchstep", "21")
OTHER = ("manufacturing.batch", "8")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def kid(key: Ed25519PrivateKey) -> str:
    return key_id(public_key_bytes(key))


def _entry(seq: int, record: tuple[str, str], action: str, state: dict[str, Any]) -> bytes:
    return rfc8785.dumps(
        {
            "seq": seq,
            "time": f"2026-03-01T08:00:{seq:02d}.000000Z",
            "actor": {"id": 3, "name": "QA Li", "roles": ["qa"], "organisation": "shenghe", "site": "sh"},
            "record": {"type": record[0], "id": record[1]},
            "action": action,
            "event": f"x:{action}",
            "state": state,
            "reason": None if action in ("create", "sign") else "changed",
            "extra": {},
        }
    )


def _key_state(key: Ed25519PrivateKey, *, predecessor: str | None, retired: str | None) -> dict[str, Any]:
    return {
        "key_id": kid(key),
        "public_key": b64(public_key_bytes(key)),
        "state": "retired" if retired else "active",
        "predecessor_id": predecessor,
        "activated_at": "2026-03-01T08:00:00.000000Z"
        if predecessor is None
        else "2026-03-01T08:00:05.000000Z",
        "retired_at": retired,
    }


def ledger() -> list[bytes]:
    """Twelve entries: the first key (0), the batch, its step and another batch; a rotation at 4-5."""
    key_old = ("ledger.ledgersigningkey", "1")
    key_new = ("ledger.ledgersigningkey", "2")
    retired = "2026-03-01T08:00:05.000000Z"
    rows = [
        (key_old, "create", _key_state(OLD_KEY, predecessor=None, retired=None)),
        (BATCH, "create", {"number": "B-7", "status": "in_process"}),
        (OTHER, "create", {"number": "B-8", "status": "in_process"}),
        (STEP, "create", {"batch_id": 7, "code": "activation"}),
        (key_old, "amend", _key_state(OLD_KEY, predecessor=None, retired=retired)),
        (key_new, "create", _key_state(NEW_KEY, predecessor="1", retired=None)),
        (BATCH, "amend", {"number": "B-7", "status": "awaiting_release"}),
        (OTHER, "amend", {"number": "B-8", "status": "released"}),
        (STEP, "amend", {"batch_id": 7, "code": "activation", "status": "completed"}),
        (BATCH, "amend", {"number": "B-7", "status": "released"}),
        (OTHER, "amend", {"number": "B-8", "status": "on_hold"}),
        (BATCH, "amend", {"number": "B-7", "status": "on_hold"}),
    ]
    return [_entry(seq, record, action, state) for seq, (record, action, state) in enumerate(rows)]


def _store(entries: list[bytes]) -> MemoryNodeStore:
    store = MemoryNodeStore()
    for entry in entries:
        store.append(entry)
    return store


def _signed(
    store: MemoryNodeStore, size: int, key: Ed25519PrivateKey, time: str, *, next_key: str | None = None
) -> dict[str, Any]:
    head = TreeHead(log_id=LOG_ID, size=size, root=store.root(size), time=time, next_key_id=next_key)
    return {**tree_head_to_json(head), "key_id": kid(key), "signature": b64(sign_head(key, head))}


def build(records: tuple[tuple[str, str], ...] = (BATCH, STEP)) -> dict[str, Any]:
    """The subset of `records` (and the two key records) against the head of size 12, signed by the new key."""
    entries = ledger()
    store = _store(entries)
    size = len(entries)
    wanted = {*records, ("ledger.ledgersigningkey", "1"), ("ledger.ledgersigningkey", "2")}
    chosen = [(seq, raw) for seq, raw in enumerate(entries) if _record(raw) in wanted]
    listed: dict[tuple[str, str], list[int]] = {}
    for seq, raw in chosen:
        listed.setdefault(_record(raw), []).append(seq)
    handover = _signed(store, 6, OLD_KEY, "2026-03-01T08:00:05Z", next_key=kid(NEW_KEY))
    handover["consistency"] = [b64(h) for h in merkle.consistency_proof(6, size, store.read)]
    return {
        "format": "cellchain-ledger-subset/1",
        "log_id": LOG_ID,
        "subject": {"kind": "batch", "id": "B-7", "title": "Batch B-7"},
        "head": _signed(store, size, NEW_KEY, "2026-03-01T08:01:00Z"),
        "keys": [
            {
                "key_id": kid(OLD_KEY),
                "public_key": b64(public_key_bytes(OLD_KEY)),
                "activated_at": "2026-03-01T08:00:00.000000Z",
                "retired_at": "2026-03-01T08:00:05.000000Z",
                "predecessor": None,
            },
            {
                "key_id": kid(NEW_KEY),
                "public_key": b64(public_key_bytes(NEW_KEY)),
                "activated_at": "2026-03-01T08:00:05.000000Z",
                "retired_at": None,
                "predecessor": kid(OLD_KEY),
            },
        ],
        "handovers": [handover],
        "records": [{"type": t, "id": i, "seqs": seqs} for (t, i), seqs in listed.items()],
        "entries": [
            {
                "seq": seq,
                "entry": b64(raw),
                "proof": [b64(h) for h in merkle.inclusion_proof(seq, size, store.read)],
            }
            for seq, raw in chosen
        ],
    }


def _record(raw: bytes) -> tuple[str, str]:
    record = json.loads(raw)["record"]
    return record["type"], record["id"]


def _checks(bundle: dict[str, Any], **options: Any) -> list[str]:
    return [finding.check for finding in verify_subset_bundle(bundle, **options).failures]


def _entry_of(bundle: dict[str, Any], seq: int) -> dict[str, Any]:
    return next(item for item in bundle["entries"] if item["seq"] == seq)


def run_cli(tmp_path: Path, bundle: object, *options: str) -> int:
    path = tmp_path / "subset.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return main([str(path), *options])


class TestIntactSubset:
    def test_subset_verifies_and_says_what_was_checked(self) -> None:
        report = verify_subset_bundle(build())
        assert report.ok and report.result == "ok", report.lines()
        assert (report.entries, report.records, report.handovers, report.head_size) == (9, 4, 1, 12)
        assert report.key_fingerprint == kid(NEW_KEY)
        assert any("RFC 9162 inclusion proof" in line for line in report.checked)
        assert any("ledger's own records of its 2 keys" in line for line in report.checked)

    def test_cli_exits_zero_and_names_the_subject(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run_cli(tmp_path, build(), "--log-key", b64(public_key_bytes(OLD_KEY))) == EXIT_OK
        out = capsys.readouterr().out
        assert "cellchain-ledger-subset/1): batch B-7 Batch B-7" in out and "Result: OK" in out
        assert "taken from the bundle itself" not in out

    def test_cli_json_report(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert run_cli(tmp_path, build(), "--json") == EXIT_OK
        report = json.loads(capsys.readouterr().out)
        assert report["result"] == "ok" and report["format"] == "cellchain-ledger-subset/1"

    def test_verify_does_not_change_its_input(self) -> None:
        bundle = build()
        before = copy.deepcopy(bundle)
        verify_subset_bundle(bundle)
        assert bundle == before


class TestTamperedSubset:
    def test_a_changed_entry_fails_its_inclusion_proof(self, tmp_path: Path) -> None:
        bundle = build()
        item = _entry_of(bundle, 9)
        item["entry"] = b64(base64.b64decode(item["entry"]).replace(b'"released"', b'"rejected"'))
        report = verify_subset_bundle(bundle)
        (finding,) = report.failures
        assert (finding.check, finding.seq) == ("inclusion", 9)
        assert "does not lead to the root" in finding.message
        assert run_cli(tmp_path, bundle) == EXIT_FAILED

    def test_a_wrong_proof_fails(self) -> None:
        bundle = build()
        proof = _entry_of(bundle, 3)["proof"]
        proof[0] = b64(bytes(32))
        assert _checks(bundle) == ["inclusion"]

    def test_a_proof_of_another_entry_fails(self) -> None:
        bundle = build()
        _entry_of(bundle, 3)["proof"] = _entry_of(bundle, 6)["proof"]
        assert _checks(bundle) == ["inclusion"]

    def test_an_entry_listed_at_another_seq_fails(self) -> None:
        bundle = build()
        _entry_of(bundle, 6)["seq"] = 7
        checks = _checks(bundle)
        assert "entry" in checks and "inclusion" in checks

    def test_a_smuggled_entry_of_another_record_fails(self, tmp_path: Path) -> None:
        """The entry is genuine (its proof holds) but belongs to a record the list does not name."""
        bundle = build()
        whole = build((BATCH, STEP, OTHER))
        bundle["entries"].insert(2, _entry_of(whole, 2))
        report = verify_subset_bundle(bundle)
        (finding,) = report.failures
        assert (finding.check, finding.seq) == ("record list", 2)
        assert "manufacturing.batch 8, which the record list does not give" in finding.message
        assert run_cli(tmp_path, bundle) == EXIT_FAILED

    def test_an_entry_taken_out_fails(self) -> None:
        bundle = build()
        bundle["entries"] = [item for item in bundle["entries"] if item["seq"] != 6]
        report = verify_subset_bundle(bundle)
        assert [(f.check, f.seq) for f in report.failures] == [("record list", 6)]
        assert "listed but not in the bundle" in report.failures[0].message

    def test_a_record_whose_creation_is_missing_fails(self) -> None:
        bundle = build()
        bundle["entries"] = [item for item in bundle["entries"] if item["seq"] != 1]
        for record in bundle["records"]:
            if (record["type"], record["id"]) == BATCH:
                record["seqs"].remove(1)
        assert _checks(bundle) == ["record history"]

    def test_a_repeated_entry_fails(self) -> None:
        bundle = build()
        bundle["entries"].append(copy.deepcopy(_entry_of(bundle, 9)))
        assert "record list" in _checks(bundle)


class TestTheHeadAndItsKey:
    def test_a_head_signed_by_an_unknown_key_fails(self, tmp_path: Path) -> None:
        bundle = build()
        entries = ledger()
        bundle["head"] = _signed(_store(entries), 12, OTHER_KEY, "2026-03-01T08:01:00Z")
        report = verify_subset_bundle(bundle)
        assert report.failures[0].check == "head key"
        assert "not in the key history" in report.failures[0].message
        assert run_cli(tmp_path, bundle) == EXIT_FAILED

    def test_a_forged_signature_fails(self) -> None:
        bundle = build()
        signature = bytearray(base64.b64decode(bundle["head"]["signature"]))
        signature[5] ^= 1
        bundle["head"]["signature"] = b64(bytes(signature))
        assert _checks(bundle) == ["head signature"]

    def test_a_rewritten_root_fails_every_proof(self) -> None:
        bundle = build()
        head = TreeHead(log_id=LOG_ID, size=12, root=bytes(32), time="2026-03-01T08:01:00Z")
        bundle["head"] = {
            **tree_head_to_json(head),
            "key_id": kid(NEW_KEY),
            "signature": b64(sign_head(NEW_KEY, head)),
        }
        checks = _checks(bundle)
        assert checks.count("inclusion") == 9 and "consistency" in checks

    def test_a_missing_handover_fails(self) -> None:
        bundle = build()
        bundle["handovers"] = []
        assert "key handover" in _checks(bundle)

    def test_a_handover_not_consistent_with_the_head_fails(self) -> None:
        bundle = build()
        bundle["handovers"][0]["consistency"][0] = b64(bytes(32))
        assert _checks(bundle) == ["consistency"]

    def test_a_key_history_differing_from_the_ledgers_records_fails(self) -> None:
        bundle = build()
        bundle["keys"][1]["activated_at"] = "2026-03-01T08:00:04.000000Z"
        checks = _checks(bundle)
        assert "key history" in checks

    def test_a_trusted_key_outside_the_history_fails(self) -> None:
        assert _checks(build(), trusted_log_key=public_key_bytes(OTHER_KEY)) == ["log key"]

    def test_a_re_signed_bundle_fails_against_the_published_key(self) -> None:
        """Whoever rewrites the history and signs it with a key of their own gives a history without the
        published key."""
        bundle = build()
        bundle["keys"] = [bundle["keys"][1] | {"predecessor": None}]
        bundle["handovers"] = []
        assert "log key" in _checks(bundle, trusted_log_key=public_key_bytes(OLD_KEY))


class TestPinnedHeads:
    def test_a_pin_of_the_heads_size_must_match(self, tmp_path: Path) -> None:
        bundle = build()
        root = base64.b64decode(bundle["head"]["root"])
        assert verify_subset_bundle(bundle, trusted_heads=[TrustedHead(12, root, "pin")]).ok
        report = verify_subset_bundle(bundle, trusted_heads=[TrustedHead(12, bytes(32), "pin")])
        assert [f.check for f in report.failures] == ["trusted head"]
        assert run_cli(tmp_path, bundle, "--trusted-head", f"12:{bytes(32).hex()}") == EXIT_FAILED

    def test_a_pin_of_another_size_is_unverified(self, tmp_path: Path) -> None:
        report = verify_subset_bundle(build(), trusted_heads=[TrustedHead(6, bytes(32), "pin")])
        assert report.result == "unverified" and not report.failures
        assert "ledger proof consistency 6 12" in report.unverified[0].message
        assert run_cli(tmp_path, build(), "--trusted-head", f"6:{bytes(32).hex()}") == EXIT_UNVERIFIED


class TestMalformedSubset:
    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (lambda b: b.pop("head"), "head: missing"),
            (lambda b: b["entries"][0].pop("proof"), "entries[0].proof: expected list"),
            (lambda b: b["entries"][0].update(seq=-1), "entries[0].seq"),
            (lambda b: b["records"][0].update(seqs="1"), "records[0].seqs: expected list"),
            (lambda b: b["entries"][0]["proof"].append("AAAA"), "a SHA-256 hash is 32"),
        ],
    )
    def test_malformed_field_is_named_with_exit_two(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate: Any, field: str
    ) -> None:
        bundle = build()
        mutate(bundle)
        with pytest.raises(BundleError):
            verify_subset_bundle(bundle)
        assert run_cli(tmp_path, bundle) == EXIT_MALFORMED
        assert field in capsys.readouterr().err
