"""Which applied migrations added, removed, renamed or altered which fields of a regulated table (decision 0010).

Read from the migration graph and `django_migrations`, so a re-baseline entry and a `verify` finding can name
the schema change that explains a row's new shape (EU GMP Annex 11 §10: changes documented; 21 CFR 11.10(e)).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db import connection as default_connection
from django.db.migrations import operations
from django.db.migrations.loader import MigrationLoader

from cellchain.domain.ledger_schema import field_list


@dataclass(frozen=True)
class FieldChange:
    """One applied migration operation on one field: `kind` is added, removed, renamed or altered."""

    migration: str
    kind: str


@dataclass
class SchemaHistory:
    """The field operations of every applied migration, by (app label, model name) and state key.

    State keys are column attribute names (`site_id` for the foreign key `site`), so a relation is filed under
    both its name and its `_id` name.
    """

    changes: dict[tuple[str, str], dict[str, list[FieldChange]]] = field(default_factory=dict)

    @classmethod
    def load(cls, connection: Any = None) -> SchemaHistory:
        """Read the applied migrations of `connection` (default: the default database), oldest applied first."""
        loader = MigrationLoader(connection or default_connection, ignore_no_migrations=True)
        applied = loader.applied_migrations or {}
        history = cls()
        order = sorted(
            (key for key in applied if key in loader.graph.nodes),
            key=lambda key: (str(getattr(applied[key], "applied", "") or ""), key),
        )
        for key in order:
            migration = loader.graph.nodes[key]
            label = f"{key[0]}.{key[1]}"
            for operation in migration.operations:
                history._operation(key[0], label, operation)
        return history

    def _operation(self, app_label: str, label: str, operation: Any) -> None:
        if isinstance(operation, operations.AddField):
            self._file(app_label, operation.model_name_lower, operation.name, "added", label, operation.field)
        elif isinstance(operation, operations.RemoveField):
            self._file(app_label, operation.model_name_lower, operation.name, "removed", label, None)
        elif isinstance(operation, operations.AlterField):
            self._file(
                app_label, operation.model_name_lower, operation.name, "altered", label, operation.field
            )
        elif isinstance(operation, operations.RenameField):
            for name in (operation.old_name, operation.new_name):
                self._file(app_label, operation.model_name_lower, name, "renamed", label, None)

    def _file(self, app_label: str, model: str, name: str, kind: str, label: str, column: Any) -> None:
        names = {name}
        if column is None or getattr(column, "many_to_one", False) or getattr(column, "one_to_one", False):
            # A removed or renamed field may have been a foreign key: its state key was then `<name>_id`.
            names.add(f"{name}_id")
        by_key = self.changes.setdefault((app_label, model.lower()), {})
        for key in names:
            by_key.setdefault(key, []).append(FieldChange(label, kind))

    def migrations_for(self, record_type: str, fields: Iterable[str]) -> tuple[str, ...]:
        """The applied migrations (oldest first, each once) that changed any of `fields` of `record_type`."""
        app_label, _, model = record_type.partition(".")
        by_key = self.changes.get((app_label, model), {})
        found: list[str] = []
        for name in fields:
            for change in by_key.get(name, []):
                if change.migration not in found:
                    found.append(change.migration)
        return tuple(found)

    def describe(self, record_type: str, added: Iterable[str], removed: Iterable[str]) -> str:
        """`field x added, field y removed by a schema change (app.0003_name)` for a report or a reason."""
        added, removed = tuple(added), tuple(removed)
        parts = [
            f"{field_list(added)} added" if added else "",
            f"{field_list(removed)} removed" if removed else "",
        ]
        migrations = self.migrations_for(record_type, (*added, *removed))
        source = (
            f"({', '.join(migrations)})"
            if migrations
            else "(no applied migration names them: a change of what the model records in the ledger)"
        )
        return f"{' and '.join(part for part in parts if part)} by a schema change {source}"


def _has_rows(connection: Any, table: str) -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608 - model table
            return cursor.fetchone() is not None
    except DatabaseError:
        return False


def regulated_tables_reshaped(
    plan: Iterable[tuple[Any, bool]], using: str = DEFAULT_DB_ALIAS
) -> dict[str, list[str]]:
    """Regulated record types whose fields a migration of `plan` added, removed or renamed and whose table holds
    rows, each with those migrations: their rows now need `ledger rebaseline`. Reads one row per table at most."""
    from cellchain.ledger.replay import replay_sources

    regulated = {source.record_type: source.model for source in replay_sources()}
    touched: dict[str, list[str]] = {}
    for migration, _backwards in plan:
        for operation in migration.operations:
            if isinstance(operation, operations.AddField | operations.RemoveField | operations.RenameField):
                record_type = f"{migration.app_label}.{operation.model_name_lower}"
                label = f"{migration.app_label}.{migration.name}"
                if record_type in regulated and label not in touched.get(record_type, []):
                    touched.setdefault(record_type, []).append(label)
    if not touched:
        return {}
    connection = connections[using]
    tables = set(connection.introspection.table_names())
    return {
        record_type: labels
        for record_type, labels in sorted(touched.items())
        if regulated[record_type]._meta.db_table in tables
        and _has_rows(connection, regulated[record_type]._meta.db_table)
    }


def remind_after_migrate(
    sender: Any,
    *,
    plan: Any = None,
    verbosity: int = 1,
    using: str = DEFAULT_DB_ALIAS,
    stdout: Any = None,
    **kwargs: Any,
) -> None:
    """`post_migrate`: when this run reshaped regulated tables that hold rows, say that `ledger rebaseline` is due.

    It writes nothing to the ledger: the re-baseline is the operator's step, with a named actor and the
    change-control reference (decision 0010). A fresh database (no rows) and `flush` (no plan) stay silent.
    """
    if not plan or verbosity < 1:
        return
    reshaped = regulated_tables_reshaped(plan, using)
    if not reshaped:
        return
    out = stdout or sys.stdout
    migrations = sorted({label for labels in reshaped.values() for label in labels})
    out.write(
        f"Ledger: {', '.join(migrations)} added or removed fields of regulated tables that hold rows "
        f"({', '.join(reshaped)}). Before starting the application, run\n"
        '  cellchain ledger rebaseline --reason "<change-control reference>" --actor <username>\n'
        "then `cellchain ledger verify` (docs/operations/ledger.md, Upgrading).\n"
    )
