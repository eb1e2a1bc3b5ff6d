"""The exchange between installations: partners, outbox, inbox and quarantine (issue 12 items 1 and 2).

Each organisation runs its own installation; they talk only by signed messages (`envelope.py`). A message is
written to the outbox in the transaction of the change it reports and delivered by the worker; the receiver
keeps what it applied in the inbox and what it refused in the quarantine, for a person to review.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cellchain.ledger.models import RegulatedModel


class Partner(RegulatedModel):
    """Another installation we exchange with: where it is, its ledger's log id and its pinned key.

    The token we present to it is a secret kept in a file outside the database (`credentials.py`); of the
    token it presents to us only the SHA-256 is stored (decision 0017).
    """

    class Role(models.TextChoices):
        MANUFACTURER = "manufacturer", _("Manufacturer")
        HOSPITAL = "hospital", _("Hospital")

    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    base_url = models.CharField(_("base URL"), max_length=300, help_text=_("https://…, or http://127.0.0.1…"))
    log_id = models.CharField(_("ledger log id"), max_length=100, unique=True)
    public_key = models.BinaryField(_("pinned Ed25519 public key"), max_length=32)
    key_fingerprint = models.CharField(_("key fingerprint (SHA-256)"), max_length=64)
    inbound_token_sha256 = models.CharField(
        _("SHA-256 of the token the partner presents"), max_length=64, unique=True
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation it stands for"),
        help_text=_(
            "The organisation of this installation's records the partner is (routes messages to it)."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    registered_at = models.DateTimeField(_("registered at"))
    # What the partner last told us it countersigned of our log (a cache for the consistency proof we send).
    their_countersigned_size = models.PositiveBigIntegerField(default=0)

    ledger_exclude: ClassVar[frozenset[str]] = frozenset({"their_countersigned_size"})

    class Meta:
        verbose_name = _("exchange partner")
        verbose_name_plural = _("exchange partners")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.log_id})"


class OutboxMessage(RegulatedModel):
    """One message to a partner, written in the transaction of the change it reports (issue 12 item 2).

    Status changes (delivered, failed permanently) are ledgered; the attempt counter, the next attempt time,
    the last error and the worker's lease are bookkeeping outside the ledger (each attempt has its row in
    `DeliveryAttempt`).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed-permanently", _("Failed permanently")

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="outbox", verbose_name=_("partner")
    )
    kind = models.CharField(_("kind"), max_length=100)
    event_id = models.CharField(_("event id"), max_length=300)
    envelope = models.JSONField(_("envelope"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(_("created at"))
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), db_index=True)
    last_error = models.TextField(_("last error"), blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    ledger_exclude: ClassVar[frozenset[str]] = frozenset(
        {"attempts", "next_attempt_at", "last_error", "leased_until"}
    )

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "event_id"], name="exchange_outbox_event_once"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="exchange_outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id} → {self.partner_id}"


class DeliveryAttempt(models.Model):
    """The outcome of one delivery attempt (bookkeeping, like the e-mail outbox; the outcome that ends a
    message's delivery is ledgered on the message)."""

    message = models.ForeignKey(
        OutboxMessage, on_delete=models.PROTECT, related_name="attempt_log", verbose_name=_("message")
    )
    number = models.PositiveIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"))
    http_status = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        ordering = ["message", "number"]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.number}: {self.outcome}"


class InboxMessage(RegulatedModel):
    """A message we received and applied, once per (sender, event id) (issue 12 item 2)."""

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="inbox", verbose_name=_("partner")
    )
    sender = models.CharField(_("sender log id"), max_length=100)
    kind = models.CharField(_("kind"), max_length=100)
    event_id = models.CharField(_("event id"), max_length=300)
    envelope = models.JSONField(_("envelope"))
    content_sha256 = models.CharField(_("SHA-256 of the signed content"), max_length=64)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("received message")
        verbose_name_plural = _("received messages")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["sender", "event_id"], name="exchange_inbox_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id} ← {self.sender}"


class QuarantinedMessage(RegulatedModel):
    """A message we refused, kept byte for byte with the reason, for a person to review (issue 12 item 2).

    The raw bytes stay out of the ledger (a refused message may carry anything); their SHA-256 is ledgered.
    """

    class Disposition(models.TextChoices):
        PENDING = "", _("Not reviewed")
        DISMISSED = "dismissed", _("Dismissed")
        ACCEPTED_AFTER_FIX = "accepted-after-fix", _("Accepted after a fix")

    partner = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quarantine",
        verbose_name=_("partner (authenticated)"),
    )
    raw = models.BinaryField(_("raw bytes"))
    raw_sha256 = models.CharField(_("SHA-256 of the raw bytes"), max_length=64)
    raw_size = models.PositiveIntegerField(_("size in bytes"))
    sender_claimed = models.CharField(_("sender claimed"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=100, blank=True)
    event_id = models.CharField(_("event id"), max_length=300, blank=True)
    code = models.CharField(_("refusal code"), max_length=40)
    reason = models.TextField(_("reason"))
    received_at = models.DateTimeField(_("received at"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    disposition = models.CharField(
        _("disposition"), max_length=20, choices=Disposition.choices, default="", blank=True
    )
    review_note = models.TextField(_("review note"), blank=True)

    ledger_exclude: ClassVar[frozenset[str]] = frozenset({"raw"})

    class Meta:
        verbose_name = _("quarantined message")
        verbose_name_plural = _("quarantined messages")
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.code}: {self.sender_claimed or '?'} {self.event_id}"
