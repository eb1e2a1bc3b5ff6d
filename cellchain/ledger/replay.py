"""Which tables the ledger vouches for, and how to read a row's state from each (issue 3 item 4).

Every concrete `RegulatedModel` subclass is a replay source (found through `django.apps`). Records that cannot
subclass it, such as Django's user model, are ledgered through an adapter (`cellchain.accounts.records`) and
registered here by record type, so `ledger verify` checks their tables too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.module_loading import import_string

from cellchain.ledger.models import RegulatedModel

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


def _regulated_state(row: RegulatedModel) -> dict[str, Any]:
    return row.ledger_state()


def _adapter_state(adapter: Any) -> Callable[[Any], dict[str, Any]]:
    def state(row: Any) -> dict[str, Any]:
        result: dict[str, Any] = adapter.of(row).ledger_state()
        return result

    return state


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
