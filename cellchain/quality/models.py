"""Deviations (nonconformances, identity incidents, OOS, transport deviations) and notifications between sites.

A deviation is opened by the service that detects it and dispositioned by QA (T-6.4-f, T-9.3, T-10.15).
A notification is a message to the other organisation, recorded with time and acknowledgement (T-7.10-c).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cellchain.accounts.models import Organisation, Site
from cellchain.ledger.models import RegulatedModel


class Deviation(RegulatedModel):
    """A recorded nonconformance with investigation, disposition and CAPA."""

    class Kind(models.TextChoices):
        PROCESS = "process", _("Process parameter out of range")
        IDENTITY = "identity", _("Identity incident (scan mismatch)")
        OOS = "oos", _("Out-of-specification result")
        TRANSPORT = "transport", _("Transport or temperature deviation")
        RECEIPT = "receipt", _("Receipt nonconformance")
        PROTOCOL = "protocol", _("Protocol deviation")
        ENVIRONMENT = "environment", _("Environmental-monitoring excursion")
        SAFETY = "safety", _("Patient-safety record")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DISPOSITIONED = "dispositioned", _("Dispositioned")
        CLOSED = "closed", _("Closed")

    number = models.CharField(_("number"), max_length=30, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="deviations", verbose_name=_("site")
    )
    # The record it concerns (any context): type + id, as in the ledger.
    subject_type = models.CharField(_("concerns record type"), max_length=80, blank=True)
    subject_id = models.CharField(_("concerns record id"), max_length=64, blank=True)
    blocks_subject = models.BooleanField(_("blocks the record until dispositioned"), default=True)
    opened_at = models.DateTimeField(_("opened at"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("opened by"),
    )
    investigation = models.TextField(_("investigation"), blank=True)
    disposition = models.TextField(_("disposition"), blank=True)
    capa = models.TextField(_("corrective and preventive action"), blank=True)
    dispositioned_at = models.DateTimeField(_("dispositioned at"), null=True, blank=True)
    dispositioned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dispositioned by"),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Closed only by QA's signature once investigation, CAPA and effectiveness check are complete
    # (cellchain.capa.services.deviation_close; T-6.4-f, T-9.3.2).
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )

    class Meta:
        verbose_name = _("deviation")
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "status"], name="deviation_subject_idx")
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Notification(RegulatedModel):
    """A message to an organisation (optionally one site and role), acknowledged by a named person."""

    recipient_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="notifications",
        verbose_name=_("to organisation"),
    )
    recipient_site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("to site")
    )
    recipient_role = models.CharField(_("to role"), max_length=30, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    subject_type = models.CharField(_("concerns record type"), max_length=80, blank=True)
    subject_id = models.CharField(_("concerns record id"), max_length=64, blank=True)
    sent_at = models.DateTimeField(_("sent at"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )

    class Meta:
        verbose_name = _("notification")
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return self.subject


class EmailNotification(models.Model):
    """One e-mail of a notification, written in the notification's transaction and sent after commit.

    An outbox row, not a regulated record: the notification itself is ledgered. A failed send is kept with
    its error and retried with back-off by `notifications_retry`, so no message is lost silently (issue 15).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed; will be retried")

    notification = models.ForeignKey(
        Notification, on_delete=models.PROTECT, related_name="emails", verbose_name=_("notification")
    )
    to = models.TextField(_("to"), help_text=_("Addresses, one per line."))
    subject = models.CharField(_("subject"), max_length=250)
    body = models.TextField(_("message"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"))
    next_attempt_at = models.DateTimeField(_("next attempt at"), db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification e-mail")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject} ({self.get_status_display()})"

    @property
    def addresses(self) -> list[str]:
        return [a for a in self.to.splitlines() if a]


class SafetyReport(RegulatedModel):
    """An adverse-event report a hospital's installation sent us, as received (issue 12 item 2; T-7.10,
    T-7.10-d, T-10.8): one row per message (FHIR R5 AdverseEvent or E2B(R3) ICSR), pseudonymous — the
    patient only by COI and, when the COI is one of our journeys, its pseudonym. A COI we do not know is kept
    and flagged, never dropped: a safety report is never lost for a bad reference."""

    class Form(models.TextChoices):
        FHIR = "fhir", _("HL7 FHIR R5 AdverseEvent")
        E2B = "e2b", _("ICH E2B(R3) ICSR")

    partner = models.ForeignKey(
        "exchange.Partner", on_delete=models.PROTECT, related_name="+", verbose_name=_("sent by")
    )
    event_id = models.CharField(_("message event id"), max_length=300)
    form = models.CharField(_("form"), max_length=10, choices=Form.choices)
    body_sha256 = models.CharField(_("SHA-256 of the message body"), max_length=64)
    ae_number = models.CharField(_("hospital's AE number"), max_length=60)
    sequence = models.PositiveIntegerField(_("report of this AE (1 = initial)"), null=True, blank=True)
    coi = models.CharField(_("chain-of-identity id"), max_length=40)
    journey = models.ForeignKey(
        "journeys.Journey", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("journey"),
    )  # fmt: skip
    pseudonym = models.CharField(_("pseudonym"), max_length=20, blank=True)
    coi_known = models.BooleanField(_("COI is one of our journeys"))
    flags = models.JSONField(_("flags"), default=list, blank=True)
    term = models.CharField(_("event term"), max_length=200)
    category = models.CharField(_("category"), max_length=10)
    grade = models.PositiveSmallIntegerField(_("grade"))
    serious = models.BooleanField(_("serious"))
    life_threatening = models.BooleanField(_("life-threatening"), default=False)
    fatal = models.BooleanField(_("fatal"), default=False)
    outcome = models.CharField(_("outcome"), max_length=20)
    din = models.CharField(_("unit DIN"), max_length=40, blank=True)
    batch = models.CharField(_("batch"), max_length=60, blank=True)
    onset_at = models.DateTimeField(_("onset"))
    awareness_at = models.DateTimeField(_("hospital aware"), null=True, blank=True)
    reporter_site = models.CharField(_("reporting site (facility id)"), max_length=60, blank=True)
    received_at = models.DateTimeField(_("received at"))
    deviation = models.ForeignKey(
        Deviation, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("deviation"),
    )  # fmt: skip

    class Meta:
        verbose_name = _("received safety report")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "event_id"], name="safety_report_event_once")
        ]
        indexes = [models.Index(fields=["partner", "ae_number"], name="safety_report_ae_idx")]

    def __str__(self) -> str:
        return f"{self.ae_number} ({self.get_form_display()})"
