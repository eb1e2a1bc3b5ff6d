"""Supplier register, CoA files and QA lot release (issue 13 item 5; P-1.1-a/b, Q-2.6-a; decision 0029).

QA registers a supplier, qualifies (or conditionally qualifies) it and disqualifies it, each time with a reason
and an e-signature; a lot's certificate of analysis is kept with its SHA-256; `material_lot_release` is the only
way a lot becomes released, and its signature binds the SHA-256 of the CoA released against.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.db import transaction

from cellchain.accounts.models import Site
from cellchain.accounts.roles import Role
from cellchain.core import clock
from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.domain import facility as fac
from cellchain.ledger.records import record_amend, record_create
from cellchain.manufacturing import selectors
from cellchain.manufacturing.models import MaterialCertificate, MaterialLot, Supplier
from cellchain.manufacturing.services._common import refuse_unless, require_role
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials, record_sign

_MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def _signs_for_self(actor: Any, signer: SignerCredentials) -> None:
    if signer.user.pk != actor.pk:
        raise ValidationFailed("QA signs this decision for themselves.", field="password")


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Give the reason for the decision (P-1.1-a).", field="reason")
    return reason


@transaction.atomic
def supplier_register(
    *, actor: Any, site: Site, code: str, name: str, supplies: str, audit_reference: str = ""
) -> Supplier:
    """Add a supplier to the register, not yet qualified (P-1.1-a supplier qualification)."""
    require_role(actor, Role.QA)
    if not name.strip() or not supplies.strip():
        raise ValidationFailed("Give the supplier's name and what it supplies (P-1.1-a).", field="name")
    if Supplier.objects.filter(code=code).exists():
        raise Conflict(f"Supplier {code} is already in the register.", field="code")
    return record_create(
        actor=actor,
        record=Supplier(
            site=site,
            code=code,
            name=name.strip(),
            supplies=supplies.strip(),
            audit_reference=audit_reference.strip(),
            status=Supplier.Status.PENDING,
        ),
        event="supplier:register",
    )


def supplier_qualify(
    *,
    actor: Any,
    supplier: Supplier,
    signer: SignerCredentials,
    reason: str,
    requalify_by: dt.date,
    audit_reference: str = "",
    conditional: bool = False,
) -> Supplier:
    """QA qualifies a supplier (or qualifies it under conditions) until `requalify_by`, with the audit that
    supports it, a reason and an e-signature (P-1.1-a). A disqualified supplier can be requalified this way."""
    require_role(actor, Role.QA)
    _signs_for_self(actor, signer)
    why = _reason(reason)
    if requalify_by is None or requalify_by <= clock.now().date():
        raise ValidationFailed(
            "The next requalification date must be in the future (P-1.1-a).", field="requalify_by"
        )
    reference = (audit_reference or supplier.audit_reference).strip()
    if not reference:
        raise ValidationFailed(
            "Name the audit or questionnaire the qualification rests on (P-1.1-a).", field="audit_reference"
        )

    def amend() -> Supplier:
        stored = Supplier.objects.select_for_update().get(pk=supplier.pk)
        stored.status = Supplier.Status.CONDITIONAL if conditional else Supplier.Status.QUALIFIED
        stored.status_since, stored.status_reason = clock.now().date(), why
        stored.requalify_by, stored.audit_reference, stored.decided_by = requalify_by, reference, actor
        return record_amend(actor=actor, record=stored, event="supplier:qualify", reason=why)

    record_sign(record=amend, signer=signer, meaning=Meaning.APPROVED)
    supplier.refresh_from_db()
    return supplier


def supplier_disqualify(
    *, actor: Any, supplier: Supplier, signer: SignerCredentials, reason: str
) -> Supplier:
    """QA disqualifies a supplier with a reason and an e-signature; its lots are refused at issue from then
    on (P-1.1-a). Released lots stay released on paper, but the issue gate reads the supplier's status."""
    require_role(actor, Role.QA)
    _signs_for_self(actor, signer)
    why = _reason(reason)
    if supplier.status == Supplier.Status.DISQUALIFIED:
        raise Conflict(f"Supplier {supplier.code} is already disqualified.")

    def amend() -> Supplier:
        stored = Supplier.objects.select_for_update().get(pk=supplier.pk)
        stored.status, stored.status_since = Supplier.Status.DISQUALIFIED, clock.now().date()
        stored.status_reason, stored.requalify_by, stored.decided_by = why, None, actor
        return record_amend(actor=actor, record=stored, event="supplier:disqualify", reason=why)

    record_sign(record=amend, signer=signer, meaning=Meaning.APPROVED)
    supplier.refresh_from_db()
    return supplier


