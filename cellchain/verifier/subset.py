"""Offline verification of a subset bundle: the ledger entries of exactly the records of one batch or journey
(issue 14 item 6; REGULATORY.md #9 and #45, T-6.3, T-7.1).

An inspection dossier cannot carry the whole ledger (millions of entries, most about other patients), so it
carries ``cellchain-ledger-subset/1``: the entries of its records, each with an RFC 9162 inclusion proof against
one signed tree head, that head, and what is needed to trust the head's key::

    {"format": "cellchain-ledger-subset/1", "log_id": "...",
     "subject": {"kind": "batch", "id": "...", "title": "..."},
     "head": {"log_id", "size", "root", "time", ["next_key_id"], "key_id", "signature"},
     "keys": [{"key_id", "public_key", "activated_at", "retired_at", "predecessor"}, ...],
     "handovers": [{<head signed by the retiring key naming next_key_id>, "key_id", "signature",
                    "consistency": ["<base64 hash>", ...]}, ...],
     "records": [{"type": "manufacturing.batch", "id": "12", "seqs": [3, 8, 19]}, ...],
     "entries": [{"seq": 3, "entry": "<base64 of the stored canonical bytes>",
                  "proof": ["<base64 hash>", ...]}, ...]}

Checked, with the standard library, ``cryptography`` and the pure Merkle arithmetic only:

- every entry: SHA-256(0x00 || entry) is the leaf; its inclusion proof leads from that leaf at its seq to the
  signed head's root (RFC 9162 §2.1.3.2); it reads as a ledger entry whose seq is the one given;
- the list of records: every entry belongs to a listed record at a listed seq (an entry of another record
  slipped in fails), every listed seq has its entry (an entry taken out fails), and each record's first entry
  creates it (``create``, ``sign`` or ``migrate``), so a history that starts in the middle fails;
- the head: its Ed25519 signature with the key it names, which must be in the key history; the key history
  as in the whole-ledger bundle (decision 0008): each key after the first took over by a handover head the
  previous key signed, shown here with a consistency proof from the handover to the head; and the key
  history equal to the ledger's own records of its keys, whose entries the bundle carries with proofs.

What a subset cannot show: that the installation listed *every* record of the batch or journey. The head
vouches for each entry given, not for the choice of records; the dossier's PDF names the records, and
``cellchain-verify`` of a whole-ledger bundle, or the installation's record history page, can be compared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cellchain.domain.merkle import HASH_SIZE, ProofError, leaf_hash, verify_consistency, verify_inclusion
from cellchain.domain.treehead import (
    HEAD_KEY,
    KEY_HISTORY,
    HeadKeyUse,
    KeyChain,
    LogKey,
    SignedTreeHead,
    key_chain,
    key_id,
)
from cellchain.verifier.bundle import (
    ENTRY_FIELDS,
    KEY_RECORD_TYPE,
    RESULT_FAILED,
    RESULT_OK,
    RESULT_UNVERIFIED,
    TRUSTED_HEAD,
    BundleError,
    Finding,
    TrustedHead,
    _base64,
    _field,
    _log_key,
    _object,
    _recorded_keys,
    _signed_head,
    key_record_findings,
    report_outcome_lines,
)
from cellchain.verifier.signing import SignatureError, key_fingerprint, verify_head_signature

SUBSET_FORMAT = "cellchain-ledger-subset/1"
"""The format of the ledger part of an inspection dossier: some records' entries with inclusion proofs."""

FIRST_ACTIONS = frozenset({"create", "sign", "migrate"})
"""Actions a record's first entry may have: created by a service (`create`; a signature is created `sign`), or
taken into the ledger by a schema re-baseline (`migrate`, decision 0010)."""

INCLUSION, RECORDS, HISTORY = "inclusion", "record list", "record history"


@dataclass(frozen=True)
class SubsetEntry:
    """One entry as the bundle gives it: its seq, the stored canonical bytes, and its inclusion proof."""

    seq: int
    raw: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class ListedRecord:
    """A record of the subject and the seqs of its entries the bundle says it carries."""

    record_type: str
    record_id: str
    seqs: tuple[int, ...]


@dataclass(frozen=True)
class Handover:
    """A head signed by a retiring key naming its successor, with a consistency proof to the bundle's head."""

    signed: SignedTreeHead
    consistency: tuple[bytes, ...]


