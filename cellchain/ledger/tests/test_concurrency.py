"""Concurrent appends and crashes (issue 3 item 8; REGULATORY items 46, 47).

Appends are serialised by the head row (PostgreSQL row lock; SQLite BEGIN IMMEDIATE): writers racing each other
leave no gap, no duplicate sequence number and a tree that verifies; a writer killed mid-transaction leaves
nothing behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from cellchain.accounts.models import Organisation
from cellchain.ledger.heads import head_issue
from cellchain.ledger.models import LedgerEntry, LedgerHead
from cellchain.ledger.services import ledger_append
from cellchain.ledger.tests.behind import create_unledgered
from cellchain.ledger.verify import verify_ledger

REPO = Path(__file__).resolve().parents[3]


def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (run with DATABASE_URL=postgres://...): concurrent server writers")


def _writers(count: int, per_writer: int, *, fast_commit: bool) -> list[BaseException]:
    """Run `count` threads, each appending `per_writer` entries, one transaction each; return their errors."""
    from django.db import connection as thread_connection

    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def write(number: int) -> None:
        try:
            if fast_commit:
                with thread_connection.cursor() as cursor:
                    # Durability of each commit is not what this test is about; the lock order is.
                    cursor.execute("SET synchronous_commit = off")
            with transaction.atomic():
                organisation = create_unledgered(
                    Organisation, code=f"writer-{number}", name=f"Writer {number}", kind="hospital"
                )
                ledger_append(actor=None, record=organisation, action="create", event="organisation:create")
            start.wait(timeout=60)
            for step in range(per_writer - 1):
                with transaction.atomic():
                    ledger_append(
                        actor=None,
                        record=organisation,
                        action="amend",
                        event="test:append",
                        reason=f"writer {number} step {step}",
                    )
        except BaseException as error:
            errors.append(error)
            start.abort()
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=write, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _registrations() -> int:
    """Entries the writers did not make: the first signed head registers the log's first key (decision 0008)."""
    return LedgerEntry.objects.filter(event="ledger_key:register").count()


def _assert_contiguous(expected: int) -> None:
    expected += _registrations()
    seqs = list(LedgerEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(expected)), "gap or duplicate in the sequence numbers"
    assert LedgerHead.objects.get().size == expected


@pytest.mark.postgres_only
def test_eight_writers_times_500_entries_on_postgresql(ledger_transactional_db):
    """REGULATORY item 47: 8 concurrent writers x 500 entries = 4000 entries, no gap, no duplicate, root verifies."""
    _needs_postgresql()
    errors = _writers(8, 500, fast_commit=True)
    assert not errors, errors
    _assert_contiguous(4000)
    head_issue()
    report = verify_ledger()
    assert report.ok, report.lines()
    assert report.entries == 4000 + _registrations() and report.heads >= 1


def test_concurrent_threads_on_postgresql(ledger_transactional_db):
    """The same with fewer writers, kept fast for every run on PostgreSQL."""
    _needs_postgresql()
    errors = _writers(4, 25, fast_commit=True)
    assert not errors, errors
    _assert_contiguous(100)
    head_issue()
    assert verify_ledger().ok


SQLITE_THREADS = """
import json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from cellchain.ledger.tests.test_concurrency import _writers
from cellchain.ledger.heads import head_issue
from cellchain.ledger.models import LedgerEntry, LedgerHead
from cellchain.ledger.verify import verify_ledger
errors = _writers(int(sys.argv[1]), int(sys.argv[2]), fast_commit=False)
head_issue()
report = verify_ledger()
print(json.dumps({"errors": [repr(e) for e in errors], "ok": report.ok, "findings": report.lines(),
                  "seqs": list(LedgerEntry.objects.order_by("seq").values_list("seq", flat=True)),
                  "size": LedgerHead.objects.get().size,
                  "registered": LedgerEntry.objects.filter(event="ledger_key:register").count()}))
"""


