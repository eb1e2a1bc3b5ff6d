"""Exchange services: the partner register, enqueueing a message, quarantine review (issue 12 items 1-2).

Each service runs in one transaction that appends to the ledger (`ledger.records`). `message_enqueue` is the
exception that proves the rule: it must run inside the caller's own regulated transaction, so the message
exists if and only if the change it reports committed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from cellchain.accounts.models import Organisation
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.exchange import credentials, kinds
from cellchain.exchange.envelope import content_sha256, envelope_build
from cellchain.exchange.models import OutboxMessage, Partner, QuarantinedMessage
from cellchain.exchange.outgoing import outgoing_findings
from cellchain.ledger.records import record_amend, record_create
from cellchain.ledger.signing_keys import active_signer
from cellchain.verifier.signing import key_fingerprint

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_TOKEN_LENGTH = 16


def our_log_id() -> str:
    """This installation's ledger log id: the sender of what we send, the recipient of what we receive."""
    return str(settings.CELLCHAIN_LEDGER_LOG_ID)


def base_url_clean(value: str) -> str:
    """A partner's base URL: https, or plain http only to this machine (127.0.0.1, localhost); no query,
    fragment or credentials; without the trailing slash."""
    text = (value or "").strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError as error:
        raise ValidationFailed(_("Base URL: %(error)s.") % {"error": error}, field="base_url") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ValidationFailed(
            _("Base URL: %(url)r is not an https:// address.") % {"url": text}, field="base_url"
        )
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise ValidationFailed(
            _(
                "Base URL: %(url)r uses plain http; a partner is reached over https (http only to 127.0.0.1 or localhost)."
            )
            % {"url": text},
            field="base_url",
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationFailed(
            _(
                "Base URL: %(url)r carries a query, a fragment or credentials; give only scheme, host, port and path."
            )
            % {"url": text},
            field="base_url",
        )
    return text.rstrip("/")


def public_key_clean(value: bytes | str) -> bytes:
    """A raw 32-byte Ed25519 public key, from bytes or base64."""
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(
                _("Public key: not base64 (give the key printed by `cellchain exchange identity`)."),
                field="public_key",
            ) from None
    else:
        raw = bytes(value)
    if len(raw) != 32:
        raise ValidationFailed(
            _("Public key: %(size)d bytes; an Ed25519 public key is 32 bytes.") % {"size": len(raw)},
            field="public_key",
        )
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ValidationFailed(_("Public key: not an Ed25519 public key."), field="public_key") from None
    return raw


def _fingerprint_checked(raw: bytes, expected: str | None) -> str:
    fingerprint = key_fingerprint(raw)
    if expected and expected.strip().lower() != fingerprint:
        raise ValidationFailed(
            _(
                "Fingerprint: the key's SHA-256 is %(actual)s, not %(expected)s that the partner published; "
                "check the key with the partner by another channel."
            )
            % {"actual": fingerprint, "expected": expected.strip().lower()},
            field="fingerprint",
        )
    return fingerprint


def _token_checked(token: str, field: str) -> str:
    token = (token or "").strip()
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise ValidationFailed(
            _("%(field)s: a token is at least %(n)d characters without spaces.")
            % {"field": field, "n": MIN_TOKEN_LENGTH},
            field=field,
        )
    return token


def _inbound_unique(digest: str, partner: Partner | None) -> None:
    clash = Partner.objects.filter(inbound_token_sha256=digest)
    if partner is not None:
        clash = clash.exclude(pk=partner.pk)
    if clash.exists():
        raise Conflict(_("That token is already the token of another partner; give each partner its own."))


def _organisation_checked(code: str) -> Organisation | None:
    """The organisation of that code, None for "", refused when unknown or already another partner's."""
    code = (code or "").strip()
    if not code:
        return None
    found = Organisation.objects.filter(code=code).first()
    if found is None:
        raise ValidationFailed(
            _("Organisation: no organisation has the code %(code)r here.") % {"code": code},
            field="organisation",
        )
    if Partner.objects.filter(organisation=found, active=True).exists():
        raise Conflict(
            _("Organisation: %(code)s is already represented by another active partner.") % {"code": code},
            field="organisation",
        )
    return found


@transaction.atomic
def partner_register(
    *,
    actor: Any | None,
    name: str,
    role: str,
    base_url: str,
    log_id: str,
    public_key: bytes | str,
    fingerprint: str | None = None,
    outbound_token: str = "",
    inbound_token: str | None = None,
    organisation: str = "",
) -> tuple[Partner, str | None]:
    """Register a partner installation with its pinned key (issue 12 item 1).

    `fingerprint`, when given, is what the partner published: the key must hash to it. `outbound_token` is the
    token the partner gave us (kept in a file); `inbound_token` the one it will present to us (only its hash
    is stored): when not given one is made and returned, once, to hand over to the partner. `organisation` is
    the code of the `accounts.Organisation` the partner stands for here: messages about that organisation's
    sites and products go to it (`selectors.partner_for_organisation`).
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Name: give the partner's name."), field="name")
    if role not in Partner.Role.values:
        raise ValidationFailed(
            _("Role: %(role)r is not manufacturer or hospital.") % {"role": role}, field="role"
        )
    log_id = (log_id or "").strip()
    if not credentials.LOG_ID.fullmatch(log_id):
        raise ValidationFailed(
            _("Log id: %(id)r is not 1-100 letters, digits, '.', '_' or '-'.") % {"id": log_id},
            field="log_id",
        )
    if log_id == our_log_id():
        raise ValidationFailed(
            _("Log id: %(id)s is this installation's own log.") % {"id": log_id}, field="log_id"
        )
    if Partner.objects.filter(log_id=log_id).exists():
        raise Conflict(
            _("A partner with log id %(id)s is already registered.") % {"id": log_id}, field="log_id"
        )
    url = base_url_clean(base_url)
    raw = public_key_clean(public_key)
    digest_of_key = _fingerprint_checked(raw, fingerprint)
    outbound = _token_checked(outbound_token, "outbound_token") if outbound_token else ""
    made = None
    if inbound_token:
        inbound = _token_checked(inbound_token, "inbound_token")
    else:
        inbound = made = credentials.token_new()
    digest = credentials.token_sha256(inbound)
    _inbound_unique(digest, None)
    represents = _organisation_checked(organisation)
    partner = record_create(
        actor=actor,
        record=Partner(
            name=name,
            role=role,
            base_url=url,
            log_id=log_id,
            public_key=raw,
            key_fingerprint=digest_of_key,
            inbound_token_sha256=digest,
            organisation=represents,
            active=True,
            registered_at=clock.now(),
        ),
        event="exchange_partner:register",
        extra={"outbound_token_set": bool(outbound)},
    )
    if outbound:
        credentials.token_write(log_id, outbound)  # last: a refusal above leaves no file behind
    return partner, made


@transaction.atomic
def partner_update(
    *,
    actor: Any | None,
    partner: Partner,
    reason: str,
    name: str | None = None,
    role: str | None = None,
    base_url: str | None = None,
    public_key: bytes | str | None = None,
    fingerprint: str | None = None,
    outbound_token: str | None = None,
    inbound_token: str | None = None,
    new_inbound_token: bool = False,
) -> tuple[Partner, str | None]:
    """Change a partner's details with a reason (issue 12 item 1). A new pinned key is an explicit change
    here, ledgered with the old and the new fingerprint; nothing else changes the key we trust."""
    if not (reason or "").strip():
        raise ValidationFailed(_("Give the reason for the change."), field="reason")
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    changed: list[str] = []
    extra: dict[str, Any] = {}
    if name is not None and name.strip() and name.strip() != partner.name:
        partner.name = name.strip()
        changed.append("name")
    if role is not None and role != partner.role:
        if role not in Partner.Role.values:
            raise ValidationFailed(
                _("Role: %(role)r is not manufacturer or hospital.") % {"role": role}, field="role"
            )
        partner.role = role
        changed.append("role")
    if base_url is not None:
        url = base_url_clean(base_url)
        if url != partner.base_url:
            partner.base_url = url
            changed.append("base_url")
    if public_key is not None:
        raw = public_key_clean(public_key)
        if raw != bytes(partner.public_key):
            extra["key_changed"] = {"from": partner.key_fingerprint, "to": key_fingerprint(raw)}
            partner.public_key = raw
            partner.key_fingerprint = _fingerprint_checked(raw, fingerprint)
            changed += ["public_key", "key_fingerprint"]
    made = None
    if new_inbound_token or inbound_token:
        inbound = _token_checked(inbound_token, "inbound_token") if inbound_token else credentials.token_new()
        made = None if inbound_token else inbound
        digest = credentials.token_sha256(inbound)
        _inbound_unique(digest, partner)
        partner.inbound_token_sha256 = digest
        changed.append("inbound_token_sha256")
    outbound = _token_checked(outbound_token, "outbound_token") if outbound_token else None
    if outbound is not None:
        extra["outbound_token_replaced"] = True
    if not changed and outbound is None:
        raise ValidationFailed(_("Nothing to change: give at least one new value."))
    if changed:
        record_amend(
            actor=actor,
            record=partner,
            event="exchange_partner:update",
            reason=reason,
            fields=changed,
            extra=extra,
        )
    else:
        # Only the file changed: the ledger still says who replaced the token and why.
        record_amend(
            actor=actor,
            record=partner,
            event="exchange_partner:token",
            reason=reason,
            fields=["name"],
            extra=extra,
        )
    if outbound is not None:
        credentials.token_write(partner.log_id, outbound)
    return partner, made


@transaction.atomic
def partner_deactivate(*, actor: Any | None, partner: Partner, reason: str) -> Partner:
    """Stop exchanging with a partner (issue 12 item 1): its token is refused and nothing is delivered to it;
    queued messages stay queued."""
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if not partner.active:
        raise Conflict(_("%(partner)s is already inactive.") % {"partner": partner.name})
    partner.active = False
    return record_amend(
        actor=actor, record=partner, event="exchange_partner:deactivate", reason=reason, fields=["active"]
    )


def message_enqueue(
    *, actor: Any | None, partner: Partner, kind: str, body: dict[str, Any], event_id: str
) -> OutboxMessage:
    """Put a signed message for `partner` into the outbox, in the caller's transaction (issue 12 item 2).

    Call it inside the `transaction.atomic()` of the regulated change the message reports: the message is then
    written (and ledgered) if and only if that change commits. Refused, with the reasons and nothing written,
    when the kind is unknown, the body is invalid for it, it carries patient identity (`outgoing_findings`),
    the partner is inactive, or the event id was already sent to that partner.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("message_enqueue must run inside the transaction of the change it reports")
    registered = kinds.get(kind)
    if registered is None:
        raise ValidationFailed(
            _("Kind: %(kind)r is not a registered message kind.") % {"kind": kind}, field="kind"
        )
    if not isinstance(body, dict):
        raise ValidationFailed(_("Body: a message body is a JSON object."), field="body")
    event_id = (event_id or "").strip()
    if not event_id or len(event_id) > 300:
        raise ValidationFailed(_("Event id: give 1 to 300 characters."), field="event_id")
    if not Partner.objects.filter(pk=partner.pk, active=True).exists():
        raise NotAllowed(_("%(partner)s is inactive: nothing is sent to it.") % {"partner": partner.name})
    reasons = registered.validate(body)
    if reasons:
        raise ValidationFailed(
            _("The %(kind)s message is not valid: %(reasons)s.")
            % {"kind": kind, "reasons": "; ".join(reasons)},
            field="body",
            detail={"reasons": reasons},
        )
    findings = outgoing_findings(body)
    if findings:
        raise ValidationFailed(
            _("The message would carry patient identity and is not sent: %(findings)s.")
            % {"findings": "; ".join(findings)},
            field="body",
            detail={"findings": findings},
        )
    if OutboxMessage.objects.filter(partner=partner, event_id=event_id).exists():
        raise Conflict(
            _("Event %(event)s was already sent to %(partner)s.")
            % {"event": event_id, "partner": partner.name},
            field="event_id",
        )
    now = clock.now()
    _key, private_key = active_signer()
    envelope = envelope_build(
        private_key=private_key,
        sender=our_log_id(),
        recipient=partner.log_id,
        kind=kind,
        event_id=event_id,
        sent_at=now,
        body=body,
    )
    return record_create(
        actor=actor,
        record=OutboxMessage(
            partner=partner,
            kind=kind,
            event_id=event_id,
            envelope=envelope,
            status=OutboxMessage.Status.QUEUED,
            created_at=now,
            next_attempt_at=now,
        ),
        event="exchange:enqueue",
        extra={
            "recipient": partner.log_id,
            "kind": kind,
            "event_id": event_id,
            "sha256": content_sha256(envelope),
        },
    )


@transaction.atomic
def quarantine_keep(
    *,
    raw: bytes,
    partner: Partner | None,
    sender_claimed: str,
    kind: str,
    event_id: str,
    code: str,
    reason: str,
) -> QuarantinedMessage:
    """Keep a refused message with its reason, in its own transaction (the request itself is refused)."""
    import hashlib

    return record_create(
        actor=None,
        record=QuarantinedMessage(
            partner=partner,
            raw=raw,
            raw_sha256=hashlib.sha256(raw).hexdigest(),
            raw_size=len(raw),
            sender_claimed=sender_claimed[:300],
            kind=kind[:100],
            event_id=event_id[:300],
            code=code,
            reason=reason,
            received_at=clock.now(),
        ),
        event="exchange:quarantine",
        extra={"code": code},
    )


@transaction.atomic
def quarantine_review(
    *, actor: Any, message: QuarantinedMessage, disposition: str, note: str
) -> QuarantinedMessage:
    """A person's review of a quarantined message: dismissed, or accepted after a fix, with a note that
    says why (ledgered as the reason)."""
    message = QuarantinedMessage.objects.select_for_update().get(pk=message.pk)
    if message.disposition:
        raise Conflict(
            _("This message was already reviewed (%(disposition)s).")
            % {"disposition": message.get_disposition_display()}
        )
    if disposition not in (
        QuarantinedMessage.Disposition.DISMISSED,
        QuarantinedMessage.Disposition.ACCEPTED_AFTER_FIX,
    ):
        raise ValidationFailed(
            _("Disposition: choose dismissed or accepted after a fix."), field="disposition"
        )
    if not (note or "").strip():
        raise ValidationFailed(_("Note: say why (what was checked, what was fixed)."), field="note")
    message.disposition = disposition
    message.review_note = note.strip()
    message.reviewed_by = actor
    message.reviewed_at = clock.now()
    return record_amend(
        actor=actor,
        record=message,
        event="exchange:quarantine_review",
        reason=note.strip(),
        fields=["disposition", "review_note", "reviewed_by", "reviewed_at"],
    )


def retry_at(attempts: int, *, now: dt.datetime | None = None) -> dt.datetime:
    """When to try again after the `attempts`-th failure (exponential back-off with jitter and a cap)."""
    from cellchain.domain.backoff import retry_delay_seconds
    from cellchain.exchange.conf import number

    seconds = retry_delay_seconds(
        attempts,
        first_seconds=number("CELLCHAIN_EXCHANGE_RETRY_FIRST_SECONDS"),
        cap_seconds=number("CELLCHAIN_EXCHANGE_RETRY_MAX_SECONDS"),
        jitter=number("CELLCHAIN_EXCHANGE_RETRY_JITTER"),
    )
    return (now or clock.now()) + dt.timedelta(seconds=seconds)
