"""`cellchain ledger verify`: prove the ledger intact and the regulated tables equal to it (issue 3 item 4).

Checks, in one pass over the entries (streamed in chunks, never all in memory):

1. sequence: entries run 0, 1, 2 ... without gap, and their count is the head row's size;
2. leaves: SHA-256(0x00 || stored bytes) equals the stored leaf hash and node (0, seq) (RFC 9162 §2.1.1);
3. columns: the record type, id and seq columns say what the hashed bytes say;
4. tree: every stored subtree hash equals the one recomputed from the leaves, and no other node is stored;
5. signed heads: Ed25519 signature by the key of the key history each head names, root recomputed at the
   head's size, and a consistency proof from the stored nodes between each pair of consecutive heads
   (RFC 9162 §2.1.4.2);
6. signing keys (decision 0008): the key history is one chain of keys, each key id the SHA-256 of its key;
   every key after the first took over by a handover head validly signed by the key before it; no head is
   signed by an unknown key, by a key before it took over, or by a retired key after its handover;

7. schema re-baselines (decision 0010): each `schema:rebaseline` entry only adds and drops fields of the
   record's entry before it, names them, and changes no value;

then REPLAY: for every regulated table (`replay.replay_sources()`), each row's `ledger_state()` must equal the
state of its record's last entry; a row changed, inserted or deleted behind the application's back is named
(REGULATORY item 9; 21 CFR 11.10(a); EU GMP Annex 11 §7.1). A row that differs only in its set of fields (a
column a migration added or removed) is reported under its own check, `schema`, naming the fields and the
migrations, until `ledger rebaseline` documents it; it still fails the verification.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from cellchain.domain import merkle
from cellchain.domain.ledger_schema import (
    REBASELINE_EVENT,
    rebaseline_continues_problems,
    rebaseline_entry_problems,
    state_difference,
)
from cellchain.domain.treehead import HEAD_KEY, KEY_HANDOVER, HeadKeyUse, LogKey, key_chain
from cellchain.ledger.canonical import canonical_bytes
from cellchain.ledger.heads import active_key, to_tree_head
from cellchain.ledger.models import LedgerEntry, LedgerHead, LedgerNode, LedgerSigningKey, SignedTreeHead
from cellchain.ledger.proofs import MissingNode, consistency_proof
from cellchain.ledger.replay import (
    ReplaySource,
    entries_by_seq,
    entry_document,
    entry_state,
    entry_state_bytes,
    replay_sources,
)
from cellchain.ledger.schema import SchemaHistory
from cellchain.ledger.state import utc_time
from cellchain.verifier.signing import SignatureError, key_fingerprint, verify_head_signature

Progress = Callable[[str, int, int], None]
"""Called as progress(phase, done, total) while verifying: phases "entries", "heads", "records"."""

FINDINGS_PER_CHECK = 50
"""Findings kept per check; more are counted (a damaged table would otherwise flood the report)."""

_PLAIN_TEXT = re.compile(r"[A-Za-z0-9._:\- ]*")
_REBASELINE_MARKER = f'"event":"{REBASELINE_EVENT}"'.encode("ascii")
_sha256 = hashlib.sha256


@dataclass(frozen=True)
class Finding:
    """One failed check, naming the entry (seq) and the record where one applies."""

    check: str
    message: str
    seq: int | None = None
    record_type: str | None = None
    record_id: str | None = None

    @property
    def record(self) -> str:
        return f"{self.record_type} {self.record_id}" if self.record_type else ""


@dataclass
class LedgerReport:
    """What `verify_ledger` checked and every failure it found; `ok` only when nothing failed."""

    log_id: str
    key_fingerprint: str
    head_size: int = 0
    entries: int = 0
    nodes: int = 0
    heads: int = 0
    consistency_pairs: int = 0
    keys: int = 0
    handovers: int = 0
    records: int = 0
    record_types: int = 0
    rebaselines: int = 0
    findings: list[Finding] = field(default_factory=list)
    suppressed: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, finding: Finding) -> None:
        kept = sum(1 for existing in self.findings if existing.check == finding.check)
        if kept < FINDINGS_PER_CHECK:
            self.findings.append(finding)
        else:
            self.suppressed[finding.check] = self.suppressed.get(finding.check, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}

    def lines(self) -> list[str]:
        """The report for a person: what was checked, then each failure with its entry and record."""
        lines = [
            f"CellChain ledger {self.log_id} (key SHA-256 {self.key_fingerprint})",
            f"  {self.entries} entries rehashed (head row says {self.head_size}); {self.nodes} tree nodes compared",
            f"  {self.heads} signed tree heads checked; {self.consistency_pairs} consistency proofs verified",
            f"  {self.keys} signing keys in the key history; {self.handovers} key handovers verified",
            f"  {self.records} rows of {self.record_types} regulated tables replayed against the ledger",
        ]
        if self.rebaselines:
            lines.append(
                f"  {self.rebaselines} schema re-baseline entries checked against each record's entry before them"
            )
        if self.ok:
            return [*lines, "Result: OK, every check holds."]
        total = len(self.findings) + sum(self.suppressed.values())
        lines.append(f"Result: FAILED, {total} finding(s).")
        for finding in self.findings:
            where = ", ".join(
                part
                for part in (f"entry seq {finding.seq}" if finding.seq is not None else "", finding.record)
                if part
            )
            lines.append(f"  [{finding.check}]{f' {where}' if where else ''}: {finding.message}")
        lines += [f"  ... and {count} more [{check}] findings" for check, count in self.suppressed.items()]
        return lines


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _entry_chunks(chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    """Yield (seq, canonical, leaf_hash, record_type, record_id) in seq order, `chunk` rows at a time."""
    columns = ", ".join(_q(name) for name in ("seq", "canonical", "leaf_hash", "record_type", "record_id"))
    sql = (
        f"SELECT {columns} FROM {_q(LedgerEntry._meta.db_table)} WHERE {_q('seq')} > %s ORDER BY {_q('seq')}"  # noqa: S608
    )
    last = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} LIMIT {int(chunk)}", [last])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _stored_nodes(first: int, end: int) -> dict[tuple[int, int], bytes]:
    """Nodes completed by appending leaves first..end-1: level L, indexes (first+1)/2^L - 1 .. end/2^L - 1.

    Level 0 (the leaves) is each entry's `leaf_hash`, checked beside the entry; the node table starts at 1."""
    clauses, params = [], []
    level = 1
    while (end >> level) > 0:
        low, high = -(-(first + 1) // (1 << level)) - 1, (end >> level) - 1
        if low <= high:
            clauses.append(f"({_q('level')} = %s AND {_q('index')} BETWEEN %s AND %s)")
            params += [level, low, high]
        level += 1
    if not clauses:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_q('level')}, {_q('index')}, {_q('hash')} FROM {_q(LedgerNode._meta.db_table)} "  # noqa: S608
            f"WHERE {' OR '.join(clauses)}",
            params,
        )
        return {
            (lv, ix): digest if type(digest) is bytes else bytes(digest)
            for lv, ix, digest in cursor.fetchall()
        }


