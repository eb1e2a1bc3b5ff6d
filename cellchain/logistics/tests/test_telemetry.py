"""MQTT payloads of live logger readings and their idempotent storage."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from cellchain.logistics import services
from cellchain.logistics.models import TemperatureReading
from cellchain.logistics.telemetry import Ingestor, parse_payload, serial_of, topic_for


def test_payload_with_offset_epoch_and_fault():
    readings = parse_payload(
        b'[{"t": "2026-03-01T08:00:00+08:00", "c": -185.2}, {"t": 1772323260, "c": null}]'
    )
    assert readings == [
        (dt.datetime(2026, 3, 1, tzinfo=dt.UTC), -185.2),
        (dt.datetime(2026, 3, 1, 0, 1, tzinfo=dt.UTC), None),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"t": "2026-03-01T08:00:00", "c": 1}',
        b'{"t": 1, "c": "hot"}',
        b'{"t": 1}',
        b'{"t": 1, "c": 1, "x": 2}',
    ],
)
def test_bad_payloads_are_refused_with_a_reason(payload):
    with pytest.raises(ValueError):
        parse_payload(payload)


def test_topic_names_one_logger():
    assert serial_of(topic_for("TL-7")) == "TL-7"
    with pytest.raises(ValueError):
        serial_of("cellchain/loggers//readings")


@pytest.mark.django_db
def test_ingestor_stores_once_and_counts_rejects():
    ingestor = Ingestor(services.readings_store_live)
    message = SimpleNamespace(topic=topic_for("TL-9"), payload=b'{"t": 1772323200, "c": -185.0}')
    for _ in range(3):
        ingestor.on_message(None, None, message)
    ingestor.on_message(None, None, SimpleNamespace(topic=topic_for("TL-9"), payload=b"garbage"))
    ingestor.drain()
    assert TemperatureReading.objects.filter(logger_serial="TL-9").count() == 1
    assert (ingestor.counters.messages, ingestor.counters.rejected) == (4, 1)
    assert "TL-9" in ingestor.counters.errors[0]