def test_concurrent_threads_on_sqlite_with_begin_immediate(tmp_path):
    """SQLite: BEGIN IMMEDIATE (settings) serialises writer threads on a database file.

    The test database of the SQLite suite lives in shared-cache memory, where a second writer fails at once
    ("table is locked") instead of waiting, so the writers run against a fresh file database in a child process
    configured exactly as production (WAL, IMMEDIATE, busy timeout). It needs no server, so it runs in the
    PostgreSQL suite as well.
    """
    import json

    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        CELLCHAIN_VAR_DIR=str(tmp_path),
        CELLCHAIN_LEDGER_KEY_PATH=str(tmp_path / "key"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    env.setdefault("DJANGO_SETTINGS_MODULE", "cellchain.project.settings")
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_THREADS, "4", "50"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    # The first signed head registered the log's first signing key: one entry (decision 0008).
    assert result["registered"] == 1
    assert result["seqs"] == list(range(201)) and result["size"] == 201
    assert result["ok"], result["findings"]


WRITER = """
import os, sys, time
import django
django.setup()
from django.db import transaction
from cellchain.accounts import services
mode = sys.argv[1]
if mode == "hold":
    with transaction.atomic():
        for n in range(5):
            services.organisation_create(actor=None, code=f"partial-{n}", name="Partial", kind="hospital")
        print("ready", flush=True)
        time.sleep(60)
else:
    n = 0
    while True:
        services.organisation_create(actor=None, code=f"loop-{n}", name="Loop", kind="hospital")
        n += 1
        print(n, flush=True)
"""


def _writer_process(mode: str) -> subprocess.Popen[str]:
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env.setdefault("DJANGO_SETTINGS_MODULE", "cellchain.project.settings")
    # Heads the child issues must be signed with the key this test run verifies with.
    env["CELLCHAIN_LEDGER_KEY_PATH"] = str(django_settings.CELLCHAIN_LEDGER_KEY_PATH)
    return subprocess.Popen([sys.executable, "-c", WRITER, mode], env=env, stdout=subprocess.PIPE, text=True)


@pytest.mark.postgres_only
def test_writer_killed_mid_transaction_leaves_no_partial_entry(ledger_transactional_db):
    """REGULATORY item 46: SIGKILL inside an open transaction with five appends leaves none of them."""
    _needs_postgresql()
    with transaction.atomic():
        first = create_unledgered(Organisation, code="before", name="Before", kind="hospital")
        ledger_append(actor=None, record=first, action="create", event="organisation:create")
    process = _writer_process("hold")
    try:
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    _assert_contiguous(1)
    assert not Organisation.objects.filter(code__startswith="partial-").exists()
    # The lock the killed writer held is gone: the next append goes through.
    with transaction.atomic():
        after = create_unledgered(Organisation, code="after", name="After", kind="hospital")
        ledger_append(actor=None, record=after, action="create", event="organisation:create")
    _assert_contiguous(2)
    assert verify_ledger().ok


@pytest.mark.postgres_only
def test_writer_killed_at_random_moments_leaves_a_verifiable_ledger(ledger_transactional_db):
    """Kill a writer looping over committed appends at a random moment, three times; every committed append
    is complete and nothing else is there."""
    _needs_postgresql()
    import random

    rng = random.Random(46)
    for _ in range(3):
        process = _writer_process("loop")
        try:
            target = rng.randint(5, 40)
            while True:
                line = process.stdout.readline()
                if not line or int(line) >= target:
                    break
            time.sleep(rng.random() / 50)
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        size = LedgerHead.objects.get().size - _registrations()
        _assert_contiguous(size)
        assert Organisation.objects.filter(code__startswith="loop-").count() == size
        report = verify_ledger()
        assert report.ok, report.lines()
        with connection.cursor() as cursor:
            # Start the next round on fresh codes: drop what the killed loop left (through the flush path).
            from cellchain.ledger import triggers

            triggers.uninstall(connection)
            cursor.execute("DELETE FROM ledger_ledgernode")
            cursor.execute("DELETE FROM ledger_ledgerentry")
            cursor.execute("DELETE FROM ledger_ledgerhead")
            cursor.execute("DELETE FROM ledger_signedtreehead")
            cursor.execute("DELETE FROM ledger_ledgersigningkey")
            cursor.execute("DELETE FROM accounts_organisation WHERE code LIKE 'loop-%%'")
            triggers.install(connection)
