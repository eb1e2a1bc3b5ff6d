"""Electronic signatures bound to the hash of exactly the content signed (21 CFR 11.50, 11.70; X-4, X-5)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cellchain.ledger.models import RegulatedModel


class Meaning(models.TextChoices):
    PERFORMED = "performed", _("Performed")
    VERIFIED = "verified", _("Verified")
    REVIEWED = "reviewed", _("Reviewed")
    APPROVED = "approved", _("Approved")
    RELEASED = "released", _("Released")
    AUTHORED = "authored", _("Authored")  # a controlled document's author (T-6.1)
    ACKNOWLEDGED = "acknowledged", _("Read and understood")  # training on a document version (T-6.1)


class Signature(RegulatedModel):
    """One person's signature with its meaning over one record's content hash."""

    record_type = models.CharField(_("record type"), max_length=80)
    record_id = models.CharField(_("record id"), max_length=64)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="signatures",
        verbose_name=_("signer"),
    )
    printed_name = models.CharField(_("printed name"), max_length=150)
    role = models.CharField(_("role"), max_length=120)
    meaning = models.CharField(_("meaning"), max_length=20, choices=Meaning.choices)
    signed_at = models.DateTimeField(_("signed at"))
    content_hash = models.CharField(_("SHA-256 of the content signed"), max_length=64)
    # The sorted field names of the content signed: the hash is checked over exactly these, so a column added
    # to the record's model later (never shown to the signer) leaves the signature current (11.70). NULL only
    # where migration 0002 could not tell (record gone): the whole current content is checked, as before.
    content_fields = models.JSONField(_("fields of the content signed"), null=True, blank=True)
    # Two-person checks pair a performer's and a verifier's signature under one check id.
    check_id = models.CharField(_("two-person check id"), max_length=36, blank=True, db_index=True)
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)
    superseded_reason = models.TextField(_("why superseded"), blank=True)

    class Meta:
        verbose_name = _("electronic signature")
        ordering = ["signed_at"]
        indexes = [models.Index(fields=["record_type", "record_id"], name="signature_record_idx")]

    def __str__(self) -> str:
        return f"{self.printed_name} · {self.get_meaning_display()} · {self.signed_at:%Y-%m-%d %H:%M} UTC"
