"""Send the clinic's daily reminders: follow-up visits, missing monitoring days, overdue AE reports."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cellchain.clinic.services import reminders_send
from cellchain.core import clock


class Command(BaseCommand):
    help = "Remind sites of follow-up visits (T-9.2.8-2), days 1-7 monitoring (T-9.2.6-2) and overdue AE reports."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = reminders_send(now=clock.now())
        self.stdout.write(f"{sent} reminder(s) sent")
