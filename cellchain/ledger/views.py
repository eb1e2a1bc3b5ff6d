"""Audit trail pages (issue 3 item 9): per record, searchable by user, record type and date, CSV export,
and the ledger's status with verification on demand (REGULATORY items 1, 4, 9)."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cellchain.core import clock
from cellchain.core.permissions import requires
from cellchain.ledger import selectors
from cellchain.ledger.heads import head_issue
from cellchain.ledger.models import LedgerEntry, VerifyRun
from cellchain.ledger.trail_csv import Echo, csv_rows
from cellchain.ledger.verify_runs import verify_run_start
from cellchain.verifier.signing import key_fingerprint

PAGE_SIZE = 100


@requires("ledger.view_trail")
def trail(request: HttpRequest) -> HttpResponse:
    entries = selectors.trail_search(request.GET, request.user)
    page = selectors.trail_page(entries, request.GET, PAGE_SIZE)
    query = {key: request.GET.get(key, "") for key in selectors.TRAIL_FILTERS}
    return render(
        request,
        "ledger/trail.html",
        {
            "page": page,
            "query": query,
            "querystring": _querystring(query),
            "record_types": selectors.record_types(),
            "actions": LedgerEntry.Action.choices,
        },
    )


def _querystring(query: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode({key: value for key, value in query.items() if value})


@requires("ledger.view_trail")
def trail_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered trail as CSV (UTF-8 with BOM so spreadsheet programs read Chinese correctly)."""
    entries = selectors.trail_search(request.GET, request.user).order_by("seq")
    writer = csv.writer(Echo())
    body = (writer.writerow(row) for row in csv_rows(entries))
    response = StreamingHttpResponse(_with_bom(body), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{clock.now():%Y%m%d-%H%M%S}.csv"'
    return response


def _with_bom(body: Iterator[str]) -> Iterator[str]:
    yield "\ufeff"
    yield from body


@requires("ledger.view_trail")
def record_history(request: HttpRequest, record_type: str, record_id: str) -> HttpResponse:
    history = selectors.record_history_view(record_type, record_id, request.user)
    record = selectors.record_get(record_type, record_id) if history else None
    return render(
        request,
        "ledger/record_history.html",
        {
            "history": history,
            "record_type": record_type,
            "record_id": record_id,
            "record": record,
        },
    )


@requires("ledger.view_trail")
def status(request: HttpRequest) -> HttpResponse:
    current = selectors.ledger_status()
    head = current.latest_head
    return render(
        request,
        "ledger/status.html",
        {
            "status": current,
            "head": head,
            "root_hex": bytes(head.root).hex() if head else "",
            "key_sha256": key_fingerprint(bytes(head.public_key)) if head else "",
            "signing_keys": selectors.signing_key_list(),
        },
    )


@requires("ledger.verify")
@require_POST
def status_verify(request: HttpRequest) -> HttpResponse:
    """Start a full verification in the background and show its progress (issue 15 section 2).

    The request only records the run: a full verify near 2 x 10^6 entries outlasts any request timeout."""
    run = verify_run_start(actor=request.user)
    if request.htmx:
        return render(request, "ledger/status.html#verify_run", {"run": run})
    return redirect("ledger:verify_run", run_id=run.pk)


@requires("ledger.verify")
def verify_run(request: HttpRequest, run_id: int) -> HttpResponse:
    """A verification run: its progress while it runs (the page polls this), then its report."""
    run = get_object_or_404(VerifyRun, pk=run_id)
    template = "ledger/status.html#verify_run" if request.htmx else "ledger/status_verify.html"
    return render(request, template, {"run": run})


@requires("ledger.issue_head")
@require_POST
def status_issue_head(request: HttpRequest) -> HttpResponse:
    from django.contrib import messages

    sth = head_issue()
    messages.success(request, _("Signed tree head issued at size %(size)s.") % {"size": sth.size})
    return redirect("ledger:status")
