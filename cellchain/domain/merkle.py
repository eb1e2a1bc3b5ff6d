"""RFC 9162 Merkle tree arithmetic for the record ledger (REGULATORY.md #9 and #45, T-6.3, X-3).

The ledger is an append-only Merkle tree as defined in RFC 9162 §2.1 (the same tree as RFC 6962):
leaf hash = SHA-256(0x00 || entry), node hash = SHA-256(0x01 || left || right), and the root of the
empty tree is SHA-256 of the empty string.

Storage model: only hashes of *perfect aligned subtrees* are kept, keyed by ``(level, index)``.
Level 0 holds the leaf hashes; node ``(L, i)`` covers the leaves ``[i * 2**L, (i + 1) * 2**L)``.
Such a node never changes once its last leaf is appended, so the table is append-only like the ledger.
Any other subtree (the right edge of a tree whose size is not a power of two) is the fold of at most
``log2(n)`` perfect ones, which is how roots and proofs are computed in O(log n) node reads without
touching the leaves.

Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step, after
explicit checks that give a reason a person can act on (``ProofError``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
"""Bytes in a SHA-256 digest: every leaf hash, node hash, root and proof element has this size."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the tree with no leaves (RFC 9162 §2.1.1: MTH({}) = HASH())."""

NodeReader = Callable[[int, int], bytes]
"""Returns the stored hash of the perfect aligned subtree ``(level, index)``."""

NodeRow = tuple[int, int, bytes]
"""A node to store: ``(level, index, hash)``."""


class ProofError(ValueError):
    """A Merkle proof, or the arguments asking for one, does not hold; ``code`` names the failed check.

    Codes: ``negative``, ``index_out_of_range``, ``size_zero``, ``sizes_reversed``, ``hash_size``,
    ``proof_length``, ``root_mismatch``.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def leaf_hash(entry: bytes) -> bytes:
    """Hash of one ledger entry as a leaf: SHA-256(0x00 || entry) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(width: int) -> int:
    """The largest power of two strictly below ``width`` (``k`` in RFC 9162 §2.1.1), for width >= 2."""
    return 1 << ((width - 1).bit_length() - 1)


