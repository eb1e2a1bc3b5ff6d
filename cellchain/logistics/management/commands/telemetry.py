"""`cellchain telemetry`: subscribe to every linked logger's MQTT topic and store readings idempotently."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cellchain.logistics import services
from cellchain.logistics.models import LoggerLink, Shipment
from cellchain.logistics.telemetry import TOPIC_PREFIX, TOPIC_SUFFIX, run, topic_for


def _active_topics() -> list[str]:
    """Loggers of shipments still travelling or packed (a topic per logger)."""
    live = (
        Shipment.Status.PACKING,
        Shipment.Status.PACKED,
        Shipment.Status.IN_TRANSIT,
        Shipment.Status.ARRIVED,
    )
    serials = LoggerLink.objects.filter(shipment__status__in=live).values_list("serial", flat=True)
    return [topic_for(s) for s in serials]


class Command(BaseCommand):
    help = (
        "Store live temperature-logger readings from the MQTT broker (cellchain/loggers/<serial>/readings)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1883)
        parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
        parser.add_argument("--all", action="store_true", help="subscribe to every logger topic (wildcard)")

    def handle(self, *args: Any, **options: Any) -> None:
        wildcard = f"{TOPIC_PREFIX}+{TOPIC_SUFFIX}"
        counters = run(
            host=options["host"],
            port=options["port"],
            topics=(lambda: [wildcard]) if options["all"] else _active_topics,
            store=services.readings_store_live,
            seconds=options["seconds"],
        )
        self.stdout.write(
            f"messages {counters.messages}, readings stored {counters.readings}, rejected {counters.rejected}"
        )
        for error in counters.errors[:20]:
            self.stderr.write(error)
