"""Sign, two-person check, amend and void: the generic commands on any regulated record (issue 3 item 10).

Every signature re-authenticates the signer at that moment (11.200(a)), names meaning, printed name and time,
and binds the SHA-256 of exactly the content signed (11.70). An amendment supersedes existing signatures.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from cellchain.accounts.services import reauthenticate, require_qualification
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.ledger import records as ledger_records
from cellchain.ledger.models import RegulatedModel
from cellchain.signatures.content import (
    content_fields_of,
    content_hash,
    content_of,
    covered_content,
    hash_of,
    missing_fields,
)
from cellchain.signatures.models import Meaning, Signature


@dataclass(frozen=True)
class SignerCredentials:
    """A person about to sign and the password (and optional TOTP code) they typed just now."""

    user: Any
    password: str
    totp_code: str | None = None


def _signature_row(record: RegulatedModel, signer: Any, meaning: str, check_id: str = "") -> Signature:
    content = content_of(record)
    return Signature(
        record_type=record.ledger_record_type(),
        record_id=str(record.pk),
        signer=signer,
        printed_name=signer.printed_name,
        role=",".join(sorted(signer.current_roles())),
        meaning=meaning,
        signed_at=clock.now(),
        content_hash=hash_of(content),
        content_fields=content_fields_of(content),
        check_id=check_id,
    )


def _stored(record: RegulatedModel) -> RegulatedModel:
    """Lock and return the record as stored: a signature covers what is in the database, nothing unsaved."""
    stored = type(record)._base_manager.select_for_update().get(pk=record.pk)
    if content_hash(stored) != content_hash(record):
        raise Conflict("The record has unsaved changes: save them (with a reason) before signing.")
    return stored


def _sign_one(
    record: RegulatedModel,
    who: SignerCredentials,
    meaning: str,
    qualification: str | None,
    check_id: str = "",
) -> Signature:
    if meaning not in Meaning.values:
        raise ValidationFailed(f"Unknown signature meaning {meaning!r}.", field="meaning")
    if record.is_voided:
        raise Conflict("A voided record cannot be signed.")
    if qualification:
        require_qualification(who.user, qualification)
    signature = _signature_row(_stored(record), who.user, meaning, check_id)
    return ledger_records.record_create(
        actor=who.user,
        record=signature,
        action="sign",
        event=f"{record.ledger_record_type()}:sign",
        extra={
            "meaning": meaning,
            "record": {"type": signature.record_type, "id": signature.record_id},
            "content_sha256": signature.content_hash,
            "content_fields": signature.content_fields,
            "check_id": check_id or None,
        },
    )


def _reauthenticate(*people: SignerCredentials) -> None:
    """Ask each signer's password (and one-time code) again at this moment (11.200(a)).

    Runs before the signing transaction opens, so a wrong password is recorded and counts towards the lockout
    even though the signature is refused (call the signing services outside your own transaction).
    """
    for who in people:
        reauthenticate(who.user, who.password, who.totp_code)


def record_sign(
    *,
    record: RegulatedModel | Callable[[], RegulatedModel],
    signer: SignerCredentials,
    meaning: str,
    qualification: str | None = None,
) -> Signature:
    """Sign `record` with `meaning` after re-entering the password (X-4; 21 CFR 11.50, 11.70, 11.200).

    As in `two_person_check`, `record` may be a function that writes the record to be signed: it runs after
    the password was accepted, in the signature's transaction, so a refused signature leaves no unsigned record.
    """
    _reauthenticate(signer)
    with transaction.atomic():
        signed = record if isinstance(record, RegulatedModel) else record()
        return _sign_one(signed, signer, meaning, qualification)


def two_person_check(
    *,
    record: RegulatedModel | Callable[[], RegulatedModel],
    performer: SignerCredentials,
    verifier: SignerCredentials,
    qualification: str | None = None,
) -> tuple[Signature, Signature]:
    """Two different qualified people sign "performed" and "verified" (双人复核, X-5, T-10.6).

    Both re-authenticate, both must hold `qualification`; one person can never fill both roles, and nothing
    is written unless both signatures are. `record` may be a function that writes the record to be signed:
    it runs after both passwords were accepted, in the same transaction as the signatures, so a refused
    check leaves no unsigned record behind (and a wrong password still counts towards the lockout).
    """
    if performer.user.pk == verifier.user.pk:
        raise NotAllowed(
            "A two-person check needs two different people: the verifier cannot be the performer.",
            field="verifier",
        )
    _reauthenticate(performer, verifier)
    check_id = str(uuid.uuid4())
    with transaction.atomic():
        signed = record if isinstance(record, RegulatedModel) else record()
        first = _sign_one(signed, performer, Meaning.PERFORMED, qualification, check_id)
        second = _sign_one(signed, verifier, Meaning.VERIFIED, qualification, check_id)
    return first, second


def signatures_of(record: RegulatedModel) -> list[Signature]:
    """Return the record's signatures, oldest first."""
    return list(Signature.objects.filter(record_type=record.ledger_record_type(), record_id=str(record.pk)))