@dataclass(frozen=True)
class SubsetBundle:
    """A parsed ``cellchain-ledger-subset/1``."""

    log_id: str
    subject: Mapping[str, Any]
    head: SignedTreeHead
    keys: tuple[LogKey, ...]
    handovers: tuple[Handover, ...]
    records: tuple[ListedRecord, ...]
    entries: tuple[SubsetEntry, ...]


def _hashes(value: object, field_name: str) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise BundleError(f"{field_name}: expected list, got {type(value).__name__}")
    hashes = tuple(_base64(item, f"{field_name}[{number}]") for number, item in enumerate(value))
    for number, digest in enumerate(hashes):
        if len(digest) != HASH_SIZE:
            raise BundleError(f"{field_name}[{number}]: {len(digest)} bytes; a SHA-256 hash is {HASH_SIZE}")
    return hashes


def _seq(value: object, field_name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BundleError(f"{field_name}: expected a non-negative integer, got {value!r}")
    return value


def _entry(data: object, where: str) -> SubsetEntry:
    fields = _object(data, where)
    return SubsetEntry(
        seq=_seq(fields.get("seq"), f"{where}.seq"),
        raw=_base64(_field(fields, "entry", str, f"{where}."), f"{where}.entry"),
        proof=_hashes(fields.get("proof"), f"{where}.proof"),
    )


def _record(data: object, where: str) -> ListedRecord:
    fields = _object(data, where)
    seqs = _field(fields, "seqs", list, f"{where}.")
    return ListedRecord(
        record_type=_field(fields, "type", str, f"{where}."),
        record_id=_field(fields, "id", str, f"{where}."),
        seqs=tuple(_seq(seq, f"{where}.seqs[{number}]") for number, seq in enumerate(seqs)),
    )


def _handover(data: object, where: str) -> Handover:
    fields = _object(data, where)
    return Handover(
        signed=_signed_head(data, where, named_key=True),
        consistency=_hashes(fields.get("consistency"), f"{where}.consistency"),
    )


def parse_subset_bundle(data: object) -> SubsetBundle:
    """Read the subset bundle's structure; ``BundleError`` names the first field missing or malformed."""
    fields = _object(data, "bundle")
    if fields.get("format") != SUBSET_FORMAT:
        raise BundleError(f"format: expected {SUBSET_FORMAT!r}, got {fields.get('format')!r}")
    subject = fields.get("subject", {})
    if not isinstance(subject, dict):
        raise BundleError(f"subject: expected an object, got {type(subject).__name__}")
    lists = {name: _field(fields, name, list, "") for name in ("keys", "handovers", "records", "entries")}
    return SubsetBundle(
        log_id=_field(fields, "log_id", str, ""),
        subject=subject,
        head=_signed_head(_field(fields, "head", dict, ""), "head", named_key=True),
        keys=tuple(_log_key(key, f"keys[{n}]") for n, key in enumerate(lists["keys"])),
        handovers=tuple(_handover(item, f"handovers[{n}]") for n, item in enumerate(lists["handovers"])),
        records=tuple(_record(item, f"records[{n}]") for n, item in enumerate(lists["records"])),
        entries=tuple(_entry(item, f"entries[{n}]") for n, item in enumerate(lists["entries"])),
    )


@dataclass(frozen=True)
class SubsetReport:
    """What was checked in a subset bundle, notes, every failed check, and what could not be checked."""

    log_id: str
    subject: Mapping[str, Any]
    key_fingerprint: str
    head_size: int
    head_root: str
    entries: int
    records: int
    handovers: int
    checked: tuple[str, ...]
    notes: tuple[str, ...]
    failures: tuple[Finding, ...]
    unverified: tuple[Finding, ...] = field(default=())
    format: str = SUBSET_FORMAT

    @property
    def ok(self) -> bool:
        return not self.failures and not self.unverified

    @property
    def result(self) -> str:
        if self.failures:
            return RESULT_FAILED
        return RESULT_UNVERIFIED if self.unverified else RESULT_OK

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "result": self.result, **asdict(self)}

    def lines(self) -> list[str]:
        """The human report: subject, head, what was checked, the first failure with its entry seq."""
        subject = " ".join(str(self.subject.get(key, "")) for key in ("kind", "id", "title")).strip()
        lines = [
            f"CellChain ledger subset bundle ({SUBSET_FORMAT})" + (f": {subject}" if subject else ""),
            f"Log {self.log_id}, head of size {self.head_size} (root {self.head_root}), "
            f"key SHA-256 {self.key_fingerprint}",
        ]
        return lines + report_outcome_lines(
            self.checked,
            self.notes,
            self.unverified,
            self.failures,
            unverified_means="not everything asked could be checked",
        )


