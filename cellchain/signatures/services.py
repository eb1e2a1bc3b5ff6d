"""Sign, two-person check, amend and void: the generic commands on any regulated record (issue 3 item 10).

Every signature re-authenticates the signer at that moment (11.200(a)), names meaning, printed name and time,
and binds the SHA-256 of exactly the content signed (11.70). An amendment supersedes existing signatures.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from cellchain.accounts.services import reauthenticate, require_qualification
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.ledger.models import RegulatedModel
from cellchain.ledger.services import ledger_append
from cellchain.signatures.content import content_hash
from cellchain.signatures.models import Meaning, Signature


@dataclass(frozen=True)
class SignerCredentials:
    """A person about to sign and the password (and optional TOTP code) they typed just now."""

    user: Any
    password: str
    totp_code: str | None = None


def _signature_row(record: RegulatedModel, signer: Any, meaning: str, check_id: str = "") -> Signature:
    return Signature.objects.create(
        record_type=record.ledger_record_type(),
        record_id=str(record.pk),
        signer=signer,
        printed_name=signer.printed_name,
        role=",".join(sorted(signer.current_roles())),
        meaning=meaning,
        signed_at=clock.now(),
        content_hash=content_hash(record),
        check_id=check_id,
    )


def _sign_one(record: RegulatedModel, who: SignerCredentials, meaning: str, qualification: str | None,
              check_id: str = "") -> Signature:
    if meaning not in Meaning.values:
        raise ValidationFailed(f"Unknown signature meaning {meaning!r}.", field="meaning")
    if record.is_voided:
        raise Conflict("A voided record cannot be signed.")
    reauthenticate(who.user, who.password, who.totp_code)
    if qualification:
        require_qualification(who.user, qualification)
    signature = _signature_row(record, who.user, meaning, check_id)
    ledger_append(
        actor=who.user, record=signature, action="sign", event=f"{record.ledger_record_type()}:sign",
        extra={"meaning": meaning, "record": {"type": signature.record_type, "id": signature.record_id},
               "content_sha256": signature.content_hash, "check_id": check_id or None},
    )
    return signature


@transaction.atomic
def record_sign(*, record: RegulatedModel, signer: SignerCredentials, meaning: str,
                qualification: str | None = None) -> Signature:
    """Sign `record` with `meaning` after re-entering the password (X-4)."""
    return _sign_one(record, signer, meaning, qualification)


@transaction.atomic
def two_person_check(
    *, record: RegulatedModel, performer: SignerCredentials, verifier: SignerCredentials,
    qualification: str | None = None,
) -> tuple[Signature, Signature]:
    """Two different qualified people sign "performed" and "verified" (双人复核, X-5, T-10.6)."""
    if performer.user.pk == verifier.user.pk:
        raise NotAllowed("A two-person check needs two different people: the verifier cannot be the performer.",
                         field="verifier")
    check_id = str(uuid.uuid4())
    first = _sign_one(record, performer, Meaning.PERFORMED, qualification, check_id)
    second = _sign_one(record, verifier, Meaning.VERIFIED, qualification, check_id)
    return first, second


def signatures_of(record: RegulatedModel) -> list[Signature]:
    """Return the record's signatures, oldest first."""
    return list(Signature.objects.filter(record_type=record.ledger_record_type(), record_id=str(record.pk)))


def signature_is_current(signature: Signature, record: RegulatedModel) -> bool:
    """True when the record still has exactly the content signed (a later edit shows it unsigned; item 16)."""
    return signature.superseded_at is None and signature.content_hash == content_hash(record)


def _supersede(record: RegulatedModel, reason: str) -> None:
    for signature in signatures_of(record):
        if signature.superseded_at is None:
            signature.superseded_at = clock.now()
            signature.superseded_reason = reason
            signature.save(update_fields=["superseded_at", "superseded_reason"])
            ledger_append(actor=None, record=signature, action="amend", event="signature:supersede", reason=reason)


@transaction.atomic
def record_amend(*, actor: Any, record: RegulatedModel, changes: Mapping[str, Any], reason: str,
                 event: str | None = None) -> RegulatedModel:
    """Change fields of a regulated record with a reason; old values stay in the ledger (X-3)."""
    if not reason.strip():
        raise ValidationFailed("A reason for the change is required.", field="reason")
    if record.is_voided:
        raise Conflict("A voided record cannot be amended.")
    for name, value in changes.items():
        if name in ("id", "pk", "voided_at", "void_reason"):
            raise ValidationFailed(f"The field {name!r} cannot be amended.", field=name)
        setattr(record, name, value)
    try:
        record.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages)) from None
    record.save()
    ledger_append(actor=actor, record=record, action="amend",
                  event=event or f"{record.ledger_record_type()}:amend", reason=reason)
    _supersede(record, f"record amended: {reason}")
    return record


@transaction.atomic
def record_void(*, actor: Any, record: RegulatedModel, reason: str, event: str | None = None) -> RegulatedModel:
    """Void a record with a reason; nothing is deleted (X-3)."""
    if not reason.strip():
        raise ValidationFailed("A reason for voiding is required.", field="reason")
    if record.is_voided:
        raise Conflict("This record is already voided.")
    record.voided_at = clock.now()
    record.void_reason = reason.strip()
    record.save(update_fields=["voided_at", "void_reason"])
    ledger_append(actor=actor, record=record, action="void",
                  event=event or f"{record.ledger_record_type()}:void", reason=reason)
    return record
