"""`cellchain exchange partner-add`: register a partner installation with its pinned key (issue 12 item 1).

    cellchain exchange partner-add --identity their-identity.json --base-url https://hospital-a.example \
        --outbound-token-file token-they-gave-us.txt [--inbound-token-file token-we-accept.txt]

The partner's name, role, log id, key and fingerprint come from its `exchange identity` JSON (`--identity`)
or from the options of the same names. Without an inbound token one is made and printed once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cellchain.core.errors import ServiceError


def _read(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise CommandError(f"{path}: {error.strerror}") from None


class Command(BaseCommand):
    help = "Register a partner installation (name, role, base URL, log id, pinned key, tokens)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--identity", help="the partner's `exchange identity` JSON file ('-' for stdin)")
        parser.add_argument("--name")
        parser.add_argument("--role", choices=["manufacturer", "hospital"])
        parser.add_argument("--base-url", required=True, help="https://host[:port], or http://127.0.0.1:port")
        parser.add_argument("--log-id")
        parser.add_argument("--public-key", help="base64 raw Ed25519 public key")
        parser.add_argument("--fingerprint", help="SHA-256 of the key, as the partner published it")
        parser.add_argument("--outbound-token-file", help="file holding the token the partner gave us")
        parser.add_argument("--outbound-token", help="the token itself (prefer the file: visible in ps)")
        parser.add_argument("--inbound-token-file", help="file holding the token the partner will present")
        parser.add_argument(
            "--organisation", help="code of the organisation the partner stands for here (routes messages)"
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        from cellchain.exchange.services import partner_register

        document: dict[str, Any] = {}
        if options["identity"]:
            import sys

            text = sys.stdin.read() if options["identity"] == "-" else _read(options["identity"]) or ""
            try:
                document = json.loads(text)
            except ValueError as error:
                raise CommandError(f"--identity: not JSON: {error}") from None
            if not isinstance(document, dict):
                raise CommandError("--identity: expected the JSON object printed by `exchange identity`")
        values = {
            key: options[key] or document.get(key)
            for key in ("name", "role", "log_id", "public_key", "fingerprint")
        }
        missing = [
            f"--{key.replace('_', '-')}"
            for key in ("name", "role", "log_id", "public_key")
            if not values[key]
        ]
        if missing:
            raise CommandError(f"missing {', '.join(missing)} (or give --identity)")
        try:
            partner, made = partner_register(
                actor=None,
                name=values["name"],
                role=values["role"],
                base_url=options["base_url"],
                log_id=values["log_id"],
                public_key=values["public_key"],
                fingerprint=values["fingerprint"],
                outbound_token=options["outbound_token"] or _read(options["outbound_token_file"]) or "",
                inbound_token=_read(options["inbound_token_file"]),
                organisation=options["organisation"] or document.get("organisation") or "",
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        result = {
            "id": partner.pk,
            "name": partner.name,
            "log_id": partner.log_id,
            "fingerprint": partner.key_fingerprint,
        }
        if made:
            result["inbound_token"] = made
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"registered {partner.name} ({partner.log_id}), key {partner.key_fingerprint}")
        if made:
            self.stdout.write(f"token for {partner.name} to present to us (shown once): {made}")