def signature_is_current(signature: Signature, record: RegulatedModel) -> bool:
    """True when the record still has exactly the content signed (a later edit shows it unsigned; item 16).

    Only the fields the signature covered are compared (11.70): a field added to the model after signing was
    never shown to the signer and does not unsign the record; a covered field changed or gone does.
    """
    if (
        signature.superseded_at is not None
        or signature.record_type != record.ledger_record_type()
        or signature.record_id != str(record.pk)
    ):
        return False
    content = content_of(record)
    if missing_fields(content, signature.content_fields):
        return False
    return signature.content_hash == hash_of(covered_content(content, signature.content_fields))


@dataclass(frozen=True)
class SignatureCheck:
    """Whether a signature still binds its record, with the reasons when it does not (11.70)."""

    valid: bool
    reasons: tuple[str, ...]


def signature_verify(signature: Signature) -> SignatureCheck:
    """Check a signature against the record it names: the record exists, is not voided, the signature is not
    superseded, every field it covered still exists, and the hash of the record's content over those fields is
    the one signed (a moved or edited signature fails; 11.70). Fields added after signing are not covered."""
    from django.apps import apps

    try:
        model = apps.get_model(signature.record_type)
    except (LookupError, ValueError):
        return SignatureCheck(False, (f"unknown record type {signature.record_type!r}",))
    record = model._base_manager.filter(pk=signature.record_id).first()
    if record is None:
        return SignatureCheck(False, (f"{signature.record_type} {signature.record_id} does not exist",))
    reasons = []
    if signature.superseded_at is not None:
        reasons.append(f"superseded: {signature.superseded_reason}")
    if record.is_voided:
        reasons.append("the record is voided")
    content = content_of(record)
    gone = missing_fields(content, signature.content_fields)
    if gone:
        reasons.append(
            f"the signed field(s) {', '.join(gone)} no longer exist on {signature.record_type}: "
            "the content signed cannot be reproduced"
        )
        return SignatureCheck(False, tuple(reasons))
    actual = hash_of(covered_content(content, signature.content_fields))
    if actual != signature.content_hash:
        reasons.append(
            f"the record's content hash {actual[:16]}… is not the one signed "
            f"({signature.content_hash[:16]}…): the record changed or the signature was moved"
        )
    return SignatureCheck(not reasons, tuple(reasons))


def _supersede(actor: Any, record: RegulatedModel, reason: str) -> None:
    """Mark the record's signatures superseded: the content they bound is gone (11.70; REGULATORY item 16)."""
    for signature in signatures_of(record):
        if signature.superseded_at is None:
            signature.superseded_at = clock.now()
            signature.superseded_reason = reason
            ledger_records.record_amend(
                actor=actor,
                record=signature,
                event="signature:supersede",
                reason=reason,
                fields=["superseded_at", "superseded_reason"],
            )


@transaction.atomic
def record_amend(
    *, actor: Any, record: RegulatedModel, changes: Mapping[str, Any], reason: str, event: str | None = None
) -> RegulatedModel:
    """Change fields of a regulated record with a reason; old values stay in the ledger (X-3)."""
    if not reason.strip():
        raise ValidationFailed("A reason for the change is required.", field="reason")
    if record.is_voided:
        raise Conflict("A voided record cannot be amended.")
    for name, value in changes.items():
        if name in ("id", "pk", "voided_at", "void_reason"):
            raise ValidationFailed(f"The field {name!r} cannot be amended.", field=name)
        setattr(record, name, value)
    ledger_records.record_amend(
        actor=actor, record=record, event=event or f"{record.ledger_record_type()}:amend", reason=reason
    )
    _supersede(actor, record, f"record amended: {reason}")
    return record


@transaction.atomic
def record_void(
    *, actor: Any, record: RegulatedModel, reason: str, event: str | None = None
) -> RegulatedModel:
    """Void a record with a reason; nothing is deleted (X-3)."""
    if not reason.strip():
        raise ValidationFailed("A reason for voiding is required.", field="reason")
    if record.is_voided:
        raise Conflict("This record is already voided.")
    return ledger_records.record_void(
        actor=actor,
        record=record,
        event=event or f"{record.ledger_record_type()}:void",
        reason=reason.strip(),
        at=clock.now(),
    )
