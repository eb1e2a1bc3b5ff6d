"""Signed tree heads of the record ledger and witness countersignatures (REGULATORY.md #9 and #45).

A tree head states "the ledger ``log_id`` had ``size`` entries with Merkle root ``root`` at ``time``".
The log signs the canonical bytes of the head with its Ed25519 key; a witness (another installation,
DESIGN.md "Two installations can exchange and countersign tree heads") signs the very same bytes with
its own key and names itself, so neither side can rewrite history unseen.

A log rotates its signing key by a *handover*: a head signed with the old key whose signed bytes name the
next key (``next_key_id``, the SHA-256 of its raw public key, as RFC 6962 §3.2 derives a log's id). The key
history (``LogKey``) and ``key_chain`` below say which key may sign which head; decision 0008.

This module is pure data and bytes; the Ed25519 operations live in ``cellchain.verifier.signing``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from cellchain.domain.merkle import HASH_SIZE

MAX_SIZE = 2**53 - 1
"""Largest tree size written as a JSON integer that every RFC 8785 implementation reproduces exactly."""

_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")
_KEY_ID = re.compile(r"[0-9a-f]{64}")


def key_id(public_key: bytes) -> str:
    """The id of a log key: SHA-256 of the raw 32-byte Ed25519 public key, lower-case hex (RFC 6962 §3.2 log
    ids hash the key the same way, there over its DER encoding)."""
    return hashlib.sha256(public_key).hexdigest()


def _require_key_id(value: str, name: str) -> None:
    if not isinstance(value, str) or not _KEY_ID.fullmatch(value):
        raise ValueError(f"{name} {value!r} is not a key id (64 lower-case hex digits of a SHA-256)")


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
    """The ledger ``log_id`` held ``size`` entries with Merkle ``root`` at ``time`` (RFC 3339, UTC, "Z").

    ``next_key_id`` is set only on a key handover: the head is signed with the retiring key and names the key
    that signs the heads after it (decision 0008). It is part of the signed bytes; ordinary heads omit it, so
    their bytes are exactly those of heads signed before key rotation existed.
    """

    log_id: str
    size: int
    root: bytes
    time: str
    next_key_id: str | None = None

    def __post_init__(self) -> None:
        if not _PRINTABLE_ASCII.fullmatch(self.log_id):
            raise ValueError(f"log_id {self.log_id!r} must be non-empty printable ASCII")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_SIZE:
            raise ValueError(f"size {self.size!r} must be an integer from 0 to {MAX_SIZE}")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"root is {len(self.root)} bytes; a SHA-256 root is {HASH_SIZE}")
        _require_utc_time(self.time)
        if self.next_key_id is not None:
            _require_key_id(self.next_key_id, "next_key_id")


def tree_head_to_json(head: TreeHead) -> dict[str, Any]:
    """The head as a JSON object: root in standard base64 (RFC 4648 §4, with padding); ``next_key_id`` only
    on a key handover."""
    document: dict[str, Any] = {
        "log_id": head.log_id,
        "root": base64.b64encode(head.root).decode("ascii"),
        "size": head.size,
        "time": head.time,
    }
    if head.next_key_id is not None:
        document["next_key_id"] = head.next_key_id
    return document


def tree_head_bytes(head: TreeHead) -> bytes:
    """The exact bytes a log or a witness signs: canonical JSON of {"log_id", "root", "size", "time"}, and
    "next_key_id" on a key handover.

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

    Keys other than the head keys (such as a ``signature`` or the signer's ``key_id`` beside them) are left
    to the caller.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{field}: expected an object, got {type(data).__name__}")
    for key, kind in (("log_id", str), ("size", int), ("root", str), ("time", str)):
        value = data.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"{field}.{key}: expected {kind.__name__}, got {type(value).__name__}")
    next_key_id = data.get("next_key_id")
    if next_key_id is not None and not isinstance(next_key_id, str):
        raise ValueError(f"{field}.next_key_id: expected str, got {type(next_key_id).__name__}")
    root = decode_base64(data["root"], f"{field}.root")
    try:
        return TreeHead(
            log_id=data["log_id"], size=data["size"], root=root, time=data["time"], next_key_id=next_key_id
        )
    except ValueError as error:
        raise ValueError(f"{field}: {error}") from None


@dataclass(frozen=True)
class SignedTreeHead:
    """A tree head with the log's Ed25519 signature over ``tree_head_bytes(head)``; ``key_id`` names the key
    that signed it (beside the signed bytes, as RFC 9162 §4.10 keeps the log id beside the signed tree head;
    the signature only verifies with that key, so the name is bound by the verification). None in bundles
    written before key rotation existed, whose single key signed every head."""

    head: TreeHead
    signature: bytes
    key_id: str | None = None


