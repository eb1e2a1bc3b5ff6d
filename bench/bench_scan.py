"""Scan-to-verdict bench (issue 4): look up a scanned unit, check it against the expected unit, record the event.

Times the same scans with a small and a large number of units in the database, on SQLite and on PostgreSQL,
and prints the per-scan time and the large/small ratio (target <= 1.5: the lookup is an index probe, so the
cost must not grow with the table).

Each (database, size) runs in a child process with its own fresh database; units are bulk-inserted with raw
SQL (the bench measures the scan path, not the loading), then `--scans` labelled units are scanned once each
through `journeys.selectors.unit_get_by_identifier` + `journeys.services.unit_custody_scan`, which writes the
custody event and its ledger entries exactly as the page and the API do.

    .venv/bin/python bench/bench_scan.py                    # 10^3 vs 10^6 units, SQLite and PostgreSQL
    .venv/bin/python bench/bench_scan.py --large 200000 --databases sqlite
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

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "cellchain_bench_scan"


# --------------------------------------------------------------------------- child: one database, one size


def _child(database_url: str, units: int, scans: int) -> dict[str, float]:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cellchain.project.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    setup = _populate(units, scans)
    load_s = time.perf_counter() - started
    per_scan = _measure(setup, scans)
    return {"units": units, "load_s": load_s, "per_scan_ms": per_scan * 1000}


def _populate(units: int, scans: int) -> dict[str, object]:
    """One real journey (through the services) and `units` bulk units; the first `scans` are labelled."""
    from django.db import connection, transaction

    from cellchain.accounts.world import build_world
    from cellchain.journeys import demo
    from cellchain.journeys.models import Unit

    world = build_world(password="bench-password-2026")
    journey = demo.labelled_journey(
        world, name="bench", wristband="BENCH-WB-1", password="bench-password-2026"
    )
    template = Unit.objects.filter(journey=journey).first()
    assert template is not None
    rows = _unit_rows(template, units)
    columns = (
        "collection_id",
        "journey_id",
        "din",
        "din_check",
        "volume_ml",
        "state",
        "site_id",
        "destination_site_id",
        "last_step",
        "shipper_code",
        "void_reason",
    )
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY journeys_unit ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE journeys_unit")
    else:
        marks = ", ".join(["%s"] * len(columns))
        with transaction.atomic(), connection.cursor() as cursor:  # one commit, not one per row
            cursor.executemany(f"INSERT INTO journeys_unit ({', '.join(columns)}) VALUES ({marks})", rows)
            cursor.execute("ANALYZE")
    return {"world": world}


def _unit_rows(template: object, count: int) -> list[tuple[object, ...]]:
    from cellchain.domain.identity import din_issue

    rows = []
    for index in range(count):
        year, number = 2000 + index // 999_999, index % 999_999 + 1
        din = din_issue("B0001", year, number)
        state = "labelled"
        rows.append(
            (
                template.collection_id,
                template.journey_id,
                din.data,
                din.check_character,
                100,
                state,
                template.site_id,
                template.destination_site_id,
                "label",
                "",
                "",
            )
        )
    return rows


def _measure(setup: dict[str, object], scans: int) -> float:
    from cellchain.domain.custody import CustodyStep
    from cellchain.domain.identity import din_issue, parse_unit_scan
    from cellchain.journeys import selectors, services

    world = setup["world"]
    actor = world["apheresis_sun"]  # type: ignore[index]
    texts = [din_issue("B0001", 2000, number).barcode_data for number in range(1, scans + 1)]
    # warm-up: one scan outside the timing (connection, caches, first ledger head read)
    elapsed = 0.0
    for index, text in enumerate(texts):
        begin = time.perf_counter()
        unit = selectors.unit_get_by_identifier(parse_unit_scan(text).din.data)
        assert unit is not None
        event = services.unit_custody_scan(
            actor=actor,
            unit=unit,
            step=CustodyStep.PACK,
            scanned_text=text,
            details=services.ScanDetails(shipper_code="BENCH"),
        )
        if index:
            elapsed += time.perf_counter() - begin
        assert event.verdict == "match", event.reasons
    return elapsed / (scans - 1)


# --------------------------------------------------------------------------- parent: orchestration


def _fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_BENCH_DB}"


def _run(database: str, units: int, scans: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3" if database == "sqlite" else _fresh_postgres()
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, str(units), str(scans)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=int(os.environ.get("BENCH_SCAN_SMALL", 1_000)))
    parser.add_argument("--large", type=int, default=int(os.environ.get("BENCH_SCAN_LARGE", 1_000_000)))
    parser.add_argument("--scans", type=int, default=int(os.environ.get("BENCH_SCAN_SCANS", 100)))
    parser.add_argument("--databases", default=os.environ.get("BENCH_SCAN_DATABASES", "sqlite,postgres"))
    parser.add_argument("--child", nargs=3, metavar=("URL", "UNITS", "SCANS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, units, scans = args.child
        print(json.dumps(_child(url, int(units), int(scans))))
        return 0
    if args.scans > args.small:
        parser.error("--scans must not exceed --small (each scan needs its own labelled unit)")
    worst = 0.0
    for database in args.databases.split(","):
        small = _run(database, args.small, args.scans)
        large = _run(database, args.large, args.scans)
        ratio = large["per_scan_ms"] / small["per_scan_ms"]
        worst = max(worst, ratio)
        print(
            f"{database:<9} {args.small:>9} units: {small['per_scan_ms']:7.2f} ms/scan (load {small['load_s']:.1f} s)"
        )
        print(
            f"{database:<9} {args.large:>9} units: {large['per_scan_ms']:7.2f} ms/scan (load {large['load_s']:.1f} s)"
        )
        print(f"{database:<9} ratio large/small: {ratio:.2f} (target <= 1.5)")
    print(f"worst ratio: {worst:.2f} {'OK' if worst <= 1.5 else 'ABOVE TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
