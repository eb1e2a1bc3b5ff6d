"""Rotating the log's signing key: the old key signs the handover head that names the new one (decision 0008)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import transaction
from django.utils.translation import gettext as _

from cellchain.core import clock
from cellchain.core.errors import ValidationFailed
from cellchain.domain.treehead import key_id
from cellchain.ledger import heads, keys
from cellchain.ledger.models import LedgerHead, LedgerSigningKey, SignedTreeHead
from cellchain.ledger.records import record_amend, record_create
from cellchain.verifier.signing import public_key_bytes


@dataclass(frozen=True)
class KeyRotation:
    """What a rotation did: the key retired, the key activated, and the handover head the old key signed."""

    retired: LedgerSigningKey
    activated: LedgerSigningKey
    handover: SignedTreeHead


@transaction.atomic
def signing_key_rotate(*, actor: Any | None, reason: str) -> KeyRotation:
    """Replace the log's signing key: a new Ed25519 key, a handover head signed by the old key, old retired.

    In one transaction, holding the head row lock (so no head is signed meanwhile): the old key is retired and
    the new one activated, each with a ledger entry giving `reason`; then the OLD key signs a head over the
    tree including both entries whose signed bytes name the new key id (`next_key_id`), so whoever trusts the
    old key can follow the trust to the new one. The new private key is written next to the key file (mode
    0600) before the transaction and moved over it after the commit; the old private key is then gone from the
    key path. Heads after this one are signed with the new key; `ledger verify` refuses any the old key signs.
    """
    if not reason.strip():
        raise ValidationFailed(_("Give the reason for rotating the ledger's signing key."), field="reason")
    LedgerHead.objects.select_for_update().get_or_create(pk=1)
    old, old_private = heads.active_signer()
    new_private = Ed25519PrivateKey.generate()
    new_public = public_key_bytes(new_private)
    new_id = key_id(new_public)
    keys.write_private_key(keys.pending_path(new_id), new_private)
    try:
        moment = clock.now().replace(microsecond=0)
        old.state = LedgerSigningKey.State.RETIRED
        old.retired_at, old.retired_by, old.retirement_reason = moment, actor, reason
        record_amend(
            actor=actor,
            record=old,
            event="ledger_key:retire",
            reason=reason,
            extra={"successor_key_id": new_id},
        )
        new = LedgerSigningKey(
            key_id=new_id,
            public_key=new_public,
            state=LedgerSigningKey.State.ACTIVE,
            predecessor=old,
            activated_at=moment,
            activated_by=actor,
            activation_reason=reason,
        )
        record_create(
            actor=actor,
            record=new,
            event="ledger_key:activate",
            reason=reason,
            extra={"predecessor_key_id": old.key_id},
        )
        handover = heads.sign_head(
            size=heads.current_size(), key=old, private_key=old_private, moment=moment, next_key_id=new_id
        )
    except BaseException:
        keys.discard_pending(new_id)
        raise
    transaction.on_commit(functools.partial(keys.install_pending, new_id))
    return KeyRotation(retired=old, activated=new, handover=handover)
