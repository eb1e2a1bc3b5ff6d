"""Live logger readings over MQTT: payload parsing and the subscriber loop behind `cellchain telemetry`.

Each logger publishes to ``cellchain/loggers/<serial>/readings`` a JSON object ``{"t": time, "c": °C}`` or a
list of them; ``t`` is an ISO 8601 time with offset or UTC epoch seconds, ``c`` a number or null (probe
fault). Readings are stored idempotently (a re-delivered message is kept once). A payload that cannot be
read is logged with its topic and reason and counted, never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import queue
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

TOPIC_PREFIX = "cellchain/loggers/"
TOPIC_SUFFIX = "/readings"


def topic_for(serial: str) -> str:
    return f"{TOPIC_PREFIX}{serial}{TOPIC_SUFFIX}"


def serial_of(topic: str) -> str:
    if not (topic.startswith(TOPIC_PREFIX) and topic.endswith(TOPIC_SUFFIX)):
        raise ValueError(f"topic {topic!r} is not {TOPIC_PREFIX}<serial>{TOPIC_SUFFIX}")
    serial = topic[len(TOPIC_PREFIX) : -len(TOPIC_SUFFIX)]
    if not serial or "/" in serial:
        raise ValueError(f"topic {topic!r} names no logger")
    return serial


def _time(value: Any) -> dt.datetime:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str):
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError(f"time {value!r} has no UTC offset")
        return moment.astimezone(dt.UTC)
    raise ValueError(f"time {value!r} is neither ISO 8601 nor epoch seconds")


def _celsius(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise ValueError(f"temperature {value!r} is not a number or null")


def parse_payload(payload: bytes) -> list[tuple[dt.datetime, float | None]]:
    """The readings of one message; raises ValueError naming what is wrong."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"payload is not JSON: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    readings = []
    for item in items:
        if not isinstance(item, dict) or set(item) != {"t", "c"}:
            raise ValueError('each reading must be an object with exactly "t" and "c"')
        readings.append((_time(item["t"]), _celsius(item["c"])))
    return readings


@dataclass
class IngestCounters:
    messages: int = 0
    readings: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


class Ingestor:
    """Collects readings from MQTT callbacks and stores them in batches from the main thread."""

    def __init__(self, store: Callable[[str, Iterable[tuple[dt.datetime, float | None]]], int]) -> None:
        self.store = store
        self.inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.counters = IngestCounters()

    def on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        self.inbox.put((message.topic, message.payload))

    def drain(self, max_items: int = 20_000) -> int:
        """Parse and store what has arrived; returns the number of readings stored (offered)."""
        batches: dict[str, list[tuple[dt.datetime, float | None]]] = {}
        for _ in range(max_items):
            try:
                topic, payload = self.inbox.get_nowait()
            except queue.Empty:
                break
            self.counters.messages += 1
            try:
                batches.setdefault(serial_of(topic), []).extend(parse_payload(payload))
            except ValueError as exc:
                self.counters.rejected += 1
                self.counters.errors.append(f"{topic}: {exc}")
                logger.warning("telemetry: rejected message on %s: %s", topic, exc)
        stored = sum(self.store(serial, readings) for serial, readings in batches.items())
        self.counters.readings += stored
        return stored


def run(
    *,
    host: str,
    port: int,
    topics: Callable[[], list[str]],
    store: Callable[[str, Iterable[tuple[dt.datetime, float | None]]], int],
    seconds: float | None = None,
    refresh_s: float = 30.0,
) -> IngestCounters:
    """Subscribe to each logger's topic (refreshed every ``refresh_s``) and store readings until stopped."""
    import paho.mqtt.client as mqtt

    ingestor = Ingestor(store)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"cellchain-telemetry-{time.time_ns()}")
    client.on_message = ingestor.on_message
    client.connect(host, port)
    client.loop_start()
    subscribed: set[str] = set()
    started = last_refresh = time.monotonic()
    try:
        while seconds is None or time.monotonic() - started < seconds:
            if not subscribed or time.monotonic() - last_refresh > refresh_s:
                for topic in set(topics()) - subscribed:
                    client.subscribe(topic, qos=1)
                    subscribed.add(topic)
                last_refresh = time.monotonic()
            if ingestor.drain() == 0:
                time.sleep(0.05)
        ingestor.drain(max_items=10**9)
    finally:
        client.loop_stop()
        client.disconnect()
    return ingestor.counters
