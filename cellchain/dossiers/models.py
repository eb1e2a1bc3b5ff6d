"""Exports for inspectors, built in the background: a batch's or a journey's dossier, or the whole audit
trail (issue 14 item 6; T-7.1, T-6.3, REGULATORY items 1, 9)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cellchain.ledger.models import RegulatedModel


class DossierExport(RegulatedModel):
    """One requested export: what, for whom, how far it got, and the file it produced with its SHA-256.

    A regulated record: who asked for which records, when, and the hash of what was handed over are
    audit-worthy (REGULATORY item 1), so the request, the start and the end each append a ledger entry.
    Progress (phase, counts, the time it last moved) changes many times a second and is not part of the
    record: it is kept out of the ledger (`ledger_exclude`) and written with plain updates.
    """

    class Kind(models.TextChoices):
        BATCH = "batch", _("Batch dossier")
        JOURNEY = "journey", _("Journey dossier")
        AUDIT_TRAIL = "audit_trail", _("Whole audit trail")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("could not be built")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    subject_id = models.CharField(
        _("subject"), max_length=64, blank=True, help_text=_("The batch id or the journey's COI.")
    )
    subject_label = models.CharField(_("subject as shown"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    file_sha256 = models.CharField(_("SHA-256 of the file"), max_length=64, blank=True)
    file_size = models.BigIntegerField(_("file size (bytes)"), null=True, blank=True)
    head_size = models.BigIntegerField(_("signed tree head size"), null=True, blank=True)
    head_root = models.CharField(_("signed tree head root (hex)"), max_length=64, blank=True)
    records = models.PositiveIntegerField(_("records"), null=True, blank=True)
    entries = models.BigIntegerField(_("ledger entries"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # Progress: outside the ledger (see the class docstring).
    phase = models.CharField(_("phase"), max_length=20, blank=True)
    done = models.BigIntegerField(_("done"), default=0)
    total = models.BigIntegerField(_("total"), default=0)
    progressed_at = models.DateTimeField(_("progress last written at"), null=True, blank=True)

    ledger_exclude: ClassVar[frozenset[str]] = frozenset({"phase", "done", "total", "progressed_at"})

    class Meta:
        verbose_name = _("dossier export")
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status", "requested_at"], name="dossier_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="audit_trail") | ~models.Q(subject_id=""),
                name="dossier_subject_named",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="done") | ~models.Q(file_sha256=""), name="dossier_done_has_hash"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject_label} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if self.total <= 0 else min(100, self.done * 100 // self.total)

    @property
    def active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
