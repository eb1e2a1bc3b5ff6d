"""An exported bundle with entries past its newest head is unverified, and a head kept from ``ledger head --json``
catches a history rewritten and re-signed with the real key (issue 15 item 3; REGULATORY.md #9, #45)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from cellchain.accounts import services as accounts
from cellchain.domain.merkle import MemoryNodeStore
from cellchain.domain.treehead import tree_head_from_json, tree_head_to_json
from cellchain.ledger import keys
from cellchain.ledger.export import b64
from cellchain.ledger.heads import current_size, head_issue
from cellchain.verifier.cli import EXIT_FAILED, EXIT_OK, EXIT_UNVERIFIED
from cellchain.verifier.cli import main as verify_main
from cellchain.verifier.signing import public_key_bytes, sign_head

pytestmark = pytest.mark.django_db


def _grow(prefix: str, count: int) -> None:
    for number in range(count):
        accounts.organisation_create(
            actor=None, code=f"{prefix}-{number}", name=f"Org {number}", kind="hospital"
        )


def _export(path: Path, *options: str) -> dict[str, Any]:
    call_command("ledger", "export", "-o", str(path), *options, stderr=io.StringIO())
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def _kept_head(path: Path) -> Path:
    """The head an inspector keeps on a visit: `ledger head --json` as it is now."""
    out = io.StringIO()
    call_command("ledger", "head", "--json", stdout=out)
    path.write_text(out.getvalue())
    return path


def _rewritten_and_resigned(bundle: dict[str, Any]) -> dict[str, Any]:
    """What an operator holding the signing key could do: rename the first organisation in its entry and sign
    every head again."""
    entries = [base64.b64decode(entry) for entry in bundle["entries"]]
    position = next(number for number, entry in enumerate(entries) if b'"name":"Org' in entry)
    entries[position] = entries[position].replace(b'"name":"Org', b'"name":"Rewritten org', 1)
    assert entries[position] != base64.b64decode(bundle["entries"][position])
    heads = []
    for head in bundle["heads"]:
        store = MemoryNodeStore()
        for entry in entries[: head["size"]]:
            store.append(entry)
        unsigned = tree_head_from_json({**head, "root": b64(store.root(head["size"]))})
        signature = sign_head(keys.signing_key(), unsigned)
        heads.append({**tree_head_to_json(unsigned), "key_id": head["key_id"], "signature": b64(signature)})
    return {**bundle, "entries": [b64(entry) for entry in entries], "heads": heads, "witnesses": []}


def test_entries_exported_past_the_newest_head_are_unverified(tmp_path: Path, capsys: Any) -> None:
    _grow("cover", 2)
    head_issue()
    _grow("after", 2)
    path = tmp_path / "bundle.json"
    _export(path, "--no-issue-head", "--size", str(current_size()))
    assert verify_main([str(path)]) == EXIT_UNVERIFIED
    assert "are not covered by any signed tree head: unverified" in capsys.readouterr().out
    _export(path)
    assert verify_main([str(path)]) == EXIT_OK


def test_history_rewritten_and_resigned_fails_only_against_the_kept_head(tmp_path: Path, capsys: Any) -> None:
    _grow("early", 3)
    head_issue()
    kept = _kept_head(tmp_path / "head.json")
    size = json.loads(kept.read_text())["size"]
    _grow("later", 2)
    path = tmp_path / "bundle.json"
    bundle = _export(path)
    log_key = ["--log-key", b64(public_key_bytes(keys.signing_key()))]
    assert verify_main([str(path), *log_key, "--trusted-head", str(kept)]) == EXIT_OK
    root = base64.b64decode(json.loads(kept.read_text())["root"]).hex()
    assert verify_main([str(path), "--trusted-head", f"{size}:{root}"]) == EXIT_OK

    path.write_text(json.dumps(_rewritten_and_resigned(bundle)))
    capsys.readouterr()
    assert verify_main([str(path), *log_key]) == EXIT_OK
    assert verify_main([str(path), *log_key, "--trusted-head", str(kept)]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert (
        f"[trusted head] at entries seq 0..{size - 1}: the bundle's first {size} entries do not hash" in out
    )
