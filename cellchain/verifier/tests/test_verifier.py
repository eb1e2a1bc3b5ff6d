"""The offline verifier finds tampering, gaps, reordering, forged heads and forks (REGULATORY.md #9, #45)."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.domain.merkle import MemoryNodeStore
from cellchain.domain.treehead import TreeHead, tree_head_to_json
from cellchain.verifier import (
    BundleError,
    SignatureError,
    countersign,
    public_key_bytes,
    sign_head,
    verify_bundle,
    verify_countersignature,
    verify_head_signature,
)
from cellchain.verifier.cli import main

LOG_ID = "cellchain-sh01"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(64, 96)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def entry_bytes(seq: int, viability: float = 92.5) -> bytes:
    """A ledger entry as the ledger writes it: RFC 8785 canonical JSON."""
    return rfc8785.dumps(
        {
            "seq": seq,
            "time": f"2026-03-01T08:{seq // 60:02d}:{seq % 60:02d}Z",
            "actor": {"id": 7, "name": "QA Li", "role": "qa", "site": "SH01"},
            "record": {"type": "manufacturing.batch", "id": str(100 + seq)},
            "action": "batch:release" if seq % 2 else "batch:create",
            "state": {"viability_percent": viability, "lot": f"LOT-{seq}"},
            "reason": None,
        }
    )


def signed_head(entries: list[bytes], size: int, key: Ed25519PrivateKey = LOG_KEY) -> dict[str, Any]:
    store = MemoryNodeStore()
    for entry in entries[:size]:
        store.append(entry)
    head = TreeHead(
        log_id=LOG_ID, size=size, root=store.root(), time=f"2026-03-01T09:{size // 60:02d}:{size % 60:02d}Z"
    )
    return {**tree_head_to_json(head), "signature": b64(sign_head(key, head))}


def witness_record(head: dict[str, Any], key: Ed25519PrivateKey = WITNESS_KEY) -> dict[str, Any]:
    unsigned = {name: value for name, value in head.items() if name != "signature"}
    tree_head = TreeHead(
        log_id=unsigned["log_id"],
        size=unsigned["size"],
        root=base64.b64decode(unsigned["root"]),
        time=unsigned["time"],
    )
    return {
        "witness_id": "cellchain-bj02",
        "public_key": b64(public_key_bytes(key)),
        "head": unsigned,
        "signature": b64(sign_head(key, tree_head)),
    }


def build_bundle(size: int = 10, head_sizes: tuple[int, ...] = (3, 6, 10)) -> dict[str, Any]:
    entries = [entry_bytes(seq) for seq in range(size)]
    heads = [signed_head(entries, head_size) for head_size in head_sizes]
    return {
        "format": "cellchain-ledger-bundle/1",
        "log_id": LOG_ID,
        "public_key": b64(public_key_bytes(LOG_KEY)),
        "entries": [b64(entry) for entry in entries],
        "heads": heads,
        "witnesses": [witness_record(heads[-1])],
    }


def run_cli(tmp_path: Path, bundle: object, *options: str) -> int:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle) if not isinstance(bundle, str) else bundle, encoding="utf-8")
    return main([str(path), *options])


def entry_at(bundle: dict[str, Any], position: int) -> bytes:
    return base64.b64decode(bundle["entries"][position])


def set_entry(bundle: dict[str, Any], position: int, data: bytes) -> None:
    bundle["entries"][position] = b64(data)


class TestIntactBundle:
    def test_intact_bundle_verifies_with_every_check_counted(self) -> None:
        report = verify_bundle(build_bundle())
        assert report.ok and report.failures == ()
        assert (report.entries, report.heads, report.consistency_pairs, report.witnesses) == (10, 3, 3, 1)

    def test_cli_exits_zero_and_prints_what_was_checked(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run_cli(tmp_path, build_bundle()) == 0
        out = capsys.readouterr().out
        assert (
            "10 entries rehashed" in out
            and "3 signed tree heads" in out
            and "3 pairs of validly signed heads" in out
        )
        assert "1 witness countersignatures" in out and "Result: OK" in out

    def test_trusted_keys_that_match_give_no_notes_about_keys(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        options = [
            "--log-key",
            b64(public_key_bytes(LOG_KEY)),
            "--witness-key",
            f"cellchain-bj02={b64(public_key_bytes(WITNESS_KEY))}",
        ]
        assert run_cli(tmp_path, build_bundle(), *options) == 0
        assert "taken from the bundle" not in capsys.readouterr().out

    def test_json_report_is_machine_readable(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run_cli(tmp_path, build_bundle(), "--json") == 0
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] is True and report["entries"] == 10 and report["failures"] == []

    def test_entries_newer_than_the_last_head_are_unverified_not_ok(self) -> None:
        """Issue 15 item 3: entries no signed head covers fail the run (details in test_coverage_and_pins)."""
        report = verify_bundle(build_bundle(size=12, head_sizes=(3, 10)))
        assert not report.ok and report.result == "unverified" and report.failures == ()
        assert [(f.seq, f.last_seq) for f in report.unverified] == [(10, 11)]


class TestTamperedEntries:
    def test_one_changed_byte_is_located_between_the_heads_that_bracket_it(self) -> None:
        bundle = build_bundle()
        set_entry(bundle, 4, entry_at(bundle, 4).replace(b"LOT-4", b"LOT-9"))
        report = verify_bundle(bundle)
        first = report.first_failure
        assert first is not None and first.check == "head root"
        assert (first.seq, first.last_seq) == (3, 5)
        assert "heads[1] (size 6" in first.message

    def test_one_changed_byte_is_named_exactly_when_every_size_is_signed(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bundle = build_bundle(head_sizes=tuple(range(1, 11)))
        set_entry(bundle, 4, entry_at(bundle, 4).replace(b"92.5", b"93.5"))
        assert run_cli(tmp_path, bundle) == 1
        out = capsys.readouterr().out
        assert "First failure:\n  [head root] at entry seq 4:" in out

    def test_entry_broken_as_json_is_named_by_position(self) -> None:
        bundle = build_bundle()
        set_entry(bundle, 7, b"\xff" + entry_at(bundle, 7)[1:])
        first = verify_bundle(bundle).first_failure
        assert first is not None and first.check == "entry" and first.seq == 7
        assert "not UTF-8 JSON" in first.message

    def test_entry_without_required_keys_is_named(self) -> None:
        bundle = build_bundle()
        entry = json.loads(entry_at(bundle, 2))
        del entry["reason"], entry["actor"]
        set_entry(bundle, 2, rfc8785.dumps(entry))
        first = verify_bundle(bundle).first_failure
        assert first is not None and first.seq == 2 and "lacks actor, reason" in first.message

    def test_rewritten_seq_shows_as_duplicate_and_gap(self) -> None:
        bundle = build_bundle()
        set_entry(bundle, 4, entry_at(bundle, 4).replace(b'"seq":4', b'"seq":5'))
        sequence = [finding for finding in verify_bundle(bundle).failures if finding.check == "sequence"]
        assert [(finding.seq, finding.message.split(":")[0]) for finding in sequence] == [
            (4, "gap"),
            (5, "duplicate"),
        ]


class TestMissingAndReorderedEntries:
    def test_dropped_entry_is_a_gap_at_its_seq(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bundle = build_bundle()
        del bundle["entries"][4]
        assert run_cli(tmp_path, bundle) == 1
        out = capsys.readouterr().out
        assert "First failure:\n  [sequence] at entry seq 4: gap: seq 4 missing" in out

    def test_dropped_last_entry_leaves_the_newest_head_uncovered(self) -> None:
        bundle = build_bundle()
        del bundle["entries"][9]
        first = verify_bundle(bundle).first_failure
        assert first is not None and first.check == "head root" and (first.seq, first.last_seq) == (9, 9)
        assert "covers 10 entries but the bundle holds only 9" in first.message

    def test_swapped_entries_are_out_of_order(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bundle = build_bundle()
        bundle["entries"][4], bundle["entries"][5] = bundle["entries"][5], bundle["entries"][4]
        assert run_cli(tmp_path, bundle) == 1
        report = verify_bundle(bundle)
        first = report.first_failure
        assert first is not None and first.check == "sequence" and first.seq == 4
        assert "out of order: seq 4 at position 5 comes after seq 5" in first.message
        assert "out of order" in capsys.readouterr().out

    def test_inserted_entry_is_a_duplicate_seq(self) -> None:
        bundle = build_bundle()
        bundle["entries"].insert(6, b64(entry_bytes(6, viability=99.0)))
        findings = verify_bundle(bundle).failures
        assert findings[0].check == "sequence" and findings[0].seq == 6 and "duplicate" in findings[0].message


class TestForgedHeads:
    def test_flipped_signature_bit_fails_that_head(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bundle = build_bundle()
        signature = bytearray(base64.b64decode(bundle["heads"][1]["signature"]))
        signature[10] ^= 0x01
        bundle["heads"][1]["signature"] = b64(bytes(signature))
        assert run_cli(tmp_path, bundle) == 1
        report = verify_bundle(bundle)
        assert [finding.check for finding in report.failures] == ["head signature"]
        assert "heads[1] (size 6" in report.failures[0].message
        assert "[head signature]" in capsys.readouterr().out

    def test_head_signed_by_another_key_fails(self) -> None:
        bundle = build_bundle()
        entries = [base64.b64decode(entry) for entry in bundle["entries"]]
        bundle["heads"][2] = signed_head(entries, 10, key=OTHER_KEY)
        assert [finding.check for finding in verify_bundle(bundle).failures] == ["head signature"]

    def test_bundle_resigned_with_another_key_is_caught_by_the_trusted_key(self, tmp_path: Path) -> None:
        bundle = build_bundle()
        entries = [base64.b64decode(entry) for entry in bundle["entries"]]
        bundle["public_key"] = b64(public_key_bytes(OTHER_KEY))
        bundle["heads"] = [signed_head(entries, size, key=OTHER_KEY) for size in (3, 6, 10)]
        assert verify_bundle(bundle).ok  # self-consistent: only a trusted key can tell
        assert run_cli(tmp_path, bundle, "--log-key", b64(public_key_bytes(LOG_KEY))) == 1
        checks = {
            finding.check
            for finding in verify_bundle(bundle, trusted_log_key=public_key_bytes(LOG_KEY)).failures
        }
        assert checks == {"log key", "head signature"}

    def test_head_with_size_changed_after_signing_fails_its_signature(self) -> None:
        bundle = build_bundle()
        bundle["heads"][2]["size"] = 9
        checks = {finding.check for finding in verify_bundle(bundle).failures}
        assert "head signature" in checks

    def test_bundle_without_heads_binds_nothing(self) -> None:
        bundle = build_bundle()
        bundle["heads"], bundle["witnesses"] = [], []
        first = verify_bundle(bundle).first_failure
        assert first is not None and first.check == "head"


class TestForks:
    def test_head_signed_over_another_history_is_a_fork(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bundle = build_bundle()
        other_history = [entry_bytes(seq, viability=50.0 if seq == 4 else 92.5) for seq in range(10)]
        bundle["heads"][1] = signed_head(other_history, 6)
        assert run_cli(tmp_path, bundle) == 1
        report = verify_bundle(bundle)
        first = report.first_failure
        assert first is not None and first.check == "fork"
        assert first.message.startswith("heads[1] (size 6") and "heads[2] (size 10" in first.message
        forks = [finding.message for finding in report.failures if finding.check == "consistency"]
        assert forks == [
            "fork: heads[2] (size 10, 2026-03-01T09:00:10Z) does not extend heads[1] (size 6, "
            "2026-03-01T09:00:06Z): tree of size 10 is not consistent with the tree of size 6: "
            "old root does not match the proof"
        ]
        assert "the log signed two different histories" in capsys.readouterr().out

    def test_tampered_entries_are_not_mistaken_for_a_fork(self) -> None:
        bundle = build_bundle()
        set_entry(bundle, 4, entry_at(bundle, 4).replace(b"LOT-4", b"LOT-9"))
        report = verify_bundle(bundle)
        assert {finding.check for finding in report.failures} == {"head root", "witness"}
        assert any("3 pairs of heads not checked" in note for note in report.notes)

    def test_two_signed_heads_of_one_size_with_different_roots_are_a_fork(self) -> None:
        bundle = build_bundle()
        other_history = [entry_bytes(seq, viability=50.0) for seq in range(10)]
        bundle["heads"].append(signed_head(other_history, 10))
        failures = verify_bundle(bundle).failures
        assert [finding.check for finding in failures] == ["fork", "consistency"]
        assert "heads[3] (size 10" in failures[1].message and "heads[2] (size 10" in failures[1].message

    def test_witness_shown_another_history_reports_the_fork(self) -> None:
        bundle = build_bundle()
        other_history = [entry_bytes(seq, viability=50.0) for seq in range(10)]
        bundle["witnesses"] = [witness_record(signed_head(other_history, 10))]
        findings = verify_bundle(bundle).failures
        assert [finding.check for finding in findings] == ["fork"]
        assert findings[0].message.startswith("witnesses[0] (cellchain-bj02, head size 10)")

    def test_many_heads_are_proven_pairwise_with_neighbours_and_the_newest(self) -> None:
        bundle = build_bundle(size=140, head_sizes=tuple(range(1, 141)))
        report = verify_bundle(bundle)
        assert report.ok and report.consistency_pairs == 139 + 138
        other_history = [entry_bytes(seq, viability=50.0 if seq == 60 else 92.5) for seq in range(140)]
        bundle["heads"][69] = signed_head(other_history, 70)
        forks = [
            finding.message for finding in verify_bundle(bundle).failures if finding.check == "consistency"
        ]
        assert any(
            message.startswith("fork: heads[70] (size 71") and "heads[69]" in message for message in forks
        )

    def test_forged_witness_signature_fails(self) -> None:
        bundle = build_bundle()
        bundle["witnesses"] = [witness_record(bundle["heads"][2], key=OTHER_KEY)]
        bundle["witnesses"][0]["public_key"] = b64(public_key_bytes(WITNESS_KEY))
        findings = verify_bundle(bundle).failures
        assert [finding.check for finding in findings] == ["witness signature"]
        assert "witness cellchain-bj02" in findings[0].message


class TestMalformedBundles:
    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (lambda b: b.pop("heads"), "heads: missing"),
            (lambda b: b.update(format="cellchain-ledger-bundle/9"), "format: expected"),
            (lambda b: b["entries"].__setitem__(2, "not base64!"), "entries[2]: not valid base64"),
            (lambda b: b.update(public_key=b64(b"short")), "public_key: 5 bytes"),
            (lambda b: b["heads"][1].pop("signature"), "heads[1].signature: missing"),
            (lambda b: b["heads"][0].update(time="yesterday"), "heads[0]: time 'yesterday'"),
            (lambda b: b["heads"][0].update(size="3"), "heads[0].size: expected int"),
            (lambda b: b["witnesses"][0].pop("witness_id"), "witnesses[0].witness_id: missing"),
        ],
    )
    def test_malformed_field_exits_two_naming_it(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate: Any, field: str
    ) -> None:
        bundle = build_bundle()
        mutate(bundle)
        assert run_cli(tmp_path, bundle) == 2
        assert field in capsys.readouterr().err
        with pytest.raises(BundleError, match=field.replace("[", r"\[").replace("]", r"\]")):
            verify_bundle(bundle)

    def test_file_that_is_not_json_exits_two(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run_cli(tmp_path, '{"format": ') == 2
        assert "not JSON" in capsys.readouterr().err

    def test_missing_file_exits_two(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main([str(tmp_path / "absent.json")]) == 2
        assert "cannot read" in capsys.readouterr().err

    def test_bad_trusted_key_option_exits_two(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run_cli(tmp_path, build_bundle(), "--log-key", b64(b"x" * 31)) == 2
        assert "--log-key: 31 bytes" in capsys.readouterr().err


class TestSigningHelpers:
    HEAD = TreeHead(log_id=LOG_ID, size=3, root=bytes(32), time="2026-03-01T09:00:00Z")

    def test_signature_verifies_with_raw_or_object_key(self) -> None:
        signature = sign_head(LOG_KEY, self.HEAD)
        verify_head_signature(public_key_bytes(LOG_KEY), self.HEAD, signature)
        verify_head_signature(LOG_KEY.public_key(), self.HEAD, signature)

    def test_signature_over_another_head_is_refused(self) -> None:
        other = TreeHead(log_id=LOG_ID, size=4, root=bytes(32), time="2026-03-01T09:00:00Z")
        with pytest.raises(SignatureError, match="size 4"):
            verify_head_signature(public_key_bytes(LOG_KEY), other, sign_head(LOG_KEY, self.HEAD))

    def test_truncated_signature_is_refused_with_its_length(self) -> None:
        with pytest.raises(SignatureError, match="63 bytes"):
            verify_head_signature(public_key_bytes(LOG_KEY), self.HEAD, sign_head(LOG_KEY, self.HEAD)[:63])

    def test_countersignature_names_the_witness_and_uses_its_key(self) -> None:
        countersignature = countersign(WITNESS_KEY, "cellchain-bj02", self.HEAD)
        verify_countersignature(public_key_bytes(WITNESS_KEY), countersignature)
        with pytest.raises(SignatureError, match="witness cellchain-bj02"):
            verify_countersignature(public_key_bytes(LOG_KEY), countersignature)


def test_verifier_loads_without_django_or_other_cellchain_modules() -> None:
    """The inspector's tool must run from the standard library, cryptography and the pure domain only."""
    probe = (
        "import sys, cellchain.verifier.cli\n"
        "pure = {'cellchain', 'cellchain.domain', 'cellchain.domain.merkle', 'cellchain.domain.treehead',\n"
        "        'cellchain.domain.ledger_schema'}\n"
        "def foreign(m):\n"
        "    if m.split('.')[0] in {'django', 'ninja', 'rfc8785'}:\n"
        "        return True\n"
        "    return m.startswith('cellchain') and not m.startswith('cellchain.verifier') and m not in pure\n"
        "print(','.join(sorted(filter(foreign, sys.modules))))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_verify_bundle_does_not_change_its_input() -> None:
    bundle = build_bundle()
    before = copy.deepcopy(bundle)
    verify_bundle(bundle)
    assert bundle == before


# --- Bundles that span a key rotation (cellchain-ledger-bundle/2, decision 0008) -----------------------------

NEW_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(96, 128)))


