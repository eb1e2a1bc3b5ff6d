"""Models of the journeys context: enrolment, identifiers, scheduling, apheresis, units, labels, custody.

The manufacturer sees a journey by its chain-of-identity identifier and pseudonym only; the patient's
identifying data live in `PatientIdentity`, read only through hospital-side selectors (X-7, T-6.4-a, T-7.6).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cellchain.accounts.models import Site
from cellchain.domain.apheresis import Marker, PhysicianDecisionKind, ScreeningOutcome
from cellchain.domain.custody import CustodyStep, UnitState
from cellchain.domain.journey_hold import HoldKind
from cellchain.domain.slot_booking import StartingMaterial
from cellchain.ledger.models import RegulatedModel

USER = settings.AUTH_USER_MODEL


class IdentifierSequence(models.Model):
    """Last number issued per identifier kind, facility and year; locked on update so two requests never
    draw the same number (T-10.6). A counter, not a record: the identifiers it yields are ledgered."""

    class Kind(models.TextChoices):
        COI = "coi", _("Chain-of-identity identifier")
        DIN = "din", _("Donation identification number")

    kind = models.CharField(_("kind"), max_length=3, choices=Kind.choices)
    facility_id = models.CharField(_("facility identification number"), max_length=5)
    year = models.PositiveSmallIntegerField(_("year"))
    last_number = models.PositiveIntegerField(_("last number issued"), default=0)

    class Meta:
        verbose_name = _("identifier sequence")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "facility_id", "year"], name="identifier_sequence_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(last_number__lte=999_999), name="identifier_sequence_max"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.facility_id} {self.year}: {self.last_number}"


class EthicsApproval(RegulatedModel):
    """Ethics committee approval of a product/protocol at a site, with validity (T-5.2.2)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    product_code = models.CharField(_("product code"), max_length=8)
    protocol = models.CharField(_("protocol"), max_length=120)
    number = models.CharField(_("approval number"), max_length=60)
    approved_on = models.DateField(_("approved on"))
    valid_until = models.DateField(_("valid until"))

    class Meta:
        verbose_name = _("ethics approval")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("approved_on")), name="ethics_validity_ordered"
            ),
            models.UniqueConstraint(fields=["site", "number"], name="ethics_number_unique_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.product_code})"


class Journey(RegulatedModel):
    """One patient's therapy journey, known to the manufacturer only by COI and pseudonym (T-10.4, X-7)."""

    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("Enrolled")
        CONSENTED = "consented", _("Consented")
        ELIGIBLE = "eligible", _("Eligible")
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")
        SCHEDULED = "scheduled", _("Scheduled")
        COLLECTED = "collected", _("Collected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    coi = models.CharField(_("chain-of-identity identifier"), max_length=15, unique=True)
    coi_check = models.CharField(_("check character"), max_length=1)
    pseudonym = models.CharField(_("pseudonym"), max_length=20, unique=True)
    hospital_site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("hospital site")
    )
    manufacturer_site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("manufacturing site")
    )
    product_code = models.CharField(_("product code"), max_length=8)
    product_name = models.CharField(_("product name"), max_length=120)
    starting_material = models.CharField(
        _("starting material"), max_length=15, choices=[(m.value, m.value) for m in StartingMaterial]
    )
    ethics_approval = models.ForeignKey(
        EthicsApproval, on_delete=models.PROTECT, related_name="journeys", verbose_name=_("ethics approval")
    )
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.ENROLLED)
    enrolled_at = models.DateTimeField(_("enrolled at"))
    # Empty at a manufacturer's installation: the journey came from the hospital's enrolment message and the
    # hospital's user is not a user here (issue 12 item 2).
    enrolled_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("enrolled by"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("journey")
        ordering = ["-enrolled_at"]

    def __str__(self) -> str:
        return f"{self.coi} ({self.pseudonym})"

    @property
    def coi_keyboard(self) -> str:
        return self.coi + self.coi_check


class PatientIdentity(RegulatedModel):
    """Who the patient is: hospital-only, never returned to a manufacturer user (X-7, T-6.4-a, T-7.6)."""

    journey = models.OneToOneField(
        Journey, on_delete=models.PROTECT, related_name="patient_identity", verbose_name=_("journey")
    )
    name = models.CharField(_("patient name"), max_length=120)
    birth_date = models.DateField(_("birth date"))
    hospital_record_number = models.CharField(_("hospital record number"), max_length=40)
    wristband_id = models.CharField(_("wristband id"), max_length=40)
    identity_digest = models.CharField(_("keyed digest of the identity"), max_length=64)

    # The ledger is shown to auditors and exchanged between installations: it carries only a keyed digest
    # of the identity, so re-identification needs the hospital's key (REGULATORY item 42).
    ledger_exclude = frozenset({"name", "birth_date", "hospital_record_number", "wristband_id"})

    class Meta:
        verbose_name = _("patient identity")
        constraints = [
            models.UniqueConstraint(fields=["wristband_id"], name="patient_wristband_unique"),
        ]


class Consent(RegulatedModel):
    """Informed consent: form version, date, signer, scan digest; withdrawal stops the journey (T-6.4-b)."""

    class Signer(models.TextChoices):
        PATIENT = "patient", _("Patient")
        GUARDIAN = "guardian", _("Legal guardian")

    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="consents", verbose_name=_("journey")
    )
    form_version = models.CharField(_("consent form version"), max_length=40)
    signed_on = models.DateField(_("signed on"))
    signer = models.CharField(_("signed by"), max_length=10, choices=Signer.choices)
    scan_sha256 = models.CharField(_("SHA-256 of the signed form scan"), max_length=64, blank=True)
    obtained_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("obtained by")
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("withdrawal reason"), blank=True)

    class Meta:
        verbose_name = _("consent")


