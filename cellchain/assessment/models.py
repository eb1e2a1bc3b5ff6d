"""The site self-assessment: one answer per site and checklist item, its evidence, reviewer and next review.

A CHECKLIST line of the requirements is "Site or self-assessment item: yes/no/NA answer, evidence attachment,
reviewer, date, next review" (REQUIREMENTS.md §1.3; issue 14 item 2). The items themselves are data in
`cellchain.domain.self_assessment`; an answer names its item by code. A later review amends the same row with a
reason, so the ledger holds every earlier answer, and the reviewer signs each review ("reviewed", X-4).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cellchain.accounts.models import Site
from cellchain.ledger.models import RegulatedModel

USER = settings.AUTH_USER_MODEL


class EvidenceFile(RegulatedModel):
    """A file kept as evidence for an answer (a certificate scan, a layout drawing), with its SHA-256.

    The bytes are bound by the ledgered hash, which is recomputed whenever the file is read (as QC's raw data
    files, REGULATORY item 14).
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    content = models.BinaryField(_("content"))
    uploaded_at = models.DateTimeField(_("uploaded at"))
    uploaded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )

    ledger_exclude = frozenset({"content"})

    class Meta:
        verbose_name = _("evidence file")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.name


class AssessmentAnswer(RegulatedModel):
    """The current answer of a site to one checklist item; amended (with a reason) at each later review."""

    class Value(models.TextChoices):
        YES = "yes", _("Yes")
        NO = "no", _("No")
        NA = "na", _("Not applicable")

    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="assessment_answers", verbose_name=_("site")
    )
    item_code = models.CharField(_("checklist item"), max_length=20)
    clause = models.CharField(_("requirement line"), max_length=20)
    answer = models.CharField(_("answer"), max_length=3, choices=Value.choices)
    note = models.TextField(_("note"), blank=True)
    evidence_file = models.ForeignKey(
        EvidenceFile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("evidence file"),
    )
    evidence_link = models.CharField(
        _("link to the record that proves it"),
        max_length=300,
        blank=True,
        help_text=_("The address of a CellChain page, starting with /."),
    )
    evidence_reference = models.CharField(
        _("document reference"),
        max_length=200,
        blank=True,
        help_text=_("Number and version in the site's document system, or a certificate number."),
    )
    # What the system's own records answered when the reviewer signed: a reviewer's answer that departs from
    # them stays visible to an auditor ("" = the records cannot tell, or the item has no such register).
    suggested = models.CharField(
        _("answer from the system's records"), max_length=3, choices=Value.choices, blank=True
    )
    reviewed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("reviewer")
    )
    reviewed_at = models.DateTimeField(_("reviewed at"))
    next_review = models.DateField(_("next review"))

    class Meta:
        verbose_name = _("self-assessment answer")
        ordering = ["site", "item_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "item_code"],
                condition=models.Q(voided_at__isnull=True),
                name="assessment_one_answer_per_item",
            ),
            models.CheckConstraint(
                condition=models.Q(answer__in=["yes", "no", "na"]), name="assessment_answer_coded"
            ),
        ]
        indexes = [models.Index(fields=["site", "next_review"], name="assessment_review_due_idx")]

    def __str__(self) -> str:
        return f"{self.site.code} {self.item_code}: {self.get_answer_display()}"

    @property
    def has_evidence(self) -> bool:
        return bool(self.evidence_file_id or self.evidence_link or self.evidence_reference)
