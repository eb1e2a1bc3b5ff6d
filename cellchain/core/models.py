"""Shared by every context: the approved CAR-T products of the review's Table 1 (P-T1), and record-number counters."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ApprovedProduct(models.Model):
    """A CAR-T product approved by an authority, as printed in the review (read-only reference data, P-T1)."""

    number = models.PositiveSmallIntegerField(_("number in Table 1"), unique=True)
    name = models.CharField(_("product"), max_length=120)
    company = models.CharField(_("company"), max_length=80)
    target = models.CharField(_("target antigen"), max_length=20)
    authority = models.CharField(_("authority"), max_length=10)
    approval_date = models.CharField(_("approval date (as printed)"), max_length=60)
    indications = models.CharField(_("indications"), max_length=200)
    source = models.CharField(
        _("source"), max_length=200, default="Shi L, Wang Y, Lü L. CAR-T细胞的生产与质控, Table 1"
    )

    class Meta:
        verbose_name = _("approved CAR-T product")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.name} ({self.authority})"


class RecordNumberSequence(models.Model):
    """Last number issued under a record-number prefix (e.g. "DEV-SITE-2026-"), locked on update so two requests
    never draw the same number (T-10.6). A counter, not a record: the records it numbers are ledgered."""

    prefix = models.CharField(_("prefix"), max_length=60, unique=True)
    last_number = models.PositiveIntegerField(_("last number issued"), default=0)

    class Meta:
        verbose_name = _("record number sequence")

    def __str__(self) -> str:
        return f"{self.prefix}{self.last_number}"
