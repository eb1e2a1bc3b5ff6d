"""Signed tree heads of the record ledger and witness countersignatures (REGULATORY.md #9 and #45).

A tree head states "the ledger ``log_id`` had ``size`` entries with Merkle root ``root`` at ``time``".
The log signs the canonical bytes of the head with its Ed25519 key; a witness (another installation,
DESIGN.md "Two installations can exchange and countersign tree heads") signs the very same bytes with
its own key and names itself, so neither side can rewrite history unseen.

This module is pure data and bytes; the Ed25519 operations live in ``cellchain.verifier.signing``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cellchain.domain.merkle import HASH_SIZE

MAX_SIZE = 2**53 - 1
"""Largest tree size written as a JSON integer that every RFC 8785 implementation reproduces exactly."""

_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


def _require_utc_time(time: str) -> None:
    if not _RFC3339_UTC.fullmatch(time):
        raise ValueError(f"time {time!r} is not an RFC 3339 UTC time such as 2026-01-31T08:00:00Z")
    try:
        # fromisoformat accepts at most 6 fractional digits; the calendar check needs none of them.
        datetime.fromisoformat(time[:19] + "+00:00")
    except ValueError as error:
        raise ValueError(f"time {time!r} is not a real calendar time: {error}") from None


@dataclass(frozen=True)
class TreeHead:
    """The ledger ``log_id`` held ``size`` entries with Merkle ``root`` at ``time`` (RFC 3339, UTC, "Z")."""

    log_id: str
    size: int
    root: bytes
    time: str

    def __post_init__(self) -> None:
        if not _PRINTABLE_ASCII.fullmatch(self.log_id):
            raise ValueError(f"log_id {self.log_id!r} must be non-empty printable ASCII")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_SIZE:
            raise ValueError(f"size {self.size!r} must be an integer from 0 to {MAX_SIZE}")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"root is {len(self.root)} bytes; a SHA-256 root is {HASH_SIZE}")
        _require_utc_time(self.time)


def tree_head_to_json(head: TreeHead) -> dict[str, Any]:
    """The head as a JSON object: root in standard base64 (RFC 4648 §4, with padding)."""
    return {
        "log_id": head.log_id,
        "root": base64.b64encode(head.root).decode("ascii"),
        "size": head.size,
        "time": head.time,
    }


def tree_head_bytes(head: TreeHead) -> bytes:
    """The exact bytes a log or a witness signs: canonical JSON of {"log_id", "root", "size", "time"}.

    Keys sorted, no whitespace, root as standard base64. ``TreeHead`` admits only printable-ASCII
    strings and integers up to 2**53 - 1, and for such values
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True)`` produces byte for byte the
    RFC 8785 (JSON Canonicalization Scheme) serialisation: the same key order, the same two escapes
    (quote and backslash) and the same integer form. So the verifier needs only the standard library.
    """
    text = json.dumps(tree_head_to_json(head), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("ascii")


def decode_base64(value: object, field: str) -> bytes:
    """Strict standard base64 (RFC 4648 §4) of a JSON string; ``ValueError`` naming ``field`` otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected a base64 string, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"{field}: not valid base64 ({error})") from None


def tree_head_from_json(data: object, field: str = "head") -> TreeHead:
    """Read a head object as written by ``tree_head_to_json``; ``ValueError`` naming the bad field.

    Keys other than the four head keys (such as a ``signature`` beside them) are left to the caller.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{field}: expected an object, got {type(data).__name__}")
    for key, kind in (("log_id", str), ("size", int), ("root", str), ("time", str)):
        value = data.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"{field}.{key}: expected {kind.__name__}, got {type(value).__name__}")
    root = decode_base64(data["root"], f"{field}.root")
    try:
        return TreeHead(log_id=data["log_id"], size=data["size"], root=root, time=data["time"])
    except ValueError as error:
        raise ValueError(f"{field}: {error}") from None


@dataclass(frozen=True)
class SignedTreeHead:
    """A tree head with the log's Ed25519 signature over ``tree_head_bytes(head)``."""

    head: TreeHead
    signature: bytes


@dataclass(frozen=True)
class Countersignature:
    """A witness's signature over the same ``tree_head_bytes(head)``, naming the witness that made it."""

    witness_id: str
    head: TreeHead
    signature: bytes

    def __post_init__(self) -> None:
        if not _PRINTABLE_ASCII.fullmatch(self.witness_id):
            raise ValueError(f"witness_id {self.witness_id!r} must be non-empty printable ASCII")
