"""Controlled documents: SOPs, policies and forms with their versions, sign-offs, read-and-understood training,
and the link from a step's record to the SOP version in force (issue 13 item 1).

Clauses: T-6.1 (version, author, reviewer, approver, effective date, review due; records link the effective
version), T-6.4 (periodic review), T-6.5-a..f (the SOPs of the steps), T-5.3.5.2 (pharmacist as author or
reviewer of a drug-management SOP).

Signatures are made over the sign-off and training rows, never over the version itself: the version's status
moves on (in review, approved, retired) and an amendment would otherwise supersede the author's signature.
Each sign-off copies the version's content SHA-256, so what was signed is bound to the text (11.70).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cellchain.accounts.models import Organisation, Site
from cellchain.ledger.models import RegulatedModel

USER = settings.AUTH_USER_MODEL


class Step(models.TextChoices):
    """The step of the journey an SOP governs (T-6.5-a..f; cellchain.domain.documents.STEP_CLAUSES)."""

    NONE = "", _("No step (policy or general procedure)")
    ASSESSMENT = "assessment", _("Patient assessment (T-6.5-a)")
    APHERESIS = "apheresis", _("Apheresis collection (T-6.5-b)")
    CRYOPRESERVATION = "cryopreservation", _("Cryopreservation and storage (T-6.5-c)")
    THAW = "thaw", _("Thaw and preparation before infusion (T-6.5-d)")
    INFUSION = "infusion", _("Infusion (T-6.5-e)")
    AE_HANDLING = "ae_handling", _("Adverse-reaction handling (T-6.5-f)")


class ControlledDocument(RegulatedModel):
    """One SOP, policy or form of an organisation, for all its sites or one site (T-6.1, T-6.4)."""

    class Kind(models.TextChoices):
        SOP = "sop", _("SOP")
        POLICY = "policy", _("Policy")
        FORM = "form", pgettext_lazy("controlled document kind", "Form")

    code = models.CharField(_("document code"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site (empty: every site of the organisation)"),
    )
    step = models.CharField(_("step it governs"), max_length=20, choices=Step.choices, blank=True)
    drug_management = models.BooleanField(
        _("drug-management procedure (a pharmacist authors or reviews it, T-5.3.5.2)"), default=False
    )
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("controlled document")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="document_code_unique"),
            # One document governs a step per scope, so "the SOP in force for this step here" has one answer.
            models.UniqueConstraint(
                fields=["organisation", "site", "step"],
                condition=~models.Q(step="") & models.Q(site__isnull=False),
                name="document_step_per_site",
            ),
            models.UniqueConstraint(
                fields=["organisation", "step"],
                condition=~models.Q(step="") & models.Q(site__isnull=True),
                name="document_step_per_organisation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class DocumentVersion(RegulatedModel):
    """One version of a controlled document: its text (or the SHA-256 of its file), effective date and review
    interval, moved from draft through review and approval (T-6.1). `effective` and `superseded` follow from
    the dates (cellchain.domain.documents.shown_status)."""

    class Status(models.TextChoices):
        """The stored lifecycle (cellchain.domain.documents.Stored; a test keeps the two equal)."""

        DRAFT = "draft", pgettext_lazy("document version status", "Draft")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", pgettext_lazy("document version status", "Approved")
        RETIRED = "retired", _("Retired")

    document = models.ForeignKey(
        ControlledDocument, on_delete=models.PROTECT, related_name="versions", verbose_name=_("document")
    )
    label = models.CharField(_("version"), max_length=20)
    text = models.TextField(_("text"), blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    content_sha256 = models.CharField(_("SHA-256 of the text or file"), max_length=64)
    change_summary = models.TextField(_("what changed"), blank=True)
    effective_from = models.DateField(_("effective date"))
    review_interval_months = models.PositiveSmallIntegerField(_("review interval (months)"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    last_reviewed_on = models.DateField(_("last periodic review"), null=True, blank=True)
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("author"))
    reviewer = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("reviewer")
    )
    approver = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("approver")
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("document version")
        ordering = ["document", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["document", "label"], name="document_version_label_unique"),
            models.CheckConstraint(
                condition=models.Q(review_interval_months__gte=1) & models.Q(review_interval_months__lte=60),
                name="document_review_interval_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document.code} v{self.label}"


class VersionSignoff(RegulatedModel):
    """One e-signed step on a version: authored, reviewed, approved, or a periodic review (T-6.1, T-6.4)."""

    class Role(models.TextChoices):
        AUTHOR = "author", _("Author")
        REVIEWER = "reviewer", _("Reviewer")
        APPROVER = "approver", _("Approver")
        PERIODIC = "periodic", _("Periodic review")

    version = models.ForeignKey(
        DocumentVersion, on_delete=models.PROTECT, related_name="signoffs", verbose_name=_("version")
    )
    role = models.CharField(_("sign-off"), max_length=10, choices=Role.choices)
    person = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    content_sha256 = models.CharField(_("SHA-256 of the text signed"), max_length=64)
    note = models.TextField(_("note"), blank=True)
    signed_on = models.DateField(_("date"))

    class Meta:
        verbose_name = _("document sign-off")
        ordering = ["version", "pk"]

    def __str__(self) -> str:
        return f"{self.version}: {self.get_role_display()}"


class TrainingRecord(RegulatedModel):
    """A person's signed read-and-understood acknowledgement of one version (T-6.1, T-6.5-a..f)."""

    version = models.ForeignKey(
        DocumentVersion, on_delete=models.PROTECT, related_name="trainings", verbose_name=_("version")
    )
    person = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    content_sha256 = models.CharField(_("SHA-256 of the text read"), max_length=64)
    acknowledged_at = models.DateTimeField(_("read and understood at"))

    class Meta:
        verbose_name = _("read-and-understood training")
        ordering = ["version", "acknowledged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "person"],
                condition=models.Q(voided_at__isnull=True),
                name="training_once_per_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.version}"


class SopUse(RegulatedModel):
    """The SOP version in force when a step's record was made, and who performed it (T-6.1 "records link the
    effective SOP version"; T-6.5-b/d/e/f). Written in the same transaction as the step's record."""

    version = models.ForeignKey(
        DocumentVersion, on_delete=models.PROTECT, related_name="uses", verbose_name=_("SOP version")
    )
    step = models.CharField(_("step"), max_length=20, choices=Step.choices)
    record_type = models.CharField(_("record type"), max_length=80)
    record_id = models.CharField(_("record id"), max_length=64)
    performed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("performed by")
    )
    performed_at = models.DateTimeField(_("performed at"))

    class Meta:
        verbose_name = _("SOP version used by a record")
        indexes = [models.Index(fields=["record_type", "record_id"], name="sop_use_record_idx")]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id}: {self.version}"


SHOWN_LABELS = {
    "draft": pgettext_lazy("document version status", "Draft"),
    "in_review": _("In review"),
    "approved": _("Approved, not yet effective"),
    "effective": _("Effective"),
    "superseded": _("Superseded"),
    "retired": _("Retired"),
}
"""The label of each status a version shows on a date (cellchain.domain.documents.Shown, T-6.1)."""
