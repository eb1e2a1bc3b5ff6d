"""Send the notification e-mails that failed or are waiting, with back-off (issue 15); run it from cron/a timer."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cellchain.quality.services import emails_retry


class Command(BaseCommand):
    help = "Send due notification e-mails (pending, or failed and past their back-off); prints sent/failed."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=200, help="At most this many e-mails per run.")

    def handle(self, *args: Any, **options: Any) -> None:
        sent, failed = emails_retry(limit=options["limit"])
        self.stdout.write(f"notification e-mails: {sent} sent, {failed} failed")
