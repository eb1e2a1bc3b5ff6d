"""Bench: live logger readings through the MQTT broker into idempotent storage (issue 6).

Publishes --readings readings (default 20,000; --per-message readings per message, default 10) for --loggers
loggers to the local Mosquitto (127.0.0.1:1883) on cellchain/loggers/<serial>/readings, with the telemetry
subscriber (cellchain/logistics/telemetry.py) storing them with ``readings_store_live`` (bulk insert that
ignores duplicates). Then publishes everything again to show that re-delivered readings are stored once.

Baseline measured in the same run: the same readings stored directly with ``readings_store_live`` (no broker,
no JSON). Prints readings/s for both and the ratio. Uses a throw-away SQLite database in a temporary folder.

Run: .venv/bin/python bench/bench_mqtt_ingest.py [--readings N] [--per-message N] [--loggers N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import threading
import time


def setup_django(folder: str) -> None:
    """A throw-away SQLite database with tables made straight from the models (no migration history)."""
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cellchain.project.settings")
    import importlib

    settings_module = importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
    apps = [a.rsplit(".", 1)[-1] for a in settings_module.INSTALLED_APPS if a.startswith("cellchain.")]
    settings_module.MIGRATION_MODULES = dict.fromkeys(apps)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def payloads(serial: str, start: float, count: int, per_message: int) -> list[bytes]:
    return [
        json.dumps([{"t": start + 60.0 * j, "c": -185.0 + (j % 7) * 0.1} for j in range(i, min(i + per_message, count))]).encode()
        for i in range(0, count, per_message)
    ]  # fmt: skip


def publish_all(messages: list[tuple[str, bytes]]) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{time.time_ns()}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    infos = [client.publish(topic, body, qos=1) for topic, body in messages]
    for info in infos:
        info.wait_for_publish(timeout=30)
    client.loop_stop()
    client.disconnect()


def ingest_through_broker(serials: list[str], messages: list[tuple[str, bytes]], expected: int) -> float:
    """Seconds from the first publish until every message is parsed and stored (subscriber running)."""
    import paho.mqtt.client as mqtt

    from cellchain.logistics.models import TemperatureReading
    from cellchain.logistics.services import readings_store_live
    from cellchain.logistics.telemetry import Ingestor, topic_for

    ingestor = Ingestor(readings_store_live)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{time.time_ns()}")
    client.on_message = ingestor.on_message
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    for serial in serials:
        client.subscribe(topic_for(serial), qos=1)
    time.sleep(0.3)  # let the subscriptions settle before publishing
    before = TemperatureReading.objects.count()
    started = time.perf_counter()
    publisher = threading.Thread(target=publish_all, args=(messages,))
    publisher.start()
    deadline = started + 50
    while time.perf_counter() < deadline:
        ingestor.drain()
        if (
            not publisher.is_alive()
            and ingestor.inbox.empty()
            and ingestor.counters.messages >= len(messages)
        ):
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    publisher.join()
    client.loop_stop()
    client.disconnect()
    stored = TemperatureReading.objects.count() - before
    print(f"    messages received {ingestor.counters.messages}/{len(messages)}, rejected {ingestor.counters.rejected}, "
          f"new rows {stored} (expected {expected})")  # fmt: skip
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=int(os.environ.get("BENCH_MQTT_READINGS", 20_000)))
    parser.add_argument("--per-message", type=int, default=10)
    parser.add_argument("--loggers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder)
        from cellchain.logistics.models import TemperatureReading
        from cellchain.logistics.services import readings_store_live
        from cellchain.logistics.telemetry import topic_for

        per_logger = args.readings // args.loggers
        start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp()
        serials = [f"TL-BENCH-{i}" for i in range(args.loggers)]
        messages = [
            (topic_for(s), body) for s in serials for body in payloads(s, start, per_logger, args.per_message)
        ]
        total = per_logger * args.loggers

        base_rows = [(dt.datetime.fromtimestamp(start + 60.0 * j, dt.UTC), -185.0) for j in range(per_logger)]
        began = time.perf_counter()
        for s in serials:
            readings_store_live(f"{s}-DIRECT", base_rows)
        direct_s = time.perf_counter() - began

        print(f"MQTT ingest bench: {total:,} readings, {len(messages):,} messages, {args.loggers} loggers")
        print("  first delivery:")
        first_s = ingest_through_broker(serials, messages, total)
        print("  second delivery of the same messages (idempotent, expect 0 new rows):")
        again_s = ingest_through_broker(serials, messages, 0)
        rows = TemperatureReading.objects.filter(logger_serial__startswith="TL-BENCH-").exclude(
            logger_serial__endswith="-DIRECT"
        )
        assert rows.count() == total, f"stored {rows.count()} readings, expected {total}"
        mqtt_rate, direct_rate = total / first_s, total / direct_s
        print(
            f"  baseline: direct readings_store_live      {direct_rate:12,.0f} readings/s ({direct_s:.2f} s)"
        )
        print(f"  ours: broker + parse + idempotent store    {mqtt_rate:12,.0f} readings/s ({first_s:.2f} s)")
        print(
            f"  re-delivery (all duplicates)               {total / again_s:12,.0f} readings/s ({again_s:.2f} s)"
        )
        print(f"  ratio baseline / ours = {direct_rate / mqtt_rate:.2f}")


if __name__ == "__main__":
    main()
