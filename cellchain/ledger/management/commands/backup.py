"""`cellchain backup PATH`: a consistent online copy of the database and its manifest (issue 15 item 3).

SQLite: VACUUM INTO; PostgreSQL: pg_dump --format=custom (docs/operations/backup.md). Never overwrites a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cellchain.core.errors import ServiceError


class Command(BaseCommand):
    help = "Write a consistent copy of the database to PATH and PATH.manifest.json (ledger size and root)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the backup file to create (must not exist)")
        parser.add_argument("--json", action="store_true", help="print the manifest as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        from cellchain.ledger.operations import backup_database, manifest_path

        path = Path(options["path"])
        try:
            manifest = backup_database(path)
        except ServiceError as error:
            raise CommandError(error.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(manifest, indent=2))
            return
        ledger = manifest["ledger"]
        self.stdout.write(
            f"backup {path} ({manifest['engine']}, {manifest['bytes']} bytes, SHA-256 {manifest['sha256']})\n"
            f"ledger {manifest['log_id']} size {ledger['size']} root {ledger['root']}\n"
            f"manifest {manifest_path(path)}\n"
            "The ledger signing key is not in the database: back up its file separately."
        )
