"""`cellchain exchange identity`: this installation's name, role, log id and key as JSON, for a partner to
register it (issue 12 item 1)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print this installation's name, role, ledger log id, public key (base64) and fingerprint as JSON."

    def handle(self, *args: Any, **options: Any) -> None:
        from cellchain.exchange.identity import identity

        self.stdout.write(json.dumps(identity(), indent=2, ensure_ascii=False))
