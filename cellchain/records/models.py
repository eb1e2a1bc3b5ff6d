"""Models of the records context: a journey's archive checklist and scanned paper records (issue 13 item 9).

The retention date is not a column: it is computed per journey from the records that carry the product's expiry
and use, and a record's retention follows the journey it belongs to (decision 0027, `selectors.record_retention`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cellchain.accounts.models import Site
from cellchain.domain.retention import ArchiveItem
from cellchain.ledger.models import RegulatedModel

USER = settings.AUTH_USER_MODEL

ITEM_LABELS = {
    ArchiveItem.CONSENT: _("Informed consent"),
    ArchiveItem.ELIGIBILITY: _("Eligibility assessment"),
    ArchiveItem.APHERESIS: _("Apheresis record"),
    ArchiveItem.BATCH_RECORD: _("Batch record"),
    ArchiveItem.COA: _("Certificate of analysis / release"),
    ArchiveItem.SHIPMENT: _("Shipment and cold-chain record"),
    ArchiveItem.RECEIPT: _("Receipt inspection"),
    ArchiveItem.THAW: _("Thaw record"),
    ArchiveItem.INFUSION: _("Infusion record"),
    ArchiveItem.ADVERSE_EVENTS: _("Adverse events and their handling"),
    ArchiveItem.FOLLOW_UP: _("Follow-up records"),
    ArchiveItem.MEDICAL_RECORD: _("Medical record copy"),
}


class ArchiveChecklist(RegulatedModel):
    """The archive of one journey's clinical documents against the defined list (T-10.16, T-5.2.9, T-6.4-g).

    Keyed by the chain-of-identity identifier, which both organisations' records carry. Closed only with every
    item present and the closer's e-signature (`services.archive_close`).
    """

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("archive checklist status", "Open")
        CLOSED = "closed", pgettext_lazy("archive checklist status", "Closed")

    coi = models.CharField(_("chain-of-identity identifier"), max_length=20)
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("archiving site")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    archive_location = models.CharField(
        _("archive location of the record set (T-5.2.9)"), max_length=200, blank=True
    )
    opened_at = models.DateTimeField(_("opened at"))
    opened_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True, verbose_name=_("closed by")
    )

    class Meta:
        verbose_name = _("archive checklist")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "coi"],
                condition=models.Q(voided_at__isnull=True),
                name="records_checklist_one_per_journey",
            ),
        ]

    def __str__(self) -> str:
        return f"archive {self.coi}"


class ArchiveTick(RegulatedModel):
    """A person's tick of one item the system does not hold, with the evidence (T-10.16).

    A tick is withdrawn by voiding it with a reason (X-3); a new tick may then be recorded.
    """

    checklist = models.ForeignKey(
        ArchiveChecklist, on_delete=models.PROTECT, related_name="ticks", verbose_name=_("archive checklist")
    )
    item = models.CharField(
        _("item"), max_length=20, choices=[(i.value, ITEM_LABELS[i]) for i in ArchiveItem]
    )
    evidence = models.TextField(_("evidence (where the record is, what it is)"))
    scanned_document = models.ForeignKey(
        "ScannedDocument",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("scanned document"),
    )
    ticked_at = models.DateTimeField(_("ticked at"))
    ticked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("ticked by")
    )

    class Meta:
        verbose_name = _("archive checklist tick")
        ordering = ["checklist", "item"]
        constraints = [
            models.UniqueConstraint(
                fields=["checklist", "item"],
                condition=models.Q(voided_at__isnull=True),
                name="records_one_tick_per_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.checklist.coi}: {self.item}"


class ScannedDocument(RegulatedModel):
    """A scan of a paper record, bound by its SHA-256, linked to the record it scans, with the paper original's
    location (X-6, T-6.4-g, T-10.16, T-5.2.9).

    The record scanned is named as the ledger names it (`record_type`, `record_id`), so any regulated record can
    have its scan; `coi` is the journey it belongs to (found from the record when not given).
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    record_type = models.CharField(_("record scanned (type)"), max_length=80)
    record_id = models.CharField(_("record scanned (id)"), max_length=64)
    coi = models.CharField(_("chain-of-identity identifier"), max_length=20, blank=True, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    name = models.CharField(_("file name"), max_length=255)
    media_type = models.CharField(_("media type"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    content = models.BinaryField(_("content"))
    paper_archive = models.CharField(_("paper archive (room)"), max_length=120)
    paper_shelf = models.CharField(_("shelf"), max_length=60)
    paper_box = models.CharField(_("box or folder"), max_length=60)
    scanned_at = models.DateTimeField(_("scanned at"))
    scanned_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("scanned by")
    )

    # The bytes are bound by the ledgered hash and re-checked whenever the file is read (as RawDataFile).
    ledger_exclude = frozenset({"content"})

    class Meta:
        verbose_name = _("scanned paper record")
        ordering = ["-scanned_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gte=1), name="records_scan_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def paper_location(self) -> str:
        return f"{self.paper_archive} / {self.paper_shelf} / {self.paper_box}"


class RestoreTest(RegulatedModel):
    """One test restore of a backup into a scratch database, with the ledger verification's outcome (T-10.2).

    `cellchain backup` and `cellchain restore` (decision 0011) do the work; this log records that a restore was
    tried, from which backup (its SHA-256), what ledger size and root the restored copy showed, and whether
    `ledger verify` passed.
    """

    class Outcome(models.TextChoices):
        PASSED = "passed", pgettext_lazy("restore test outcome", "Passed")
        FAILED = "failed", pgettext_lazy("restore test outcome", "Failed")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    backup_name = models.CharField(_("backup file"), max_length=255)
    backup_sha256 = models.CharField(_("SHA-256 of the backup file"), max_length=64)
    tree_size = models.PositiveBigIntegerField(_("ledger size after the restore"))
    root_hash = models.CharField(_("ledger root after the restore (hex)"), max_length=64)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    note = models.TextField(_("note (what was checked, any problem)"), blank=True)
    tested_on = models.DateField(_("tested on"))
    tested_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("tested by")
    )

    class Meta:
        verbose_name = _("restore test")
        ordering = ["-tested_on", "-pk"]

    def __str__(self) -> str:
        return f"restore test {self.tested_on} {self.outcome}"