class EligibilityChecklist(RegulatedModel):
    """The inclusion/exclusion criteria of one protocol version for a product at a site (T-9.2.1-2, T-8.2.2-a).

    A new version supersedes the earlier ones: a journey assessed against an older version is assessed again
    before apheresis. The protocol is the one named by the site's ethics approval (T-5.2.2)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    product_code = models.CharField(_("product code"), max_length=8)
    protocol = models.CharField(_("protocol"), max_length=120)
    version = models.PositiveSmallIntegerField(_("checklist version"))
    criteria = models.JSONField(_("criteria"))
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("eligibility checklist")
        ordering = ["site", "product_code", "protocol", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "product_code", "protocol", "version"],
                name="eligibility_checklist_version_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="eligibility_checklist_version_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol} v{self.version} ({self.product_code})"


class EligibilityAssessment(RegulatedModel):
    """The eligibility checklist answered for a journey (T-8.2.2-a), against a protocol version (T-9.2.1-2)."""

    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="eligibility", verbose_name=_("journey")
    )
    checklist = models.ForeignKey(
        EligibilityChecklist,
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name=_("eligibility checklist"),
        null=True,
        blank=True,
    )
    answers = models.JSONField(_("criteria and answers"))
    eligible = models.BooleanField(_("eligible"))
    assessed_at = models.DateTimeField(_("assessed at"))
    assessed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("assessed by")
    )

    class Meta:
        verbose_name = _("eligibility assessment")


class Slot(RegulatedModel):
    """A day with capacity at a site: apheresis at the hospital, manufacturing at the manufacturer (P-T3-a)."""

    class Kind(models.TextChoices):
        APHERESIS = "apheresis", _("Apheresis")
        MANUFACTURING = "manufacturing", _("Manufacturing")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    starts_at = models.DateTimeField(_("starts at"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))

    class Meta:
        verbose_name = _("slot")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["site", "kind", "starts_at"], name="slot_unique_per_site_time"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="slot_capacity_positive"),
        ]


class Booking(RegulatedModel):
    """A journey's place in a slot; moved or cancelled with a reason (T-8.2.2-g)."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        MOVED = "moved", _("Moved")
        CANCELLED = "cancelled", _("Cancelled")

    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("journey")
    )
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("slot"))
    kind = models.CharField(_("kind"), max_length=15, choices=Slot.Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.BOOKED)
    booked_at = models.DateTimeField(_("booked at"))
    booked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("booked by")
    )
    change_reason = models.TextField(_("reason for move or cancellation"), blank=True)

    class Meta:
        verbose_name = _("booking")
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "kind"],
                condition=models.Q(status="booked"),
                name="one_active_booking_per_kind",
            ),
        ]


