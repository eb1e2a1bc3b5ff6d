"""CAPA of a deviation and change control (issue 13 item 4).

A deviation (cellchain.quality) is investigated (root cause, category, impact, investigator), gets corrective
and preventive actions with owners and due dates, an effectiveness check, and is closed by QA with an
e-signature (T-6.4-f, T-9.3.2, T-10.15). A change request to a process, specification, equipment or document
names the product versions it affects and is assessed, approved by QA with an e-signature, implemented,
verified and closed (REGULATORY item 61: 21 CFR 11.10(k), EU GMP Annex 11 §10; P-1-a).

This is its own context, not part of quality: quality is imported by every context that opens deviations, and
change control must point at manufacturing's product versions, which quality cannot import (manufacturing
imports quality).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cellchain.accounts.models import Organisation, Site
from cellchain.ledger.models import RegulatedModel
from cellchain.manufacturing.models import ProductVersion
from cellchain.quality.models import Deviation

USER = settings.AUTH_USER_MODEL


class Investigation(RegulatedModel):
    """The investigation of one deviation: root cause, category, impact assessment, investigator (T-6.4-f)."""

    class Category(models.TextChoices):
        PEOPLE = "people", _("People (training, error)")
        METHOD = "method", _("Method or procedure")
        EQUIPMENT = "equipment", _("Equipment")
        MATERIAL = "material", _("Material or supplier")
        ENVIRONMENT = "environment", _("Environment or facility")
        MEASUREMENT = "measurement", _("Measurement or test")
        OTHER = "other", _("Other")

    deviation = models.OneToOneField(
        Deviation, on_delete=models.PROTECT, related_name="capa_investigation", verbose_name=_("deviation")
    )
    investigator = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("investigator")
    )
    category = models.CharField(_("root-cause category"), max_length=20, choices=Category.choices)
    root_cause = models.TextField(_("root cause"))
    impact_assessment = models.TextField(_("impact assessment"))
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("deviation investigation")

    def __str__(self) -> str:
        return f"{self.deviation.number}: {self.get_category_display()}"

    def missing(self) -> tuple[str, ...]:
        """The empty parts, named as on the form (closure refuses an incomplete investigation, T-6.4-f)."""
        parts = [
            (str(_("root cause")), self.root_cause),
            (str(_("root-cause category")), self.category),
            (str(_("impact assessment")), self.impact_assessment),
            (str(_("investigator")), self.investigator_id),
        ]
        return tuple(name for name, value in parts if not str(value or "").strip())


class CapaAction(RegulatedModel):
    """One corrective or preventive action of a deviation, with its owner and due date (T-9.3.2, T-10.15)."""

    class Kind(models.TextChoices):
        CORRECTIVE = "corrective", _("Corrective")
        PREVENTIVE = "preventive", _("Preventive")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("CAPA action status", "Open")
        DONE = "done", pgettext_lazy("CAPA action status", "Done")

    deviation = models.ForeignKey(
        Deviation, on_delete=models.PROTECT, related_name="capa_actions", verbose_name=_("deviation")
    )
    number = models.PositiveIntegerField(_("action number"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    description = models.TextField(pgettext_lazy("CAPA action", "action"))
    owner = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner"))
    due_on = models.DateField(_("due on"))
    # How many effectiveness checks existed when the action was added (cellchain.domain.capa "rounds").
    round = models.PositiveIntegerField(_("check round"), default=0)
    change_request = models.ForeignKey(
        "ChangeRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="capa_actions",
        verbose_name=_("change request (T-10.15)"),
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("completed by"),
    )
    completion_note = models.TextField(_("completion evidence"), blank=True)

    class Meta:
        verbose_name = _("CAPA action")
        ordering = ["deviation", "number"]
        constraints = [
            models.UniqueConstraint(fields=["deviation", "number"], name="capa_action_number_unique"),
            models.CheckConstraint(
                condition=models.Q(status="open") | ~models.Q(completion_note=""),
                name="capa_action_done_has_evidence",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="capa_action_due_idx")]

    def __str__(self) -> str:
        return f"{self.label} {self.description[:60]}"

    @property
    def label(self) -> str:
        prefix = "CA" if self.kind == self.Kind.CORRECTIVE else "PA"
        return f"{prefix}-{self.number}"


class EffectivenessCheck(RegulatedModel):
    """Whether the CAPA of a deviation worked; not effective means new actions and a new check (T-9.3.2)."""

    class Result(models.TextChoices):
        EFFECTIVE = "effective", _("Effective")
        NOT_EFFECTIVE = "not_effective", _("Not effective")

    deviation = models.ForeignKey(
        Deviation, on_delete=models.PROTECT, related_name="effectiveness_checks", verbose_name=_("deviation")
    )
    round = models.PositiveIntegerField(_("check number"))
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    evidence = models.TextField(_("what was checked"))
    checked_at = models.DateTimeField(_("checked at"))
    checked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("checked by")
    )

    class Meta:
        verbose_name = _("effectiveness check")
        ordering = ["deviation", "round"]
        constraints = [
            models.UniqueConstraint(fields=["deviation", "round"], name="capa_check_round_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.deviation.number} #{self.round}: {self.get_result_display()}"


class ChangeRequest(RegulatedModel):
    """A proposed change to a process, specification, equipment or document, through its control steps
    (REGULATORY item 61; Annex 11 §10; P-1-a)."""

    class Kind(models.TextChoices):
        PROCESS = "process", _("Process")
        SPECIFICATION = "specification", _("Specification")
        EQUIPMENT = "equipment", _("Equipment")
        DOCUMENT = "document", _("Document")

    class Risk(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    class Status(models.TextChoices):
        """The states of cellchain.domain.capa.ChangeState (a test keeps the two equal)."""

        RAISED = "raised", _("Raised")
        ASSESSED = "assessed", _("Impact assessed")
        APPROVED = "approved", _("Approved")
        IMPLEMENTED = "implemented", _("Implemented")
        VERIFIED = "verified", _("Verified")
        CLOSED = "closed", pgettext_lazy("change request status", "Closed")
        REJECTED = "rejected", pgettext_lazy("change request status", "Rejected")

    number = models.CharField(_("number"), max_length=30, unique=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RAISED)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description of the change"))
    reason = models.TextField(_("reason for the change"))
    risk_level = models.CharField(_("risk"), max_length=8, choices=Risk.choices)
    risk_assessment = models.TextField(_("risk assessment"))
    affected_versions = models.ManyToManyField(
        ProductVersion,
        through="ChangeAffectedVersion",
        related_name="change_requests",
        verbose_name=_("affected product versions"),
    )
    # Equipment codes, document numbers and versions: there is no controlled-document register yet (issue 13
    # item 1), so documents and equipment are named as text; product versions are linked records.
    affected_items = models.TextField(_("other affected items (equipment, documents)"), blank=True)
    raised_at = models.DateTimeField(_("raised at"))
    raised_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("raised by")
    )
    impact_assessment = models.TextField(_("impact assessment"), blank=True)
    assessed_at = models.DateTimeField(_("assessed at"), null=True, blank=True)
    assessed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("assessed by")
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("approved by")
    )
    implementation_note = models.TextField(_("what was implemented"), blank=True)
    implemented_at = models.DateTimeField(_("implemented at"), null=True, blank=True)
    implemented_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("implemented by"),
    )
    verification_note = models.TextField(_("how it was verified"), blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("verified by")
    )
    closure_note = models.TextField(_("closure note"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("closed by")
    )

    class Meta:
        verbose_name = _("change request")
        ordering = ["-raised_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ChangeAffectedVersion(RegulatedModel):
    """One product version a change request affects (P-1-a; REGULATORY item 61)."""

    change = models.ForeignKey(
        ChangeRequest, on_delete=models.PROTECT, related_name="affected", verbose_name=_("change request")
    )
    product_version = models.ForeignKey(
        ProductVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("product version")
    )

    class Meta:
        verbose_name = _("product version affected by a change")
        constraints = [
            models.UniqueConstraint(fields=["change", "product_version"], name="change_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.change.number}: {self.product_version}"
