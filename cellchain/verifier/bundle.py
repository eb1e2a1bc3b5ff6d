"""Offline verification of an exported ledger bundle (REGULATORY.md #9 and #45, T-6.3, X-3).

An inspector receives one JSON file, ``cellchain-ledger-bundle/2``::

    {"format": "cellchain-ledger-bundle/2", "log_id": "...",
     "keys": [{"key_id", "public_key": "<base64 raw Ed25519 key>", "activated_at", "retired_at",
               "predecessor"}, ...],
     "entries": ["<base64 of the stored canonical entry bytes>", ...],
     "heads": [{"log_id", "size", "root", "time", ["next_key_id"], "key_id", "signature"}, ...],
     "witnesses": [{"witness_id", "public_key", "head": {...}, "signature"}, ...]}

and checks it with nothing but the standard library, ``cryptography`` and the pure Merkle arithmetic:
every entry is rehashed into an RFC 9162 tree, the sequence numbers run 0, 1, 2... without gap,
duplicate or reordering, every signed head's root is recomputed at its size and its Ed25519 signature
verified with the key it names, every pair of heads is shown consistent by a consistency proof built from
the entries, and every witness countersignature is verified against the same tree.

Every entry must be covered by a validly signed head: entries after the newest one are *unverified* (issue 15
item 3), which fails the run with its own result (``VerifyReport.result`` ``"unverified"``) unless a check
failed outright (``"failed"``).

An inspector may pin heads obtained earlier (``TrustedHead``: a size and a root, from ``ledger head`` or a head
JSON document): the bundle's first ``size`` entries must then hash to the pinned root, so a history rewritten
and re-signed by the operator fails even though every signature in the bundle verifies (issue 15 item 3).

The key history (decision 0008) lists the log's signing keys, public halves only, oldest first. Each key id is
the SHA-256 of the raw key; every key after the first took over by a *handover*, a head signed by the previous
key whose signed bytes name the next key (``next_key_id``); no head may be signed by a key before its handover
or by a retired key after it. The history must also agree with the ledger's own records of its keys (entries
of record type ``ledger.ledgersigningkey``), which the signed heads cover.

Bundles in the earlier format ``cellchain-ledger-bundle/1`` (one ``public_key`` for every head, no key
history) are still verified as they always were.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from itertools import combinations, pairwise
from typing import Any

from cellchain.domain.ledger_schema import (
    REBASELINE_EVENT,
    rebaseline_continues_problems,
    rebaseline_entry_problems,
)
from cellchain.domain.merkle import (
    HASH_SIZE,
    MemoryNodeStore,
    ProofError,
    consistency_proof,
    verify_consistency,
)
from cellchain.domain.treehead import (
    HEAD_KEY,
    KEY_HISTORY,
    MAX_SIZE,
    Countersignature,
    HeadKeyUse,
    KeyChain,
    LogKey,
    SignedTreeHead,
    TreeHead,
    decode_base64,
    key_chain,
    key_id,
    tree_head_from_json,
)
from cellchain.verifier.signing import (
    PUBLIC_KEY_SIZE,
    SignatureError,
    key_fingerprint,
    verify_countersignature,
    verify_head_signature,
)

BUNDLE_FORMAT = "cellchain-ledger-bundle/2"
"""The format exports are written in: a key history, and the signing key's id on every head."""
BUNDLE_FORMAT_V1 = "cellchain-ledger-bundle/1"
"""The format before key rotation: one ``public_key`` signs every head."""
KEY_RECORD_TYPE = "ledger.ledgersigningkey"
"""The record type of the ledger's entries about its own signing keys."""

ENTRY_FIELDS = ("seq", "time", "actor", "record", "action", "state", "reason")
"""Keys every ledger entry carries (DESIGN.md "Records and the ledger"; X-1 actor, X-2 time, X-3 reason)."""


class BundleError(ValueError):
    """The bundle cannot be read or does not have the bundle's shape; the message names the field."""


TRUSTED_HEAD = "trusted head"
"""The check name of a head the inspector pinned."""


@dataclass(frozen=True)
class TrustedHead:
    """A head the inspector obtained before the bundle and trusts (issue 15 item 3): the log held ``size``
    entries with Merkle root ``root``. ``source`` says where it came from (``from head.json``); ``log_id`` is set
    when the pin named its log (a head document), and must then be the bundle's."""

    size: int
    root: bytes
    source: str
    log_id: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not 1 <= self.size <= MAX_SIZE:
            raise ValueError(f"trusted head: size {self.size!r} must be an integer from 1 to {MAX_SIZE}")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"trusted head: root is {len(self.root)} bytes; a SHA-256 root is {HASH_SIZE}")

    @property
    def label(self) -> str:
        return f"the trusted head of size {self.size} (root {self.root.hex()[:16]}..., {self.source})"


def trusted_head_from_json(data: object, source: str) -> TrustedHead:
    """A pinned head from a head document as the log writes it (a bundle's ``heads`` item, ``ledger head
    --json``, ``GET /api/ledger/heads/{size}``); only its log, size and root are used. ``ValueError`` names
    the field."""
    head = tree_head_from_json(data, "head")
    return TrustedHead(size=head.size, root=head.root, source=source, log_id=head.log_id)