@dataclass(frozen=True)
class Countersignature:
    """A witness's signature over the same ``tree_head_bytes(head)``, naming the witness that made it."""

    witness_id: str
    head: TreeHead
    signature: bytes

    def __post_init__(self) -> None:
        if not _PRINTABLE_ASCII.fullmatch(self.witness_id):
            raise ValueError(f"witness_id {self.witness_id!r} must be non-empty printable ASCII")


# --- The log's key history (decision 0008) ------------------------------------------------------------------

KEY_HISTORY = "key history"
"""A problem of the key history itself: a key id that is not its key's hash, a broken chain of keys."""
HEAD_KEY = "head key"
"""A head signed by a key that was not the log's key at that head: unknown, retired, not yet active."""
KEY_HANDOVER = "key handover"
"""A key that took over without a head signed by the previous key naming it."""


@dataclass(frozen=True)
class LogKey:
    """One key of a log's history: its raw public key, when it took over and, once replaced, when it retired.

    ``predecessor`` is the key id of the key it replaced (None for the log's first key). Times are RFC 3339 UTC.
    """

    key_id: str
    public_key: bytes
    activated_at: str
    retired_at: str | None = None
    predecessor: str | None = None


@dataclass(frozen=True)
class HeadKeyUse:
    """What one signed head says about keys, with whether its signature verified with the key it names.

    ``position`` is the caller's index of the head, handed back in problems.
    """

    position: int
    size: int
    time: str
    key_id: str | None
    next_key_id: str | None
    signature_valid: bool


@dataclass(frozen=True)
class KeyProblem:
    """One failed rule of the key history, naming the key (``key_id``) and/or the head (``position``)."""

    check: str
    message: str
    key_id: str | None = None
    position: int | None = None


