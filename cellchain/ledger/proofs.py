"""Roots and RFC 9162 proofs from the stored subtree hashes, in one query each (issue 3 items 2-3).

The Merkle arithmetic (`cellchain.domain.merkle`) asks for nodes one at a time through a reader. Its walk
depends only on sizes and indexes, never on hash values, so a first dry run with a recording reader learns
which O(log n) nodes are needed; one query fetches them all; the second run computes with real hashes.
A proof at a million entries then costs the same single query as one at a thousand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import connection

from cellchain.domain import merkle
from cellchain.ledger.models import LedgerEntry, LedgerNode

_PLACEHOLDER = bytes(merkle.HASH_SIZE)


class MissingNode(LookupError):
    """A subtree hash the tree needs is not stored: the node table was damaged (run `ledger verify`)."""


def fetch_nodes(keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Return the stored hashes of the given (level, index) nodes: leaves from the entries' `leaf_hash`,
    higher levels from the node table; one query per 200 nodes."""
    wanted = sorted(set(keys))
    q = connection.ops.quote_name
    found: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(wanted), 200):
        chunk = wanted[start : start + 200]
        leaves = [index for level, index in chunk if level == 0]
        nodes = [value for level, index in chunk if level > 0 for value in (level, index)]
        parts, params = [], []
        if leaves:
            parts.append(
                f"SELECT 0, {q('seq')}, {q('leaf_hash')} FROM {q(LedgerEntry._meta.db_table)} "  # noqa: S608
                f"WHERE {q('seq')} IN ({', '.join(['%s'] * len(leaves))})"
            )
            params += leaves
        if nodes:
            where = " OR ".join([f"({q('level')} = %s AND {q('index')} = %s)"] * (len(nodes) // 2))
            table = q(LedgerNode._meta.db_table)
            parts.append(f"SELECT {q('level')}, {q('index')}, {q('hash')} FROM {table} WHERE {where}")  # noqa: S608
            params += nodes
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            found.update({(level, index): bytes(digest) for level, index, digest in cursor.fetchall()})
    return found


def with_stored_nodes[T](compute: Callable[[merkle.NodeReader], T]) -> T:
    """Run `compute(read)` against the node table, fetching every node it needs in one query."""
    wanted: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return _PLACEHOLDER

    compute(record)
    found = fetch_nodes(wanted)

    def read(level: int, index: int) -> bytes:
        try:
            return found[(level, index)]
        except KeyError:
            raise MissingNode(f"ledger tree node (level {level}, index {index}) is not stored") from None

    return compute(read)


def tree_root(size: int) -> bytes:
    """Return the RFC 9162 root of the first `size` entries."""
    return with_stored_nodes(lambda read: merkle.root(size, read))


def inclusion_proof(seq: int, size: int) -> list[bytes]:
    """Return PATH(seq, D[0:size]) (RFC 9162 §2.1.3.1), deepest sibling first."""
    return with_stored_nodes(lambda read: merkle.inclusion_proof(seq, size, read))


def consistency_proof(old_size: int, new_size: int) -> list[bytes]:
    """Return PROOF(old_size, D[0:new_size]) (RFC 9162 §2.1.4.1)."""
    return with_stored_nodes(lambda read: merkle.consistency_proof(old_size, new_size, read))


def leaf_hash(seq: int) -> bytes:
    """Return the stored leaf hash of entry `seq` (level 0 of the tree)."""
    found = fetch_nodes([(0, seq)])
    if (0, seq) not in found:
        raise MissingNode(f"no leaf for entry seq {seq}")
    return found[(0, seq)]


def fetch_node_map(keys: Iterable[tuple[int, int]], *, per_query: int = 900) -> dict[tuple[int, int], bytes]:
    """The stored hashes of many (level, index) nodes at once: `level = L AND index IN (...)` per level, in
    queries of at most `per_query` parameters, so thousands of proof nodes cost a handful of queries (issue 14
    item 6, the proofs of a dossier's entries; `fetch_nodes` pairs every level with its index)."""
    by_level: dict[int, list[int]] = {}
    for level, index in sorted(set(keys)):
        by_level.setdefault(level, []).append(index)
    q = connection.ops.quote_name
    entry_table, node_table = q(LedgerEntry._meta.db_table), q(LedgerNode._meta.db_table)
    parts: list[tuple[str, list[int]]] = []
    for level, indexes in by_level.items():
        for start in range(0, len(indexes), per_query - 1):
            chunk = indexes[start : start + per_query - 1]
            marks = ", ".join(["%s"] * len(chunk))
            if level == 0:
                sql = (
                    f"SELECT 0, {q('seq')}, {q('leaf_hash')} FROM {entry_table} WHERE {q('seq')} IN ({marks})"  # noqa: S608
                )
                parts.append((sql, chunk))
            else:
                sql = (
                    f"SELECT {q('level')}, {q('index')}, {q('hash')} FROM {node_table} "  # noqa: S608
                    f"WHERE {q('level')} = %s AND {q('index')} IN ({marks})"
                )
                parts.append((sql, [level, *chunk]))
    found: dict[tuple[int, int], bytes] = {}
    while parts:
        batch, params = [], []
        while parts and (not batch or len(params) + len(parts[0][1]) <= per_query):
            sql, values = parts.pop(0)
            batch.append(sql)
            params += values
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(batch), params)
            found.update({(level, index): bytes(digest) for level, index, digest in cursor.fetchall()})
    return found