class ScreeningResult(RegulatedModel):
    """One infectious-disease marker result before apheresis (P-1.3.1-a)."""

    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="screening_results", verbose_name=_("journey")
    )
    marker = models.CharField(_("marker"), max_length=10, choices=[(m.value, m.value) for m in Marker])
    outcome = models.CharField(
        _("outcome"), max_length=15, choices=[(o.value, o.value) for o in ScreeningOutcome]
    )
    tested_on = models.DateField(_("tested on"))
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("screening result")


class ScreeningDecision(RegulatedModel):
    """Active infection and the physician's proceed/postpone decision with reason (P-1.3.1-b)."""

    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="screening_decisions", verbose_name=_("journey")
    )
    active_infection = models.BooleanField(_("active infection"))
    decision = models.CharField(
        _("decision"), max_length=10, choices=[(d.value, d.value) for d in PhysicianDecisionKind]
    )
    reason = models.TextField(_("reason"))
    decided_at = models.DateTimeField(_("decided at"))
    physician = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("physician")
    )

    class Meta:
        verbose_name = _("screening decision")


class Collection(RegulatedModel):
    """An apheresis collection record (P-T2-a, P-1.3.1-a/c): parameters, MNC count, form, operator."""

    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="collections", verbose_name=_("journey")
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    # Empty at a manufacturer's installation: the collection came by the hospital's shipment message (issue 12).
    operator = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("operator"), null=True, blank=True
    )
    collected_at = models.DateTimeField(_("collection time"))
    pre_assessment = models.TextField(_("pre-apheresis assessment"), blank=True)
    anticoagulant_ratio = models.PositiveSmallIntegerField(_("anticoagulant ratio 1:N"))
    processed_blood_volume_ml = models.PositiveIntegerField(_("processed blood volume (mL)"))
    cycles = models.PositiveSmallIntegerField(_("cycles"))
    collected_volume_ml = models.PositiveIntegerField(_("collected volume (mL)"))
    mnc_count = models.DecimalField(_("MNC count"), max_digits=16, decimal_places=0)
    mnc_target_low = models.DecimalField(_("MNC target low"), max_digits=16, decimal_places=0)
    mnc_target_high = models.DecimalField(_("MNC target high"), max_digits=16, decimal_places=0)
    mnc_shortfall = models.BooleanField(_("MNC shortfall"))
    starting_material = models.CharField(
        _("fresh or cryopreserved"), max_length=15, choices=[(m.value, m.value) for m in StartingMaterial]
    )
    infectious = models.BooleanField(_("infectious"), default=False)

    class Meta:
        verbose_name = _("apheresis collection")
        constraints = [
            models.CheckConstraint(condition=models.Q(cycles__gte=1), name="collection_cycles_positive"),
            models.CheckConstraint(
                condition=models.Q(collected_volume_ml__gte=1), name="collection_volume_positive"
            ),
        ]


