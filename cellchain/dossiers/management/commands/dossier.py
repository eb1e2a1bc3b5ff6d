"""`cellchain dossier run`: build the exports requested from the dossier page (issue 14 item 6).

With CELLCHAIN_DOSSIER_RUNNER=command the web workers only record requests; run this from cron or a systemd
timer to build them. With the default thread runner it builds any export left queued (a worker restarted)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Build the queued inspection dossiers and audit-trail exports."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        commands.add_parser("run", help="build every queued export, oldest first")

    def handle(self, *args: Any, **options: Any) -> None:
        from cellchain.dossiers.jobs import dossier_exports_execute_queued

        for export in dossier_exports_execute_queued():
            outcome = (
                f"{export.file_name} sha256 {export.file_sha256}" if export.status == "done" else export.error
            )
            self.stdout.write(
                f"export {export.pk} ({export.kind} {export.subject_label}): {export.status}: {outcome}"
            )