@dataclass(frozen=True)
class KeyChain:
    """The keys in the order they signed (first key first), the handover head of every key after the first,
    and every problem found. ``ok`` only when there is none."""

    keys: tuple[LogKey, ...]
    handovers: Mapping[str, HeadKeyUse]
    problems: tuple[KeyProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def successor(self, key: str) -> LogKey | None:
        """The key that followed ``key`` in the chain, if any."""
        ids = [item.key_id for item in self.keys]
        if key not in ids or ids.index(key) + 1 >= len(ids):
            return None
        return self.keys[ids.index(key) + 1]

    def trusted_from(self, key: str) -> frozenset[str]:
        """Keys whose authority follows from trusting ``key``: it and every later key, each named by a valid
        handover signed by the one before; the walk stops at the first key that took over without one."""
        ids = [item.key_id for item in self.keys]
        if key not in ids:
            return frozenset()
        trusted = {key}
        for later in ids[ids.index(key) + 1 :]:
            if later not in self.handovers:
                break
            trusted.add(later)
        return frozenset(trusted)

    def head_problems(self) -> frozenset[int]:
        """Positions of heads that break a rule of key use (their signature cannot vouch for anything)."""
        return frozenset(
            problem.position
            for problem in self.problems
            if problem.position is not None and problem.check in (HEAD_KEY, KEY_HANDOVER)
        )


def _short(key: str | None) -> str:
    return "(none)" if key is None else key[:16]


def _instant(value: str | None) -> datetime | None:
    """An RFC 3339 UTC time as a comparable datetime (fractions beyond microseconds dropped); None if unreadable."""
    if value is None or not _RFC3339_UTC.fullmatch(value):
        return None
    whole, _, fraction = value[:-1].partition(".")
    try:
        moment = datetime.fromisoformat(whole + "+00:00")
    except ValueError:
        return None
    return moment.replace(microsecond=int((fraction + "000000")[:6])) if fraction else moment


def _history_problems(keys: Sequence[LogKey]) -> list[KeyProblem]:
    """Each key: its id is its public key's hash, its times are readable and in order, it appears once."""
    problems: list[KeyProblem] = []
    seen: set[str] = set()
    for key in keys:
        where = f"key {_short(key.key_id)}"
        if key.key_id in seen:
            problems.append(KeyProblem(KEY_HISTORY, f"{where} appears twice in the key history", key.key_id))
        seen.add(key.key_id)
        if len(key.public_key) != 32 or key_id(key.public_key) != key.key_id:
            problems.append(
                KeyProblem(
                    KEY_HISTORY,
                    f"{where}: the key id is not the SHA-256 of the public key recorded with it "
                    f"({key_id(key.public_key)[:16]}): the key history was altered",
                    key.key_id,
                )
            )
        activated, retired = _instant(key.activated_at), _instant(key.retired_at)
        if activated is None:
            problems.append(
                KeyProblem(
                    KEY_HISTORY, f"{where}: activation time {key.activated_at!r} is unreadable", key.key_id
                )
            )
        if key.retired_at is not None and retired is None:
            problems.append(
                KeyProblem(
                    KEY_HISTORY, f"{where}: retirement time {key.retired_at!r} is unreadable", key.key_id
                )
            )
        if activated is not None and retired is not None and retired < activated:
            problems.append(
                KeyProblem(
                    KEY_HISTORY, f"{where} retired ({key.retired_at}) before it was activated", key.key_id
                )
            )
    return problems


def _chain(keys: Sequence[LogKey]) -> tuple[list[LogKey], list[KeyProblem]]:
    """Order the keys by their predecessor links from the one first key; name every key off that line."""
    problems: list[KeyProblem] = []
    by_id = {key.key_id: key for key in keys}
    firsts = [key for key in keys if key.predecessor is None]
    if keys and len(firsts) != 1:
        problems.append(
            KeyProblem(
                KEY_HISTORY,
                f"the key history has {len(firsts)} keys without a previous key; exactly one (the log's first "
                "key) may have none",
                firsts[1].key_id if len(firsts) > 1 else None,
            )
        )
    followers: dict[str, list[LogKey]] = {}
    for key in keys:
        if key.predecessor is not None:
            followers.setdefault(key.predecessor, []).append(key)
            if key.predecessor not in by_id:
                problems.append(
                    KeyProblem(
                        KEY_HISTORY,
                        f"key {_short(key.key_id)} names previous key {_short(key.predecessor)}, which is not in "
                        "the key history",
                        key.key_id,
                    )
                )
    for previous, later in followers.items():
        if len(later) > 1:
            problems.append(
                KeyProblem(
                    KEY_HISTORY,
                    f"key {_short(previous)} was replaced by {len(later)} keys "
                    f"({', '.join(_short(key.key_id) for key in later)}); a key has at most one successor",
                    later[1].key_id,
                )
            )
    chain: list[LogKey] = []
    current = firsts[0] if firsts else None
    while current is not None and current not in chain:
        chain.append(current)
        following = followers.get(current.key_id, [])
        current = following[0] if following else None
    for key in keys:
        if key not in chain and key.predecessor is not None and key.predecessor in by_id:
            problems.append(
                KeyProblem(
                    KEY_HISTORY, f"key {_short(key.key_id)} is not linked to the log's first key", key.key_id
                )
            )
    for number, key in enumerate(chain):
        last = number == len(chain) - 1
        if not last and key.retired_at is None:
            problems.append(
                KeyProblem(
                    KEY_HISTORY,
                    f"key {_short(key.key_id)} was replaced by {_short(chain[number + 1].key_id)} but is not "
                    "recorded as retired",
                    key.key_id,
                )
            )
        if last and key.retired_at is not None:
            problems.append(
                KeyProblem(
                    KEY_HISTORY,
                    f"key {_short(key.key_id)}, the newest, is retired: no key is active",
                    key.key_id,
                )
            )
        if not last:
            retired, successor_from = _instant(key.retired_at), _instant(chain[number + 1].activated_at)
            if retired is not None and successor_from is not None and retired > successor_from:
                problems.append(
                    KeyProblem(
                        KEY_HISTORY,
                        f"key {_short(key.key_id)} retired at {key.retired_at}, after its successor "
                        f"{_short(chain[number + 1].key_id)} took over at {chain[number + 1].activated_at}",
                        key.key_id,
                    )
                )
    return chain, problems


def _handovers(
    chain: Sequence[LogKey], heads: Sequence[HeadKeyUse], by_id: Mapping[str, LogKey]
) -> tuple[dict[str, HeadKeyUse], list[KeyProblem]]:
    """The valid handover of every key after the first, and every head that names a next key wrongly."""
    problems: list[KeyProblem] = []
    handovers: dict[str, HeadKeyUse] = {}
    for head in heads:
        if head.next_key_id is None:
            continue
        where = f"the head of size {head.size} ({head.time})"
        named = by_id.get(head.next_key_id)
        if named is None:
            problems.append(
                KeyProblem(
                    HEAD_KEY,
                    f"{where} hands over to key {_short(head.next_key_id)}, which is not in the key history",
                    head.next_key_id,
                    head.position,
                )
            )
        elif named.predecessor != head.key_id:
            problems.append(
                KeyProblem(
                    KEY_HANDOVER,
                    f"{where} names key {_short(head.next_key_id)} as the next key but is signed by key "
                    f"{_short(head.key_id)}, not by the key it replaced ({_short(named.predecessor)})",
                    head.next_key_id,
                    head.position,
                )
            )
        elif not head.signature_valid:
            problems.append(
                KeyProblem(
                    KEY_HANDOVER,
                    f"{where} naming key {_short(head.next_key_id)} as the next key does not carry a valid "
                    f"signature of the previous key {_short(head.key_id)}",
                    head.next_key_id,
                    head.position,
                )
            )
        else:
            earlier = handovers.get(head.next_key_id)
            if earlier is None or head.size < earlier.size:
                handovers[head.next_key_id] = head
    for previous, key in pairwise(chain):
        if key.key_id not in handovers:
            problems.append(
                KeyProblem(
                    KEY_HANDOVER,
                    f"key {_short(key.key_id)} took over from {_short(previous.key_id)} without a handover: no "
                    f"head validly signed by {_short(previous.key_id)} names it as the next key",
                    key.key_id,
                )
            )
    return handovers, problems


def _use_problems(
    chain: Sequence[LogKey], heads: Sequence[HeadKeyUse], handovers: Mapping[str, HeadKeyUse]
) -> list[KeyProblem]:
    """Each head is signed by a known key, at a size and time when that key was the log's key."""
    problems: list[KeyProblem] = []
    index = {key.key_id: number for number, key in enumerate(chain)}
    for head in heads:
        where = f"the head of size {head.size} ({head.time})"
        if head.key_id is None:
            problems.append(KeyProblem(HEAD_KEY, f"{where} names no signing key", None, head.position))
            continue
        number = index.get(head.key_id)
        if number is None:
            problems.append(
                KeyProblem(
                    HEAD_KEY,
                    f"{where} is signed by key {_short(head.key_id)}, which is not in the log's key history",
                    head.key_id,
                    head.position,
                )
            )
            continue
        key, time = chain[number], _instant(head.time)
        taken_over = handovers.get(key.key_id)
        if taken_over is not None and head.size < taken_over.size:
            problems.append(
                KeyProblem(
                    HEAD_KEY,
                    f"{where} is signed by key {_short(key.key_id)} before that key took over at size "
                    f"{taken_over.size}",
                    key.key_id,
                    head.position,
                )
            )
        activated = _instant(key.activated_at)
        if number > 0 and time is not None and activated is not None and time < activated:
            problems.append(
                KeyProblem(
                    HEAD_KEY,
                    f"{where} is signed by key {_short(key.key_id)} before its activation at {key.activated_at}",
                    key.key_id,
                    head.position,
                )
            )
        successor = chain[number + 1] if number + 1 < len(chain) else None
        handed_over = handovers.get(successor.key_id) if successor is not None else None
        if handed_over is not None and head.size > handed_over.size:
            problems.append(
                KeyProblem(
                    HEAD_KEY,
                    f"{where} is signed by retired key {_short(key.key_id)} after its retirement: it handed "
                    f"over to {_short(handed_over.next_key_id)} at size {handed_over.size}",
                    key.key_id,
                    head.position,
                )
            )
        retired = _instant(key.retired_at)
        if retired is not None and time is not None and time > retired:
            problems.append(
                KeyProblem(
                    HEAD_KEY,
                    f"{where} is signed by retired key {_short(key.key_id)} after its retirement at "
                    f"{key.retired_at}",
                    key.key_id,
                    head.position,
                )
            )
    return problems


def key_chain(keys: Sequence[LogKey], heads: Sequence[HeadKeyUse]) -> KeyChain:
    """Check a log's key history against its signed heads (decision 0008).

    The history: every key id is the SHA-256 of its public key; one first key, each later key names the key it
    replaced, every key but the newest is retired, and none retired after its successor took over. The
    handovers: every key after the first is named (``next_key_id``) by a head validly signed by the key it
    replaced; that head is where the old key's authority ends and the new key's begins. The heads: each names
    a key of the history and was signed while that key was the log's key, by size (no later than the old key's
    handover, no earlier than the new key's) and by time (within activation and retirement).

    Signature checks are the caller's (``signature_valid``); this function decides only what they mean.
    """
    problems = _history_problems(keys)
    chain, chain_problems = _chain(keys)
    problems += chain_problems
    handovers, handover_problems = _handovers(chain, heads, {key.key_id: key for key in keys})
    problems += handover_problems
    problems += _use_problems(chain, heads, handovers)
    return KeyChain(keys=tuple(chain), handovers=handovers, problems=tuple(problems))