def key_id_of(key: Ed25519PrivateKey) -> str:
    from cellchain.domain.treehead import key_id

    return key_id(public_key_bytes(key))


def signed_head_v2(
    entries: list[bytes], size: int, key: Ed25519PrivateKey, *, next_key: Ed25519PrivateKey | None = None
) -> dict[str, Any]:
    store = MemoryNodeStore()
    for entry in entries[:size]:
        store.append(entry)
    head = TreeHead(
        log_id=LOG_ID,
        size=size,
        root=store.root(),
        time=f"2026-03-01T09:{size // 60:02d}:{size % 60:02d}Z",
        next_key_id=key_id_of(next_key) if next_key is not None else None,
    )
    return {**tree_head_to_json(head), "key_id": key_id_of(key), "signature": b64(sign_head(key, head))}


def build_rotated_bundle(size: int = 10) -> dict[str, Any]:
    """LOG_KEY signs heads 3 and 6; head 6 hands over to NEW_KEY (at 09:00:06), which signs head 10."""
    entries = [entry_bytes(seq) for seq in range(size)]
    heads = [
        signed_head_v2(entries, 3, LOG_KEY),
        signed_head_v2(entries, 6, LOG_KEY, next_key=NEW_KEY),
        signed_head_v2(entries, 10, NEW_KEY),
    ]
    return {
        "format": "cellchain-ledger-bundle/2",
        "log_id": LOG_ID,
        "keys": [
            {
                "key_id": key_id_of(LOG_KEY),
                "public_key": b64(public_key_bytes(LOG_KEY)),
                "activated_at": "2026-03-01T08:00:00.000000Z",
                "retired_at": "2026-03-01T09:00:06.000000Z",
                "predecessor": None,
            },
            {
                "key_id": key_id_of(NEW_KEY),
                "public_key": b64(public_key_bytes(NEW_KEY)),
                "activated_at": "2026-03-01T09:00:06.000000Z",
                "retired_at": None,
                "predecessor": key_id_of(LOG_KEY),
            },
        ],
        "entries": [b64(entry) for entry in entries],
        "heads": heads,
        "witnesses": [],
    }