class StoragePosition(RegulatedModel):
    """A place in a storage tank: tank / rack / box / position (P-1.3.1-g)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    tank = models.CharField(_("tank"), max_length=20)
    rack = models.CharField(_("rack"), max_length=20)
    box = models.CharField(_("box"), max_length=20)
    position = models.CharField(_("position"), max_length=20)

    class Meta:
        verbose_name = _("storage position")
        ordering = ["site", "tank", "rack", "box", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "tank", "rack", "box", "position"], name="storage_position_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.tank}.{self.rack}.{self.box}.{self.position}"


class Unit(RegulatedModel):
    """A collected bag with its DIN; moves only through scanned custody steps (T-10.6, G-4)."""

    collection = models.ForeignKey(
        Collection, on_delete=models.PROTECT, related_name="units", verbose_name=_("collection")
    )
    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="units", verbose_name=_("journey")
    )
    din = models.CharField(_("donation identification number"), max_length=13, unique=True)
    din_check = models.CharField(_("check character"), max_length=1)
    volume_ml = models.PositiveIntegerField(_("volume (mL)"))
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=[(s.value, s.value) for s in UnitState],
        default=UnitState.COLLECTED,
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("where it is"))
    destination_site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("destination"), null=True, blank=True
    )
    last_step = models.CharField(
        _("last step"), max_length=25, choices=[(s.value, s.value) for s in CustodyStep], blank=True
    )
    storage_position = models.OneToOneField(
        StoragePosition,
        on_delete=models.PROTECT,
        related_name="unit",
        verbose_name=_("storage position"),
        null=True,
        blank=True,
    )
    shipper_code = models.CharField(_("shipper"), max_length=40, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("bag or vial with its own identifier", "unit")
        ordering = ["din"]

    def __str__(self) -> str:
        return self.din

    @property
    def din_keyboard(self) -> str:
        return self.din + self.din_check


class LabelPrint(RegulatedModel):
    """One printed label: template version, content digest; reprints need a reason and are counted
    (REGULATORY item 39; T-10.6 two-person check of the labelling)."""

    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="label_prints",
        verbose_name=pgettext_lazy("bag or vial with its own identifier", "unit"),
    )
    print_number = models.PositiveSmallIntegerField(_("print number"))
    template_version = models.CharField(_("template version"), max_length=20)
    payload = models.CharField(_("barcode content"), max_length=80)
    pdf_sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64)
    zpl_sha256 = models.CharField(_("SHA-256 of the ZPL"), max_length=64)
    printed_at = models.DateTimeField(_("printed at"))
    printed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("printed by")
    )
    reprint_reason = models.TextField(_("reprint reason"), blank=True)

    class Meta:
        verbose_name = _("label print")
        ordering = ["unit", "print_number"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "print_number"], name="label_print_number_unique"),
            models.CheckConstraint(
                condition=models.Q(print_number=1) | ~models.Q(reprint_reason=""), name="reprint_needs_reason"
            ),
        ]


class LabelDisposition(RegulatedModel):
    """The one final fate of a printed label: used on its unit, voided (misprint) or destroyed under a
    witness, counted in the label reconciliation (FACT-JACIE CM7.2.2.1; issue 13 item 8)."""

    class Fate(models.TextChoices):
        USED = "used", pgettext_lazy("label fate: applied to its unit", "Used")
        VOIDED = "voided", pgettext_lazy("label fate: misprint taken out of use", "Voided")
        DESTROYED = "destroyed", pgettext_lazy("label fate: witnessed destruction", "Destroyed")

    label = models.OneToOneField(
        LabelPrint, on_delete=models.PROTECT, related_name="disposition", verbose_name=_("label print")
    )
    fate = models.CharField(_("fate"), max_length=10, choices=Fate.choices)
    reason = models.TextField(_("reason"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    witness = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("witness"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("label disposition")
        ordering = ["label"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fate="used") | ~models.Q(reason=""), name="label_void_destroy_needs_reason"
            ),
            models.CheckConstraint(
                condition=~models.Q(fate="destroyed") | models.Q(witness__isnull=False),
                name="label_destroy_needs_witness",
            ),
        ]


class CustodyEvent(RegulatedModel):
    """One scan at one custody step, matched or blocked, with who, where, when and why (G-4, T-10.4)."""

    class Verdict(models.TextChoices):
        MATCH = "match", _("Match")
        BLOCKED = "blocked", _("Blocked")

    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="custody_events", verbose_name=_("journey")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="custody_events", verbose_name=_("expected unit")
    )
    step = models.CharField(_("step"), max_length=25, choices=[(s.value, s.value) for s in CustodyStep])
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("scanned by"))
    at = models.DateTimeField(_("at"), db_index=True)
    scanned_text = models.CharField(_("scanned"), max_length=120)
    scanned_din = models.CharField(_("scanned DIN"), max_length=13, blank=True)
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices)
    reasons = models.JSONField(_("reasons"), default=list)
    state_after = models.CharField(_("state after"), max_length=12, blank=True)
    storage_position = models.ForeignKey(
        StoragePosition, on_delete=models.PROTECT, related_name="+", verbose_name=_("storage position"),
        null=True, blank=True,
    )  # fmt: skip
    shipper_code = models.CharField(_("shipper"), max_length=40, blank=True)
    condition = models.CharField(_("condition"), max_length=200, blank=True)
    deviation_number = models.CharField(_("identity incident"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("custody event")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["journey", "at"], name="custody_journey_at_idx")]


class JourneyHold(RegulatedModel):
    """A suspension or termination of the journey's treatment, signed with its reason (T-6.4-h, T-8.2.2-g).

    While it stands, apheresis, batch start, release, shipping and infusion for the journey are refused. A
    suspension is lifted by a signed, reasoned amendment; a termination is final. A hold received from the
    partner installation names the signer by printed name and the partner it came from (issue 12)."""

    class Kind(models.TextChoices):
        SUSPENSION = HoldKind.SUSPENSION.value, pgettext_lazy("treatment hold", "Suspension")
        TERMINATION = HoldKind.TERMINATION.value, pgettext_lazy("treatment hold", "Termination")

    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="holds", verbose_name=_("journey")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    reason = models.TextField(_("reason"))
    placed_at = models.DateTimeField(_("placed at"))
    placed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("placed by"), null=True, blank=True
    )
    placed_by_name = models.CharField(_("signed by (printed name)"), max_length=150)
    received_from = models.CharField(_("received from partner"), max_length=100, blank=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("lifted by"), null=True, blank=True
    )
    lifted_by_name = models.CharField(_("lifted by (printed name)"), max_length=150, blank=True)
    lift_reason = models.TextField(_("reason for lifting"), blank=True)

    class Meta:
        verbose_name = _("journey hold")
        ordering = ["-placed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="suspension") | models.Q(lifted_at__isnull=True),
                name="journey_termination_never_lifted",
            ),
            models.UniqueConstraint(
                fields=["journey"],
                condition=models.Q(kind="suspension", lifted_at__isnull=True),
                name="journey_one_standing_suspension",
            ),
            models.UniqueConstraint(
                fields=["journey"], condition=models.Q(kind="termination"), name="journey_one_termination"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.journey_id} {self.kind}"


class CollectionSiteCertification(RegulatedModel):
    """The manufacturer's certification of a hospital's apheresis site: validity and whether the site may
    cryopreserve apheresis (P-1.3.1-d, T-8.2.3)."""

    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("collection site")
    )
    manufacturer_site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("certifying manufacturer site")
    )
    number = models.CharField(_("certificate number"), max_length=40, unique=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    may_cryopreserve = models.BooleanField(_("may cryopreserve apheresis"), default=False)
    evidence = models.TextField(_("evidence (training, audit)"), blank=True)
    certified_at = models.DateTimeField(_("certified at"))
    certified_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("certified by")
    )

    class Meta:
        verbose_name = _("collection site certification")
        ordering = ["site", "-valid_until"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")),
                name="collection_cert_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class HospitalReport(RegulatedModel):
    """What a hospital reported about a journey by message, kept at the manufacturer's installation: receipt
    inspection, infusion done, follow-up visit (issue 12 item 2; T-8.1.7, T-8.2.6, T-9.2.8). Idempotent by the
    message's event id."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt_inspection", _("Receipt inspection")
        INFUSION = "infusion", _("Infusion done")
        FOLLOW_UP = "follow_up", _("Follow-up visit")

    journey = models.ForeignKey(
        Journey, on_delete=models.PROTECT, related_name="hospital_reports", verbose_name=_("journey")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    event_id = models.CharField(_("event id"), max_length=300, unique=True)
    sender = models.CharField(_("sent by (partner log id)"), max_length=100)
    occurred_at = models.DateTimeField(_("happened at"))
    outcome = models.CharField(_("outcome"), max_length=40, blank=True)
    details = models.JSONField(_("details"), default=dict)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("hospital report")
        ordering = ["journey", "occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.journey.coi} {self.kind} {self.outcome}"