def _empty_tables(sources: list[ReplaySource]) -> set[str]:
    """The tables of `sources` that hold no row, in one query (most record types of a young ledger have none).

    A replay of such a table would be one query each to learn it is empty; at 80 record types that fixed cost
    was a fifth of a full verify of 20,000 entries."""
    tables = sorted({source.model._meta.db_table for source in sources})
    empty: set[str] = set()
    for start in range(0, len(tables), 200):  # SQLite allows 500 terms in one compound SELECT
        probes = " UNION ALL ".join(
            f"SELECT {number} WHERE NOT EXISTS (SELECT 1 FROM {_q(tables[number])})"  # noqa: S608
            for number in range(start, min(start + 200, len(tables)))
        )
        with connection.cursor() as cursor:
            cursor.execute(probes)
            empty.update(tables[row[0]] for row in cursor.fetchall())
    return empty


class _Frontier:
    """The right edge of the tree being rebuilt: one perfect subtree per set bit of the size."""

    def __init__(self) -> None:
        self.stack: list[bytes] = []
        self.size = 0

    def append(self, leaf: bytes, completed: dict[tuple[int, int], bytes]) -> None:
        """Add a leaf; put the subtrees (level >= 1) it completes into `completed`, keyed (level, index).

        The loop is `merkle.nodes_completed_by_append`'s, inlined: it runs once per entry and the call
        overhead was a third of the pass over the entries. The roots it yields are checked against heads
        signed from the domain's tree.
        """
        accumulated, level, index, stack = leaf, 0, self.size, self.stack
        while index & 1:
            accumulated = _sha256(b"\x01" + stack.pop() + accumulated).digest()
            level, index = level + 1, index >> 1
            completed[(level, index)] = accumulated
        stack.append(accumulated)
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        accumulated = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            accumulated = merkle.node_hash(left, accumulated)
        return accumulated