def _perfect_cover(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect aligned subtrees ``(level, index)`` that tile ``[start, end)``, left to right.

    RFC 9162 only ever asks for ranges whose start is a multiple of the left part's width, so every
    greedy chunk is aligned; a misaligned range is a programming error and is refused.
    """
    cover = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ValueError(f"range [{start}, {end}) is not made of aligned subtrees")
        cover.append((level, start >> level))
        start += 1 << level
    return cover


def _subtree_hash(start: int, end: int, read: NodeReader) -> bytes:
    """MTH(D[start:end]) from stored perfect subtrees: fold their hashes from the right."""
    cover = _perfect_cover(start, end)
    level, index = cover[-1]
    accumulated = read(level, index)
    for level, index in reversed(cover[:-1]):
        accumulated = node_hash(read(level, index), accumulated)
    return accumulated


def _require_natural(**values: int) -> None:
    for name, value in values.items():
        if value < 0:
            raise ProofError(f"{name} must not be negative, got {value}", code="negative")


def nodes_completed_by_append(size_before: int, leaf: bytes, read: NodeReader) -> list[NodeRow]:
    """Rows to store when leaf number ``size_before`` (0-based) is appended.

    ``leaf`` is the leaf *hash*, ``leaf_hash(entry)``, which the ledger stores beside the entry. The rows
    are that hash at level 0 and every perfect subtree the leaf completes, lowest level first; on
    average there are two, so appending is amortised O(1).
    """
    _require_natural(size_before=size_before)
    _require_hash("leaf hash", leaf)
    accumulated, level, index = leaf, 0, size_before
    rows: list[NodeRow] = [(0, index, accumulated)]
    while index & 1:
        accumulated = node_hash(read(level, index - 1), accumulated)
        level, index = level + 1, index >> 1
        rows.append((level, index, accumulated))
    return rows


def root(size: int, read: NodeReader) -> bytes:
    """Merkle tree hash MTH(D[0:size]) (RFC 9162 §2.1.1), from at most log2(size) + 1 node reads."""
    _require_natural(size=size)
    if size == 0:
        return EMPTY_ROOT
    return _subtree_hash(0, size, read)


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """Inclusion proof PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, deepest sibling first.

    Walks the RFC recursion from the top. Only the first step into a left half needs a folded right
    sibling; below that every subtree is perfect, so the walk reads O(log size) nodes.
    """
    _require_natural(index=index, size=size)
    if index >= size:
        raise ProofError(f"leaf index {index} is not below tree size {size}", code="index_out_of_range")
    path = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            path.append(_subtree_hash(middle, end, read))
            end = middle
        else:
            path.append(_subtree_hash(start, middle, read))
            start = middle
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, read: NodeReader) -> list[bytes]:
    """Consistency proof PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) of RFC 9162 §2.1.4.1.

    Defined for 0 < m <= n; the proof for m == n is empty.
    """
    _require_natural(old_size=old_size, new_size=new_size)
    if old_size == 0:
        raise ProofError("no consistency proof exists from the empty tree (size 0)", code="size_zero")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} exceeds new size {new_size}", code="sizes_reversed")
    path = []
    start, end, inside_old, whole = 0, new_size, old_size, True
    while inside_old != end - start:
        middle = start + _split(end - start)
        if start + inside_old <= middle:
            path.append(_subtree_hash(middle, end, read))
            end = middle
        else:
            path.append(_subtree_hash(start, middle, read))
            inside_old -= middle - start
            start, whole = middle, False
    if not whole:
        path.append(_subtree_hash(start, end, read))
    path.reverse()
    return path


def nodes_needed(compute: Callable[[NodeReader], object]) -> list[tuple[int, int]]:
    """The ``(level, index)`` nodes ``compute`` will read, so a database can fetch them in one query.

    Which nodes ``root``, ``inclusion_proof`` and ``consistency_proof`` read depends only on the sizes,
    never on the hashes, so a dry run with placeholder hashes lists them exactly. Example:
    ``nodes_needed(lambda read: inclusion_proof(5, 1000, read))``.
    """
    wanted: dict[tuple[int, int], None] = {}

    def record(level: int, index: int) -> bytes:
        wanted[(level, index)] = None
        return bytes(HASH_SIZE)

    compute(record)
    return list(wanted)


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in PATH(index, D[0:size]), for 0 <= index < size."""
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner + border


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """Number of hashes in PROOF(m, D[0:n]), for 0 < m <= n."""
    if old_size == new_size:
        return 0
    shift = (old_size & -old_size).bit_length() - 1
    inner = (((old_size - 1) ^ (new_size - 1)) >> shift).bit_length()
    border = ((old_size - 1) >> shift >> inner).bit_count()
    seed = 0 if old_size == 1 << shift else 1
    return seed + inner + border


def _require_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes; a SHA-256 hash is {HASH_SIZE}", code="hash_size")


def _require_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, element in enumerate(proof):
        _require_hash(f"proof[{position}]", element)


def _require_length(proof: Sequence[bytes], expected: int, what: str) -> None:
    if len(proof) != expected:
        raise ProofError(
            f"{what} has {len(proof)} hashes; it must have exactly {expected}", code="proof_length"
        )


def _shift_until(fn: int, sn: int, *, lsb_set: bool) -> tuple[int, int]:
    """Right-shift fn and sn together until LSB(fn) equals ``lsb_set`` or fn is 0."""
    while fn and bool(fn & 1) != lsb_set:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion proof: RFC 9162 §2.1.3.2 steps 2-5 (without the comparison).

    Raises ``ProofError`` when the proof runs past the top of the tree or stops short of it.
    """
    fn, sn, accumulated = index, size - 1, leaf
    for element in proof:
        if sn == 0:
            raise ProofError("proof continues past the root of the tree", code="proof_length")
        if fn & 1 or fn == sn:
            accumulated = node_hash(element, accumulated)
            fn, sn = _shift_until(fn, sn, lsb_set=True)
        else:
            accumulated = node_hash(accumulated, element)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof stops below the root of the tree", code="proof_length")
    return accumulated


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` (a leaf *hash*) sits at ``index`` in the tree of ``size`` with ``root``.

    RFC 9162 §2.1.3.2, preceded by explicit checks on the index, hash sizes and proof length.
    Returns None when the proof holds; otherwise raises ``ProofError`` naming the failed check.
    """
    _require_natural(index=index, size=size)
    if index >= size:
        raise ProofError(f"leaf index {index} is not below tree size {size}", code="index_out_of_range")
    _require_hash("leaf hash", leaf)
    _require_hash("root", root)
    _require_proof_hashes(proof)
    _require_length(proof, inclusion_proof_length(index, size), "inclusion proof")
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(
            f"inclusion proof for leaf {index} does not lead to the root of tree size {size}",
            code="root_mismatch",
        )


