"""Identifiers drawn by concurrent transactions never collide (T-10.6; REGULATORY item 35)."""

from __future__ import annotations

import threading
import time

from django.db import OperationalError, connection, transaction

from cellchain.accounts.models import Site
from cellchain.journeys.models import IdentifierSequence
from cellchain.journeys.services import coi_next, din_next

WORKERS = 4
DRAWS = 5


def _draw_once(site: Site) -> tuple[str, str]:
    """One transaction drawing a DIN and a COI.

    SQLite's in-memory test database uses a shared cache whose table locks fail at once instead of waiting
    for the busy timeout a file database has; only there is "table is locked" retried, as the timeout would.
    """
    while True:
        try:
            with transaction.atomic():
                return din_next(site).data, coi_next(site).data
        except OperationalError as error:
            if connection.vendor != "sqlite" or "locked" not in str(error):
                raise
            time.sleep(0.005)


def _draw(site_pk: int, out: list[str], errors: list[BaseException], barrier: threading.Barrier) -> None:
    try:
        site = Site.objects.get(pk=site_pk)
        barrier.wait()
        for _ in range(DRAWS):
            out.extend(_draw_once(site))
    except BaseException as error:  # reported to the main thread
        errors.append(error)
    finally:
        connection.close()


def test_concurrent_draws_issue_distinct_consecutive_numbers(world, ledger_transactional_db):
    site = world.sites["xiehe-main"]
    drawn: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(WORKERS)
    threads = [threading.Thread(target=_draw, args=(site.pk, drawn, errors, barrier)) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    dins = sorted(x for x in drawn if not x.startswith("CH"))
    cois = sorted(x for x in drawn if x.startswith("CH"))
    assert len(set(dins)) == len(dins) == WORKERS * DRAWS
    assert len(set(cois)) == len(cois) == WORKERS * DRAWS
    assert [int(d[-6:]) for d in dins] == list(range(1, WORKERS * DRAWS + 1))
    assert IdentifierSequence.objects.get(kind="din", facility_id="W2001").last_number == WORKERS * DRAWS
