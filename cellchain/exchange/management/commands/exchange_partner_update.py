"""`cellchain exchange partner-update --log-id ID --reason TEXT ...`: change a partner, with a reason
(issue 12 item 1). A new pinned key is given here and nowhere else; `--deactivate` stops the exchange."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cellchain.core.errors import ServiceError
from cellchain.exchange.management.commands.exchange_partner_add import _read


class Command(BaseCommand):
    help = "Change a registered partner (URL, pinned key, tokens) or deactivate it; a reason is required."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--log-id", required=True, help="the partner's ledger log id")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--name")
        parser.add_argument("--base-url")
        parser.add_argument("--public-key", help="the partner's new base64 Ed25519 public key")
        parser.add_argument("--fingerprint", help="SHA-256 of the new key, as the partner published it")
        parser.add_argument("--outbound-token-file", help="file holding the new token the partner gave us")
        parser.add_argument("--inbound-token-file", help="file holding the token the partner will present")
        parser.add_argument("--new-inbound-token", action="store_true", help="make a new token, printed once")
        parser.add_argument("--deactivate", action="store_true", help="stop exchanging with the partner")

    def handle(self, *args: Any, **options: Any) -> None:
        from cellchain.exchange.models import Partner
        from cellchain.exchange.services import partner_deactivate, partner_update

        partner = Partner.objects.filter(log_id=options["log_id"]).first()
        if partner is None:
            raise CommandError(f"no partner with log id {options['log_id']!r} (see `exchange partner-list`)")
        try:
            if options["deactivate"]:
                partner_deactivate(actor=None, partner=partner, reason=options["reason"])
                self.stdout.write(f"{partner.name} ({partner.log_id}) deactivated")
                return
            partner, made = partner_update(
                actor=None,
                partner=partner,
                reason=options["reason"],
                name=options["name"],
                base_url=options["base_url"],
                public_key=options["public_key"],
                fingerprint=options["fingerprint"],
                outbound_token=_read(options["outbound_token_file"]),
                inbound_token=_read(options["inbound_token_file"]),
                new_inbound_token=options["new_inbound_token"],
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        result = {
            "log_id": partner.log_id,
            "base_url": partner.base_url,
            "fingerprint": partner.key_fingerprint,
        }
        if made:
            result["inbound_token"] = made
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