@functools.lru_cache(maxsize=4096)
def _json_string(value: str) -> str:
    return f'"{value}"' if _PLAIN_TEXT.fullmatch(value) else json.dumps(value, ensure_ascii=False)


def _column_marker(seq: int, record_type: str, record_id: str) -> bytes:
    """The bytes the entry's top level must hold for these columns: `"record":{...},"seq":N,"state":`.

    RFC 8785 sorts the keys, so the top-level "record" object is followed by "seq" and then "state"."""
    quoted_id = f'"{record_id}"' if record_id.isdigit() else _json_string(record_id)
    return f'"record":{{"id":{quoted_id},"type":{_json_string(record_type)}}},"seq":{seq},"state":'.encode()


def _columns_match_parsed(seq: int, data: bytes, record_type: str, record_id: str) -> bool:
    """True when the parsed entry carries this seq, record type and id (when `_column_marker` is not found)."""
    try:
        document = json.loads(data)
    except ValueError:
        return False
    record = document.get("record") if isinstance(document, dict) else None
    return (
        isinstance(record, dict)
        and document.get("seq") == seq
        and record.get("type") == record_type
        and record.get("id") == record_id
    )


def _state_after(data: bytes, start: int) -> bytes | None:
    """The state's canonical bytes: from `start` (just after `"state":`) to the top-level `,"time":"`."""
    end = data.rfind(b',"time":"')
    return data[start:end] if end >= start else None


