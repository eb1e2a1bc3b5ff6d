"""Models of the QC context: method master, samples, results with raw files, release and its follow-up.

Clauses: Q-2-a..g, Q-2.1 (method, instrument, stain per result), Q-2-c (method standing), Q-2.5-a..c
(conditional release, late compendial positive), Q-2.6-c (retained sample with its position),
REGULATORY items 6, 7, 14, 21; T-7.2 (issuing lab, third party), T-7.4 (information package issued).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cellchain.accounts.models import Organisation
from cellchain.ledger.models import RegulatedModel
from cellchain.manufacturing.models import Batch, ProductUnit
from cellchain.quality.models import Deviation, Notification

USER = settings.AUTH_USER_MODEL


class AnalyticalMethod(RegulatedModel):
    """The method master: each method with its standing, and whether it is rapid (Q-2-c, Q-2.5-a, Q-2.1)."""

    class Standing(models.TextChoices):
        COMPENDIAL = "compendial", _("Compendial (Chinese Pharmacopoeia)")
        VALIDATED = "validated", _("Validated")
        UNVALIDATED = "unvalidated", _("Not validated")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    standing = models.CharField(_("standing"), max_length=20, choices=Standing.choices)
    rapid = models.BooleanField(_("rapid method"), default=False)
    instrument = models.CharField(_("instrument"), max_length=120, blank=True)
    stain = models.CharField(_("stain or reagent"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("analytical method")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name_en}"


class RawDataFile(RegulatedModel):
    """An instrument file as received, kept with its SHA-256 (REGULATORY item 14)."""

    name = models.CharField(_("file name"), max_length=255)
    reader = models.CharField(_("reader"), max_length=40)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    content = models.BinaryField(_("content"))
    uploaded_at = models.DateTimeField(_("uploaded at"))
    uploaded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )

    # The bytes are bound by the ledgered hash; the hash is recomputed whenever the file is read.
    ledger_exclude = frozenset({"content"})

    class Meta:
        verbose_name = _("raw data file")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.name


class QcSample(RegulatedModel):
    """A QC sample of a batch with its own identifier and sampling point (T-10.11)."""

    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="qc_samples", verbose_name=_("batch")
    )
    identifier = models.CharField(_("sample identifier"), max_length=40, unique=True)
    sampling_point = models.CharField(_("sampling point"), max_length=80)
    taken_at = models.DateTimeField(_("taken at"))
    taken_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("taken by"))

    class Meta:
        verbose_name = _("QC sample")
        ordering = ["identifier"]

    def __str__(self) -> str:
        return self.identifier


class QcResult(RegulatedModel):
    """One result for one specification item of a batch; a retest supersedes it (Q-2-a, Q-2.1)."""

    class Status(models.TextChoices):
        FINAL = "final", _("Final")
        ORDERED = "ordered", _("Ordered, result pending")

    class Verdict(models.TextChoices):
        CONFORMS = "conforms", _("Conforms")
        DOES_NOT_CONFORM = "does_not_conform", _("Does not conform")
        PENDING = "pending", _("Pending")
        NOT_TESTED = "not_tested", _("Not tested")
        METHOD_NOT_ACCEPTED = "method_not_accepted", _("Method not accepted")
        NO_VALUE = "no_value", _("No value")

    class Outcome(models.TextChoices):
        NEGATIVE = "negative", _("Negative")
        POSITIVE = "positive", _("Positive")
        CONFORMS = "conforms", _("Conforms")
        DOES_NOT_CONFORM = "does_not_conform", _("Does not conform")

    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="qc_results", verbose_name=_("batch")
    )
    sample = models.ForeignKey(
        QcSample,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="results",
        verbose_name=_("sample"),
    )
    item_code = models.SlugField(_("test"), max_length=40)
    method = models.ForeignKey(
        AnalyticalMethod, on_delete=models.PROTECT, related_name="+", verbose_name=_("method")
    )
    method_standing = models.CharField(
        _("method standing when tested"), max_length=20, choices=AnalyticalMethod.Standing.choices
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.FINAL)
    value = models.DecimalField(_("value"), max_digits=30, decimal_places=6, null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    unit = models.CharField(pgettext_lazy("unit of measurement", "unit"), max_length=40, blank=True)
    instrument = models.CharField(_("instrument"), max_length=120, blank=True)
    issuing_lab = models.CharField(_("issuing laboratory"), max_length=200, blank=True)
    third_party = models.BooleanField(_("issued by a qualified third party"), default=False)
    details = models.JSONField(_("calculation details"), default=dict, blank=True)
    raw_file = models.ForeignKey(
        RawDataFile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="results",
        verbose_name=_("raw file"),
    )
    performed_at = models.DateTimeField(_("performed at"))
    performed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("performed by")
    )
    verdict = models.CharField(_("verdict"), max_length=30, choices=Verdict.choices)
    amended = models.BooleanField(_("changed after first entry"), default=False)
    is_current = models.BooleanField(_("current result of its test"), default=True)
    superseded_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("superseded by"),
    )
    investigation = models.ForeignKey(
        Deviation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("OOS investigation"),
    )

    class Meta:
        verbose_name = _("QC result")
        ordering = ["batch", "item_code", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "item_code"],
                condition=models.Q(is_current=True, voided_at__isnull=True),
                name="qc_one_current_result",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch} · {self.item_code}"


class AuditTrailReview(RegulatedModel):
    """The review of the batch's audit trail before release, by someone who performed none of it (item 7)."""

    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="audit_reviews", verbose_name=_("batch")
    )
    reviewer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("reviewer"))
    reviewed_at = models.DateTimeField(_("reviewed at"))
    entries_reviewed = models.PositiveIntegerField(_("ledger entries reviewed"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("audit-trail review")
        ordering = ["-reviewed_at"]


class RetainedSample(RegulatedModel):
    """The batch's retained sample (留样) and where it is stored (Q-2.6-c, T-10.11)."""

    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="retained_samples", verbose_name=_("batch")
    )
    unit = models.OneToOneField(
        ProductUnit,
        on_delete=models.PROTECT,
        related_name="retained_sample",
        verbose_name=pgettext_lazy("bag or vial with its own identifier", "unit"),
    )
    container = models.CharField(_("tank or freezer"), max_length=40)
    rack = models.CharField(_("rack"), max_length=20)
    box = models.CharField(_("box"), max_length=20)
    position = models.CharField(_("position"), max_length=20)
    registered_at = models.DateTimeField(_("registered at"))
    registered_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("registered by")
    )

    class Meta:
        verbose_name = _("retained sample")
        ordering = ["batch", "unit"]
        constraints = [
            models.UniqueConstraint(
                fields=["container", "rack", "box", "position"],
                condition=models.Q(voided_at__isnull=True),
                name="retained_position_free",
            )
        ]

    @property
    def location(self) -> str:
        return f"{self.container} / {self.rack} / {self.box} / {self.position}"


