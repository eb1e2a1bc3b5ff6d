"""The offline verifier checks each schema re-baseline entry against the record's entry before it (decision 0010).

REGULATORY item 45: an inspector with only the bundle sees that a re-baseline added and dropped fields and
changed no value, even when every head was signed over it.
"""

from __future__ import annotations

import base64
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.domain.merkle import MemoryNodeStore
from cellchain.domain.treehead import TreeHead, tree_head_to_json
from cellchain.verifier import public_key_bytes, sign_head, verify_bundle

LOG_ID = "cellchain-sh01"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
BATCH = {"id": 5, "lot": "LOT-5", "status": "released"}


def _entry(seq: int, state: dict[str, Any], *, record_id: str = "5", **fields: Any) -> bytes:
    return rfc8785.dumps(
        {
            "seq": seq,
            "time": f"2026-03-01T08:00:{seq:02d}Z",
            "actor": {"id": None, "name": "system", "roles": [], "organisation": None, "site": None},
            "record": {"type": "manufacturing.batch", "id": record_id},
            "action": fields.get("action", "create"),
            "event": fields.get("event", "batch:create"),
            "state": state,
            "reason": fields.get("reason"),
            "extra": fields.get("extra", {}),
        }
    )


def _rebaseline(
    seq: int, state: dict[str, Any], added: list[str], removed: list[str], previous: int
) -> bytes:
    extra = {
        "schema": {
            "added": added,
            "removed": removed,
            "migrations": ["manufacturing.0002_x"],
            "previous_seq": previous,
        }
    }
    return _entry(seq, state, action="migrate", event="schema:rebaseline", reason="CC-1", extra=extra)


def _bundle(entries: list[bytes]) -> dict[str, Any]:
    store = MemoryNodeStore()
    for entry in entries:
        store.append(entry)
    head = TreeHead(log_id=LOG_ID, size=len(entries), root=store.root(), time="2026-03-01T09:00:00Z")
    return {
        "format": "cellchain-ledger-bundle/1",
        "log_id": LOG_ID,
        "public_key": base64.b64encode(public_key_bytes(KEY)).decode("ascii"),
        "entries": [base64.b64encode(entry).decode("ascii") for entry in entries],
        "heads": [
            {**tree_head_to_json(head), "signature": base64.b64encode(sign_head(KEY, head)).decode("ascii")}
        ],
        "witnesses": [],
    }


def _rebaseline_failures(entries: list[bytes]) -> list[Any]:
    return [finding for finding in verify_bundle(_bundle(entries)).failures if finding.check == "rebaseline"]


def test_rebaseline_that_adds_and_drops_fields_verifies_and_is_counted() -> None:
    other = _entry(1, {"id": 6, "lot": "LOT-6"}, record_id="6")
    reshaped = {"id": 5, "lot": "LOT-5", "site_id": None}
    report = verify_bundle(
        _bundle([_entry(0, BATCH), other, _rebaseline(2, reshaped, ["site_id"], ["status"], 0)])
    )
    assert report.ok, report.lines()
    assert any("1 schema re-baseline entries" in line for line in report.checked)


def test_rebaseline_that_changes_a_value_fails_though_the_head_signs_it() -> None:
    laundered = {**BATCH, "status": "quarantined", "site_id": None}
    (finding,) = _rebaseline_failures([_entry(0, BATCH), _rebaseline(1, laundered, ["site_id"], [], 0)])
    assert finding.seq == 1
    assert "manufacturing.batch 5 changes the value of field status" in finding.message


def test_rebaseline_must_name_its_fields_and_the_entry_it_continues() -> None:
    entries = [
        _entry(0, BATCH),
        _entry(1, {**BATCH, "status": "recalled"}, action="amend", reason="recall"),
        _rebaseline(2, {**BATCH, "status": "recalled", "site_id": None}, ["other"], [], 0),
    ]
    messages = [finding.message for finding in _rebaseline_failures(entries)]
    assert any("says it adds ['other']" in message for message in messages)
    assert any(
        "names entry seq 0 as the one it continues, but the record's previous entry is seq 1" in m
        for m in messages
    )


def test_rebaseline_of_a_record_without_history_fails() -> None:
    (finding,) = _rebaseline_failures([_rebaseline(0, BATCH, ["status"], [], 0)])
    assert "no earlier entry" in finding.message
