"""`cellchain exchange run`: the delivery worker of the exchange outbox (issue 12 item 2).

cellchain exchange run --once        deliver what is due now and exit
cellchain exchange run               loop: deliver, then wait --interval seconds when nothing is due
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Deliver queued exchange messages to partners (retries with back-off; --once or a loop)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
        parser.add_argument(
            "--interval", type=float, default=2.0, help="seconds between polls in the loop (2)"
        )
        parser.add_argument("--limit", type=int, default=None, help="messages claimed per batch")

    def handle(self, *args: Any, **options: Any) -> None:
        from cellchain.exchange.worker import run_once

        while True:
            counts = run_once(options["limit"])
            if options["once"] or options["verbosity"] > 1 or any(counts.values()):
                self.stdout.write(" ".join(f"{key} {value}" for key, value in counts.items()))
            if options["once"]:
                return
            if not any(counts.values()):
                try:
                    time.sleep(max(0.1, options["interval"]))
                except KeyboardInterrupt:
                    return