class _Verifier:
    def __init__(
        self, report: LedgerReport, progress: Progress | None, chunk: int, replay: bool = True
    ) -> None:
        self.report, self.progress, self.chunk = report, progress, chunk
        # record type -> record id -> (seq, SHA-256 of the state bytes) of each record's last entry, gathered
        # in the entry pass so the replay reads no entry a second time (issue 15 section 2).
        self.last_states: dict[str, dict[str, tuple[int, bytes | None]]] | None = {} if replay else None
        self.frontier = _Frontier()
        self.heads = list(SignedTreeHead.objects.order_by("size"))
        self.roots_at: dict[int, bytes] = {}
        self._schema_history: SchemaHistory | None = None
        self.rebaseline_entries: list[tuple[int, str, str]] = []

    def _tick(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)

    # --- entries, leaves, columns, tree -----------------------------------------------------------------

    def entries(self) -> None:
        report = self.report
        wanted_sizes = {head.size for head in self.heads}
        if 0 in wanted_sizes:
            self.roots_at[0] = merkle.EMPTY_ROOT
        last_states, frontier = self.last_states, self.frontier
        for rows in _entry_chunks(self.chunk):
            first = self.frontier.size
            expected: dict[tuple[int, int], bytes] = {}
            for seq, canonical, stored_leaf, record_type, record_id in rows:
                if seq != self.frontier.size:
                    self._gap(seq, expected, wanted_sizes)
                data = bytes(canonical)
                leaf = hashlib.sha256(b"\x00" + data).digest()
                if leaf != bytes(stored_leaf):
                    report.add(
                        Finding(
                            "leaf",
                            "the stored bytes no longer hash to the stored leaf hash: "
                            "the entry was altered after it was written",
                            seq,
                            record_type,
                            record_id,
                        )
                    )
                marker = _column_marker(seq, record_type, record_id)
                at = data.find(marker)
                if at < 0 and not _columns_match_parsed(seq, data, record_type, record_id):
                    report.add(
                        Finding(
                            "columns",
                            "the record type, id or seq columns differ from the hashed entry bytes",
                            seq,
                            record_type,
                            record_id,
                        )
                    )
                if _REBASELINE_MARKER in data:
                    self.rebaseline_entries.append((seq, record_type, record_id))
                if last_states is not None:
                    state = _state_after(data, at + len(marker)) if at >= 0 else entry_state_bytes(seq, data)
                    by_id = last_states.get(record_type)
                    if by_id is None:
                        by_id = last_states[record_type] = {}
                    by_id[record_id] = (seq, None if state is None else _sha256(state).digest())
                frontier.append(leaf, expected)
                if frontier.size in wanted_sizes:
                    self.roots_at[frontier.size] = frontier.root()
            report.entries += len(rows)
            self._compare_nodes(first, self.frontier.size, expected)
            self._tick("entries", self.frontier.size, report.head_size)
        if report.head_size > self.frontier.size:
            self._gap(report.head_size, {}, wanted_sizes)

    def _append(self, leaf: bytes, expected: dict[tuple[int, int], bytes], wanted_sizes: set[int]) -> None:
        self.frontier.append(leaf, expected)
        if self.frontier.size in wanted_sizes:
            self.roots_at[self.frontier.size] = self.frontier.root()

    def _gap(self, next_seq: int, expected: dict[tuple[int, int], bytes], wanted_sizes: set[int]) -> None:
        """Entries frontier.size..next_seq-1 are missing: report them and go on with their stored leaves."""
        first = self.frontier.size
        if next_seq < first:
            self.report.add(
                Finding("sequence", f"entry seq {next_seq} is out of order (expected {first})", next_seq)
            )
            return
        span = f"{first}" if next_seq - first == 1 else f"{first}..{next_seq - 1}"
        self.report.add(
            Finding("sequence", f"entries seq {span} are missing: removed from the ledger", first)
        )
        for _seq in range(first, next_seq):
            # The leaf went with the entry: a placeholder keeps the positions, and the signed heads over it fail.
            self._append(bytes(merkle.HASH_SIZE), expected, wanted_sizes)

    def _compare_nodes(self, first: int, end: int, expected: dict[tuple[int, int], bytes]) -> None:
        stored = _stored_nodes(first, end)
        if stored == expected:  # the common case, compared in C; a difference is then found node by node
            self.report.nodes += len(expected)
            return
        for (level, index), digest in expected.items():
            found = stored.get((level, index))
            if found == digest:
                self.report.nodes += 1
                continue
            covers = (
                f"entries seq {index << level}..{((index + 1) << level) - 1}"
                if level
                else f"entry seq {index}"
            )
            problem = "is missing" if found is None else "differs from the hash recomputed from the entries"
            self.report.add(
                Finding(
                    "tree",
                    f"stored tree node (level {level}, index {index}) over {covers} {problem}",
                    index << level,
                )
            )

    def extra_nodes(self) -> None:
        size = self.frontier.size
        expected = sum(size >> level for level in range(1, size.bit_length()))
        stored = LedgerNode.objects.count()
        if stored != expected:
            self.report.add(
                Finding(
                    "tree",
                    f"the node table holds {stored} nodes; a tree of {size} entries has "
                    f"{expected}: nodes were added or removed behind the application's back",
                )
            )

    # --- signed heads -------------------------------------------------------------------------------------

    def signed_heads(self) -> None:
        report = self.report
        rows = list(LedgerSigningKey.objects.order_by("activated_at", "pk"))
        log_keys = _log_keys(rows)
        by_id = {key.key_id: key for key in log_keys}
        report.keys = len(rows)
        uses: list[HeadKeyUse] = []
        previous = None
        for number, sth in enumerate(self.heads, start=1):
            report.heads += 1
            label = f"signed head of size {sth.size} ({sth.time})"
            if sth.log_id != report.log_id:
                report.add(Finding("head", f"{label} names log {sth.log_id!r}, not {report.log_id!r}"))
            key = by_id.get(sth.key_id) if sth.key_id else None
            valid = False
            if key is not None:
                if bytes(sth.public_key) != key.public_key:
                    report.add(
                        Finding(
                            "head signature",
                            f"{label} carries public key {key_fingerprint(bytes(sth.public_key))[:16]}, not the "
                            f"key {key.key_id[:16]} it names",
                            record_type=HEAD_RECORD,
                            record_id=str(sth.pk),
                        )
                    )
                valid = self._head_signature(sth, label, key.public_key)
            uses.append(
                HeadKeyUse(
                    position=number - 1,
                    size=sth.size,
                    time=sth.time,
                    key_id=sth.key_id or None,
                    next_key_id=sth.next_key_id or None,
                    signature_valid=valid,
                )
            )
            self._head_root(sth, label)
            if previous is not None and previous.size > 0:
                self._consistency(previous, sth)
            previous = sth
            self._tick("heads", number, len(self.heads))
        self._key_history(rows, log_keys, uses)

    def _key_history(
        self, rows: list[LedgerSigningKey], log_keys: list[LogKey], uses: list[HeadKeyUse]
    ) -> None:
        """Report every rule of key use a head or the key history breaks, naming the head or the key record."""
        chain = key_chain(log_keys, uses)
        self.report.handovers = len(chain.handovers)
        row_of = {row.key_id: row for row in rows}
        for problem in chain.problems:
            if problem.position is not None and problem.check in (HEAD_KEY, KEY_HANDOVER):
                record_type, record_id = HEAD_RECORD, str(self.heads[problem.position].pk)
            elif problem.key_id in row_of:
                record_type, record_id = KEY_RECORD, str(row_of[problem.key_id].pk)
            else:
                record_type, record_id = None, None
            self.report.add(Finding(problem.check, problem.message, None, record_type, record_id))

    def _head_signature(self, sth: SignedTreeHead, label: str, key: bytes) -> bool:
        try:
            verify_head_signature(key, to_tree_head(sth), bytes(sth.signature))
        except (SignatureError, ValueError) as error:
            self.report.add(Finding("head signature", f"{label}: {error}", None, HEAD_RECORD, str(sth.pk)))
            return False
        return True

    def _head_root(self, sth: SignedTreeHead, label: str) -> None:
        recomputed = self.roots_at.get(sth.size)
        if recomputed is None:
            self.report.add(
                Finding(
                    "head root",
                    f"{label} covers {sth.size} entries but the ledger holds only "
                    f"{self.frontier.size}: entries were removed",
                    self.frontier.size,
                )
            )
        elif recomputed != bytes(sth.root):
            self.report.add(
                Finding(
                    "head root",
                    f"{label}: the signed root does not match the root recomputed "
                    "from the entries; an entry it covers was altered, removed or inserted",
                )
            )

    def _consistency(self, old: SignedTreeHead, new: SignedTreeHead) -> None:
        self.report.consistency_pairs += 1
        try:
            proof = consistency_proof(old.size, new.size)
            merkle.verify_consistency(old.size, new.size, proof, bytes(old.root), bytes(new.root))
        except (merkle.ProofError, MissingNode) as error:
            self.report.add(
                Finding(
                    "consistency",
                    f"signed head of size {new.size} is not shown consistent with "
                    f"the one of size {old.size}: {error}",
                )
            )

    # --- schema re-baselines (decision 0010) -------------------------------------------------------------

    def rebaselines(self) -> None:
        """Each re-baseline entry may only add and drop fields of the record's entry before it, and says so."""
        for start in range(0, len(self.rebaseline_entries), 500):
            batch = self.rebaseline_entries[start : start + 500]
            by_type: dict[str, set[str]] = {}
            for _seq, record_type, record_id in batch:
                by_type.setdefault(record_type, set()).add(record_id)
            history: dict[tuple[str, str], list[tuple[int, bytes]]] = {}
            top = max(seq for seq, _type, _id in batch)
            for record_type, ids in by_type.items():
                rows = LedgerEntry.objects.filter(record_type=record_type, record_id__in=ids, seq__lte=top)
                for record_id, seq, canonical in rows.order_by("seq").values_list(
                    "record_id", "seq", "canonical"
                ):
                    history.setdefault((record_type, record_id), []).append((seq, bytes(canonical)))
            for seq, record_type, record_id in batch:
                self._rebaseline(seq, record_type, record_id, history.get((record_type, record_id), []))

    def _rebaseline(
        self, seq: int, record_type: str, record_id: str, history: list[tuple[int, bytes]]
    ) -> None:
        entries = dict(history)
        entry = entry_document(entries.get(seq))
        if entry is None or entry.get("event") != REBASELINE_EVENT:
            return  # the marker sat inside a value; the entry is not a re-baseline
        self.report.rebaselines += 1
        earlier = [number for number, _data in history if number < seq]
        previous = entry_document(entries[earlier[-1]]) if earlier else None
        problems = rebaseline_entry_problems(entry, previous)
        if earlier:
            problems += rebaseline_continues_problems(entry, earlier[-1])
        for problem in problems:
            self.report.add(
                Finding("rebaseline", f"this schema re-baseline {problem}", seq, record_type, record_id)
            )

    # --- replay -----------------------------------------------------------------------------------------

    def replay(self) -> None:
        sources = replay_sources()
        known = {source.record_type for source in sources}
        assert self.last_states is not None
        for record_type in sorted(set(self.last_states) - known):
            self.report.add(
                Finding(
                    "replay",
                    "the ledger holds entries of a record type that has no table in this installation",
                    record_type=record_type,
                )
            )
        # For the progress only: the records the ledger holds, what the rows should number (no COUNT per table).
        total = sum(len(by_id) for by_id in self.last_states.values())
        empty = _empty_tables([source for source in sources if source.record_type not in self.last_states])
        for source in sources:
            self.report.record_types += 1
            if source.model._meta.db_table in empty:
                continue  # no entry and no row: nothing to replay, known without a query of its own
            self._replay_source(source, total, self.last_states.pop(source.record_type, {}))

    def _replay_source(
        self, source: ReplaySource, total: int, last: dict[str, tuple[int, bytes | None]]
    ) -> None:
        """Each row's state against its record's last entry; the rows are value tuples where the state allows."""
        columns = source.value_columns()
        converters = tuple(convert for _name, convert in columns or ())
        names = tuple(name for name, _convert in columns or ())
        batches = source.value_rows(self.chunk) if columns is not None else source.rows(self.chunk)
        for rows in batches:
            for row in rows:
                if columns is not None:
                    record_id = str(row[0])
                    state = {
                        name: convert(value)
                        for name, convert, value in zip(names, converters, row[1:], strict=True)
                    }
                else:
                    record_id, state = str(row.pk), source.state(row)
                found = last.pop(record_id, None)
                if found is None:
                    self.report.add(
                        Finding(
                            "replay",
                            "row has no ledger entry: inserted behind the application's back",
                            None,
                            source.record_type,
                            record_id,
                        )
                    )
                else:
                    current = canonical_bytes(state)
                    # RFC 8785 is compositional: the state inside the entry's bytes is the state's own
                    # canonical form, so equal digests mean equal states.
                    if found[1] != _sha256(current).digest():
                        seq = found[0]
                        entry = entries_by_seq([seq]).get(seq)
                        self._compare_row(source, record_id, current, seq, entry)
                self.report.records += 1
            self._tick("records", self.report.records, total)
        for record_id, (seq, _digest) in sorted(last.items()):
            self.report.add(
                Finding(
                    "replay",
                    "the ledger holds this record but its row is gone: deleted behind the application's back",
                    seq,
                    source.record_type,
                    record_id,
                )
            )

    @property
    def schema_history(self) -> SchemaHistory:
        # Loaded from the migration graph only when a row needs it.
        if self._schema_history is None:
            self._schema_history = SchemaHistory.load()
        return self._schema_history

    def _compare_row(
        self, source: ReplaySource, record_id: str, current: bytes, seq: int, entry: bytes | None
    ) -> None:
        """Report how a row differs from its last entry: a schema change (decision 0010) or tampering."""
        if entry is not None and entry_state_bytes(seq, entry) == current:
            return
        ledger_state = entry_state(entry)
        check = "replay"
        if not isinstance(ledger_state, dict):
            message = "the last entry of this record carries no readable state"
        else:
            current_state = json.loads(current)
            difference = state_difference(ledger_state, current_state)
            if difference.schema_only:
                # Decision 0010: a schema change, not tampering; still a failure until it is re-baselined.
                check = "schema"
                message = (
                    f"{self.schema_history.describe(source.record_type, difference.added, difference.removed)}, "
                    f"not yet re-baselined; run `cellchain ledger rebaseline --reason ...`"
                )
            else:
                details = "; ".join(
                    f"{name}: {_show(ledger_state.get(name, _ABSENT))} in the ledger, "
                    f"{_show(current_state.get(name, _ABSENT))} in the table"
                    for name in (difference.changed or difference.added + difference.removed)[:5]
                )
                message = f"row differs from its last ledger entry (changed behind the application's back): {details}"
                if difference.changed and (difference.added or difference.removed):
                    shape = self.schema_history.describe(
                        source.record_type, difference.added, difference.removed
                    )
                    message += f"; besides, {shape} (a re-baseline will not accept this row)"
        self.report.add(Finding(check, message, seq, source.record_type, record_id))


