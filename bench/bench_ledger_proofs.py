"""Bench: inclusion proofs from the database node store at 10^6 entries against 10^3 (issue 3, target <= 3).

Proofs are served the way the API serves them (`cellchain.ledger.proofs`): the O(log n) subtree hashes a proof
needs are worked out first and fetched in one query from `ledger_ledgernode` (levels >= 1) and
`ledger_ledgerentry.leaf_hash` (level 0). The large ledger is populated IN BULK, directly: --large entries with
synthetic canonical bytes and their leaf hashes, and every perfect subtree hash computed with the domain's
Merkle code, inserted with executemany into the real tables (appending a million entries one by one through
`ledger_append` would take most of the bench's time budget). The small one is populated the same way.

Printed: microseconds per inclusion proof (path only, and path + leaf + root as `/api/ledger/proofs/inclusion`
returns it) at both sizes, and the ratio large/small. Each proof is verified against the tree's root (RFC 9162
§2.1.3.2) outside the timing. SQLite file databases with the production settings, in child processes.

Run: .venv/bin/python bench/bench_ledger_proofs.py [--large N] [--small N] [--proofs N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 3.0
REPO = Path(__file__).resolve().parents[1]


def populate(size: int) -> float:
    """Fill the entry and node tables with `size` synthetic entries; returns seconds taken."""
    import datetime as dt

    from django.db import connection, transaction

    from cellchain.domain.merkle import leaf_hash, node_hash

    started = time.perf_counter()
    stamp = connection.ops.adapt_datetimefield_value(dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
    level: list[bytes] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for first in range(0, size, 50_000):
            rows = []
            for seq in range(first, min(first + 50_000, size)):
                data = b'{"action":"create","record":{"id":"%d","type":"bench.record"},"seq":%d}' % (seq, seq)
                leaf = leaf_hash(data)
                level.append(leaf)
                rows.append((seq, stamp, None, "bench.record", str(seq), "create", "bench:fill", data, leaf))
            cursor.executemany(
                "INSERT INTO ledger_ledgerentry (seq, recorded_at, actor_id, record_type, record_id, action, event, "
                "canonical, leaf_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        height = 0
        while len(level) > 1:
            height += 1
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            cursor.executemany(
                'INSERT INTO ledger_ledgernode (level, "index", hash) VALUES (%s, %s, %s)',
                [(height, index, digest) for index, digest in enumerate(level)],
            )
        cursor.execute("INSERT INTO ledger_ledgerhead (id, size) VALUES (1, %s)", [size])
    return time.perf_counter() - started


def worker(size: int, proofs: int) -> dict[str, float]:
    import random

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from cellchain.domain.merkle import verify_inclusion
    from cellchain.ledger import proofs as ledger_proofs

    fill_s = populate(size)
    root = ledger_proofs.tree_root(size)
    rng = random.Random(size)
    seqs = [rng.randrange(size) for _ in range(proofs)]
    for seq in seqs[:20]:
        verify_inclusion(
            seq, size, ledger_proofs.leaf_hash(seq), ledger_proofs.inclusion_proof(seq, size), root
        )

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for seq in seqs:
                fn(seq)
            best = min(best, (time.perf_counter() - started) / len(seqs))
        return best * 1e6

    path_us = timed(lambda seq: ledger_proofs.inclusion_proof(seq, size))
    api_us = timed(
        lambda seq: (
            ledger_proofs.inclusion_proof(seq, size),
            ledger_proofs.leaf_hash(seq),
            ledger_proofs.tree_root(size),
        )
    )
    return {"size": size, "fill_s": fill_s, "path_us": path_us, "api_us": api_us}


def _child(tmp: str, size: int, proofs: int) -> dict[str, float]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "cellchain.project.settings")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    var = Path(tmp) / str(size)
    env.update(
        CELLCHAIN_VAR_DIR=str(var),
        CELLCHAIN_LEDGER_KEY_PATH=str(var / "bench.key"),
        CELLCHAIN_LOG_LEVEL="WARNING",
    )
    done = subprocess.run(
        [sys.executable, __file__, "--worker", str(size), "--proofs", str(proofs)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench worker failed:\n{done.stderr[-4000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--proofs", type=int, default=500)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(worker(arguments.worker, arguments.proofs)))
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cellchain-bench-") as tmp:
        small = _child(tmp, arguments.small, arguments.proofs)
        large = _child(tmp, arguments.large, arguments.proofs)
    print(
        f"inclusion proof from the SQLite node store, {arguments.proofs} random entries, best of 3 "
        f"(tables bulk-filled directly: {large['fill_s']:.1f} s for {arguments.large:,} entries):"
    )
    print(f"    {'entries':>10} {'path us/proof':>14} {'API us/proof':>13}")
    for result in (small, large):
        print(f"    {int(result['size']):>10,} {result['path_us']:14.1f} {result['api_us']:13.1f}")
    for label, key in (("path", "path_us"), ("API (path + leaf + root)", "api_us")):
        ratio = large[key] / small[key]
        verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
        print(
            f"    ratio {arguments.large:,}/{arguments.small:,} {label}: {ratio:.2f} ({verdict} the target of "
            f"{TARGET_RATIO:g})"
        )
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
