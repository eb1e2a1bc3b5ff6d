"""Entries no signed head covers are unverified, and a pinned earlier head catches a re-signed rewrite of
history (issue 15 item 3; REGULATORY.md #9, #45)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from cellchain.domain.merkle import MemoryNodeStore
from cellchain.verifier import TrustedHead, public_key_bytes, verify_bundle
from cellchain.verifier.cli import EXIT_FAILED, EXIT_MALFORMED, EXIT_OK, EXIT_UNVERIFIED, main
from cellchain.verifier.tests.test_verifier import (
    LOG_KEY,
    NEW_KEY,
    b64,
    build_bundle,
    build_rotated_bundle,
    entry_at,
    entry_bytes,
    run_cli,
    set_entry,
    signed_head,
    signed_head_v2,
    witness_record,
)


def with_trailing_entries(bundle: dict[str, Any], count: int) -> dict[str, Any]:
    """The bundle with `count` well-formed entries appended after its newest signed head, signed by nobody."""
    start = len(bundle["entries"])
    bundle["entries"] += [b64(entry_bytes(seq)) for seq in range(start, start + count)]
    return bundle


class TestEntriesNotCoveredByAHead:
    def test_one_trailing_unsigned_entry_is_unverified_with_exit_three(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert run_cli(tmp_path, with_trailing_entries(build_bundle(), 1)) == EXIT_UNVERIFIED == 3
        out = capsys.readouterr().out
        assert (
            "[unverified] at entry seq 10: entry seq 10 is not covered by any signed tree head: unverified"
            in out
        )
        assert "heads[2] (size 10" in out and "covers seq 0..9" in out
        assert "Result: UNVERIFIED" in out and "Result: OK" not in out

    def test_several_trailing_entries_are_named_as_one_range(self) -> None:
        report = verify_bundle(with_trailing_entries(build_rotated_bundle(), 3))
        assert report.result == "unverified" and not report.ok and report.failures == ()
        (finding,) = report.unverified
        assert (finding.check, finding.seq, finding.last_seq) == ("unverified", 10, 12)
        assert finding.message.startswith(
            "entries seq 10..12 are not covered by any signed tree head: unverified"
        )

    def test_json_report_names_the_result(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert run_cli(tmp_path, with_trailing_entries(build_bundle(), 2), "--json") == EXIT_UNVERIFIED
        report = json.loads(capsys.readouterr().out)
        assert (report["ok"], report["result"], report["failures"]) == (False, "unverified", [])
        assert [(f["seq"], f["last_seq"]) for f in report["unverified"]] == [(10, 11)]

    def test_tampering_wins_over_unverified_entries(self, tmp_path: Path) -> None:
        bundle = with_trailing_entries(build_bundle(), 1)
        set_entry(bundle, 4, entry_at(bundle, 4).replace(b"LOT-4", b"LOT-9"))
        report = verify_bundle(bundle)
        assert report.result == "failed" and report.unverified
        assert run_cli(tmp_path, bundle) == EXIT_FAILED

    def test_entries_under_a_forged_newest_head_count_from_the_last_valid_head(self) -> None:
        bundle = build_bundle()
        signature = bytearray(base64.b64decode(bundle["heads"][2]["signature"]))
        signature[0] ^= 1
        bundle["heads"][2]["signature"] = b64(bytes(signature))
        report = verify_bundle(bundle)
        assert report.result == "failed" and "head signature" in {f.check for f in report.failures}
        assert [(f.seq, f.last_seq) for f in report.unverified] == [(6, 9)]

    def test_bundle_ending_at_its_newest_head_is_ok_with_exit_zero(self, tmp_path: Path) -> None:
        report = verify_bundle(build_bundle())
        assert report.ok and report.result == "ok" and report.unverified == ()
        assert run_cli(tmp_path, build_bundle()) == EXIT_OK

    def test_help_documents_the_exit_status(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit):
            main(["--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert "exit status: 0" in out and "3 no check failed but entries" in out


# --- A pinned earlier head (--trusted-head) -----------------------------------------------------------------


def root_hex(bundle: dict[str, Any], head: int) -> str:
    return base64.b64decode(bundle["heads"][head]["root"]).hex()


def rewritten_and_resigned(bundle: dict[str, Any], position: int = 4) -> dict[str, Any]:
    """The operator's rewrite: entry `position` changed, then every head and the witness's countersignature
    made again over the new entries with the real keys, so every signature in the bundle verifies."""
    entries = [base64.b64decode(entry) for entry in bundle["entries"]]
    entries[position] = entries[position].replace(f"LOT-{position}".encode(), b"LOT-REWRITTEN")
    heads = [signed_head(entries, head["size"]) for head in bundle["heads"]]
    return {
        **bundle,
        "entries": [b64(entry) for entry in entries],
        "heads": heads,
        "witnesses": [witness_record(heads[-1])],
    }


class TestTrustedHead:
    def test_rewritten_history_resigned_passes_alone_but_fails_against_the_pinned_head(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        earlier = build_bundle()
        pin = f"6:{root_hex(earlier, 1)}"
        rewritten = rewritten_and_resigned(build_bundle())
        log_key = ["--log-key", b64(public_key_bytes(LOG_KEY))]
        assert run_cli(tmp_path, rewritten, *log_key) == EXIT_OK
        capsys.readouterr()
        assert run_cli(tmp_path, rewritten, *log_key, "--trusted-head", pin) == EXIT_FAILED
        out = capsys.readouterr().out
        assert (
            "[trusted head] at entries seq 0..5: the bundle's first 6 entries do not hash to the root" in out
        )
        assert "the trusted head of size 6 (root " in out and "rewritten since the trusted head" in out

    def test_rewrite_after_the_pinned_size_is_not_its_business(self) -> None:
        earlier = build_bundle()
        rewritten = rewritten_and_resigned(build_bundle(), position=8)
        pin = TrustedHead(size=6, root=bytes.fromhex(root_hex(earlier, 1)), source="from a test")
        assert verify_bundle(rewritten, trusted_heads=[pin]).ok

    @pytest.mark.parametrize("encode", [bytes.hex, b64], ids=["hex", "base64"])
    def test_correct_pinned_head_passes_as_hex_or_base64(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], encode: Any
    ) -> None:
        bundle = build_bundle()
        root = bytes.fromhex(root_hex(bundle, 1))
        assert run_cli(tmp_path, bundle, "--trusted-head", f"6:{encode(root)}") == EXIT_OK
        out = capsys.readouterr().out
        assert "1 trusted heads given by the inspector" in out and "Result: OK" in out

    def test_pin_between_the_bundle_heads_is_checked_at_its_own_size(self, tmp_path: Path) -> None:
        bundle = build_bundle()
        store = MemoryNodeStore()
        for entry in bundle["entries"][:5]:
            store.append(base64.b64decode(entry))
        assert run_cli(tmp_path, bundle, "--trusted-head", f"5:{store.root().hex()}") == EXIT_OK
        assert run_cli(tmp_path, bundle, "--trusted-head", f"4:{store.root().hex()}") == EXIT_FAILED

    def test_head_json_file_is_read_as_the_log_writes_it(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bundle = build_rotated_bundle()
        path = tmp_path / "head-6.json"
        # As `ledger head --json` writes it: the signed head, its key id and signature, and the public key.
        path.write_text(json.dumps({**bundle["heads"][1], "public_key": b64(public_key_bytes(LOG_KEY))}))
        assert run_cli(tmp_path, bundle, "--trusted-head", str(path)) == EXIT_OK
        capsys.readouterr()
        assert run_cli(tmp_path, rewritten_v2(bundle), "--trusted-head", str(path)) == EXIT_FAILED
        assert f"from {path}" in capsys.readouterr().out

    def test_head_file_of_another_log_fails(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        bundle = build_bundle()
        path = tmp_path / "head.json"
        path.write_text(json.dumps({**bundle["heads"][1], "log_id": "cellchain-bj02"}))
        assert run_cli(tmp_path, bundle, "--trusted-head", str(path)) == EXIT_FAILED
        assert (
            "is of log 'cellchain-bj02', not of the bundle's log 'cellchain-sh01'" in capsys.readouterr().out
        )

    def test_pinned_head_beyond_the_bundle_fails_naming_the_missing_entries(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        longer = build_bundle(size=14, head_sizes=(3, 6, 10, 14))
        assert run_cli(tmp_path, build_bundle(), "--trusted-head", f"14:{root_hex(longer, 3)}") == EXIT_FAILED
        out = capsys.readouterr().out
        assert "[trusted head] at entries seq 10..13: the trusted head of size 14" in out
        assert "covers 14 entries but the bundle holds only 10" in out

    def test_several_pins_are_each_checked(self) -> None:
        bundle = build_bundle()
        pins = [
            TrustedHead(size=3, root=bytes.fromhex(root_hex(bundle, 0)), source="from a"),
            TrustedHead(size=10, root=bytes(32), source="from b"),
        ]
        failures = verify_bundle(bundle, trusted_heads=pins).failures
        assert [(f.check, f.last_seq) for f in failures] == [("trusted head", 9)]
        assert "from b" in failures[0].message

    @pytest.mark.parametrize(
        ("value", "error"),
        [
            ("6", "expected SIZE:ROOT"),
            ("six:" + "ab" * 32, "expected SIZE:ROOT"),
            ("-6:" + "ab" * 32, "expected SIZE:ROOT"),
            ("6:", "is neither 64 hex digits nor base64 of 32 bytes"),
            ("6:" + "ab" * 31, "is neither 64 hex digits nor base64 of 32 bytes"),
            ("6:" + "zz" * 32, "is neither 64 hex digits nor base64 of 32 bytes"),
            ("6:" + b64(bytes(31)), "is neither 64 hex digits nor base64 of 32 bytes"),
            ("0:" + "ab" * 32, "size 0 must be an integer from 1"),
            (f"{2**53}:" + "ab" * 32, "must be an integer from 1 to"),
        ],
    )
    def test_malformed_value_is_refused_with_exit_two(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, error: str
    ) -> None:
        assert run_cli(tmp_path, build_bundle(), f"--trusted-head={value}") == EXIT_MALFORMED
        err = capsys.readouterr().err
        assert f"--trusted-head {value!r}" in err and error in err

    @pytest.mark.parametrize(
        ("content", "error"),
        [
            ("{", "not JSON"),
            ("[]", "head: expected an object"),
            (
                '{"log_id": "cellchain-sh01", "size": 6, "time": "2026-03-01T09:00:06Z"}',
                "head.root: expected str",
            ),
            (
                '{"log_id": "cellchain-sh01", "size": 0, "root": "' + b64(bytes(32)) + '", '
                '"time": "2026-03-01T09:00:06Z"}',
                "size 0 must be an integer from 1",
            ),
        ],
    )
    def test_malformed_head_file_is_refused_with_exit_two(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, error: str
    ) -> None:
        path = tmp_path / "head.json"
        path.write_text(content, encoding="utf-8")
        assert run_cli(tmp_path, build_bundle(), "--trusted-head", str(path)) == EXIT_MALFORMED
        err = capsys.readouterr().err
        assert f"--trusted-head {path}" in err and error in err

    def test_malformed_pin_is_named_before_the_bundle_is_read(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["/nonexistent/bundle.json", "--trusted-head", "6:x"]) == EXIT_MALFORMED
        err = capsys.readouterr().err
        assert "--trusted-head '6:x'" in err and "cannot read" not in err


def rewritten_v2(bundle: dict[str, Any]) -> dict[str, Any]:
    """The rotated bundle rewritten at entry 4 and re-signed by the same keys with the same handover."""
    entries = [base64.b64decode(entry) for entry in bundle["entries"]]
    entries[4] = entries[4].replace(b"LOT-4", b"LOT-REWRITTEN")
    heads = [
        signed_head_v2(entries, 3, LOG_KEY),
        signed_head_v2(entries, 6, LOG_KEY, next_key=NEW_KEY),
        signed_head_v2(entries, 10, NEW_KEY),
    ]
    rewritten = {**bundle, "entries": [b64(entry) for entry in entries], "heads": heads}
    assert verify_bundle(rewritten).ok
    return rewritten