@dataclass(frozen=True)
class Witness:
    """A countersignature as it arrived in the bundle, with the public key the witness published."""

    public_key: bytes
    countersignature: Countersignature


@dataclass(frozen=True)
class Bundle:
    """A parsed bundle: entry bytes in sequence order, signed heads, witnesses, and the log's keys.

    ``public_key`` is the single key of a ``/1`` bundle (None in ``/2``); ``keys`` the key history of a ``/2``
    bundle (empty in ``/1``).
    """

    log_id: str
    public_key: bytes | None
    entries: tuple[bytes, ...]
    heads: tuple[SignedTreeHead, ...]
    witnesses: tuple[Witness, ...]
    format: str = BUNDLE_FORMAT_V1
    keys: tuple[LogKey, ...] = ()


def _field(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise BundleError(f"{where}{key}: missing")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BundleError(f"{where}{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _base64(value: object, field: str) -> bytes:
    try:
        return decode_base64(value, field)
    except ValueError as error:
        raise BundleError(str(error)) from None


def _public_key(value: object, field: str) -> bytes:
    key = _base64(value, field)
    if len(key) != PUBLIC_KEY_SIZE:
        raise BundleError(f"{field}: {len(key)} bytes; a raw Ed25519 public key is {PUBLIC_KEY_SIZE}")
    return key


def _head(data: object, field: str) -> TreeHead:
    try:
        return tree_head_from_json(data, field)
    except ValueError as error:
        raise BundleError(str(error)) from None


def _object(data: object, field: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise BundleError(f"{field}: expected an object, got {type(data).__name__}")
    return data


def _signed_head(data: object, field: str, *, named_key: bool = False) -> SignedTreeHead:
    fields = _object(data, field)
    signature = _base64(_field(fields, "signature", str, f"{field}."), f"{field}.signature")
    signer = _field(fields, "key_id", str, f"{field}.") if named_key else None
    return SignedTreeHead(head=_head(data, field), signature=signature, key_id=signer)


def _optional_text(fields: Mapping[str, Any], key: str, where: str) -> str | None:
    value = fields.get(key)
    if value is not None and not isinstance(value, str):
        raise BundleError(f"{where}{key}: expected str or null, got {type(value).__name__}")
    return value


def _log_key(data: object, field: str) -> LogKey:
    fields = _object(data, field)
    return LogKey(
        key_id=_field(fields, "key_id", str, f"{field}."),
        public_key=_public_key(fields.get("public_key"), f"{field}.public_key"),
        activated_at=_field(fields, "activated_at", str, f"{field}."),
        retired_at=_optional_text(fields, "retired_at", f"{field}."),
        predecessor=_optional_text(fields, "predecessor", f"{field}."),
    )


def _witness(data: object, field: str) -> Witness:
    fields = _object(data, field)
    witness_id = _field(fields, "witness_id", str, f"{field}.")
    try:
        countersignature = Countersignature(
            witness_id=witness_id,
            head=_head(_field(fields, "head", dict, f"{field}."), f"{field}.head"),
            signature=_base64(_field(fields, "signature", str, f"{field}."), f"{field}.signature"),
        )
    except ValueError as error:
        raise BundleError(f"{field}: {error}") from None
    return Witness(
        public_key=_public_key(fields.get("public_key"), f"{field}.public_key"),
        countersignature=countersignature,
    )


def parse_bundle(data: object) -> Bundle:
    """Read the bundle's structure; ``BundleError`` names the first field that is missing or malformed."""
    fields = _object(data, "bundle")
    kind = fields.get("format")
    if kind not in (BUNDLE_FORMAT, BUNDLE_FORMAT_V1):
        raise BundleError(f"format: expected {BUNDLE_FORMAT!r} or {BUNDLE_FORMAT_V1!r}, got {kind!r}")
    entries = _field(fields, "entries", list, "")
    heads = _field(fields, "heads", list, "")
    witnesses = fields.get("witnesses", [])
    if not isinstance(witnesses, list):
        raise BundleError(f"witnesses: expected list, got {type(witnesses).__name__}")
    current = kind == BUNDLE_FORMAT
    keys = _field(fields, "keys", list, "") if current else []
    return Bundle(
        log_id=_field(fields, "log_id", str, ""),
        public_key=None if current else _public_key(fields.get("public_key"), "public_key"),
        entries=tuple(_base64(entry, f"entries[{position}]") for position, entry in enumerate(entries)),
        heads=tuple(
            _signed_head(head, f"heads[{number}]", named_key=current) for number, head in enumerate(heads)
        ),
        witnesses=tuple(
            _witness(witness, f"witnesses[{number}]") for number, witness in enumerate(witnesses)
        ),
        format=str(kind),
        keys=tuple(_log_key(key, f"keys[{number}]") for number, key in enumerate(keys)),
    )


@dataclass(frozen=True)
class Finding:
    """One failed check: which check, what was found, and the entry seq (or seq range) it points at."""

    check: str
    message: str
    seq: int | None = None
    last_seq: int | None = None

    @property
    def where(self) -> str:
        """``entry seq 4`` or ``entries seq 3..6``, or empty when the failure concerns no entry."""
        if self.seq is None:
            return ""
        if self.last_seq is None or self.last_seq == self.seq:
            return f"entry seq {self.seq}"
        return f"entries seq {self.seq}..{self.last_seq}"


RESULT_OK, RESULT_FAILED, RESULT_UNVERIFIED = "ok", "failed", "unverified"
"""``VerifyReport.result``: every check holds; a check failed; or nothing failed but some entries are not
covered by any signed head, so nothing vouches for them (issue 15 item 3)."""

UNVERIFIED = "unverified"
"""The check name of entries no validly signed head covers."""


@dataclass(frozen=True)
class VerifyReport:
    """What was checked, notes for the inspector, every failed check in the order found, and the entries
    nothing vouches for (``unverified``: entries after the newest validly signed head, issue 15 item 3)."""

    log_id: str
    key_fingerprint: str
    entries: int
    heads: int
    consistency_pairs: int
    witnesses: int
    checked: tuple[str, ...]
    notes: tuple[str, ...]
    failures: tuple[Finding, ...]
    key_history: tuple[str, ...] = ()
    unverified: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """True only when no check failed and a signed head covers every entry (issue 15 item 3)."""
        return not self.failures and not self.unverified

    @property
    def result(self) -> str:
        """``failed`` when a check failed (whatever else), ``unverified`` when only the coverage by signed
        heads is missing, else ``ok``."""
        if self.failures:
            return RESULT_FAILED
        return RESULT_UNVERIFIED if self.unverified else RESULT_OK

    @property
    def first_failure(self) -> Finding | None:
        """The first failed check, the one an inspector should look at first."""
        return self.failures[0] if self.failures else None

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data, with ``ok`` spelled out."""
        return {"ok": self.ok, "result": self.result, **asdict(self)}

    def lines(self) -> list[str]:
        """The human report: what was checked, counts, the first failure with its entry seq."""
        lines = [
            f"CellChain ledger bundle ({BUNDLE_FORMAT})",
            f"Log {self.log_id}, key SHA-256 {self.key_fingerprint}",
        ]
        if self.key_history:
            lines += ["Signing keys (SHA-256, oldest first):", *(f"  - {line}" for line in self.key_history)]
        return lines + report_outcome_lines(
            self.checked,
            self.notes,
            self.unverified,
            self.failures,
            unverified_means="not every entry is covered by a signed head",
        )


def report_outcome_lines(
    checked: Sequence[str],
    notes: Sequence[str],
    unverified: Sequence[Finding],
    failures: Sequence[Finding],
    *,
    unverified_means: str,
) -> list[str]:
    """What was checked, the notes, what could not be verified and the result, as both bundle reports print
    them: OK, UNVERIFIED (no failure, but `unverified_means`), or FAILED with the first 21 failures."""
    lines = ["Checked:", *(f"  - {line}" for line in checked)]
    if notes:
        lines += ["Notes:", *(f"  - {note}" for note in notes)]
    if unverified:
        lines += ["Not verified:", *(f"  {_describe(finding)}" for finding in unverified)]
    if not failures and not unverified:
        return [*lines, "Result: OK, every check holds."]
    if not failures:
        return [*lines, f"Result: UNVERIFIED, every check holds but {unverified_means}."]
    lines.append(f"Result: FAILED, {len(failures)} failed check(s).")
    lines += ["First failure:", f"  {_describe(failures[0])}"]
    if len(failures) > 1:
        lines.append("Further failures:")
        lines += [f"  {_describe(finding)}" for finding in failures[1:21]]
        if len(failures) > 21:
            lines.append(f"  ... and {len(failures) - 21} more")
    return lines


def _describe(finding: Finding) -> str:
    where = f" at {finding.where}" if finding.where else ""
    return f"[{finding.check}]{where}: {finding.message}"


def _entry_seq(
    position: int, raw: bytes, records: _RecordHistory | None = None
) -> tuple[int | None, list[Finding]]:
    """Parse one entry far enough to read its seq and required keys (and show it to `records`)."""
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, [Finding("entry", f"entry at position {position} is not UTF-8 JSON ({error})", position)]
    if not isinstance(entry, dict):
        return None, [Finding("entry", f"entry at position {position} is not a JSON object", position)]
    if records is not None:
        records.observe(position, entry)
    findings = []
    missing = [key for key in ENTRY_FIELDS if key not in entry]
    if missing:
        findings.append(
            Finding("entry", f"entry at position {position} lacks {', '.join(missing)}", position)
        )
    seq = entry.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        findings.append(Finding("entry", f"entry at position {position} has seq {seq!r}", position))
        return None, findings
    return seq, findings


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _RecordHistory:
    """Each record's latest entry so far (by position); every schema re-baseline entry is checked against the
    record's entry before it: it may add and drop fields, never change a value (decision 0010)."""

    def __init__(self, entries: Sequence[bytes]) -> None:
        self.entries = entries
        self.latest: dict[tuple[str, str], int] = {}
        self.rebaselines = 0
        self.findings: list[Finding] = []

    def observe(self, position: int, entry: dict[str, Any]) -> None:
        record = entry.get("record")
        if not isinstance(record, dict):
            return
        key = (str(record.get("type")), str(record.get("id")))
        previous = self.latest.get(key)
        self.latest[key] = position
        if entry.get("event") == REBASELINE_EVENT:
            self.rebaselines += 1
            self._check(key, entry, None if previous is None else _json_object(self.entries[previous]))

    def _check(self, key: tuple[str, str], entry: dict[str, Any], previous: dict[str, Any] | None) -> None:
        seq = entry.get("seq") if isinstance(entry.get("seq"), int) else None
        problems = rebaseline_entry_problems(entry, previous)
        if previous is not None:
            problems += rebaseline_continues_problems(entry, previous.get("seq"))
        self.findings += [
            Finding("rebaseline", f"the schema re-baseline of {key[0]} {key[1]} {problem}", seq)
            for problem in problems
        ]


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted integers as (first, last)."""
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def _sequence_findings(seqs: Sequence[int | None]) -> list[Finding]:
    """Gaps, duplicates and reorderings of the seq numbers: seq i must sit at position i."""
    positions: dict[int, list[int]] = {}
    for position, seq in enumerate(seqs):
        if seq is not None:
            positions.setdefault(seq, []).append(position)
    findings = [
        Finding("sequence", f"duplicate: seq {seq} appears at positions {', '.join(map(str, where))}", seq)
        for seq, where in positions.items()
        if len(where) > 1
    ]
    top = max(positions, default=-1)
    unreadable = {position for position, seq in enumerate(seqs) if seq is None}
    missing = [seq for seq in range(top + 1) if seq not in positions and seq not in unreadable]
    findings += [
        Finding(
            "sequence", f"gap: {'seq' if first == last else 'seqs'} {_span(first, last)} missing", first, last
        )
        for first, last in _runs(missing)
    ]
    known = [(position, seq) for position, seq in enumerate(seqs) if seq is not None]
    findings += [
        Finding("sequence", f"out of order: seq {seq} at position {position} comes after seq {before}", seq)
        for (_, before), (position, seq) in pairwise(known)
        if seq < before
    ]
    return sorted(findings, key=lambda finding: finding.seq or 0)


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}..{last}"


def _label(number: int, head: TreeHead) -> str:
    return f"heads[{number}] (size {head.size}, {head.time})"


@dataclass(frozen=True)
class _HeadStatus:
    """One log head after the checks everything else leans on: its signature, its key, its root.

    ``key_error`` is set when the head breaks a rule of key use (unknown key, retired key, no handover).
    """

    number: int
    head: TreeHead
    signature_error: str | None
    reproduced: bool
    key_error: str | None = None

    @property
    def signed(self) -> bool:
        return self.signature_error is None and self.key_error is None

    @property
    def label(self) -> str:
        return _label(self.number, self.head)


def _head_statuses(
    bundle: Bundle, store: MemoryNodeStore, key_for: Callable[[SignedTreeHead], bytes | None]
) -> list[_HeadStatus]:
    """Verify each head's signature with the key ``key_for`` gives it (None: the head names no known key,
    which the key history check reports) and recompute its root."""
    statuses = []
    for number, signed in enumerate(bundle.heads):
        key = key_for(signed)
        signature_error, key_error = None, None
        if key is None:
            key_error = f"signed by key {signed.key_id!r}, which is not in the key history"
        else:
            try:
                verify_head_signature(key, signed.head, signed.signature)
            except SignatureError as error:
                signature_error = str(error)
        reproduced = signed.head.size <= store.size and store.root(signed.head.size) == signed.head.root
        statuses.append(_HeadStatus(number, signed.head, signature_error, reproduced, key_error))
    return statuses


def _authenticated(statuses: Sequence[_HeadStatus]) -> _HeadStatus | None:
    """The largest validly signed head the entries reproduce: the entries up to its size are authentic."""
    anchors = [status for status in statuses if status.signed and status.reproduced]
    return max(anchors, key=lambda status: status.head.size, default=None)


def _head_findings(bundle: Bundle, statuses: Sequence[_HeadStatus], store: MemoryNodeStore) -> list[Finding]:
    """Each head: its log, its Ed25519 signature, and its root recomputed from the entries."""
    findings = []
    for status in statuses:
        head, label = status.head, status.label
        if head.log_id != bundle.log_id:
            findings.append(Finding("head log", f"{label}: log_id {head.log_id!r} is not {bundle.log_id!r}"))
        if status.signature_error is not None:
            findings.append(Finding("head signature", f"{label}: {status.signature_error}"))
        if head.size > store.size:
            message = f"{label} covers {head.size} entries but the bundle holds only {store.size}"
            findings.append(Finding("head root", message, store.size, head.size - 1))
        elif not status.reproduced:
            findings.append(_root_mismatch(status, statuses))
    return findings


def _root_mismatch(status: _HeadStatus, statuses: Sequence[_HeadStatus]) -> Finding:
    """A head whose root the entries do not reproduce: a fork if a later head vouches for the entries.

    Otherwise the narrowest seq range the heads allow: after the largest smaller head that still matches.
    """
    anchor = _authenticated(statuses)
    if anchor is not None and anchor.head.size >= status.head.size:
        message = (
            f"{status.label}: signed root differs from the entries that {anchor.label} vouches for: "
            "the log signed two different histories"
        )
        return Finding("fork", message)
    below = [s.head.size for s in statuses if s.signed and s.reproduced and s.head.size < status.head.size]
    matched = max(below, default=0)
    still = f" (the head of size {matched} still matches)" if matched else ""
    message = (
        f"{status.label}: signed root does not match the first {status.head.size} entries: an entry among "
        f"seq {_span(matched, status.head.size - 1)} was altered, removed or inserted after signing{still}, "
        "unless the log signed another history"
    )
    return Finding("head root", message, matched, status.head.size - 1)


ALL_PAIRS_UP_TO = 128
"""Up to this many distinct heads every pair is proven; beyond, neighbours and each against the newest."""


def _head_pairs(heads: Sequence[_HeadStatus]) -> list[tuple[_HeadStatus, _HeadStatus]]:
    """Pairs (older, newer) to prove. All of them for a few heads; for many (a head every 256 entries
    makes thousands) each head with its successor and with the newest, which covers every pair because
    consistency is transitive, in O(heads) proofs instead of O(heads²).
    """
    if len(heads) <= ALL_PAIRS_UP_TO:
        return list(combinations(heads, 2))
    neighbours = list(pairwise(heads))
    return neighbours + [(head, heads[-1]) for head in heads[:-2]]


def _consistency_findings(
    statuses: Sequence[_HeadStatus], store: MemoryNodeStore
) -> tuple[list[Finding], int, int]:
    """Pairs of validly signed heads: is the newer one an extension of the older (RFC 9162 §2.1.4)?

    The proof is built from the bundle's entries, so it speaks for the log only when the newer head's
    root is reproduced by those entries (or both heads have one size); then a failure proves a fork.
    Other pairs are counted as not checkable: their head already failed its root check.
    Returns (findings, pairs checked, pairs not checkable).
    """
    distinct: dict[tuple[int, bytes], _HeadStatus] = {}
    for status in statuses:
        if status.signed and 1 <= status.head.size <= store.size:
            distinct.setdefault((status.head.size, status.head.root), status)
    heads = sorted(distinct.values(), key=lambda status: (status.head.size, status.number))
    findings, checked, unchecked = [], 0, 0
    for old, new in _head_pairs(heads):
        if old.head.size != new.head.size and not new.reproduced:
            unchecked += 1
            continue
        checked += 1
        try:
            proof = consistency_proof(old.head.size, new.head.size, store.read)
            verify_consistency(old.head.size, new.head.size, proof, old.head.root, new.head.root)
        except ProofError as error:
            findings.append(Finding("consistency", f"fork: {new.label} does not extend {old.label}: {error}"))
    return findings, checked, unchecked


def _witness_findings(
    bundle: Bundle,
    statuses: Sequence[_HeadStatus],
    store: MemoryNodeStore,
    trusted: Mapping[str, bytes] | None,
) -> list[Finding]:
    """Each countersignature: the witness's key, its Ed25519 signature, and the root it vouched for."""
    findings = []
    for number, witness in enumerate(bundle.witnesses):
        signed = witness.countersignature
        label = f"witnesses[{number}] ({signed.witness_id}, head size {signed.head.size})"
        key = witness.public_key if trusted is None else trusted.get(signed.witness_id, witness.public_key)
        if key != witness.public_key:
            findings.append(Finding("witness key", f"{label}: the bundle's key is not the trusted key"))
        if signed.head.log_id != bundle.log_id:
            message = f"{label}: countersigned log {signed.head.log_id!r}, not {bundle.log_id!r}"
            findings.append(Finding("witness", message))
        try:
            verify_countersignature(key, signed)
        except SignatureError as error:
            findings.append(Finding("witness signature", f"{label}: {error}"))
        findings += _witnessed_root(label, signed.head, statuses, store)
    return findings


def _witnessed_root(
    label: str, head: TreeHead, statuses: Sequence[_HeadStatus], store: MemoryNodeStore
) -> list[Finding]:
    if head.size <= store.size and store.root(head.size) == head.root:
        return []
    anchor = _authenticated(statuses)
    if anchor is not None and anchor.head.size >= head.size:
        message = (
            f"{label}: the witness was shown a root that differs from the history {anchor.label} vouches for"
        )
        return [Finding("fork", message)]
    if head.size > store.size:
        message = f"{label}: countersigned {head.size} entries but the bundle holds only {store.size}"
        return [Finding("witness", message, store.size, head.size - 1)]
    message = (
        f"{label}: the countersigned root is not reproduced by the entries: entries changed after "
        "countersigning, or the witness was shown another history"
    )
    return [Finding("witness", message)]


def _unverified(bundle: Bundle, statuses: Sequence[_HeadStatus]) -> list[Finding]:
    """Entries after the newest validly signed head: no signature covers them, so a bundle could carry any
    entries there (issue 15 item 3). A bundle without heads already fails for that."""
    newest = max((status for status in statuses if status.signed), key=lambda s: s.head.size, default=None)
    covered = 0 if newest is None else min(newest.head.size, len(bundle.entries))
    if not bundle.heads or covered >= len(bundle.entries):
        return []
    last = len(bundle.entries) - 1
    covering = (
        "no head of the bundle is validly signed"
        if newest is None
        else f"the newest validly signed head, {newest.label}, covers seq 0..{covered - 1}"
    )
    message = (
        f"{'entry' if covered == last else 'entries'} seq {_span(covered, last)} "
        f"{'is' if covered == last else 'are'} not covered by any signed tree head: unverified ({covering}); "
        "ask for a bundle exported with a head covering every entry (`cellchain ledger export` signs one first)"
    )
    return [Finding(UNVERIFIED, message, covered, last)]


def _trusted_head_findings(
    bundle: Bundle, trusted: Sequence[TrustedHead], store: MemoryNodeStore
) -> list[Finding]:
    """Each pinned head: its log is the bundle's, and the bundle's first ``size`` entries hash to its root
    (RFC 9162 root of the first ``size`` leaves). Signatures cannot show a rewrite the log re-signed; only a
    root obtained before can (issue 15 item 3)."""
    findings = []
    for pin in trusted:
        if pin.log_id is not None and pin.log_id != bundle.log_id:
            message = f"{pin.label} is of log {pin.log_id!r}, not of the bundle's log {bundle.log_id!r}"
            findings.append(Finding(TRUSTED_HEAD, message))
        elif pin.size > store.size:
            message = (
                f"{pin.label} covers {pin.size} entries but the bundle holds only {store.size}: the bundle cannot "
                "show the history the trusted head vouches for (an older export, or entries removed); ask for a "
                f"bundle of at least {pin.size} entries"
            )
            findings.append(Finding(TRUSTED_HEAD, message, store.size, pin.size - 1))
        elif store.root(pin.size) != pin.root:
            message = (
                f"the bundle's first {pin.size} entries do not hash to the root of {pin.label}: the history up to "
                "that size was rewritten since the trusted head, even where the bundle's heads are validly signed "
                "over the rewrite (unless the pinned root was mistyped)"
            )
            findings.append(Finding(TRUSTED_HEAD, message, 0, pin.size - 1))
    return findings


def _notes(
    bundle: Bundle, trusted_log_key: bytes | None, trusted_witnesses: Mapping[str, bytes] | None
) -> list[str]:
    notes = []
    if trusted_log_key is None:
        what = "key was" if bundle.format == BUNDLE_FORMAT_V1 else "keys were"
        notes.append(
            f"the log {what} taken from the bundle itself: compare the SHA-256 above with the value the "
            "installation published, or pass the trusted key"
        )
    unknown = sorted({w.countersignature.witness_id for w in bundle.witnesses} - set(trusted_witnesses or {}))
    if unknown:
        notes.append(f"witness keys taken from the bundle for: {', '.join(unknown)}")
    return notes


@dataclass(frozen=True)
class _RecordedKey:
    """What the ledger's own entries say about one of its signing keys (record type ``ledger.ledgersigningkey``)."""

    seq: int
    key_id: str
    public_key: str
    predecessor: str | None
    activated_at: str | None
    retired_at: str | None
    retired_seq: int | None


def _recorded_keys(entries: Sequence[bytes]) -> dict[str, _RecordedKey]:
    """The last state of every key record in the entries, by key id; predecessors resolved to key ids."""
    states: dict[str, tuple[int, dict[str, Any], int | None]] = {}
    marker = f'"type":"{KEY_RECORD_TYPE}"'.encode("ascii")
    for raw in entries:
        if marker not in raw:
            continue
        try:
            entry = json.loads(raw)
            record_id, state, seq = entry["record"]["id"], entry["state"], entry["seq"]
        except (ValueError, KeyError, TypeError):
            continue  # the entry checks report unreadable entries
        if not isinstance(state, dict) or not isinstance(seq, int):
            continue
        first_seq, _state, retired_seq = states.get(record_id, (seq, state, None))
        if retired_seq is None and state.get("retired_at") is not None:
            retired_seq = seq
        states[record_id] = (first_seq, state, retired_seq)
    ids = {record_id: str(state.get("key_id")) for record_id, (_seq, state, _r) in states.items()}
    recorded = {}
    for _record_id, (seq, state, retired_seq) in states.items():
        predecessor = state.get("predecessor_id")
        recorded[str(state.get("key_id"))] = _RecordedKey(
            seq=seq,
            key_id=str(state.get("key_id")),
            public_key=str(state.get("public_key")),
            predecessor=None if predecessor is None else ids.get(str(predecessor), f"record {predecessor}"),
            activated_at=state.get("activated_at"),
            retired_at=state.get("retired_at"),
            retired_seq=retired_seq,
        )
    return recorded


def _same_instant(first: str | None, second: str | None) -> bool:
    """Two RFC 3339 times name the same instant (the ledger writes microseconds, heads whole seconds)."""
    if first is None or second is None:
        return first is second
    try:
        return datetime.fromisoformat(first.replace("Z", "+00:00")) == datetime.fromisoformat(
            second.replace("Z", "+00:00")
        )
    except ValueError:
        return False


def key_record_findings(where: str, record: _RecordedKey, key: Any) -> list[Finding]:
    """What of a key in the history differs from the ledger's own record of that key (decision 0008):
    public key, predecessor, activation and retirement; shared by the whole-ledger and subset bundles."""
    differences = [
        name
        for name, same in (
            ("public key", record.public_key == base64.b64encode(key.public_key).decode("ascii")),
            ("previous key", record.predecessor == key.predecessor),
            ("activation time", _same_instant(record.activated_at, key.activated_at)),
            ("retirement time", key.retired_at is None or _same_instant(record.retired_at, key.retired_at)),
        )
        if not same
    ]
    if not differences:
        return []
    message = (
        f"{where}: {', '.join(differences)} differ from the ledger's record of the key (entry seq "
        f"{record.seq}): the key history was altered"
    )
    return [Finding(KEY_HISTORY, message, record.seq)]


def _recorded_key_findings(
    bundle: Bundle, statuses: Sequence[_HeadStatus], recorded: Mapping[str, _RecordedKey]
) -> tuple[list[Finding], set[int]]:
    """The key history must say what the ledger recorded about its keys, in entries the heads cover; and no
    head covering a key's retirement entry may be signed by that key unless it hands over to the successor
    the ledger recorded. Returns the findings and the numbers of the heads refused."""
    findings, refused = [], set()
    for number, key in enumerate(bundle.keys):
        where = f"keys[{number}] (key {key.key_id[:16]})"
        record = recorded.get(key.key_id)
        if record is None:
            message = f"{where} has no record in the ledger's entries: the key history was altered"
            findings.append(Finding(KEY_HISTORY, message))
            continue
        findings += key_record_findings(where, record, key)
    successors = {record.predecessor: record.key_id for record in recorded.values() if record.predecessor}
    for status, signed in zip(statuses, bundle.heads, strict=True):
        record = recorded.get(signed.key_id or "")
        if record is None or record.retired_seq is None or status.head.size <= record.retired_seq:
            continue
        successor = successors.get(record.key_id)
        if status.head.next_key_id is None or status.head.next_key_id != successor:
            message = (
                f"{status.label} is signed by key {record.key_id[:16]}, which the ledger records as retired at "
                f"entry seq {record.retired_seq} (successor {(successor or '(none)')[:16]}), and is not its "
                "handover to that successor"
            )
            findings.append(Finding(HEAD_KEY, message, record.retired_seq))
            refused.add(status.number)
    return findings, refused


def _key_history(
    bundle: Bundle, store: MemoryNodeStore, trusted_log_key: bytes | None
) -> tuple[list[_HeadStatus], bytes, list[Finding], list[str], tuple[str, ...]]:
    """``/2``: each head verified with the key it names; the key history and its handovers checked
    (decision 0008). Returns the head statuses, the key shown in the report, findings, notes and a line per
    key."""
    by_id = {key.key_id: key for key in bundle.keys}

    def key_for(signed: SignedTreeHead) -> bytes | None:
        key = by_id.get(signed.key_id or "")
        return key.public_key if key is not None else None

    statuses = _head_statuses(bundle, store, key_for)
    uses = [
        HeadKeyUse(
            position=status.number,
            size=status.head.size,
            time=status.head.time,
            key_id=signed.key_id,
            next_key_id=status.head.next_key_id,
            signature_valid=status.key_error is None and status.signature_error is None,
        )
        for status, signed in zip(statuses, bundle.heads, strict=True)
    ]
    chain = key_chain(bundle.keys, uses)
    findings, notes = [], []
    for problem in chain.problems:
        message = problem.message
        if problem.position is not None:
            status = statuses[problem.position]
            said = f"the head of size {status.head.size} ({status.head.time})"
            message = (
                message.replace(said, status.label, 1) if said in message else f"{status.label}: {message}"
            )
        findings.append(Finding(problem.check, message))
    broken = chain.head_problems()
    statuses = [
        replace(status, key_error=status.key_error or "breaks a rule of key use (reported above)")
        if status.number in broken
        else status
        for status in statuses
    ]
    recorded = _recorded_keys(bundle.entries)
    if recorded:
        more, flagged = _recorded_key_findings(bundle, statuses, recorded)
        findings += more
        statuses = [
            replace(status, key_error=status.key_error or "signed by a key the ledger records as retired")
            if status.number in flagged
            else status
            for status in statuses
        ]
    elif bundle.keys:
        notes.append(
            "the bundle's entries hold no record of the log's signing keys (heads older than the key history): "
            "the key history is checked against the heads only"
        )
    shown = chain.keys[-1].public_key if chain.keys else (bundle.keys[-1].public_key if bundle.keys else b"")
    if trusted_log_key is not None:
        shown = trusted_log_key
        trusted = chain.trusted_from(key_id(trusted_log_key))
        if not trusted:
            findings.append(Finding("log key", "the trusted log key is not in the bundle's key history"))
        else:
            older = sorted({s.key_id or "" for s in bundle.heads} - trusted - {""})
            if older:
                notes.append(
                    f"heads signed by {len(older)} key(s) older than the trusted key were checked with keys "
                    "taken from the bundle; the trusted key's heads vouch for every entry they cover"
                )
    return statuses, shown, findings, notes, _history_lines(chain)


def _history_lines(chain: KeyChain) -> tuple[str, ...]:
    lines = []
    for key in chain.keys:
        handover = chain.handovers.get(key.key_id)
        since = f"from size {handover.size}" if handover is not None else "first key"
        until = f"retired {key.retired_at}" if key.retired_at else "active"
        lines.append(f"{key.key_id} ({since}, activated {key.activated_at}, {until})")
    return tuple(lines)


def verify_bundle(
    data: object,
    *,
    trusted_log_key: bytes | None = None,
    trusted_witness_keys: Mapping[str, bytes] | None = None,
    trusted_heads: Sequence[TrustedHead] = (),
) -> VerifyReport:
    """Verify a ledger bundle (parsed JSON, ``/2`` or ``/1``) and report every check and failure.

    Raises ``BundleError`` when the data does not have the bundle's shape. ``trusted_log_key`` (a raw 32-byte
    Ed25519 key the log published) must be a key of the bundle's key history: it and the keys it handed over
    to are then trusted, not just taken from the bundle (in a ``/1`` bundle it replaces the bundle's key).
    ``trusted_witness_keys`` replace the witness keys the bundle carries. A bundle re-signed with another key
    is caught either way. ``trusted_heads`` are heads the inspector pinned: the bundle's entries must reproduce
    each one's root at its size, so a history rewritten and re-signed is caught too (issue 15 item 3).
    """
    bundle = parse_bundle(data)
    store, seqs, findings = MemoryNodeStore(), [], []
    records = _RecordHistory(bundle.entries)
    for position, raw in enumerate(bundle.entries):
        store.append(raw)
        seq, entry_findings = _entry_seq(position, raw, records)
        seqs.append(seq)
        findings += entry_findings
    findings += _sequence_findings(seqs)
    findings += records.findings
    if not bundle.heads:
        findings.append(
            Finding("head", "the bundle has no signed tree head, so nothing binds its entries to the log")
        )
    key_notes: list[str] = []
    history: tuple[str, ...] = ()
    if bundle.format == BUNDLE_FORMAT_V1:
        assert bundle.public_key is not None
        key = bundle.public_key if trusted_log_key is None else trusted_log_key
        if key != bundle.public_key:
            findings.append(Finding("log key", "the bundle's public key is not the trusted log key"))
        statuses = _head_statuses(bundle, store, lambda _signed: key)
    else:
        statuses, key, key_findings, key_notes, history = _key_history(bundle, store, trusted_log_key)
        findings += key_findings
    findings += _head_findings(bundle, statuses, store)
    consistency, pairs, unchecked = _consistency_findings(statuses, store)
    findings += consistency
    findings += _witness_findings(bundle, statuses, store, trusted_witness_keys)
    findings += _trusted_head_findings(bundle, trusted_heads, store)
    notes = _notes(bundle, trusted_log_key, trusted_witness_keys) + key_notes
    if unchecked:
        notes.append(
            f"{unchecked} pairs of heads not checked for consistency: the newer head's root is not "
            "reproduced by the entries (reported above), so the entries cannot stand in for the log's proof"
        )
    return VerifyReport(
        log_id=bundle.log_id,
        key_fingerprint=key_fingerprint(key),
        entries=len(bundle.entries),
        heads=len(bundle.heads),
        consistency_pairs=pairs,
        witnesses=len(bundle.witnesses),
        checked=_checked(bundle, pairs, records.rebaselines, len(trusted_heads)),
        notes=tuple(notes),
        failures=tuple(findings),
        key_history=history,
        unverified=tuple(_unverified(bundle, statuses)),
    )


def _checked(bundle: Bundle, pairs: int, rebaselines: int = 0, pinned: int = 0) -> tuple[str, ...]:
    keys: tuple[str, ...] = ()
    if bundle.format != BUNDLE_FORMAT_V1:
        keys = (
            f"{len(bundle.keys)} signing keys: each key id the SHA-256 of its key, one chain of keys each taking "
            "over by a handover head the previous key signed, each head signed by the key of its size and time, "
            "the history equal to the ledger's own records of its keys",
        )
    return (
        f"{len(bundle.entries)} entries rehashed as RFC 9162 leaves (SHA-256 of 0x00 || entry); each read as "
        f"JSON with {', '.join(ENTRY_FIELDS)}, and seq i at position i (no gap, duplicate or reordering)",
        f"{len(bundle.heads)} signed tree heads: root recomputed from the entries at the head's size, "
        "Ed25519 signature verified with the key the head names; every entry covered by a validly signed head",
        *keys,
        f"{pairs} pairs of validly signed heads (every pair up to {ALL_PAIRS_UP_TO} heads, else each with "
        "the next and with the newest): consistency proof built from the entries and verified (RFC 9162 §2.1.4)",
        f"{len(bundle.witnesses)} witness countersignatures: Ed25519 signature verified, root recomputed",
        *(
            (
                f"{rebaselines} schema re-baseline entries: each only adds or drops fields of its record's previous "
                "state, names them, and changes no value (decision 0010)",
            )
            if rebaselines
            else ()
        ),
        *(
            (
                f"{pinned} trusted heads given by the inspector: the root of the bundle's first entries at each "
                "head's size recomputed and compared with the pinned root",
            )
            if pinned
            else ()
        ),
    )
