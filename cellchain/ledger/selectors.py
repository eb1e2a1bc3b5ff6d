"""Queries on the ledger: trail search and a record's history with field-level differences."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from cellchain.ledger.models import LedgerEntry


def trail_search(params: Mapping[str, str]) -> QuerySet[LedgerEntry]:
    """Filter the trail by actor username, record type, event and date range (REGULATORY item 4)."""
    entries = LedgerEntry.objects.select_related("actor").order_by("-seq")
    if params.get("user"):
        entries = entries.filter(actor__username=params["user"])
    if params.get("record_type"):
        entries = entries.filter(record_type=params["record_type"])
    if params.get("event"):
        entries = entries.filter(event__startswith=params["event"])
    for key, lookup in (("from", "recorded_at__date__gte"), ("to", "recorded_at__date__lte")):
        if params.get(key):
            try:
                entries = entries.filter(**{lookup: dt.date.fromisoformat(params[key])})
            except ValueError:
                continue
    return entries


@dataclass(frozen=True)
class HistoryRow:
    entry: LedgerEntry
    document: dict[str, Any]
    changes: list[tuple[str, Any, Any]]


def record_history_view(record_type: str, record_id: str) -> list[HistoryRow]:
    """Return each entry of one record with the fields it changed (old -> new)."""
    rows: list[HistoryRow] = []
    previous: dict[str, Any] = {}
    entries = LedgerEntry.objects.filter(record_type=record_type, record_id=record_id).select_related("actor")
    for entry in entries.order_by("seq"):
        document = json.loads(bytes(entry.canonical))
        state = document.get("state", {})
        changes = [
            (key, previous.get(key), value) for key, value in state.items() if previous.get(key) != value
        ]
        rows.append(HistoryRow(entry=entry, document=document, changes=changes))
        previous = state
    return rows