class ReleaseDecision(RegulatedModel):
    """QA's release of a batch, full or conditional, with the evaluation it rested on (Q-2-b, item 21)."""

    class Outcome(models.TextChoices):
        RELEASED = "releasable", _("Released")
        CONDITIONAL = "conditionally_releasable", _("Conditionally released")

    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="release_decisions", verbose_name=_("batch")
    )
    outcome = models.CharField(_("outcome"), max_length=30, choices=Outcome.choices)
    pending = models.JSONField(_("tests pending at release"), default=list, blank=True)
    evaluation = models.JSONField(_("evaluation at release"))
    decided_at = models.DateTimeField(_("released at"))
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("released by")
    )

    class Meta:
        verbose_name = _("release decision")
        ordering = ["-decided_at"]


class RecallHold(RegulatedModel):
    """A recall/hold started by a positive compendial result after release (Q-2.5-c)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="recalls", verbose_name=_("batch")
    )
    result = models.ForeignKey(QcResult, on_delete=models.PROTECT, related_name="+", verbose_name=_("result"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    reason = models.TextField(_("reason"))
    actions = models.JSONField(_("actions taken"), default=list)
    started_at = models.DateTimeField(_("started at"))

    class Meta:
        verbose_name = _("recall / hold")
        ordering = ["-started_at"]


class PackageIssue(RegulatedModel):
    """A version of the product information package issued to the clinic (T-7.4)."""

    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="packages", verbose_name=_("batch")
    )
    version = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("content issued"))
    content_sha256 = models.CharField(_("SHA-256 of the content"), max_length=64)
    recipient = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued to")
    )
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued by")
    )
    notification = models.ForeignKey(
        Notification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("notification"),
    )

    class Meta:
        verbose_name = _("information package issue")
        ordering = ["batch", "-version"]
        constraints = [models.UniqueConstraint(fields=["batch", "version"], name="package_version_once")]