def _content_type(content: bytes) -> str:
    return next((kind for magic, kind in _MAGIC if content.startswith(magic)), "application/octet-stream")


@transaction.atomic
def material_certificate_attach(
    *, actor: Any, lot: MaterialLot, name: str, content: bytes
) -> MaterialCertificate:
    """Keep the lot's certificate of analysis as received, with its SHA-256 (P-1.1-b documents). A released
    lot's CoA cannot be replaced: its release signature binds the file released against."""
    require_role(actor, Role.QA)
    if lot.released:
        raise Conflict(f"{lot} is released against its CoA; the CoA cannot be replaced (P-1.1-b).")
    if not content:
        raise ValidationFailed(f"{name} is empty.", field="coa")
    limit = settings.CELLCHAIN_MAX_EVIDENCE_FILE_BYTES
    if len(content) > limit:
        raise ValidationFailed(f"{name} is larger than {limit} bytes.", field="coa")
    digest = hashlib.sha256(content).hexdigest()
    return record_create(
        actor=actor,
        record=MaterialCertificate(
            lot=lot,
            name=name[:255],
            content_type=_content_type(content),
            sha256=digest,
            size=len(content),
            content=content,
            uploaded_at=clock.now(),
            uploaded_by=actor,
        ),
        event="lot:coa",
        extra={"sha256": digest},
    )


def material_certificate_content(stored: MaterialCertificate) -> bytes:
    """The stored CoA bytes, after recomputing their hash against the ledgered one (REGULATORY item 14)."""
    content = bytes(stored.content)
    if hashlib.sha256(content).hexdigest() != stored.sha256:
        raise Conflict(f"{stored.name} no longer matches its recorded SHA-256: it was altered.")
    return content


def material_lot_release(*, actor: Any, lot: MaterialLot, signer: SignerCredentials) -> MaterialLot:
    """QA releases a lot with an e-signature ("released"): only a lot from a qualified supplier, in date, with
    its CoA on file (whose SHA-256 the signed content holds), its documents and, for RUO or biological-origin
    material, an approved risk assessment; a vector lot only after its RCL/RCR test passed (P-1.1-a/b, Q-2.6-a).
    """
    require_role(actor, Role.QA)
    _signs_for_self(actor, signer)
    if lot.released:
        raise Conflict(f"{lot} is already released.")
    refuse_unless(
        fac.material_lot_release_check(selectors.lot_to_domain(lot), clock.now().date()),
        f"{lot} cannot be released",
    )

    def amend() -> MaterialLot:
        stored = MaterialLot.objects.select_for_update().get(pk=lot.pk)
        certificate = selectors.lot_certificate(stored)
        if certificate is None:  # checked above; the lock makes it certain
            raise Conflict(f"{lot}: no certificate of analysis (CoA) on file (P-1.1-b).")
        stored.released, stored.released_at, stored.released_by = True, clock.now(), actor
        stored.released_coa_sha256 = certificate.sha256
        return record_amend(
            actor=actor,
            record=stored,
            event="lot:release",
            reason="released by QA",
            fields=["released", "released_at", "released_by", "released_coa_sha256"],
            extra={"coa_sha256": certificate.sha256},
        )

    record_sign(record=amend, signer=signer, meaning=Meaning.RELEASED)
    lot.refresh_from_db()
    return lot


@transaction.atomic
def material_lot_supplier_link(
    *, actor: Any, lot: MaterialLot, supplier: Supplier, reason: str
) -> MaterialLot:
    """Link a lot registered before the supplier register (free-text supplier only) to its register entry
    (decision 0029); a released lot keeps its supplier (P-1.1-a)."""
    require_role(actor, Role.QA)
    why = _reason(reason)
    if lot.released:
        raise Conflict(f"{lot} is released; its supplier cannot change.")
    lot.registered_supplier = supplier
    if not lot.supplier:
        lot.supplier = supplier.name
    return record_amend(
        actor=actor, record=lot, event="lot:supplier", reason=why, fields=["registered_supplier", "supplier"]
    )
