"""Bench: full `ledger verify` throughput against hashlib.sha256 over the same stored bytes (issue 3, target >= 0.5).

The ledger is filled through `ledger_append` with --records organisation records, each created and amended
--amends times (so --records x (1 + --amends) entries), and a signed head every 256 entries. Then, best of
--repeat runs:

  verify     `verify_ledger()`: every leaf rehashed and checked against the stored leaf hash, every stored
             subtree hash recomputed, every signed head's Ed25519 signature and root, the consistency proofs
             between heads, and the replay of every regulated table against the ledger;
  baseline   hashlib.sha256 over the same stored entry bytes, read from the same database in the same chunks
             (the least any verifier must do: read each entry and hash it once).

The throughput ratio is verify / baseline (entries per second); for context it also prints the ratio to
sha256 over the bytes already in memory, with no database read at all.

SQLite (a fresh file, production settings) and, when a server answers on 127.0.0.1:5432, a throwaway
PostgreSQL database created for the run and dropped after it; each in a child process.

Run: .venv/bin/python bench/bench_ledger_verify.py [--records N] [--amends N] [--repeat N] [--no-postgres]
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

TARGET_RATIO = 0.5
REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def worker(records: int, amends: int, repeat: int) -> dict[str, object]:
    import hashlib

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from cellchain.accounts.models import Organisation
    from cellchain.ledger.heads import head_issue
    from cellchain.ledger.records import record_amend, record_create
    from cellchain.ledger.verify import verify_ledger

    started = time.perf_counter()
    for first in range(0, records, 500):
        with transaction.atomic():
            batch = [
                record_create(
                    actor=None,
                    record=Organisation(
                        code=f"org-{n}", name="组织 Organisation", name_en="Org", kind="hospital"
                    ),
                    event="organisation:create",
                )
                for n in range(first, min(first + 500, records))
            ]
            for step in range(amends):
                for organisation in batch:
                    organisation.name_en = f"Org amended {step}"
                    record_amend(
                        actor=None,
                        record=organisation,
                        event="organisation:amend",
                        reason=f"bench amendment {step}",
                    )
        head_issue()
    fill_s = time.perf_counter() - started

    def read_and_hash() -> tuple[int, int]:
        count = total = 0
        last = -1
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT seq, canonical FROM ledger_ledgerentry WHERE seq > %s ORDER BY seq LIMIT 2000",
                    [last],
                )
                rows = cursor.fetchall()
            if not rows:
                return count, total
            for _seq, data in rows:
                hashlib.sha256(b"\x00" + bytes(data)).digest()
                count, total = count + 1, total + len(data)
            last = rows[-1][0]

    def best(fn):  # type: ignore[no-untyped-def]
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - began)
        return min(times), value

    baseline_s, (entries, size) = best(read_and_hash)
    verify_s, report = best(verify_ledger)
    integrity_s, _ = best(lambda: verify_ledger(replay=False))
    if not report.ok:
        raise SystemExit("\n".join(report.lines()))
    with connection.cursor() as cursor:
        cursor.execute("SELECT canonical FROM ledger_ledgerentry ORDER BY seq")
        blobs = [bytes(row[0]) for row in cursor.fetchall()]
    memory_s, _ = best(lambda: [hashlib.sha256(b"\x00" + blob).digest() for blob in blobs])
    return {
        "vendor": connection.vendor,
        "entries": entries,
        "bytes": size,
        "records": report.records,
        "heads": report.heads,
        "fill_s": fill_s,
        "verify_s": verify_s,
        "integrity_s": integrity_s,
        "baseline_s": baseline_s,
        "memory_s": memory_s,
    }


def _child(env: dict[str, str], arguments: argparse.Namespace) -> dict[str, object]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--records",
        str(arguments.records),
        "--amends",
        str(arguments.amends),
        "--repeat",
        str(arguments.repeat),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"bench worker failed:\n{done.stderr[-4000:]}{done.stdout[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _base_env(tmp: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "cellchain.project.settings")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(
        CELLCHAIN_VAR_DIR=tmp,
        CELLCHAIN_LEDGER_KEY_PATH=str(Path(tmp) / "bench.key"),
        CELLCHAIN_LOG_LEVEL="WARNING",
        # Production settings: with DEBUG on, Django logs every query, which taxes the ledger's extra queries.
        CELLCHAIN_DEBUG="false",
        SECRET_KEY="bench-only-" + "x" * 40,
    )
    return env


def _postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            return True
    except Exception:
        return False


def _postgres(env: dict[str, str], arguments: argparse.Namespace) -> dict[str, object]:
    import psycopg

    name = f"cellchain_bench_verify_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        return _child({**env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}"}, arguments)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument(
        "--amends", type=int, default=4, help="amendments per record (entries = records x (1+N))"
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(worker(arguments.records, arguments.amends, arguments.repeat)))
        return
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="cellchain-bench-") as tmp:
        env = _base_env(tmp)
        results.append(_child(env, arguments))
        if not arguments.no_postgres and _postgres_reachable():
            results.append(_postgres(env, arguments))
        elif not arguments.no_postgres:
            print("PostgreSQL not reachable on 127.0.0.1:5432: SQLite only")
    print(
        f"ledger verification, best of {arguments.repeat}; baseline = read + sha256 of the same stored bytes "
        "(throughput ratio = verify entries/s / baseline entries/s):"
    )
    print(
        f"    {'database':10} {'entries':>8} {'MB':>5} {'baseline/s':>11} {'integrity/s':>12} {'ratio':>6} "
        f"{'full/s':>9} {'ratio':>6}"
    )
    for r in results:
        entries = int(r["entries"])
        baseline = entries / float(r["baseline_s"])
        integrity, full = entries / float(r["integrity_s"]), entries / float(r["verify_s"])
        print(
            f"    {r['vendor']:10} {entries:8,} {int(r['bytes']) / 1e6:5.1f} {baseline:11,.0f} {integrity:12,.0f} "
            f"{integrity / baseline:6.2f} {full:9,.0f} {full / baseline:6.2f}"
        )
        print(
            f"    {'':10} full = integrity + replay of {r['records']} rows; {r['heads']} signed heads; "
            f"full vs sha256 of bytes already in memory: {float(r['memory_s']) / float(r['verify_s']):.3f}; "
            f"target {TARGET_RATIO:g}: {'met' if full / baseline >= TARGET_RATIO else 'NOT met'}"
        )
    print(
        "    integrity = leaves rehashed, stored tree nodes recomputed, signed heads and consistency proofs checked;"
    )
    print("    full      = integrity + every regulated table replayed against the ledger (`ledger verify`).")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
