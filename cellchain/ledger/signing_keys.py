"""The log's signing key history: the first key and the signer of each head (decision 0008).

`heads` asks `active_signer()` for the key that signs; rotation (`rotation.py`) builds on both. The key rows
are regulated records written through `records` (issue 15 item 1).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.utils.translation import gettext as _

from cellchain.core import clock
from cellchain.core.errors import Conflict
from cellchain.domain.treehead import key_id
from cellchain.ledger import keys
from cellchain.ledger.models import LedgerSigningKey
from cellchain.ledger.records import record_create


def active_key() -> LedgerSigningKey | None:
    """The key history's active key, or None before the log's first key was registered."""
    return LedgerSigningKey.objects.filter(state=LedgerSigningKey.State.ACTIVE).first()


def active_signer() -> tuple[LedgerSigningKey, Ed25519PrivateKey]:
    """The active key and its private key; registers the key file's key as the first key when the history is
    empty (a ledgered event). Call inside the transaction that signs."""
    key = active_key()
    if key is None:
        key = signing_key_register(actor=None, reason="first signing key of this log")
    return key, keys.private_key_for(key.key_id)


@transaction.atomic
def signing_key_register(*, actor: Any | None, reason: str) -> LedgerSigningKey:
    """Register the key file's key (created when there is none) as the log's first signing key.

    Runs once per installation, when the first head is signed (`heads.active_signer`); migration 0006 does it
    for installations that signed heads before the key history existed. Refused once a key is registered:
    a new key comes only through `signing_key_rotate`, whose handover the old key signs.
    """
    if LedgerSigningKey.objects.exists():
        raise Conflict(
            _(
                "This log already has a signing key history; a new key comes only by rotation (ledger rotate-key)."
            )
        )
    public = keys.public_key_bytes()
    key = LedgerSigningKey(
        key_id=key_id(public),
        public_key=public,
        state=LedgerSigningKey.State.ACTIVE,
        activated_at=clock.now().replace(microsecond=0),
        activated_by=actor,
        activation_reason=reason,
    )
    record_create(actor=actor, record=key, event="ledger_key:register", reason=reason)
    return key
