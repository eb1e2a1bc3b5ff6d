"""What another installation needs to register this one as its partner (issue 12 item 1)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from cellchain.core import installation
from cellchain.exchange.conf import setting
from cellchain.ledger import keys
from cellchain.ledger.export import b64
from cellchain.ledger.signing_keys import active_key
from cellchain.verifier.signing import key_fingerprint

IDENTITY_FORMAT = "cellchain-exchange-identity/1"


def identity() -> dict[str, Any]:
    """This installation's name, role, organisation code (when set), log id, public key (base64) and its SHA-256 fingerprint.

    The key is the log's active signing key (the one that signs heads and envelopes); before the first head
    it is the key file's key, which becomes the first key.
    """
    key = active_key()
    public = bytes(key.public_key) if key is not None else keys.public_key_bytes()
    document: dict[str, Any] = {
        "format": IDENTITY_FORMAT,
        "name": installation.name(),
        "role": installation.role(),
        "log_id": str(settings.CELLCHAIN_LEDGER_LOG_ID),
        "public_key": b64(public),
        "fingerprint": key_fingerprint(public),
    }
    if installation.organisation_code():
        document["organisation"] = installation.organisation_code()
    base_url = str(setting("CELLCHAIN_EXCHANGE_BASE_URL"))
    if base_url:
        document["base_url"] = base_url.rstrip("/")
    return document
