"""Full `ledger verify` as a background job with progress, never inside a web request (issue 15 section 2).

A full verification reads every entry and replays every regulated table: near 2 x 10^6 entries it outlasts a
30 s request timeout. So the status page and the API only record a `VerifyRun` (`verify_run_start`, a couple
of queries) and the page polls it; the verification runs elsewhere and writes its progress on the row.

Runner (setting CELLCHAIN_LEDGER_VERIFY_RUNNER):
- "thread" (default): a daemon thread of the process that took the request, started after the commit, with its
  own database connection. It needs no new service under gunicorn. A worker restarted mid-run (deploy, timeout
  of the worker, crash) leaves the run "running" with its progress frozen: the page shows when it last moved,
  and a new request after RUN_STALE_AFTER starts a new run instead of waiting on it;
- "command": the run stays queued until `cellchain ledger verify-run` takes it (cron or a systemd timer), for
  installations that want verification off the web workers altogether.
Either way `cellchain ledger verify` (the inspectors' command, REGULATORY item 9) is unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import traceback
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from cellchain.core import clock
from cellchain.ledger.models import VerifyRun

log = logging.getLogger(__name__)

RUN_STALE_AFTER = dt.timedelta(minutes=10)
"""A run whose progress has not moved for this long is taken as dead (its worker was restarted)."""

PROGRESS_EVERY_S = 0.5
"""Progress is written at most this often (and at each new phase): one UPDATE, not one per chunk."""

_ACTIVE = (VerifyRun.Status.QUEUED, VerifyRun.Status.RUNNING)


def verify_run_start(*, actor: Any | None) -> VerifyRun:
    """Record a full verification to run outside the request; return it (an unfinished one already there).

    Two people pressing the button get the same run: verifications do not pile up on the workers."""
    with transaction.atomic():
        now = clock.now()
        current = VerifyRun.objects.select_for_update().filter(status__in=_ACTIVE).order_by("-pk").first()
        if current is not None:
            if now - (current.progressed_at or current.requested_at) < RUN_STALE_AFTER:
                return current
            current.status, current.finished_at = VerifyRun.Status.FAILED, now
            current.error = f"its worker stopped: no progress for more than {RUN_STALE_AFTER}"
            current.save(update_fields=["status", "finished_at", "error"])
        run = VerifyRun.objects.create(requested_at=now, requested_by=actor)
        if getattr(settings, "CELLCHAIN_LEDGER_VERIFY_RUNNER", "thread") == "thread":
            transaction.on_commit(lambda: _start_thread(run.pk))
    return run


def _start_thread(run_id: int) -> None:
    threading.Thread(target=_thread_main, args=(run_id,), name=f"ledger-verify-{run_id}", daemon=True).start()


def _thread_main(run_id: int) -> None:
    try:
        verify_run_execute(run_id)
    finally:
        connection.close()  # the thread's own connection, not the request's


def verify_run_execute(run_id: int) -> VerifyRun | None:
    """Run the queued verification `run_id`, writing progress and then the report; None if another took it."""
    from cellchain.ledger.verify import verify_ledger

    now = clock.now()
    claimed = VerifyRun.objects.filter(pk=run_id, status=VerifyRun.Status.QUEUED).update(
        status=VerifyRun.Status.RUNNING, started_at=now, progressed_at=now
    )
    if not claimed:
        return None
    last: list[Any] = ["", 0.0]  # the phase and the monotonic time of the last progress written

    def progress(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == last[0] and now - last[1] < PROGRESS_EVERY_S and done < total:
            return
        last[:] = [phase, now]
        VerifyRun.objects.filter(pk=run_id).update(
            phase=phase, done=done, total=total, progressed_at=clock.now()
        )

    try:
        report = verify_ledger(progress=progress)
    except Exception:
        log.exception("ledger verify run %s could not finish", run_id)
        VerifyRun.objects.filter(pk=run_id).update(
            status=VerifyRun.Status.FAILED, finished_at=clock.now(), error=traceback.format_exc(limit=5)
        )
    else:
        VerifyRun.objects.filter(pk=run_id).update(
            status=VerifyRun.Status.DONE, finished_at=clock.now(), ok=report.ok, report=report.to_json()
        )
    return VerifyRun.objects.get(pk=run_id)


def verify_runs_execute_queued() -> list[VerifyRun]:
    """Run every queued verification, oldest first (`cellchain ledger verify-run`)."""
    done = []
    for run_id in (
        VerifyRun.objects.filter(status=VerifyRun.Status.QUEUED).order_by("pk").values_list("pk", flat=True)
    ):
        run = verify_run_execute(run_id)
        if run is not None:
            done.append(run)
    return done