def _consistency_roots(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps 2-6: the (old, new) roots the proof implies, for 0 < m < n."""
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = _shift_until(old_size - 1, new_size - 1, lsb_set=False)
    old_acc = new_acc = path[0]
    for element in path[1:]:
        if sn == 0:
            raise ProofError("proof continues past the root of the new tree", code="proof_length")
        if fn & 1 or fn == sn:
            old_acc, new_acc = node_hash(element, old_acc), node_hash(element, new_acc)
            fn, sn = _shift_until(fn, sn, lsb_set=True)
        else:
            new_acc = node_hash(new_acc, element)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("proof stops below the root of the new tree", code="proof_length")
    return old_acc, new_acc


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends the one of ``old_size``/``old_root``.

    RFC 9162 §2.1.4.2, preceded by explicit checks. A proof from size 0 is refused (even 0 -> 0): it
    proves nothing. For m == n the proof must be empty and the roots equal. Returns None when the
    proof holds; otherwise raises ``ProofError`` naming the failed check.
    """
    _require_natural(old_size=old_size, new_size=new_size)
    if old_size == 0:
        raise ProofError("consistency from the empty tree (size 0) proves nothing", code="size_zero")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} exceeds new size {new_size}", code="sizes_reversed")
    _require_hash("old root", old_root)
    _require_hash("new root", new_root)
    _require_proof_hashes(proof)
    _require_length(proof, consistency_proof_length(old_size, new_size), "consistency proof")
    if old_size == new_size:
        implied_old = implied_new = old_root
    else:
        implied_old, implied_new = _consistency_roots(old_size, new_size, proof, old_root)
    if implied_old != old_root or implied_new != new_root:
        raise ProofError(
            f"tree of size {new_size} is not consistent with the tree of size {old_size}: "
            f"{'old' if implied_old != old_root else 'new'} root does not match the proof",
            code="root_mismatch",
        )


class MemoryNodeStore:
    """In-memory node table for tests and benches: one list per level, indexed as the ledger table is.

    Levels fill strictly left to right, so a list per level holds exactly the rows a ``(level, index)``
    keyed table would, with less memory than a dict (this matters at a million leaves).
    """

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = []

    @property
    def size(self) -> int:
        """Number of leaves appended."""
        return len(self._levels[0]) if self._levels else 0

    def read(self, level: int, index: int) -> bytes:
        """The stored hash of node ``(level, index)``; ``KeyError`` if that subtree is not complete."""
        if level < len(self._levels) and 0 <= index < len(self._levels[level]):
            return self._levels[level][index]
        raise KeyError((level, index))

    def store(self, rows: Sequence[NodeRow]) -> None:
        """Keep rows from ``nodes_completed_by_append``; each must be the next node of its level."""
        for level, index, digest in rows:
            if level == len(self._levels):
                self._levels.append([])
            if index != len(self._levels[level]):
                raise ValueError(f"node ({level}, {index}) is not the next node of level {level}")
            self._levels[level].append(digest)

    def append(self, entry: bytes) -> int:
        """Append one entry; return its leaf index."""
        index = self.size
        self.store(nodes_completed_by_append(index, leaf_hash(entry), self.read))
        return index

    def root(self, size: int | None = None) -> bytes:
        """Root of the tree of ``size`` leaves (default: all)."""
        return root(self.size if size is None else size, self.read)
