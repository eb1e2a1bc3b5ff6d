"""Bench: RFC 9162 inclusion proofs stay O(log n) as the ledger grows, and compare with pymerkle.

(a) Inclusion-proof time on MemoryNodeStore at --large leaves (default 10^6) against --small leaves
    (default 10^3): absolute microseconds per proof and the ratio (target <= 3).
(b) The same append + inclusion-proof workload (--peer-size leaves, default 10^6) on pymerkle's
    InmemoryTree, the baseline: appends/s and proofs/s for both and the ratio. pymerkle is GPL and a
    bench-only dependency, so it is imported only here, inside the function that uses it.

Run: .venv/bin/python bench/bench_merkle.py [--large N] [--small N] [--proofs N] [--peer-size N]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence

from cellchain.domain.merkle import MemoryNodeStore, inclusion_proof, leaf_hash, verify_inclusion

TARGET_RATIO = 3.0


def entry(position: int) -> bytes:
    """A stand-in ledger entry of realistic size (canonical entries are a few hundred bytes)."""
    return b'{"action":"batch:release","actor":{"id":7},"seq":%d,"state":{"lot":"LOT-%d"}}' % (
        position,
        position,
    )


def build_store(size: int) -> tuple[MemoryNodeStore, float]:
    """Append ``size`` entries one by one (nodes_completed_by_append); return the store and seconds taken."""
    store = MemoryNodeStore()
    started = time.perf_counter()
    for position in range(size):
        store.append(entry(position))
    return store, time.perf_counter() - started


def best_of(repeats: int, run: Callable[[], None]) -> float:
    """Smallest wall time of ``repeats`` runs, in seconds: the least disturbed by other processes."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def proof_microseconds(store: MemoryNodeStore, indexes: Sequence[int], repeats: int) -> float:
    size, read = store.size, store.read

    def run() -> None:
        for index in indexes:
            inclusion_proof(index, size, read)

    return best_of(repeats, run) / len(indexes) * 1e6


def check_sample(store: MemoryNodeStore, indexes: Sequence[int]) -> None:
    """Untimed: a sample of the timed proofs really verify against the root."""
    tree_root = store.root()
    for index in indexes[:200]:
        verify_inclusion(
            index,
            store.size,
            leaf_hash(entry(index)),
            inclusion_proof(index, store.size, store.read),
            tree_root,
        )


def scaling(large: MemoryNodeStore, small_size: int, proofs: int, repeats: int, rng: random.Random) -> None:
    small, _ = build_store(small_size)
    small_indexes = [rng.randrange(small.size) for _ in range(proofs)]
    large_indexes = [rng.randrange(large.size) for _ in range(proofs)]
    check_sample(small, small_indexes)
    check_sample(large, large_indexes)
    small_us = proof_microseconds(small, small_indexes, repeats)
    large_us = proof_microseconds(large, large_indexes, repeats)
    ratio = large_us / small_us
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"(a) inclusion proof, MemoryNodeStore, {proofs} random leaves, best of {repeats}:")
    print(f"    {small.size:>9,} leaves: {small_us:8.2f} us/proof (baseline)")
    print(f"    {large.size:>9,} leaves: {large_us:8.2f} us/proof")
    print(f"    ratio large/small: {ratio:.2f} ({verdict} the target of {TARGET_RATIO:g})")


def pymerkle_workload(size: int, indexes: Sequence[int]) -> tuple[float, float, bytes]:
    """Append ``size`` entries to pymerkle's InmemoryTree, then prove ``indexes``; return the rates and root."""
    from pymerkle import InmemoryTree  # GPL: bench-only, never imported by the product

    tree = InmemoryTree(algorithm="sha256")
    started = time.perf_counter()
    for position in range(size):
        tree.append_entry(entry(position))
    append_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for index in indexes:
        tree.prove_inclusion(index + 1, size)  # pymerkle counts leaves from one
    proof_seconds = time.perf_counter() - started
    return size / append_seconds, len(indexes) / proof_seconds, tree.get_root()


def versus_pymerkle(store: MemoryNodeStore, build_seconds: float, proofs: int, rng: random.Random) -> None:
    size = store.size
    indexes = [rng.randrange(size) for _ in range(proofs)]
    started = time.perf_counter()
    for index in indexes:
        inclusion_proof(index, size, store.read)
    ours_proofs = proofs / (time.perf_counter() - started)
    ours_appends = size / build_seconds
    peer_appends, peer_proofs, peer_root = pymerkle_workload(size, indexes)
    print(f"(b) append {size:,} entries then {proofs} inclusion proofs; baseline pymerkle InmemoryTree:")
    print(f"    {'':18} {'appends/s':>12} {'proofs/s':>12}")
    print(f"    {'cellchain merkle':18} {ours_appends:12,.0f} {ours_proofs:12,.0f}")
    print(f"    {'pymerkle 7':18} {peer_appends:12,.0f} {peer_proofs:12,.0f}")
    print(
        f"    ratio cellchain/pymerkle: appends {ours_appends / peer_appends:.2f}x, proofs {ours_proofs / peer_proofs:.2f}x"
    )
    print(f"    same RFC 9162 root as pymerkle: {'yes' if peer_root == store.root() else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=1_000_000, help="leaves in the large tree")
    parser.add_argument("--small", type=int, default=1_000, help="leaves in the baseline tree")
    parser.add_argument("--proofs", type=int, default=20_000, help="inclusion proofs timed per tree")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best is kept)")
    parser.add_argument("--peer-size", type=int, default=None, help="leaves for (b); default: --large")
    parser.add_argument("--peer-proofs", type=int, default=5_000, help="inclusion proofs in (b)")
    parser.add_argument("--seed", type=int, default=9162)
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    started = time.perf_counter()
    large, build_seconds = build_store(arguments.large)
    print(
        f"built {large.size:,} leaves by appending one at a time (nodes_completed_by_append): "
        f"{build_seconds:.1f} s, {build_seconds / large.size * 1e6:.2f} us/append"
    )
    scaling(large, arguments.small, arguments.proofs, arguments.repeats, rng)
    peer_size = arguments.peer_size or arguments.large
    if peer_size != large.size:
        large, build_seconds = build_store(peer_size)
    versus_pymerkle(large, build_seconds, arguments.peer_proofs, rng)
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
