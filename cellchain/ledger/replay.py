"""Which tables the ledger vouches for, and how to read a row's state from each (issue 3 item 4).

Every concrete `RegulatedModel` subclass is a replay source (found through `django.apps`). Records that cannot
subclass it, such as Django's user model, are ledgered through an adapter (`cellchain.accounts.records`) and
registered here by record type, so `ledger verify` checks their tables too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.apps import apps
from django.db import models
from django.db.models import Max
from django.utils.module_loading import import_string

from cellchain.ledger.models import LedgerEntry, RegulatedModel
from cellchain.ledger.state import row_state, state_columns

# record type -> dotted path of an adapter class with `of(instance)` and `ledger_state()`.
_ADAPTERS: dict[str, str] = {"accounts.user": "cellchain.accounts.records.UserRecord"}


def register_adapter(record_type: str, adapter_path: str) -> None:
    """Declare that rows of the model labelled `record_type` are ledgered through the adapter at `adapter_path`."""
    _ADAPTERS[record_type] = adapter_path


@dataclass(frozen=True)
class ReplaySource:
    """One table whose rows must equal the ledger's last state of each record."""

    record_type: str
    model: type[models.Model]
    state: Callable[[Any], dict[str, Any]]

    def rows(self, chunk: int) -> Iterator[list[Any]]:
        """Yield the table's rows in primary-key order, `chunk` at a time (never the whole table in memory)."""
        manager = self.model._base_manager
        last: Any = None
        while True:
            query = manager.order_by("pk")
            if last is not None:
                query = query.filter(pk__gt=last)
            rows = list(query[:chunk])
            if not rows:
                return
            yield rows
            last = rows[-1].pk

    def count(self) -> int:
        return self.model._base_manager.count()

    def value_columns(self) -> tuple[tuple[str, Any], ...] | None:
        """(attname, converter) of the state's columns when the state is exactly `row_state` of the row, else None.

        Then the state can be built from a `values_list` tuple, without an ORM instance per row (issue 15
        section 2): `row_state` reads the same attributes through the same converters, and `values_list`
        applies the same `from_db_value` conversions as loading the instance does."""
        model = self.model
        if not (issubclass(model, RegulatedModel) and model.ledger_state is RegulatedModel.ledger_state):
            return None
        return state_columns(model, model.ledger_exclude)

    def value_rows(self, chunk: int) -> Iterator[list[tuple[Any, ...]]]:
        """Yield (pk, column values...) tuples in primary-key order, `chunk` at a time (see `value_columns`)."""
        columns = self.value_columns() or ()
        names = ["pk", *(name for name, _convert in columns)]
        manager = self.model._base_manager
        last: Any = None
        while True:
            query = manager.order_by("pk")
            if last is not None:
                query = query.filter(pk__gt=last)
            rows = list(query.values_list(*names)[:chunk])
            if rows:
                yield rows
            if len(rows) < chunk:
                return  # a short chunk is the last: no query to find the table empty beyond it
            last = rows[-1][0]


def _regulated_state(row: RegulatedModel) -> dict[str, Any]:
    return row.ledger_state()


def _adapter_state(adapter: Any) -> Callable[[Any], dict[str, Any]]:
    def state(row: Any) -> dict[str, Any]:
        result: dict[str, Any] = adapter.of(row).ledger_state()
        return result

    return state


def adapter_path(record_type: str) -> str | None:
    """The dotted path of the adapter that states rows of `record_type`, or None for a RegulatedModel."""
    return _ADAPTERS.get(record_type)


def record_state(record_type: str, row: Any) -> dict[str, Any]:
    """The ledger state of `row` as `ledger verify` reads it, also for a historical model instance of a data
    migration (which has no `ledger_state()`): through the record type's adapter, or every concrete column of
    the instance except the current model's `ledger_exclude`."""
    if isinstance(row, RegulatedModel):
        return row.ledger_state()
    path = _ADAPTERS.get(record_type)
    if path is not None:
        result: dict[str, Any] = import_string(path).of(row).ledger_state()
        return result
    try:
        model = apps.get_model(record_type)
    except LookupError:
        exclude: frozenset[str] = frozenset()
    else:
        exclude = getattr(model, "ledger_exclude", frozenset())
    return row_state(row, exclude)


def replay_sources() -> list[ReplaySource]:
    """Return every regulated table (concrete RegulatedModel subclasses) and every adapted one, by record type."""
    sources = [
        ReplaySource(model.ledger_record_type(), model, _regulated_state)
        for model in apps.get_models()
        if issubclass(model, RegulatedModel) and not model._meta.proxy and model._meta.managed
    ]
    for record_type, path in sorted(_ADAPTERS.items()):
        try:
            model = apps.get_model(record_type)
        except LookupError:
            continue
        sources.append(ReplaySource(record_type, model, _adapter_state(import_string(path))))
    return sorted(sources, key=lambda source: source.record_type)


class ReplayRow(NamedTuple):
    """A regulated row with its record's last ledger entry (None when the ledger has no entry for it).

    A named tuple: one is built per row of every regulated table on each verify."""

    row: Any
    record_id: str
    seq: int | None
    entry: bytes | None


@dataclass
class ReplayScan:
    """Walk one regulated table beside the ledger: each row with its record's last entry, `chunk` rows per query.

    After the walk, `orphans` holds the records the ledger knows whose rows are gone (record id -> last seq).
    Shared by `ledger verify` and the schema re-baseline, so both judge exactly the same pairs.
    """

    source: ReplaySource
    chunk: int = 2000
    orphans: dict[str, int] = field(default_factory=dict)

    def __iter__(self) -> Iterator[list[ReplayRow]]:
        last_seq = dict(
            LedgerEntry.objects.filter(record_type=self.source.record_type)
            .order_by()
            .values("record_id")
            .annotate(last=Max("seq"))
            .values_list("record_id", "last")
        )
        for rows in self.source.rows(self.chunk):
            entries = entries_by_seq([last_seq[str(row.pk)] for row in rows if str(row.pk) in last_seq])
            batch = []
            for row in rows:
                seq = last_seq.pop(str(row.pk), None)
                batch.append(ReplayRow(row, str(row.pk), seq, None if seq is None else entries.get(seq)))
            yield batch
        self.orphans = last_seq


def entries_by_seq(seqs: list[int]) -> dict[int, bytes]:
    """The stored bytes of the given entries, by seq (500 per query)."""
    found: dict[int, bytes] = {}
    for start in range(0, len(seqs), 500):
        part = seqs[start : start + 500]
        found.update(
            (seq, bytes(canonical))
            for seq, canonical in LedgerEntry.objects.filter(seq__in=part).values_list("seq", "canonical")
        )
    return found


def entry_state_bytes(seq: int, data: bytes) -> bytes | None:
    """The canonical bytes of the entry's state: between the top-level `"seq":N,"state":` and `,"time":"`
    (RFC 8785 sorts the keys: ... record, seq, state, time). RFC 8785 is compositional, so these are the
    state's own canonical bytes and compare byte for byte with `canonical_bytes(row state)`."""
    marker = b'"seq":%d,"state":' % seq
    start, end = data.find(marker), data.rfind(b',"time":"')
    if start < 0 or end < start:
        return None
    return data[start + len(marker) : end]


def entry_document(entry: bytes | None) -> dict[str, Any] | None:
    """The parsed entry, or None when it is missing or unreadable."""
    if entry is None:
        return None
    try:
        document = json.loads(entry)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def entry_state(entry: bytes | None) -> Any:
    """The state inside an entry (any JSON value; None when the entry is missing or unreadable)."""
    document = entry_document(entry)
    return None if document is None else document.get("state")
