"""Temperature data: logger file imports (regulated, SHA-256 kept) and live readings (bulk rows) (T-8.1.5-a)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction

from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, TooLarge, ValidationFailed
from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.loggers import GENERIC_FORMAT, LoggerCsvFormat, read_logger_csv
from cellchain.ledger.records import record_create
from cellchain.logistics.models import LoggerFileImport, LoggerLink, TemperatureReading


@transaction.atomic
def logger_file_import(
    *, actor: Any, logger: LoggerLink, data: bytes, file_name: str, fmt: LoggerCsvFormat = GENERIC_FORMAT
) -> LoggerFileImport:
    """Import a logger export for a linked logger; a bad file or another logger's file is refused."""
    if actor.site_id not in (logger.shipment.from_site_id, logger.shipment.to_site_id):
        raise NotAllowed("Only the sending or receiving site imports the shipment's logger files.")
    if len(data) > settings.CELLCHAIN_MAX_LOGGER_FILE_BYTES:
        raise TooLarge(
            f"{file_name} is {len(data) / 1e6:.1f} MB; a logger file may be at most "
            f"{settings.CELLCHAIN_MAX_LOGGER_FILE_BYTES / 1e6:.1f} MB (CELLCHAIN_MAX_LOGGER_FILE_BYTES). "
            "Nothing was imported; export a shorter period.",
            field="file",
        )
    digest = hashlib.sha256(data).hexdigest()
    if logger.imports.filter(sha256=digest).exists():
        raise Conflict(f"{file_name} was already imported for logger {logger.serial}.")
    try:
        parsed = read_logger_csv(data, fmt, name=file_name, expected_logger=logger.serial)
    except InstrumentFileError as exc:
        raise ValidationFailed(str(exc), field="file") from exc
    trace = parsed.trace
    faults = int((~_finite(trace.celsius)).sum())
    row = LoggerFileImport(logger=logger, file_name=file_name[:200], sha256=digest, readings=len(trace),
                           faults=faults, imported_at=clock.now(), imported_by=actor)  # fmt: skip
    record_create(actor=actor, record=row, event="shipment:logger:import",
                  extra={"sha256": digest, "readings": len(trace)})  # fmt: skip
    TemperatureReading.objects.bulk_create(
        [
            TemperatureReading(logger_serial=logger.serial, at=_utc(t), celsius=_celsius(c), file_import=row)
            for t, c in zip(trace.times.tolist(), trace.celsius.tolist(), strict=True)
        ],
        batch_size=5000,
    )
    return row


def _finite(values: Any) -> Any:
    import numpy as np

    return np.isfinite(values)


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _celsius(value: float) -> float | None:
    return None if value != value else value  # NaN: no temperature (probe fault)


def readings_store_live(serial: str, readings: Iterable[tuple[dt.datetime, float | None]]) -> int:
    """Store live readings of a logger idempotently (a re-delivered MQTT message is kept once).

    Returns how many readings were offered; duplicates of (logger, time) are ignored by the database.
    """
    rows = [TemperatureReading(logger_serial=serial, at=at, celsius=c) for at, c in readings]
    TemperatureReading.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    return len(rows)
