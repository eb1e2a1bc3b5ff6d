"""Queries on the ledger: trail search and a record's history with field-level differences (issue 3 item 9)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet

from cellchain.ledger.models import LedgerEntry, LedgerHead, LedgerSigningKey, RegulatedModel, SignedTreeHead

TRAIL_FILTERS = ("user", "record_type", "record_id", "event", "action", "from", "to")


def entries_visible_to(viewer: Any) -> QuerySet[LedgerEntry]:
    """Entries `viewer` may read: those made by people of the viewer's organisation, and the system's own.

    A hospital never sees the manufacturer's entries and the reverse (T-6.4-a, X-7); a user without an
    organisation sees only the system's entries.
    """
    entries = LedgerEntry.objects.select_related("actor")
    organisation_id = getattr(viewer, "organisation_id", None)
    if organisation_id is None:
        return entries.filter(actor__isnull=True)
    return entries.filter(Q(actor__isnull=True) | Q(actor__organisation_id=organisation_id))


def _day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def trail_search(params: Mapping[str, str], viewer: Any) -> QuerySet[LedgerEntry]:
    """Filter the trail by username, record type and id, event, action and date range (REGULATORY item 4)."""
    entries = entries_visible_to(viewer).order_by("-seq")
    if params.get("user"):
        entries = entries.filter(actor__username=params["user"].strip())
    if params.get("record_type"):
        entries = entries.filter(record_type=params["record_type"].strip())
    if params.get("record_id"):
        entries = entries.filter(record_id=params["record_id"].strip())
    if params.get("event"):
        entries = entries.filter(event__startswith=params["event"].strip())
    if params.get("action") in LedgerEntry.Action.values:
        entries = entries.filter(action=params["action"])
    # Dates are the UTC calendar days the entries were recorded on.
    start, end = _day(params.get("from", "")), _day(params.get("to", ""))
    if start:
        entries = entries.filter(recorded_at__gte=dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC))
    # The last representable day has no next day to stop before: it bounds nothing (issue 15 item 3).
    if end and end < dt.date.max:
        entries = entries.filter(
            recorded_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        )
    return entries


@dataclass(frozen=True)
class TrailPage:
    """One keyset page of the trail, newest first: `newer`/`older` are the seq bounds of the pages beside it.

    Keyset pagination by `seq` (issue 15 section 2): a page costs one indexed range scan of PAGE_SIZE + 1 rows
    whatever the size of the ledger, where a numbered page needed a COUNT(*) over every matching entry."""

    entries: list[LedgerEntry]
    newer: int | None
    older: int | None

    def __iter__(self) -> Any:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def has_other_pages(self) -> bool:
        return self.newer is not None or self.older is not None


def _seq_bound(value: str | None) -> int | None:
    # A bound that is not a whole number, or is past the 64-bit seq column, is ignored (first page), never a 500.
    text = (value or "").strip()
    return int(text) if text.isdigit() and int(text) < 2**63 else None


def trail_page(entries: QuerySet[LedgerEntry], params: Mapping[str, str], size: int) -> TrailPage:
    """The page of `entries` before seq `before` (older) or after seq `after` (newer); the newest without either.

    Reads at most `size + 1` rows: the extra row tells whether there is a page beyond (REGULATORY item 4)."""
    before, after = _seq_bound(params.get("before")), _seq_bound(params.get("after"))
    entries = entries.order_by()
    if after is not None and before is None:
        rows = list(entries.filter(seq__gt=after).order_by("seq")[: size + 1])
        beyond = len(rows) > size
        rows = rows[:size][::-1]
        newer = rows[0].seq if beyond and rows else None
        older = rows[-1].seq if rows else after + 1
        return TrailPage(rows, newer, older)
    if before is not None:
        entries = entries.filter(seq__lt=before)
    rows = list(entries.order_by("-seq")[: size + 1])
    beyond = len(rows) > size
    rows = rows[:size]
    older = rows[-1].seq if beyond else None
    newer = rows[0].seq if before is not None and rows else None
    return TrailPage(rows, newer, older)


def record_types() -> list[str]:
    """The record types of the installation's regulated tables, for the trail's filter, with no query.

    A DISTINCT over the ledger grew with it (issue 15 section 2); every record type the ledger may hold has a
    table (`ledger verify` reports one that has not), so the app registry names them all."""
    from cellchain.ledger.replay import replay_sources

    return sorted({source.record_type for source in replay_sources()})


@dataclass(frozen=True)
class HistoryRow:
    """One entry of a record with what it changed: (field, before, after) for every changed field."""

    entry: LedgerEntry
    document: dict[str, Any]
    changes: list[tuple[str, Any, Any]]

    @property
    def actor(self) -> dict[str, Any]:
        actor: dict[str, Any] = self.document.get("actor", {})
        return actor

    @property
    def extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = self.document.get("extra") or {}
        return extra


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Return (field, old, new) for each field whose value differs, in the field order of `after`."""
    names = list(after) + [name for name in before if name not in after]
    return [
        (name, before.get(name), after.get(name)) for name in names if before.get(name) != after.get(name)
    ]


def record_history_view(record_type: str, record_id: str, viewer: Any) -> list[HistoryRow]:
    """Return each visible entry of one record, oldest first, with the fields it changed (old -> new)."""
    rows: list[HistoryRow] = []
    previous: dict[str, Any] = {}
    entries = entries_visible_to(viewer).filter(record_type=record_type, record_id=record_id)
    for entry in entries.order_by("seq"):
        document = json.loads(bytes(entry.canonical))
        state = document.get("state") or {}
        rows.append(HistoryRow(entry=entry, document=document, changes=field_changes(previous, state)))
        previous = state
    return rows


def record_get(record_type: str, record_id: str) -> RegulatedModel | None:
    """The current row of a regulated record, or None (unknown type, not regulated, or no such row)."""
    try:
        model = apps.get_model(record_type)
    except (LookupError, ValueError):
        return None
    if not issubclass(model, RegulatedModel):
        return None
    return (
        model._base_manager.filter(pk=record_id).first()
        if record_id.isdigit() or not _int_pk(model)
        else None
    )


def _int_pk(model: type[Any]) -> bool:
    return model._meta.pk.get_internal_type() in {
        "AutoField",
        "BigAutoField",
        "IntegerField",
        "BigIntegerField",
    }


@dataclass(frozen=True)
class LedgerStatus:
    size: int
    latest_head: SignedTreeHead | None


def ledger_status() -> LedgerStatus:
    """The tree size and the newest signed head, for the status page."""
    from cellchain.ledger.heads import latest_head

    head = LedgerHead.objects.filter(pk=1).first()
    return LedgerStatus(size=head.size if head else 0, latest_head=latest_head())


def signing_key_list() -> QuerySet[LedgerSigningKey]:
    """The log's signing keys, oldest first, with who activated and retired them (decision 0008)."""
    return LedgerSigningKey.objects.select_related("activated_by", "retired_by", "predecessor").order_by(
        "activated_at", "pk"
    )
