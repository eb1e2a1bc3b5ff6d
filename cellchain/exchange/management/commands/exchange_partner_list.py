"""`cellchain exchange partner-list`: the partner register (issue 12 item 1)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "List the registered partner installations with their pinned key and message counts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        from cellchain.exchange.credentials import token_read
        from cellchain.exchange.selectors import partners_list

        rows = [
            {
                "id": p.pk,
                "name": p.name,
                "role": p.role,
                "base_url": p.base_url,
                "log_id": p.log_id,
                "fingerprint": p.key_fingerprint,
                "active": p.active,
                "outbound_token_set": token_read(p.log_id) is not None,
                "queued": p.queued,
                "failed": p.failed,
            }
            for p in partners_list()
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write("no partner registered")
        for row in rows:
            state = "active" if row["active"] else "inactive"
            self.stdout.write(
                f"{row['id']:>3} {row['log_id']:<24} {row['role']:<12} {state:<8} {row['base_url']} "
                f"key {row['fingerprint'][:16]} queued {row['queued']} failed {row['failed']}"
                + ("" if row["outbound_token_set"] else "  (no outbound token)")
            )
