"""Writes behind the ledger's back, for tests that play an attacker or a legacy row (issue 15 item 1).

The application has no such path: `RegulatedModel.save()` and the regulated queryset refuse. A test that must
put a row in the state an attacker with database access (or an old release) would leave uses these.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models

from cellchain.ledger import guard


def save_unledgered(instance: Any, **save_kwargs: Any) -> Any:
    """Save `instance` with no ledger entry."""
    with guard.permit(instance):
        instance.save(**save_kwargs)
    return instance


def create_unledgered(model: type, **fields: Any) -> Any:
    """Insert a row of `model` with no ledger entry."""
    return save_unledgered(model(**fields))


def update_unledgered(queryset: Any, **values: Any) -> int:
    """A bulk UPDATE with no ledger entry."""
    return models.QuerySet.update(queryset, **values)


def delete_unledgered(queryset: Any) -> Any:
    """A DELETE with no ledger entry (no void, no reason)."""
    return models.QuerySet.delete(queryset)


def bulk_create_unledgered(model: type, rows: list[Any]) -> list[Any]:
    """A bulk INSERT with no ledger entries."""
    return models.QuerySet(model).bulk_create(rows)


@functools.cache
def migration_apps() -> Any:
    """The historical models `migrate` hands a RunPython function (the latest state; no database read)."""
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(None, ignore_no_migrations=True).project_state().apps
