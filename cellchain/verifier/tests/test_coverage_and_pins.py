"""Entries no signed head covers are unverified, and a pinned earlier head catches a re-signed rewrite of
history (issue 15 item 3; REGULATORY.md #9, #45)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from cellchain.verifier import verify_bundle
from cellchain.verifier.cli import EXIT_FAILED, EXIT_OK, EXIT_UNVERIFIED, main
from cellchain.verifier.tests.test_verifier import (
    b64,
    build_bundle,
    build_rotated_bundle,
    entry_at,
    entry_bytes,
    run_cli,
    set_entry,
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
