"""Audit trail pages (issue 3 item 9): per record, and searchable by user, record type and date."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cellchain.core.permissions import requires
from cellchain.ledger import selectors


@requires("ledger.view_trail")
def trail(request: HttpRequest) -> HttpResponse:
    entries = selectors.trail_search(request.GET)
    return render(request, "ledger/trail.html", {"entries": entries[:200], "query": request.GET})


@requires("ledger.view_trail")
def record_history(request: HttpRequest, record_type: str, record_id: str) -> HttpResponse:
    history = selectors.record_history_view(record_type, record_id)
    return render(
        request,
        "ledger/record_history.html",
        {"history": history, "record_type": record_type, "record_id": record_id},
    )
