"""The `cellchain` command: `demo`, `serve`, and every Django management command (`cellchain ledger verify`,
`cellchain move-database` for `move_database`)."""

from __future__ import annotations

import os
import sys


def _django(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cellchain.project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["cellchain", *argv])


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "help"
    if command == "demo":
        # Migrate, load the demo data (idempotent), then serve on 127.0.0.1:8000.
        _django(["migrate", "--noinput", "-v", "0"])
        _django(["demo_load"])
        _django(["runserver", "127.0.0.1:8000", *args[1:]])
    elif command == "serve":
        _django(["runserver", *(args[1:] or ["127.0.0.1:8000"])])
    elif command == "exchange" and len(args) > 1:
        # `cellchain exchange run --once` is the command `exchange_run` (likewise identity, partner-add ...).
        _django([f"exchange_{args[1].replace('-', '_')}", *args[2:]])
    else:
        # `move-database` reads better on a command line; Django's command modules use underscores.
        _django([command.replace("-", "_"), *args[1:]] if args else ["help"])


if __name__ == "__main__":
    main()
