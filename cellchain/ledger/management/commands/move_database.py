"""`cellchain move-database --to URL`: every row into an empty database, exact values, verified (issue 15 item 3).

The way from SQLite to PostgreSQL (docs/operations/backup.md, decision 0011): JSON `dumpdata`/`loaddata` cuts
datetimes to milliseconds and the ledger's replay then fails; this copies typed values instead.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cellchain.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Copy this database into the empty database at --to (migrated first), then verify its ledger there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to", required=True, metavar="DATABASE_URL", help="the empty target, e.g. postgres://u@host/db"
        )
        parser.add_argument("--chunk", type=int, default=2000, help="rows read and written per batch")

    def handle(self, *args: Any, **options: Any) -> None:
        from cellchain.ledger.operations import move_database

        if options["chunk"] < 1:
            raise CommandError("--chunk must be at least 1")
        try:
            result = move_database(options["to"], chunk=options["chunk"])
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"copied {sum(result.rows.values())} rows of {len(result.rows)} tables")
        for table, (copied, found) in sorted(result.mismatched.items()):
            self.stdout.write(f"  {table}: {copied} rows copied but {found} on the target")
        self.stdout.write("ledger verify on the target:")
        self.stdout.write(result.verify_output.rstrip())
        if not result.ok:
            raise CommandError("moved, but the target does NOT verify: do not switch DATABASE_URL to it")
        self.stdout.write("Done: point DATABASE_URL at the target and start the application.")
