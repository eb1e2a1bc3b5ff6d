"""A regulated row as JSON for the ledger: deterministic, so replaying the ledger reproduces the table (DESIGN.md)."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import functools
import uuid
from typing import Any

from django.db import models


def utc_time(moment: dt.datetime) -> str:
    """A moment as the ledger writes it: RFC 3339 in UTC, microseconds, "Z" (entries, row states, key history)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def field_value(field: models.Field[Any, Any], value: Any) -> Any:
    """Return the JSON form of one field value, identical before and after a round trip through the database."""
    if value is None:
        return None
    if isinstance(field, models.DateTimeField):
        return utc_time(value)
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


def _converter(field: models.Field[Any, Any]) -> Any:
    """The `field_value` of one field, specialised once: plain text and integer columns need no conversion."""
    if isinstance(
        field,
        models.CharField | models.TextField | models.IntegerField | models.BooleanField | models.ForeignKey,
    ):
        # Their values are str/int/bool/None already (foreign keys by id); anything else takes the general path.
        def plain(value: Any) -> Any:
            kind = type(value)
            if value is None or kind is str or kind is int or kind is bool:
                return value
            if isinstance(value, bool | int | str):
                # Choices enum members: the plain value, as RFC 8785 would write it.
                return (
                    bool(value)
                    if isinstance(value, bool)
                    else int(value)
                    if isinstance(value, int)
                    else str(value)
                )
            return field_value(field, value)

        return plain
    return lambda value: field_value(field, value)


@functools.cache
def state_columns(model: type[models.Model], exclude: frozenset[str]) -> tuple[tuple[str, Any], ...]:
    return tuple(
        (field.attname, _converter(field))
        for field in model._meta.concrete_fields
        if field.name not in exclude and field.attname not in exclude
    )


def row_state(instance: models.Model, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Return every concrete column of `instance` (foreign keys by id) except `exclude`."""
    return {
        attname: convert(getattr(instance, attname))
        for attname, convert in state_columns(type(instance), exclude)
    }
