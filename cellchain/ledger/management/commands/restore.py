"""`cellchain restore PATH [--force]`: a backup into an empty database, then the ledger verify (issue 15 item 3).

Exit status 0 only when the ledger verifies and matches the backup's manifest (docs/operations/backup.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cellchain.core.errors import ServiceError


class Command(BaseCommand):
    help = "Restore a `cellchain backup` file into the (empty) database, then run the ledger verify."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the backup file (its manifest is read from PATH.manifest.json)")
        parser.add_argument(
            "--force", action="store_true", help="replace the contents of a database that is not empty"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from cellchain.ledger.operations import restore_database

        path = Path(options["path"])
        try:
            result = restore_database(path, force=options["force"])
        except ServiceError as error:
            raise CommandError(error.message) from None
        if result.manifest is None:
            self.stderr.write(f"no manifest beside {path}: the restored ledger is verified but not compared")
        self.stdout.write(
            f"restored {path}: ledger size {result.position.size} root {result.position.root.hex()}"
        )
        self.stdout.write("\n".join(result.report.lines()))
        for problem in result.problems:
            self.stdout.write(f"  [manifest] {problem}")
        if not result.ok:
            raise CommandError(
                "restored, but the ledger verification FAILED: do not put this database into use"
            )