def _parsed(entry: SubsetEntry, where: str) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The entry as JSON with the ledger's keys and the seq it is listed at, or the finding why not."""
    try:
        document = json.loads(entry.raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, [Finding("entry", f"{where} is not UTF-8 JSON ({error})", entry.seq)]
    if not isinstance(document, dict):
        return None, [Finding("entry", f"{where} is not a JSON object", entry.seq)]
    findings = []
    missing = [key for key in ENTRY_FIELDS if key not in document]
    if missing:
        findings.append(Finding("entry", f"{where} lacks {', '.join(missing)}", entry.seq))
    if document.get("seq") != entry.seq:
        message = f"{where} is listed at seq {entry.seq} but its own seq is {document.get('seq')!r}"
        findings.append(Finding("entry", message, entry.seq))
    return document, findings


def _record_of(document: Mapping[str, Any]) -> tuple[str, str] | None:
    record = document.get("record")
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        return None
    return record["type"], str(record.get("id"))


def _inclusion_findings(bundle: SubsetBundle) -> list[Finding]:
    """Each entry's leaf hash leads by its proof to the signed root (RFC 9162 §2.1.3.2)."""
    findings, size, root = [], bundle.head.head.size, bundle.head.head.root
    for number, entry in enumerate(bundle.entries):
        where = f"entries[{number}] (seq {entry.seq})"
        if entry.seq >= size:
            message = f"{where} is not covered by the signed head, which holds {size} entries"
            findings.append(Finding(INCLUSION, message, entry.seq))
            continue
        try:
            verify_inclusion(entry.seq, size, leaf_hash(entry.raw), entry.proof, root)
        except ProofError as error:
            message = (
                f"{where}: {error}: the entry was altered, or its proof is wrong, since the head was signed"
            )
            findings.append(Finding(INCLUSION, message, entry.seq))
    return findings


def _listing_findings(
    bundle: SubsetBundle, documents: Sequence[tuple[SubsetEntry, dict[str, Any] | None]]
) -> list[Finding]:
    """Entries and the record list agree both ways, seqs ascend, and each record's history starts at its
    creation."""
    findings = []
    listed: dict[tuple[str, str], set[int]] = {}
    for number, item in enumerate(bundle.records):
        key = (item.record_type, item.record_id)
        if key in listed:
            message = f"records[{number}]: {key[0]} {key[1]} is listed twice"
            findings.append(Finding(RECORDS, message))
        listed.setdefault(key, set()).update(item.seqs)
    seen: dict[int, int] = {}
    first: dict[tuple[str, str], tuple[int, str]] = {}
    previous = -1
    for number, (entry, document) in enumerate(documents):
        where = f"entries[{number}] (seq {entry.seq})"
        if entry.seq in seen:
            message = f"{where} repeats the entry at entries[{seen[entry.seq]}]"
            findings.append(Finding(RECORDS, message, entry.seq))
        elif entry.seq < previous:
            findings.append(Finding(RECORDS, f"{where} comes after seq {previous}: out of order", entry.seq))
        seen.setdefault(entry.seq, number)
        previous = max(previous, entry.seq)
        record = None if document is None else _record_of(document)
        if record is None:
            continue
        if entry.seq not in listed.get(record, set()):
            message = (
                f"{where} is an entry of {record[0]} {record[1]}, which the record list does not give at that "
                "seq: an entry of another record was put in"
            )
            findings.append(Finding(RECORDS, message, entry.seq))
        if record not in first or entry.seq < first[record][0]:
            first[record] = (entry.seq, str(document.get("action") if document else ""))
    for (record_type, record_id), seqs in listed.items():
        for seq in sorted(seqs - set(seen)):
            message = f"{record_type} {record_id}: the entry at seq {seq} is listed but not in the bundle"
            findings.append(Finding(RECORDS, message, seq))
    for (record_type, record_id), (seq, action) in first.items():
        if action not in FIRST_ACTIONS:
            message = (
                f"{record_type} {record_id}: its first entry (seq {seq}) is a {action!r}, not its creation: "
                "the entries before it are missing"
            )
            findings.append(Finding(HISTORY, message, seq))
    return findings


def _use(position: int, signed: SignedTreeHead, valid: bool) -> HeadKeyUse:
    head = signed.head
    return HeadKeyUse(position, head.size, head.time, signed.key_id, head.next_key_id, valid)


def _signature_error(signed: SignedTreeHead, by_id: Mapping[str, LogKey]) -> str | None:
    key = by_id.get(signed.key_id or "")
    if key is None:
        return f"signed by key {(signed.key_id or '')[:16]!r}, which is not in the key history"
    try:
        verify_head_signature(key.public_key, signed.head, signed.signature)
    except SignatureError as error:
        return str(error)
    return None


def _head_findings(bundle: SubsetBundle) -> tuple[list[Finding], KeyChain, bool]:
    """The head's and the handovers' signatures, the key chain over them, and each handover's consistency
    with the head. Returns the findings, the chain, and whether the head itself is validly signed."""
    head = bundle.head.head
    by_id = {key.key_id: key for key in bundle.keys}
    findings = []
    if head.log_id != bundle.log_id:
        findings.append(Finding("head log", f"the head's log_id {head.log_id!r} is not {bundle.log_id!r}"))
    head_error = _signature_error(bundle.head, by_id)
    if head_error is not None:
        check = "head signature" if bundle.head.key_id in by_id else HEAD_KEY
        findings.append(Finding(check, f"the head of size {head.size} ({head.time}): {head_error}"))
    uses = [_use(0, bundle.head, head_error is None)]
    for number, handover in enumerate(bundle.handovers, start=1):
        where = f"handovers[{number - 1}] (size {handover.signed.head.size})"
        error = _signature_error(handover.signed, by_id)
        if error is not None:
            findings.append(Finding("handover signature", f"{where}: {error}"))
        if handover.signed.head.next_key_id is None:
            findings.append(Finding("key handover", f"{where} names no next key: it is not a handover"))
        findings += _handover_consistency(where, handover, bundle)
        uses.append(_use(number, handover.signed, error is None))
    chain = key_chain(bundle.keys, uses)
    for problem in chain.problems:
        if problem.position == 0 and problem.check == HEAD_KEY and head_error is not None:
            continue  # already reported with the signature
        findings.append(Finding(problem.check, problem.message))
    return findings, chain, head_error is None and 0 not in chain.head_problems()


def _handover_consistency(where: str, handover: Handover, bundle: SubsetBundle) -> list[Finding]:
    old, new = handover.signed.head, bundle.head.head
    if old.log_id != bundle.log_id:
        return [Finding("head log", f"{where}: log_id {old.log_id!r} is not {bundle.log_id!r}")]
    try:
        verify_consistency(old.size, new.size, handover.consistency, old.root, new.root)
    except ProofError as error:
        return [Finding("consistency", f"{where} is not shown consistent with the head: {error}")]
    return []


def _key_record_findings(bundle: SubsetBundle, raws: Sequence[bytes]) -> tuple[list[Finding], list[str]]:
    """The key history equals the ledger's own records of its keys, carried as entries (decision 0008)."""
    recorded = _recorded_keys(raws)
    if not recorded:
        note = (
            "the bundle carries no entry of the ledger's records of its signing keys: the key history is "
            "checked against the handovers only"
        )
        return [], [note]
    findings = []
    for number, key in enumerate(bundle.keys):
        where = f"keys[{number}] (key {key.key_id[:16]})"
        record = recorded.get(key.key_id)
        if record is None:
            message = f"{where} has no record among the bundle's entries of the ledger's keys: the key history was altered"
            findings.append(Finding(KEY_HISTORY, message))
            continue
        findings += key_record_findings(where, record, key)
    return findings, []


def _trust_findings(
    bundle: SubsetBundle, chain: KeyChain, trusted_log_key: bytes | None
) -> tuple[list[Finding], list[str]]:
    if trusted_log_key is None:
        note = (
            "the log's keys were taken from the bundle itself: compare the SHA-256 above with the value the "
            "installation published, or pass the trusted key (--log-key)"
        )
        return [], [note]
    trusted = chain.trusted_from(key_id(trusted_log_key))
    if not trusted:
        return [Finding("log key", "the trusted log key is not in the bundle's key history")], []
    if bundle.head.key_id not in trusted:
        message = (
            f"the head is signed by key {(bundle.head.key_id or '')[:16]}, which the trusted key did not hand over "
            "to: it is older than the trusted key, or not of this log"
        )
        return [Finding("log key", message)], []
    return [], []


def _pin_findings(bundle: SubsetBundle, pins: Sequence[TrustedHead]) -> tuple[list[Finding], list[Finding]]:
    """A pinned head of the head's size must have its root; another size cannot be compared without a
    consistency proof the bundle does not carry (unverified, exit 3)."""
    failures, unverified = [], []
    head = bundle.head.head
    for pin in pins:
        if pin.log_id is not None and pin.log_id != bundle.log_id:
            message = f"{pin.label} is of log {pin.log_id!r}, not of the bundle's log {bundle.log_id!r}"
            failures.append(Finding(TRUSTED_HEAD, message))
        elif pin.size == head.size and pin.root != head.root:
            message = (
                f"the bundle's head of size {head.size} has root {head.root.hex()[:16]}..., not the root of "
                f"{pin.label}: the log signed another history (unless the pinned root was mistyped)"
            )
            failures.append(Finding(TRUSTED_HEAD, message))
        elif pin.size != head.size:
            message = (
                f"{pin.label} cannot be compared: a subset bundle holds no consistency proof from size {pin.size} "
                f"to its head of size {head.size}; ask the installation for one (`cellchain ledger proof "
                f"consistency {min(pin.size, head.size)} {max(pin.size, head.size)}`) or pin the head of size "
                f"{head.size}"
            )
            unverified.append(Finding(TRUSTED_HEAD, message))
    return failures, unverified


def verify_subset_bundle(
    data: object, *, trusted_log_key: bytes | None = None, trusted_heads: Sequence[TrustedHead] = ()
) -> SubsetReport:
    """Verify a ``cellchain-ledger-subset/1`` bundle (parsed JSON) and report every check and failure.

    Raises ``BundleError`` when the data does not have the bundle's shape. ``trusted_log_key`` (a raw Ed25519
    key the log published) must be in the key history and must be, or have handed over to, the head's key.
    ``trusted_heads`` of the head's size must have its root; of another size they are reported unverified.
    """
    bundle = parse_subset_bundle(data)
    findings: list[Finding] = []
    documents = []
    for number, entry in enumerate(bundle.entries):
        document, problems = _parsed(entry, f"entries[{number}] (seq {entry.seq})")
        documents.append((entry, document))
        findings += problems
    findings += _inclusion_findings(bundle)
    findings += _listing_findings(bundle, documents)
    head_findings, chain, _head_valid = _head_findings(bundle)
    findings += head_findings
    key_findings, notes = _key_record_findings(bundle, [entry.raw for entry in bundle.entries])
    findings += key_findings
    trust_findings, trust_notes = _trust_findings(bundle, chain, trusted_log_key)
    findings += trust_findings
    pinned, unverified = _pin_findings(bundle, trusted_heads)
    findings += pinned
    if not bundle.entries:
        notes.append("the bundle carries no entry: it proves nothing about any record")
    signer = next((key for key in bundle.keys if key.key_id == bundle.head.key_id), None)
    return SubsetReport(
        log_id=bundle.log_id,
        subject=dict(bundle.subject),
        key_fingerprint=key_fingerprint(signer.public_key) if signer else (bundle.head.key_id or ""),
        head_size=bundle.head.head.size,
        head_root=bundle.head.head.root.hex(),
        entries=len(bundle.entries),
        records=len(bundle.records),
        handovers=len(bundle.handovers),
        checked=_checked(bundle, len(trusted_heads)),
        notes=tuple(notes + trust_notes),
        failures=tuple(findings),
        unverified=tuple(unverified),
    )


def _checked(bundle: SubsetBundle, pinned: int) -> tuple[str, ...]:
    key_records = sum(1 for record in bundle.records if record.record_type == KEY_RECORD_TYPE)
    lines = [
        f"{len(bundle.entries)} entries: leaf SHA-256(0x00 || entry) and its RFC 9162 inclusion proof to the root "
        f"of the signed head of size {bundle.head.head.size}; each read as JSON with {', '.join(ENTRY_FIELDS)} "
        "and the seq it is listed at",
        f"{len(bundle.records)} records: every entry belongs to a listed record at a listed seq, every listed "
        "seq has its entry, each record's first entry creates it",
        f"the signed head: Ed25519 signature verified with the key it names; {len(bundle.keys)} signing keys: "
        f"each key id the SHA-256 of its key, each key after the first taking over by a handover head "
        f"({len(bundle.handovers)} given, each signed by the previous key and shown consistent with the head by "
        "an RFC 9162 consistency proof)",
    ]
    if key_records:
        lines.append(
            f"the key history equal to the ledger's own records of its {key_records} keys (entries in the bundle)"
        )
    if pinned:
        lines.append(f"{pinned} trusted heads given by the inspector compared with the signed head")
    return tuple(lines)
