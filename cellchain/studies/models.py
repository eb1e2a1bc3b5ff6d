"""Clinical study records kept at the clinic (T-10.9, T-10.10; issue 14 item 7).

* `StatisticalReport`: figures over the courses of a site (optionally one product or protocol) infused in a
  period; a draft is live, issuing freezes the figures and their source records with a SHA-256 and needs the
  "reviewed" signature of the report's main operator (T-10.10, X-4).
* `SourceDocumentTick`: a person's statement that a paper source document of a course is (not) on file, where
  no CellChain record stands for it (T-10.9).
* `SubjectCodeDirectory`: the archiving of a study's code-to-person list (受试者编码目录); the list itself is
  read live from the hospital's identity records and never stored here, so no identity reaches the ledger
  (T-10.9, X-7).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cellchain.accounts.models import Site
from cellchain.clinic.models import ProductUseProfile, TreatmentCourse
from cellchain.domain.study_records import SourceDocument
from cellchain.journeys.models import EthicsApproval
from cellchain.ledger.models import RegulatedModel

USER = settings.AUTH_USER_MODEL

DOCUMENT_CHOICES = [
    (SourceDocument.MEDICAL_RECORD.value, _("Medical record")),
    (SourceDocument.DIARY_CARD.value, _("Diary card")),
    (SourceDocument.ADMINISTRATION_RECORD.value, _("Administration record")),
    (SourceDocument.SAMPLE_COLLECTION.value, _("Sample collection form")),
    (SourceDocument.SAMPLE_TRANSPORT.value, _("Sample transport form")),
]


class StatisticalReport(RegulatedModel):
    """One statistical report of a site's courses infused in a period (T-10.10)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")

    number = models.CharField(_("number"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    product = models.ForeignKey(
        ProductUseProfile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product (all when empty)"),
    )
    protocol_ref = models.CharField(_("protocol (all when empty)"), max_length=80, blank=True)
    period_from = models.DateField(_("infused from"))
    period_to = models.DateField(_("infused until"))
    main_operator = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("main operator (reviews and signs)")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    content = models.JSONField(_("content frozen at issue"), null=True, blank=True)
    content_sha256 = models.CharField(_("SHA-256 of the frozen content"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("drafted by")
    )
    created_at = models.DateTimeField(_("drafted at"))
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    issued_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("issued by")
    )

    class Meta:
        verbose_name = _("statistical report")
        ordering = ["-period_to", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_to__gte=models.F("period_from")), name="statreport_period_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(state="draft")
                | models.Q(content__isnull=False, issued_at__isnull=False, issued_by__isnull=False),
                name="statreport_issued_has_content",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_issued(self) -> bool:
        return self.state == self.State.ISSUED


class SourceDocumentTick(RegulatedModel):
    """A source document of a course ticked on file (or not) by hand, with where it is or why (T-10.9)."""

    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.PROTECT, related_name="+", verbose_name=_("treatment course")
    )
    document = models.CharField(_("source document"), max_length=30, choices=DOCUMENT_CHOICES)
    present = models.BooleanField(_("on file"))
    reason = models.CharField(_("where it is filed, or why it is missing"), max_length=200)
    ticked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("ticked by")
    )
    ticked_at = models.DateTimeField(_("ticked at"))

    class Meta:
        verbose_name = _("source document tick")
        constraints = [
            models.UniqueConstraint(fields=["course", "document"], name="source_document_tick_once"),
            models.CheckConstraint(condition=~models.Q(reason=""), name="source_document_tick_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.course_id} {self.document}: {'on file' if self.present else 'missing'}"


class SubjectCodeDirectory(RegulatedModel):
    """A study's subject code directory marked completed and archived, by whom and when (T-10.9).

    The study is the ethics approval of a protocol at the site; its subjects are the journeys enrolled under
    it. Only the count and where the signed paper copy is kept are stored, never a name (X-7)."""

    ethics_approval = models.OneToOneField(
        EthicsApproval, on_delete=models.PROTECT, related_name="+", verbose_name=_("study (ethics approval)")
    )
    subjects = models.PositiveIntegerField(_("subjects listed when archived"))
    archive_ref = models.CharField(_("where the archived copy is kept"), max_length=200)
    archived_at = models.DateTimeField(_("archived at"))
    archived_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("archived by")
    )

    class Meta:
        verbose_name = _("subject code directory")
        constraints = [
            models.CheckConstraint(condition=~models.Q(archive_ref=""), name="subject_directory_archive_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.ethics_approval} archived {self.archived_at:%Y-%m-%d}"
