"""Models of the manufacturing context: product master, facility, apheresis intake and the batch record.

Clauses: P-1-a (versioned, approved product definitions), P-1.2.1-a/b (areas and their mode, line clearance),
T-10.12 (equipment register), P-1.1-a/b (material lots), P-1.3.1-g (manufacturing receipt of the apheresis),
P-T2-c..i (batch steps and parameters), P-1.3.5-a (fill record), X-1/X-2 (who and when, activity and entry).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cellchain.accounts.models import Site
from cellchain.ledger.models import RegulatedModel
from cellchain.quality.models import Deviation

USER = settings.AUTH_USER_MODEL


class StartingMaterial(models.TextChoices):
    """Fresh or cryopreserved apheresis (Table 3, P-T3-a); also the product state (T-7.5-d)."""

    FRESH = "fresh", _("Fresh")
    CRYOPRESERVED = "cryopreserved", _("Cryopreserved")


class Product(RegulatedModel):
    """A CAR-T product of the manufacturer; its definition lives in versions (P-1-a)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    isbt_product_code = models.CharField(_("ISBT 128 product code"), max_length=8, blank=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="products", verbose_name=_("site"))

    class Meta:
        verbose_name = _("product")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name_zh} / {self.name_en}"


class ProductVersion(RegulatedModel):
    """One version of a product's definition: process template, release specification, information for
    the clinic. Used only once approved with an e-signature (P-1-a, Q-2-a, T-7.4)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        SUPERSEDED = "superseded", _("Superseded")

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="versions", verbose_name=_("product")
    )
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    process = models.JSONField(_("process template"))
    specification = models.JSONField(_("release specification"))
    information = models.JSONField(_("information for the clinic"))
    change_note = models.TextField(_("what changed and why"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("created by")
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("approved by")
    )

    class Meta:
        verbose_name = _("product version")
        ordering = ["product", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="product_version_unique"),
            models.UniqueConstraint(
                fields=["product"], condition=models.Q(status="approved"), name="product_one_approved_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.code} v{self.version}"


class CleanlinessGrade(models.TextChoices):
    """Cleanliness grades of EU GMP / China GMP Annex 1 (`cellchain.domain.environment.Grade`)."""

    A = "A", _("Grade A")
    B = "B", _("Grade B")
    C = "C", _("Grade C")
    D = "D", _("Grade D")


class AreaPurpose(models.TextChoices):
    """What an area is for: the minimum areas of T-5.1.4 a-f (`cellchain.domain.environment.AreaPurpose`)."""

    CELL_PREPARATION = "cell_preparation", _("Cell preparation")
    QC = "qc", _("Quality control")
    CELL_STORAGE = "cell_storage", _("Cell storage")
    VIRUS_STORAGE = "virus_storage", _("Virus storage")
    PLASMID_PREPARATION = "plasmid_preparation", _("Plasmid preparation")
    VIRUS_PREPARATION = "virus_preparation", _("Virus preparation")
    OTHER = "other", _("Other")


class ProductionArea(RegulatedModel):
    """A production unit or room and its mode (review 1.2.1, P-1.2.1-a/b)."""

    class Mode(models.TextChoices):
        UNIT_BASED = "unit_based", _("Unit-based (one batch per unit)")
        ROOM_BASED = "room_based", _("Room-based (one batch per room at a time, except culture)")

    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="production_areas", verbose_name=_("site")
    )
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices)
    # T-5.1.3 area register: purpose (T-5.1.4 a-f), cleanliness grade (T-5.1.7), HVAC system (T-5.1.5).
    purpose = models.CharField(_("purpose"), max_length=30, choices=AreaPurpose.choices, blank=True)
    grade = models.CharField(
        _("cleanliness grade"), max_length=1, choices=CleanlinessGrade.choices, blank=True
    )  # blank: unclassified (no open operation may be done there)
    hvac_system = models.CharField(_("HVAC system"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("production area")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class LineClearance(RegulatedModel):
    """Line clearance (清场) of an area between batches; signed by a performer and a verifier (X-5)."""

    area = models.ForeignKey(
        ProductionArea, on_delete=models.PROTECT, related_name="clearances", verbose_name=_("area")
    )
    completed_at = models.DateTimeField(_("completed at"))
    performed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("performed by")
    )
    verified_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("verified by")
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("line clearance")
        ordering = ["-completed_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(performed_by=models.F("verified_by")), name="clearance_two_people"
            )
        ]


class Equipment(RegulatedModel):
    """An equipment item with its calibration and maintenance due dates (T-10.12)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="equipment", verbose_name=_("site"))
    code = models.SlugField(_("code"), max_length=30, unique=True)
    kind = models.CharField(_("kind"), max_length=40, help_text=_("e.g. incubator, biosafety_cabinet"))
    name = models.CharField(_("name"), max_length=200)
    in_service = models.BooleanField(_("in service"), default=True)
    calibration_due = models.DateField(_("calibration due"), null=True, blank=True)
    maintenance_due = models.DateField(_("maintenance due"), null=True, blank=True)

    class Meta:
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Supplier(RegulatedModel):
    """A supplier in the register with its qualification status (P-1.1-a supplier qualification, P-1.1-b).

    Only QA changes the status, with a reason and an e-signature (`supplier_qualify`, `supplier_disqualify`);
    a lot of a supplier that is not qualified, disqualified or past its requalification date is refused at
    issue (decision 0029).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Not yet qualified")
        QUALIFIED = "qualified", _("Qualified")
        CONDITIONAL = "conditional", _("Conditionally qualified")
        DISQUALIFIED = "disqualified", _("Disqualified")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="suppliers", verbose_name=_("site"))
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    supplies = models.CharField(_("what it supplies"), max_length=300)
    status = models.CharField(
        _("qualification status"), max_length=20, choices=Status.choices, default="pending"
    )
    status_since = models.DateField(_("status since"), null=True, blank=True)
    status_reason = models.TextField(_("reason for the status"), blank=True)
    requalify_by = models.DateField(_("next requalification due"), null=True, blank=True)
    audit_reference = models.CharField(_("audit or questionnaire reference"), max_length=200, blank=True)
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("decided by")
    )

    class Meta:
        verbose_name = _("supplier")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MaterialLot(RegulatedModel):
    """A lot of a material or vector, with its release and documents (P-1.1-a/b, Q-2.6-a).

    `supplier` is the free-text name kept from before the supplier register; `registered_supplier` is the
    register entry the issue gate checks (a lot without one is refused at issue, decision 0029). `released`
    becomes true only through `material_lot_release`, which signs the lot with the SHA-256 of its CoA.
    """

    material = models.CharField(_("material"), max_length=120)
    lot = models.CharField(_("lot"), max_length=60)
    supplier = models.CharField(_("supplier"), max_length=120, blank=True)
    registered_supplier = models.ForeignKey(
        Supplier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lots",
        verbose_name=_("supplier (register)"),
    )
    released = models.BooleanField(_("released by QA"), default=False)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("released by")
    )
    released_coa_sha256 = models.CharField(
        _("SHA-256 of the CoA released against"), max_length=64, blank=True
    )
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    documents_attached = models.BooleanField(_("CoA and origin documents attached"), default=False)
    research_use_only = models.BooleanField(_("research use only"), default=False)
    biological_origin = models.BooleanField(_("biological origin"), default=False)
    risk_assessment_approved = models.BooleanField(_("risk assessment approved"), default=False)
    is_vector = models.BooleanField(_("viral vector"), default=False)
    rcl_culture_passed = models.BooleanField(_("RCL/RCR culture test passed"), default=False)

    class Meta:
        verbose_name = _("material lot")
        ordering = ["material", "lot"]
        constraints = [models.UniqueConstraint(fields=["material", "lot"], name="material_lot_unique")]

    def __str__(self) -> str:
        return f"{self.material} {self.lot}"


class MaterialCertificate(RegulatedModel):
    """The certificate of analysis (CoA) of a lot as uploaded, with its SHA-256 (P-1.1-b documents).

    Stored as QC's raw data and the assessment's evidence files: the bytes are bound by the ledgered hash,
    recomputed whenever the file is read (REGULATORY item 14). The newest one not voided is the lot's CoA.
    """

    lot = models.ForeignKey(
        MaterialLot, on_delete=models.PROTECT, related_name="certificates", verbose_name=_("lot")
    )
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
        verbose_name = _("certificate of analysis")
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return self.name


class ApheresisIntake(RegulatedModel):
    """Manufacturing receipt of an apheresis unit: scanned identity, bag check, temperature (P-1.3.1-g)."""

    din = models.CharField(_("unit identifier (DIN)"), max_length=13, unique=True)
    coi = models.CharField(_("chain-of-identity identifier"), max_length=15, blank=True)
    collection_site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("collection site")
    )
    collected_at = models.DateTimeField(_("collected at"))
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("received by")
    )
    starting_material = models.CharField(
        _("fresh or cryopreserved"), max_length=20, choices=StartingMaterial.choices
    )
    bag_intact = models.BooleanField(_("bag intact, no leak or damage"))
    temperature_ok = models.BooleanField(_("temperature within range in transit"))
    notes = models.TextField(_("notes"), blank=True)
    deviation = models.ForeignKey(
        Deviation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deviation"),
    )

    class Meta:
        verbose_name = _("apheresis intake")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.din


class Batch(RegulatedModel):
    """One batch record: an instance of an approved product version, started from one apheresis unit."""

    class Status(models.TextChoices):
        IN_PROCESS = "in_process", _("In process")
        AWAITING_RELEASE = "awaiting_release", _("Awaiting QC release")
        CONDITIONALLY_RELEASED = "conditionally_released", _("Conditionally released")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", pgettext_lazy("batch status: QA decided not to release it", "Rejected")
        ON_HOLD = "on_hold", _("On hold / recall")

    number = models.CharField(_("batch number"), max_length=20, unique=True)
    product_version = models.ForeignKey(
        ProductVersion, on_delete=models.PROTECT, related_name="batches", verbose_name=_("product version")
    )
    intake = models.OneToOneField(
        ApheresisIntake, on_delete=models.PROTECT, related_name="batch", verbose_name=_("apheresis unit")
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="batches", verbose_name=_("site"))
    area = models.ForeignKey(
        ProductionArea,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batches",
        verbose_name=_("production unit (unit-based mode)"),
    )
    status = models.CharField(_("status"), max_length=30, choices=Status.choices, default=Status.IN_PROCESS)
    started_at = models.DateTimeField(_("started at"))
    started_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    closed_at = models.DateTimeField(_("record closed at"), null=True, blank=True)
    manufactured_at = models.DateTimeField(_("manufactured at (fill)"), null=True, blank=True)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.number


class BatchStep(RegulatedModel):
    """One step of a batch record, an instance of a step of the process template (P-T2-c..i)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        COMPLETED = "completed", _("Completed")

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="steps", verbose_name=_("batch"))
    code = models.SlugField(_("step"), max_length=40)
    kind = models.CharField(_("kind"), max_length=30)
    position = models.PositiveSmallIntegerField(_("position in the template"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    area = models.ForeignKey(
        ProductionArea, on_delete=models.PROTECT, related_name="steps", verbose_name=_("area")
    )
    is_culture = models.BooleanField(_("cell culture step"), default=False)
    started_at = models.DateTimeField(_("started at (activity time)"))
    started_entered_at = models.DateTimeField(_("start entered at"))
    started_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    completed_at = models.DateTimeField(_("completed at (activity time)"), null=True, blank=True)
    completed_entered_at = models.DateTimeField(_("completion entered at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("completed by"),
    )
    duration_deviation = models.ForeignKey(
        Deviation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("duration deviation"),
    )

    class Meta:
        verbose_name = _("batch step")
        ordering = ["batch", "position"]
        constraints = [models.UniqueConstraint(fields=["batch", "code"], name="batch_step_once")]

    def __str__(self) -> str:
        return f"{self.batch.number} · {self.code}"


class ParameterEntry(RegulatedModel):
    """One process parameter entered in a step, checked against its range (P-1-a, G-5)."""

    class Outcome(models.TextChoices):
        IN_RANGE = "in_range", _("In range")
        OUT_OF_RANGE = "out_of_range", _("Out of range")

    step = models.ForeignKey(
        BatchStep, on_delete=models.PROTECT, related_name="entries", verbose_name=_("step")
    )
    code = models.SlugField(_("parameter"), max_length=40)
    value = models.CharField(_("value"), max_length=200)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    limit = models.CharField(_("allowed range"), max_length=200, blank=True)
    entered_at = models.DateTimeField(_("entered at"))
    entered_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("entered by")
    )
    deviation = models.ForeignKey(
        Deviation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deviation"),
    )

    class Meta:
        verbose_name = _("parameter entry")
        ordering = ["step", "id"]
        constraints = [models.UniqueConstraint(fields=["step", "code"], name="parameter_once_per_step")]


class EquipmentUse(RegulatedModel):
    """Equipment used in a step, valid at the time of use (T-10.12, P-1.2.2-a)."""

    step = models.ForeignKey(
        BatchStep, on_delete=models.PROTECT, related_name="equipment_uses", verbose_name=_("step")
    )
    equipment = models.ForeignKey(
        Equipment, on_delete=models.PROTECT, related_name="uses", verbose_name=_("equipment")
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("equipment use")
        constraints = [models.UniqueConstraint(fields=["step", "equipment"], name="equipment_once_per_step")]


class MaterialUse(RegulatedModel):
    """A material lot issued to a step (P-1.1-a/b, P-T2-h lots)."""

    step = models.ForeignKey(
        BatchStep, on_delete=models.PROTECT, related_name="material_uses", verbose_name=_("step")
    )
    lot = models.ForeignKey(MaterialLot, on_delete=models.PROTECT, related_name="uses", verbose_name=_("lot"))
    quantity = models.CharField(_("quantity"), max_length=60)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("material use")


class FillRecord(RegulatedModel):
    """The fill: patient, QC and retained-sample units and the volume per unit (P-1.3.5-a, P-T2-i)."""

    batch = models.OneToOneField(
        Batch, on_delete=models.PROTECT, related_name="fill", verbose_name=_("batch")
    )
    patient_units = models.PositiveSmallIntegerField(_("patient units"))
    qc_units = models.PositiveSmallIntegerField(_("QC units"))
    retained_units = models.PositiveSmallIntegerField(_("retained-sample units"))
    volume_per_unit_ml = models.DecimalField(_("volume per unit (mL)"), max_digits=8, decimal_places=2)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("fill record")


class ProductUnit(RegulatedModel):
    """A filled container (bag or vial) of a batch with its own identifier (T-10.6, P-1.3.5-a)."""

    class Purpose(models.TextChoices):
        PATIENT = "patient", _("Patient dose")
        QC = "qc", _("QC testing")
        RETAINED = "retained", _("Retained sample (留样)")

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", _("In stock")
        SHIPPED = "shipped", _("Shipped")
        QUARANTINED = "quarantined", _("Quarantined")
        INFUSED = "infused", _("Infused")
        CONSUMED = "consumed", _("Used for testing")

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="units", verbose_name=_("batch"))
    din = models.CharField(_("unit identifier (DIN)"), max_length=13, unique=True)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.IN_STOCK)
    holder_site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("held at")
    )
    infused_at = models.DateTimeField(_("infused at"), null=True, blank=True)

    class Meta:
        verbose_name = _("product unit")
        ordering = ["batch", "din"]

    def __str__(self) -> str:
        return self.din
