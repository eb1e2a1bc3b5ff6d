"""Compliance-report bench (issue 14 item 3): build a hospital site's clause-by-clause report with 10^2 and
10^3 journeys' worth of records, and print both times and the ratio (target <= 1.5: the report reads the
site's answers once and counts each register in one query, so its cost must not grow with the records).

Each size runs in a child process with its own fresh database. One journey is made through the services
(`journeys.demo.labelled_journey`: enrolment, consent, eligibility, collection, label) and every hospital
self-assessment item is answered and signed through `assessment.services`; the journey and its collection are
then copied behind the ledger (`bulk_create_unledgered`, as `cellchain/ledger/tests/behind.py` does for tests:
the bench measures the report, not the loading) up to the size. The timed step is what the PDF download does:
`assessment.compliance.report` + `report_csv` (its digest) + `compliance_pdf.report_pdf`.

    .venv/bin/python bench/bench_compliance_report.py                       # 10^2 vs 10^3 journeys, SQLite
    .venv/bin/python bench/bench_compliance_report.py --databases sqlite,postgres --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "cellchain_bench_compliance"
PASSWORD = "bench-password-2026"
HOSPITAL = "xiehe-main"


# --------------------------------------------------------------------------- child: one database, one size


def _child(database_url: str, journeys: int, repeat: int) -> dict[str, float]:
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
    world = _populate(journeys)
    load_s = time.perf_counter() - started
    return {"journeys": journeys, "load_s": load_s, **_measure(world, repeat)}


def _populate(journeys: int) -> object:
    import datetime as dt

    from cellchain.accounts.world import build_world
    from cellchain.assessment import services
    from cellchain.core import clock
    from cellchain.domain import self_assessment as sa
    from cellchain.journeys import demo
    from cellchain.journeys.models import Collection, Journey
    from cellchain.ledger.tests.behind import bulk_create_unledgered
    from cellchain.signatures.services import SignerCredentials

    world = build_world(password=PASSWORD)
    template = demo.labelled_journey(world, name="bench", wristband="BENCH-WB-1", password=PASSWORD)
    site = world.sites[HOSPITAL]
    actor = world["coordinator_zhou"]
    next_review = clock.today(site.time_zone) + dt.timedelta(days=365)
    for number, item in enumerate(sa.items_for(sa.SiteKind.HOSPITAL)):
        value = ("yes", "no", "na")[number % 3]
        services.assessment_answer_record(
            actor=actor,
            site=site,
            item_code=item.code,
            data=services.AnswerInput(
                answer=value,
                next_review=next_review,
                note="" if value == "yes" else "bench",
                evidence_reference="BENCH-DOC v1" if value == "yes" else "",
            ),
            signer=SignerCredentials(actor, PASSWORD),
        )
    collection = Collection.objects.filter(journey=template).first()
    assert collection is not None
    # coi and pseudonym are unique and short (SQLite does not enforce the length, PostgreSQL does).
    coi_len = Journey._meta.get_field("coi").max_length or 15
    pseudonym_len = Journey._meta.get_field("pseudonym").max_length or 15
    copies = []
    for index in range(1, journeys):
        copy = Journey.objects.get(pk=template.pk)
        copy.pk = None
        copy.coi = f"{template.coi[: coi_len - 7]}{index:07d}"
        copy.pseudonym = f"{template.pseudonym[: pseudonym_len - 7]}{index:07d}"
        copies.append(copy)
    made = bulk_create_unledgered(Journey, copies)
    collections = []
    for journey in made:
        row = Collection.objects.get(pk=collection.pk)
        row.pk = None
        row.journey = journey
        collections.append(row)
    bulk_create_unledgered(Collection, collections)
    assert Journey.objects.filter(hospital_site=site).count() == journeys
    return world


def _measure(world: object, repeat: int) -> dict[str, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import translation

    from cellchain.assessment import compliance, compliance_pdf
    from cellchain.core import clock

    site = world.sites[HOSPITAL]  # type: ignore[attr-defined]
    today = clock.today(site.time_zone)
    translation.activate("zh-hans")

    def build() -> tuple[int, int]:
        rows = compliance.report(site, today, "zh-hans")
        digest = compliance.content_digest(rows)
        pdf = compliance_pdf.report_pdf(
            site, rows, generated_at=clock.now(), generated_by="bench", digest=digest
        )
        held = next(r for r in rows if r.clause.id == "T-10.4").evidence[0].count or 0
        return len(pdf), held

    build()  # warm-up: fonts, translations, connection
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        build()
        times.append(time.perf_counter() - begin)
    with CaptureQueriesContext(connection) as queries:
        _size, held = build()
    return {"report_ms": statistics.median(times) * 1000, "queries": len(queries), "journeys_counted": held}


# --------------------------------------------------------------------------- parent: orchestration


def _fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_BENCH_DB}"


def _run(database: str, journeys: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3" if database == "sqlite" else _fresh_postgres()
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, str(journeys), str(repeat)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--child", nargs=3, metavar=("URL", "JOURNEYS", "REPEAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, journeys, repeat = args.child
        print(json.dumps(_child(url, int(journeys), int(repeat))))
        return 0
    for database in args.databases.split(","):
        small = _run(database, args.small, args.repeat)
        large = _run(database, args.large, args.repeat)
        for result in (small, large):
            print(
                f"{database:<9} {result['journeys']:>6} journeys: report {result['report_ms']:8.1f} ms "
                f"({result['queries']} queries; {result['journeys_counted']} journeys counted; "
                f"load {result['load_s']:.1f} s)"
            )
        print(f"{database:<9} ratio {args.large}/{args.small}: {large['report_ms'] / small['report_ms']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
