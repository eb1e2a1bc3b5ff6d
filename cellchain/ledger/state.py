"""A regulated row as JSON for the ledger: deterministic, so replaying the ledger reproduces the table (DESIGN.md)."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models


def field_value(field: models.Field[Any, Any], value: Any) -> Any:
    """Return the JSON form of one field value, identical before and after a round trip through the database."""
    if value is None:
        return None
    if isinstance(field, models.DateTimeField):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    if isinstance(field, models.DateField):
        return value.isoformat()
    if isinstance(field, models.TimeField):
        return value.isoformat(timespec="microseconds")
    if isinstance(field, models.DurationField):
        return str(value.total_seconds())
    if isinstance(field, models.DecimalField):
        quantum = decimal.Decimal(1).scaleb(-field.decimal_places)
        return str(decimal.Decimal(value).quantize(quantum))
    if isinstance(field, models.FloatField):
        # repr round-trips every double; a string avoids RFC 8785's number re-formatting questions.
        return repr(float(value))
    if isinstance(field, models.BinaryField):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(field, models.JSONField):
        return value
    if isinstance(value, bool | int | str):
        return value
    return str(value)


def row_state(instance: models.Model, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Return every concrete column of `instance` (foreign keys by id) except `exclude`."""
    state: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in exclude or field.attname in exclude:
            continue
        state[field.attname] = field_value(field, getattr(instance, field.attname))
    return state