HEAD_RECORD = SignedTreeHead._meta.label_lower
KEY_RECORD = LedgerSigningKey.ledger_record_type()


def _log_keys(rows: list[LedgerSigningKey]) -> list[LogKey]:
    """The key history as the domain checks it; a predecessor row that is gone shows as `row N`."""
    ids = {row.pk: row.key_id for row in rows}
    return [
        LogKey(
            key_id=row.key_id,
            public_key=bytes(row.public_key),
            activated_at=utc_time(row.activated_at),
            retired_at=None if row.retired_at is None else utc_time(row.retired_at),
            predecessor=None
            if row.predecessor_id is None
            else ids.get(row.predecessor_id, f"row {row.predecessor_id}"),
        )
        for row in rows
    ]


_ABSENT = object()


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(no such field)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else f"{text[:57]}..."


def verify_ledger(
    *, progress: Progress | None = None, chunk: int = 2000, replay: bool = True
) -> LedgerReport:
    """Verify the whole ledger and replay it against the regulated tables; returns the report (never raises
    for a finding). `chunk` is how many entries or rows are read per query."""
    active = active_key()
    report = LedgerReport(
        log_id=settings.CELLCHAIN_LEDGER_LOG_ID,
        key_fingerprint=active.key_id if active is not None else "(no signing key registered yet)",
    )
    head = LedgerHead.objects.filter(pk=1).first()
    report.head_size = head.size if head else 0
    verifier = _Verifier(report, progress, chunk, replay)
    verifier.entries()
    if report.entries != report.head_size and report.entries > report.head_size:
        report.add(
            Finding(
                "sequence",
                f"{report.entries} entries are stored but the head row says {report.head_size}: "
                "entries were inserted behind the application's back",
                report.head_size,
            )
        )
    verifier.extra_nodes()
    verifier.rebaselines()
    verifier.signed_heads()
    if replay:
        verifier.replay()
    return report
