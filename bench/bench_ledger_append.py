"""Bench: regulated writes through the record ledger against the same writes without it (issue 3, target <= 1.5).

A regulated write is what every CellChain service does: open a transaction, validate the record
(`full_clean`, which queries uniqueness), save it, and, through the ledger, append an RFC 8785 entry with the
full state and extend the Merkle tree in the same transaction (head row lock, entry, subtree hashes; a signed
head every 256 entries after commit). The baseline runs the identical service body without `ledger_append`.
Two workloads: "minimal", half the writes creating an organisation record and half amending one, the
smallest regulated write there is; and "service", a real service (`quality.deviation_open`: numbering, save,
notification to QA, two entries), with `ledger_append` patched to a no-op for its baseline. The actor is a
user whose roles the request's permission check has already read, as in a real request.

Each database is a throwaway one: a fresh SQLite file (WAL, BEGIN IMMEDIATE: the production settings), and,
when a server answers on 127.0.0.1:5432, a PostgreSQL database created for the run and dropped after it. The
work runs in a child process configured through the environment (CELLCHAIN_VAR_DIR or DATABASE_URL).

Run: .venv/bin/python bench/bench_ledger_append.py [--writes N] [--rounds N] [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_RATIO = 1.5
REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def worker(writes: int, rounds: int) -> dict[str, object]:
    """In the child: migrate, then time `rounds` alternating batches of writes with and without the ledger."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from cellchain.accounts import services
    from cellchain.accounts.models import Organisation
    from cellchain.core.permissions import user_roles
    from cellchain.ledger import guard
    from cellchain.ledger.records import record_amend, record_clean, record_create

    home = services.organisation_create(actor=None, code="bench-home", name="Bench", kind="manufacturer")
    site = services.site_create(actor=None, organisation=home, code="bench-site", name="Bench site")
    actor = services.user_create(
        actor=None,
        username="bench_qa",
        printed_name="Bench QA",
        site=site,
        password="bench-password-2026-long",
        roles=("qa",),
    )
    user_roles(actor)  # what the permission check of a request leaves on the user

    counter = iter(range(10**9))
    audit_row = _audit_row_writer(connection)

    def write(record: Organisation, mode: str, action: str) -> None:
        if mode == "ledger":
            if action == "create":
                record_create(actor=actor, record=record, event="organisation:create")
            else:
                record_amend(actor=actor, record=record, event="organisation:amend", reason="bench amendment")
            return
        record_clean(record)  # the same validation and write, under the permit the record functions take
        with guard.permit(record):
            record.save()
        if mode == "audit_row":
            audit_row(record, action)

    def batch(mode: str) -> float:
        started = time.perf_counter()
        for _ in range(writes // 2):
            with transaction.atomic():
                record = Organisation(
                    code=f"org-{next(counter)}", name="组织 Organisation", name_en="Org", kind="hospital"
                )
                write(record, mode, "create")
            with transaction.atomic():
                record.name_en = f"Org {next(counter)}"
                write(record, mode, "amend")
        return (time.perf_counter() - started) / (2 * (writes // 2))

    batch("ledger"), batch("plain"), batch("audit_row")  # warm caches, the head row, the key file
    timings: dict[str, list[float]] = {
        "ledger": [],
        "plain": [],
        "audit_row": [],
        "service_ledger": [],
        "service_plain": [],
    }
    for _ in range(rounds):
        timings["plain"].append(batch("plain"))
        timings["audit_row"].append(batch("audit_row"))
        timings["ledger"].append(batch("ledger"))
        timings["service_plain"].append(service_batch(site, actor, writes // 4, with_ledger=False))
        timings["service_ledger"].append(service_batch(site, actor, writes // 4, with_ledger=True))
    best = {key: min(values) * 1e6 for key, values in timings.items()}
    return {
        "vendor": connection.vendor,
        "plain_us": best["plain"],
        "ledger_us": best["ledger"],
        "audit_row_us": best["audit_row"],
        "service_plain_us": best["service_plain"],
        "service_ledger_us": best["service_ledger"],
        "writes": writes,
        "rounds": rounds,
    }


def _audit_row_writer(connection: Any) -> Callable[[Any, str], None]:
    """The floor any audit trail pays: one more INSERT of the record's state (JSON) in the same transaction.

    No hash, no tree, no sequence lock: what a plain history table (django-simple-history and the like) adds.
    It is printed beside the ledger so the ratio reads against what an unsigned audit trail costs here.
    """
    from cellchain.ledger.canonical import canonical_bytes

    blob = "bytea" if connection.vendor == "postgresql" else "blob"
    key = (
        "bigserial PRIMARY KEY" if connection.vendor == "postgresql" else "integer PRIMARY KEY AUTOINCREMENT"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE bench_audit_row (id {key}, recorded_at varchar(32), record_type varchar(80), "
            f"record_id varchar(64), action varchar(10), state {blob})"
        )

    def write(record: Any, action: str) -> None:
        state = canonical_bytes(record.ledger_state())
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_audit_row (recorded_at, record_type, record_id, action, state) "
                "VALUES (%s, %s, %s, %s, %s)",
                [
                    time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    record.ledger_record_type(),
                    str(record.pk),
                    action,
                    state,
                ],
            )

    return write


def service_batch(site: object, actor: object, count: int, *, with_ledger: bool) -> float:
    """A real service: `quality.deviation_open`, which numbers the deviation, saves it, appends, and notifies
    the site's QA (a notification record, appended too). Without the ledger, `ledger_append` is a no-op."""
    from unittest import mock

    from cellchain.ledger import records
    from cellchain.quality import services as quality

    no_entry = [
        mock.patch.object(module, "ledger_append", lambda **_: None)
        for module in (records, quality)
        if hasattr(module, "ledger_append")
    ]
    patches = [] if with_ledger else no_entry
    for patch in patches:
        patch.start()
    try:
        started = time.perf_counter()
        for number in range(count):
            quality.deviation_open(
                actor=actor,
                site=site,
                kind="process",
                title=f"Bench deviation {number}",
                description="Temperature of the incubator out of range for 4 minutes.",
            )
        return (time.perf_counter() - started) / count
    finally:
        for patch in patches:
            patch.stop()


def _child(env: dict[str, str], writes: int, rounds: int) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", "--writes", str(writes), "--rounds", str(rounds)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench worker failed:\n{done.stderr[-4000:]}")
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
        CELLCHAIN_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    return env


def _postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            return True
    except Exception:
        return False


def _postgres(env: dict[str, str], writes: int, rounds: int) -> dict[str, object]:
    import psycopg

    name = f"cellchain_bench_ledger_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        return _child({**env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}"}, writes, rounds)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--writes", type=int, default=400, help="writes per timed batch (half create, half amend)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="batches with and without the ledger; best is kept"
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(worker(arguments.writes, arguments.rounds)))
        return
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="cellchain-bench-") as tmp:
        env = _base_env(tmp)
        results.append(_child(env, arguments.writes, arguments.rounds))
        if not arguments.no_postgres and _postgres_reachable():
            results.append(_postgres(env, arguments.writes, arguments.rounds))
        elif not arguments.no_postgres:
            print("PostgreSQL not reachable on 127.0.0.1:5432: SQLite only")
    print(
        f"regulated writes, best of {arguments.rounds} batches; baseline = the same writes without the ledger:"
    )
    print("    minimal = full_clean + save of one record in a transaction (half create, half amend);")
    print(
        "    service = quality.deviation_open (numbering, save, notification to QA; ledger_append a no-op for"
    )
    print("              the baseline)")
    print(f"    {'database':12} {'workload':9} {'plain us/write':>15} {'ledger us/write':>16} {'ratio':>7}")
    floors = []
    for result in results:
        for label, plain, ledger in (
            ("minimal", "plain_us", "ledger_us"),
            ("service", "service_plain_us", "service_ledger_us"),
        ):
            ratio = float(result[ledger]) / float(result[plain])
            verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
            print(
                f"    {result['vendor']:12} {label:9} {result[plain]:15.0f} {result[ledger]:16.0f} {ratio:7.2f}  "
                f"({verdict} the target of {TARGET_RATIO:g})"
            )
        audit = float(result["audit_row_us"])
        floors.append(
            f"    {result['vendor']:12} plain + audit row {audit:.0f} us/write = {audit / float(result['plain_us']):.2f}"
            f" x plain; ledger = {float(result['ledger_us']) / audit:.2f} x that"
        )
    print("the floor of any audit trail (an unhashed history row of the same state, same transaction):")
    print("\n".join(floors))
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
