"""Test helpers for the EPCIS messages over the exchange (issue 12 item 2; decision 0022): a partner standing
for an organisation, and the outbox rows of the EPCIS kinds."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.exchange.models import OutboxMessage, Partner
from cellchain.exchange.services import partner_register
from cellchain.verifier.signing import public_key_bytes


def partner_for(organisation: Any, *, log_id: str = "hospital-a", role: str = "hospital") -> Partner:
    """Register a partner installation standing for `organisation` (its own freshly made key)."""
    key = Ed25519PrivateKey.generate()
    partner, _token = partner_register(
        actor=None,
        name=f"{organisation.name} installation",
        role=role,
        base_url="http://127.0.0.1:9",
        log_id=log_id,
        public_key=base64.b64encode(public_key_bytes(key)).decode(),
        outbound_token=f"ccx_outbound-token-for-{log_id}-0123456789",
        inbound_token=f"ccx_inbound-token-of-{log_id}-0123456789",
        organisation=organisation.code,
    )
    return partner


def epcis_outbox() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind__startswith="epcis.").order_by("pk"))


def kinds_sent() -> list[str]:
    return [m.kind for m in epcis_outbox()]