class TestBundleSpanningARotation:
    def test_rotated_bundle_verifies_and_lists_its_keys(self) -> None:
        report = verify_bundle(build_rotated_bundle())
        assert report.ok, report.lines()
        assert report.key_fingerprint == key_id_of(NEW_KEY)
        assert report.key_history[1].startswith(f"{key_id_of(NEW_KEY)} (from size 6")
        assert any("2 signing keys" in line for line in report.checked)

    def test_trusting_the_first_key_covers_its_successor(self) -> None:
        report = verify_bundle(build_rotated_bundle(), trusted_log_key=public_key_bytes(LOG_KEY))
        assert report.ok and not any("taken from the bundle" in note for note in report.notes)

    def test_trusting_the_newest_key_notes_the_older_heads(self) -> None:
        report = verify_bundle(build_rotated_bundle(), trusted_log_key=public_key_bytes(NEW_KEY))
        assert report.ok and any("older than the trusted key" in note for note in report.notes)

    def test_a_key_outside_the_history_is_not_trusted(self) -> None:
        report = verify_bundle(build_rotated_bundle(), trusted_log_key=public_key_bytes(OTHER_KEY))
        assert [f.check for f in report.failures] == ["log key"]

    def test_head_by_the_retired_key_after_the_rotation_fails(self) -> None:
        bundle = build_rotated_bundle(12)
        entries = [base64.b64decode(entry) for entry in bundle["entries"]]
        bundle["heads"].append(signed_head_v2(entries, 12, LOG_KEY))
        report = verify_bundle(bundle)
        # Refused twice over: its size is past the handover, and its time past the retirement.
        assert [f.check for f in report.failures] == ["head key", "head key"]
        assert all(f.message.startswith("heads[3] (size 12") for f in report.failures)
        assert "after its retirement: it handed over" in report.failures[0].message

    def test_missing_handover_fails_naming_the_new_key(self) -> None:
        bundle = build_rotated_bundle()
        entries = [base64.b64decode(entry) for entry in bundle["entries"]]
        bundle["heads"][1] = signed_head_v2(entries, 6, LOG_KEY)
        checks = [(f.check, f.message) for f in verify_bundle(bundle).failures]
        assert checks and checks[0][0] == "key handover"
        assert f"key {key_id_of(NEW_KEY)[:16]} took over" in checks[0][1]

    def test_handover_signed_by_the_new_key_fails(self) -> None:
        bundle = build_rotated_bundle()
        entries = [base64.b64decode(entry) for entry in bundle["entries"]]
        forged = signed_head_v2(entries, 6, NEW_KEY, next_key=NEW_KEY)
        forged["key_id"] = key_id_of(LOG_KEY)
        bundle["heads"][1] = forged
        checks = {f.check for f in verify_bundle(bundle).failures}
        assert {"head signature", "key handover"} <= checks

    def test_head_naming_an_unknown_key_fails(self) -> None:
        bundle = build_rotated_bundle()
        entries = [base64.b64decode(entry) for entry in bundle["entries"]]
        bundle["heads"][2] = signed_head_v2(entries, 10, OTHER_KEY)
        report = verify_bundle(bundle)
        assert [f.check for f in report.failures] == ["head key"]
        assert "not in the log's key history" in report.failures[0].message

    def test_tampered_key_history_fails_naming_the_key(self) -> None:
        bundle = build_rotated_bundle()
        bundle["keys"][1]["public_key"] = b64(public_key_bytes(OTHER_KEY))
        report = verify_bundle(bundle)
        assert report.failures[0].check == "key history"
        assert f"key {key_id_of(NEW_KEY)[:16]}: the key id is not the SHA-256" in report.failures[0].message

    def test_cli_reads_a_rotated_bundle(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert run_cli(tmp_path, build_rotated_bundle(), "--log-key", b64(public_key_bytes(LOG_KEY))) == 0
        out = capsys.readouterr().out
        assert "Signing keys (SHA-256, oldest first):" in out and "Result: OK" in out

    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (lambda b: b.pop("keys"), "keys: missing"),
            (lambda b: b["heads"][0].pop("key_id"), "heads[0].key_id: missing"),
            (lambda b: b["keys"][0].update(public_key=b64(b"short")), "keys[0].public_key: 5 bytes"),
            (lambda b: b["keys"][1].update(retired_at=5), "keys[1].retired_at: expected str or null"),
        ],
    )
    def test_malformed_key_fields_are_named(self, mutate: Any, field: str) -> None:
        bundle = build_rotated_bundle()
        mutate(bundle)
        with pytest.raises(BundleError, match=field.replace("[", r"\[").replace("]", r"\]")):
            verify_bundle(bundle)
