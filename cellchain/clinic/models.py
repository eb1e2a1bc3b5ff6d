"""Clinical use: treatment plan, thaw, dilution, bedside check, infusion, observation, monitoring, adverse events,
reporting duties, follow-up, protocol deviations and risk plans (T-8.2.1..T-8.2.7, T-9.1..T-9.3, T-10.1, T-10.4,
T-10.7, T-10.8).

Every row is a regulated record written by `services` with a ledger entry. The clinic's view of a product unit
(`ClinicUnit`) and of the product's clinical-use values (`ProductUseProfile`) are the seam to the upstream
contexts (docs/decisions/0005-clinic-use.md).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cellchain.accounts.models import Organisation, Site
from cellchain.domain import bedside as bedside_rules
from cellchain.domain import clinical_timing as timing
from cellchain.domain import preparation
from cellchain.ledger.models import RegulatedModel
from cellchain.quality.models import Deviation
from cellchain.signatures.models import Meaning, Signature

USER = settings.AUTH_USER_MODEL


def _current_signature(record: RegulatedModel, meaning: str) -> Signature | None:
    """The record's latest signature with this meaning that still covers its content."""
    from cellchain.signatures.services import signature_is_current, signatures_of

    for signature in reversed(signatures_of(record)):
        if signature.meaning == meaning and signature_is_current(signature, record):
            return signature
    return None


def _minutes(value: int | None) -> dt.timedelta | None:
    return None if value is None else dt.timedelta(minutes=value)


class Manufacturer(RegulatedModel):
    """A manufacturer whose products this hospital takes: the hospital's manufacturer register (issue 12 item 3).

    Its ISBT 128 facility identification number (FIN) is the one that assigns the DINs of its units (ST-001
    §2.4.1), so a scanned DIN names its maker; its product codes (ISBT 128 DS 003) and label format decide how
    its labels are read and checked at receipt and at the bedside (`domain.label_match`)."""

    class LabelFormat(models.TextChoices):
        CELLCHAIN = "cellchain", _("CellChain label (chain of identity with its check character)")
        ISBT128_DS040 = "isbt128-ds040", _("ISBT 128 label, chain of identity as Data Structure 040")

    name = models.CharField(_("name"), max_length=200)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation in this installation"),
    )
    fin = models.CharField(_("ISBT 128 facility identification number (FIN)"), max_length=5, unique=True)
    product_codes = models.JSONField(_("product codes it makes (ISBT 128 DS 003)"), default=list)
    label_format = models.CharField(_("label format"), max_length=16, choices=LabelFormat.choices)

    class Meta:
        verbose_name = _("manufacturer")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.fin})"


class ProductUseProfile(RegulatedModel):
    """A product's clinical-use values (T-7.8, T-7.9, T-7.10, T-7.14, T-8.2.6, T-8.2.7-a, T-9.2.8): the
    per-product values CellChain stores and enforces at the bedside.

    Adopted from the manufacturer's approved product version (T-7.4), the values its information package
    carries are copied from it and never typed at the clinic (`package_fields`); the rest are the clinic's.
    Entered by hand only for a product CellChain's manufacturing records do not know (paper, other makers)."""

    class Overtime(models.TextChoices):
        NOT_STATED = "", _("Not stated (unit rejected, T-7.8-d)")
        REJECT = "reject", _("Not to be used (rejected)")
        QUARANTINE = "quarantine", _("Quarantined for disposition")

    class Source(models.TextChoices):
        PACKAGE = "package", _("Manufacturer's approved information package")
        HAND = "hand", _("Entered by hand (product not in CellChain's manufacturing records)")

    code = models.CharField(_("product code"), max_length=40, unique=True)
    source = models.CharField(
        _("source of the values"), max_length=10, choices=Source.choices, default=Source.HAND
    )
    source_product = models.CharField(_("manufacturer's product code"), max_length=40, blank=True)
    source_version = models.PositiveIntegerField(_("adopted product version"), null=True, blank=True)
    package_fields = models.JSONField(
        _("values taken from the information package"), default=list, blank=True
    )
    name = models.CharField(_("product name"), max_length=200)
    manufacturer = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("manufacturer")
    )
    version = models.CharField(_("IFU version"), max_length=30)
    evidence = models.TextField(_("validation and stability reports the values come from (T-7.8)"))
    usable_after_thaw_min = models.PositiveIntegerField(_("usable time after thaw (min, T-7.8-a)"))
    preparation_min = models.PositiveIntegerField(
        _("preparation time before infusion (min, T-7.8-b)"), null=True, blank=True
    )
    overtime_handling = models.CharField(
        _("handling when time is exceeded (T-7.8-d)"), max_length=12, choices=Overtime.choices, blank=True
    )
    thaw_temp_low_c = models.FloatField(_("thaw temperature, lowest (°C, T-7.14-a)"))
    thaw_temp_high_c = models.FloatField(_("thaw temperature, highest (°C, T-7.14-a)"))
    thaw_methods = models.JSONField(_("thaw methods (T-7.14-a)"), default=list)
    diluents = models.JSONField(
        _("allowed diluents (T-8.2.5-a); empty = no dilution"), default=list, blank=True
    )
    dilution_ratio = models.FloatField(
        _("dilution ratio, diluent : product volume (T-8.2.5-b)"), null=True, blank=True
    )
    dilution_tolerance = models.FloatField(_("relative tolerance of the ratio"), default=0.0)
    use_after_dilution_min = models.PositiveIntegerField(
        _("use time after dilution (min, T-7.8-c)"), null=True, blank=True
    )
    route = models.CharField(_("route (T-8.2.6-a)"), max_length=40, default="intravenous")
    rate_low_ml_h = models.FloatField(_("infusion rate, lowest (mL/h, T-8.2.6-c)"))
    rate_high_ml_h = models.FloatField(_("infusion rate, highest (mL/h, T-8.2.6-c)"))
    allowed_sets = models.JSONField(_("allowed infusion sets (T-8.2.6-b)"), default=list, blank=True)
    leukocyte_filter_forbidden = models.BooleanField(
        _("leukocyte filter forbidden (T-8.2.6-b)"), default=True
    )
    dose_low = models.FloatField(_("dose, lowest (CAR+ viable cells, T-9.2.1-4)"))
    dose_high = models.FloatField(_("dose, highest (CAR+ viable cells, T-9.2.1-4)"))
    dose_per_kg = models.BooleanField(_("dose per kg body weight"), default=False)
    observation_min = models.PositiveIntegerField(
        _("recommended observation (min, T-8.2.7-a)"), null=True, blank=True
    )
    possible_reactions = models.JSONField(_("possible adverse reactions (T-7.9-a)"), default=list, blank=True)
    monitoring_indicators = models.JSONField(_("indicators to monitor (T-7.9-b)"), default=list, blank=True)
    contraindications = models.JSONField(_("contraindications (T-7.9-c)"), default=list, blank=True)
    precautions = models.JSONField(_("precautions in use (T-7.9-d)"), default=list, blank=True)
    pre_infusion_checks = models.JSONField(_("checks before infusion (T-7.14-e)"), default=list, blank=True)
    ae_report_hours = models.PositiveIntegerField(
        _("AE reporting time limit to the manufacturer (h, T-7.10-b)")
    )
    follow_up_months = models.JSONField(_("first-year follow-up months (T-9.2.8)"), default=list)
    follow_up_years = models.PositiveSmallIntegerField(_("long-term follow-up years (T-9.2.8)"), default=15)
    integrating_vector = models.BooleanField(_("integrating vector (REGULATORY item 53)"), default=True)

    class Meta:
        verbose_name = _("product use profile")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(thaw_temp_low_c__lte=models.F("thaw_temp_high_c")),
                name="clinic_profile_thaw_range",
            ),
            models.CheckConstraint(
                condition=models.Q(rate_low_ml_h__lte=models.F("rate_high_ml_h")),
                name="clinic_profile_rate_range",
            ),
            models.CheckConstraint(
                condition=models.Q(dose_low__lte=models.F("dose_high")), name="clinic_profile_dose_range"
            ),
            models.CheckConstraint(
                condition=models.Q(source="hand")
                | (models.Q(source="package", source_version__isnull=False) & ~models.Q(source_product="")),
                name="clinic_profile_package_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def source_label(self) -> str:
        """The adopted version as manufacturing names it ("CODE vN"); empty for a hand-entered profile."""
        return f"{self.source_product} v{self.source_version}" if self.source == self.Source.PACKAGE else ""

    def from_package(self, field: str) -> bool:
        """True when this value was copied from the manufacturer's package (and cannot be edited here)."""
        return self.source == self.Source.PACKAGE and field in self.package_fields

    def use_limits(self) -> timing.UseTimeLimits:
        handling = timing.OvertimeHandling(self.overtime_handling) if self.overtime_handling else None
        return timing.UseTimeLimits(
            _minutes(self.usable_after_thaw_min) or dt.timedelta(0),
            _minutes(self.preparation_min),
            _minutes(self.use_after_dilution_min),
            handling,
        )

    def thaw_spec(self) -> preparation.ThawSpec:
        return preparation.ThawSpec(self.thaw_temp_low_c, self.thaw_temp_high_c, frozenset(self.thaw_methods))

    def dilution_spec(self) -> preparation.DilutionSpec | None:
        if not self.diluents or self.dilution_ratio is None:
            return None
        return preparation.DilutionSpec(
            frozenset(self.diluents), self.dilution_ratio, self.dilution_tolerance
        )

    def infusion_spec(self) -> bedside_rules.InfusionSpec:
        dose = bedside_rules.DoseRange(self.dose_low, self.dose_high, self.dose_per_kg)
        return bedside_rules.InfusionSpec(
            self.route,
            self.rate_low_ml_h,
            self.rate_high_ml_h,
            frozenset(self.allowed_sets),
            self.leukocyte_filter_forbidden,
            dose,
        )

    def follow_up_plan(self) -> timing.FollowUpPlan:
        return timing.FollowUpPlan(
            tuple(self.follow_up_months), self.follow_up_years, self.integrating_vector
        )

    def observation(self) -> dt.timedelta:
        return timing.observation_minimum(_minutes(self.observation_min))


class Agreement(RegulatedModel):
    """The written clinic-manufacturer agreement for a product at a site, items a-h as a checklist (T-8.2.2)."""

    ITEMS = (
        "a_eligibility",
        "b_collection",
        "c_storage_transport",
        "d_identity_check",
        "e_pre_infusion_steps",
        "f_traceability",
        "g_cancellation_delay",
        "h_responsibilities",
    )

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    product = models.ForeignKey(
        ProductUseProfile, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("product")
    )
    effective_from = models.DateField(_("effective from"))
    effective_until = models.DateField(_("effective until"), null=True, blank=True)
    items = models.JSONField(_("agreed items a-h (T-8.2.2)"), default=dict)
    attachment_ref = models.CharField(_("signed agreement (document reference)"), max_length=200)
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("clinic-manufacturer agreement")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"{self.product.code} @ {self.site.code} from {self.effective_from}"

    def missing_items(self) -> list[str]:
        return [item for item in self.ITEMS if not self.items.get(item)]

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_until is None or on <= self.effective_until)


class RiskPlan(RegulatedModel):
    """The site's risk plan for a product (T-9.1.1), confirmed by the team before the first infusion.

    The confirmation is the physician's "approved" e-signature on the unchanged plan (no column of its own,
    so signing never edits the signed row)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    product = models.ForeignKey(
        ProductUseProfile, on_delete=models.PROTECT, related_name="risk_plans", verbose_name=_("product")
    )
    version = models.CharField(_("version"), max_length=20)
    title = models.CharField(_("title"), max_length=200)

    class Meta:
        verbose_name = _("risk plan")
        ordering = ["site", "product", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["site", "product", "version"], name="clinic_riskplan_version")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    @property
    def confirmation(self) -> Signature | None:
        return _current_signature(self, Meaning.APPROVED)


class RiskItem(RegulatedModel):
    """One risk of the register: stage, hazard, cause, measure, owner, rating (T-9.1.2)."""

    plan = models.ForeignKey(
        RiskPlan, on_delete=models.PROTECT, related_name="items", verbose_name=_("risk plan")
    )
    stage = models.CharField(_("stage"), max_length=80)
    hazard = models.CharField(_("hazard"), max_length=200)
    cause = models.CharField(_("cause"), max_length=200)
    measure = models.TextField(_("measure"))
    owner = models.CharField(_("owner"), max_length=100)
    rating = models.PositiveSmallIntegerField(_("risk rating (1-25)"))
    basis = models.CharField(
        _("manufacturer's risk it answers (product version, clause)"), max_length=120, blank=True
    )

    class Meta:
        verbose_name = _("risk item")
        ordering = ["plan", "-rating", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=25), name="clinic_riskitem_rating"
            )
        ]

    def __str__(self) -> str:
        return self.hazard


class TreatmentCourse(RegulatedModel):
    """One journey's treatment at the clinic: patient identity link, plan, preconditioning window and infusion
    window (T-9.2.1-3, T-9.2.2, T-10.4)."""

    class Setting(models.TextChoices):
        TRIAL = "trial", _("Clinical trial")
        MARKETED = "marketed", _("Marketed product")

    class Jurisdiction(models.TextChoices):
        CN = "CN", _("China")
        US = "US", _("United States")
        EU = "EU", _("European Union")

    journey_ref = models.CharField(_("journey"), max_length=40, unique=True)
    coi = models.CharField(_("chain-of-identity id"), max_length=20)
    patient_wristband_id = models.CharField(_("patient wristband id"), max_length=40)
    patient_label = models.CharField(_("patient (pseudonym shown on screens)"), max_length=80)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    product = models.ForeignKey(
        ProductUseProfile, on_delete=models.PROTECT, related_name="courses", verbose_name=_("product")
    )
    physician = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("treating physician")
    )
    setting = models.CharField(_("setting"), max_length=10, choices=Setting.choices, default=Setting.MARKETED)
    jurisdiction = models.CharField(
        _("reporting jurisdiction"), max_length=2, choices=Jurisdiction.choices, default=Jurisdiction.CN
    )
    protocol_ref = models.CharField(_("protocol and version"), max_length=80, blank=True)
    emr_ref = models.CharField(_("EMR reference (T-9.2.1-3)"), max_length=80, blank=True)
    weight_kg = models.FloatField(_("body weight (kg)"), null=True, blank=True)
    lymphodepletion_regimen = models.TextField(_("planned lymphodepletion regimen (T-9.2.2)"))
    lymphodepletion_start = models.DateField(_("lymphodepletion planned start"))
    lymphodepletion_end = models.DateField(_("lymphodepletion planned end"))
    infusion_window_start = models.DateField(_("planned infusion window, first day"))
    infusion_window_end = models.DateField(_("planned infusion window, last day"))

    class Meta:
        verbose_name = _("treatment course")
        ordering = ["-infusion_window_start", "journey_ref"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lymphodepletion_start__lte=models.F("lymphodepletion_end")),
                name="clinic_course_ld_order",
            ),
            models.CheckConstraint(
                condition=models.Q(infusion_window_start__lte=models.F("infusion_window_end")),
                name="clinic_course_window_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.journey_ref} · {self.patient_label}"


class LymphodepletionDose(RegulatedModel):
    """One preconditioning administration against the plan (T-9.2.2); a difference opens a deviation."""

    course = models.ForeignKey(
        TreatmentCourse,
        on_delete=models.PROTECT,
        related_name="lymphodepletion",
        verbose_name=_("treatment course"),
    )
    drug = models.CharField(_("drug"), max_length=80)
    dose = models.CharField(_("dose"), max_length=80)
    given_on = models.DateField(_("given on"))
    as_planned = models.BooleanField(_("as planned"), default=True)
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("lymphodepletion dose")
        ordering = ["given_on", "pk"]

    def __str__(self) -> str:
        return f"{self.drug} {self.dose} {self.given_on}"


class ClinicUnit(RegulatedModel):
    """A product unit at the clinic for one course: release status, physical state and use-by (T-7.8, T-8.2)."""

    class Release(models.TextChoices):
        NOT_RELEASED = "not_released", _("Not released")
        RELEASED = "released", _("Released")
        CONDITIONAL = "conditionally_released", _("Conditionally released")
        QUARANTINED = "quarantined", _("Quarantined")
        REJECTED = "rejected", pgettext_lazy("clinic unit status: rejected by QA or at receipt", "Rejected")

    class State(models.TextChoices):
        STORED = "stored", _("In storage")
        THAWED = "thawed", _("Thawed")
        DILUTED = "diluted", _("Diluted")
        INFUSED = "infused", _("Infused")
        DISCARDED = "discarded", _("Discarded")

    unit_id = models.CharField(_("unit id (DIN)"), max_length=20, unique=True)
    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.PROTECT, related_name="units", verbose_name=_("treatment course")
    )
    coi = models.CharField(_("chain-of-identity id on the label"), max_length=20)
    batch_number = models.CharField(_("batch number"), max_length=40)
    release = models.CharField(_("release status"), max_length=24, choices=Release.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.STORED)
    conditional_ack_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("conditional release acknowledged by"),
    )
    conditional_ack_at = models.DateTimeField(_("conditional release acknowledged at"), null=True, blank=True)
    preparation_started_at = models.DateTimeField(_("preparation started (T-7.8-b)"), null=True, blank=True)
    use_by = models.DateTimeField(_("use by (T-7.8)"), null=True, blank=True)
    use_by_clock = models.CharField(_("use-by set by"), max_length=12, blank=True)
    batch_product = models.CharField(_("product the batch was made as"), max_length=40, blank=True)
    batch_product_version = models.PositiveIntegerField(
        _("product version the batch was made under"), null=True, blank=True
    )
    manufacturer = models.ForeignKey(
        Manufacturer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="units",
        verbose_name=_("manufacturer (register)"),
    )
    product_code = models.CharField(
        _("product code on the label (ISBT 128 DS 003)"), max_length=8, blank=True
    )
    label_format = models.CharField(
        _("label format read at receipt"), max_length=16, choices=Manufacturer.LabelFormat.choices, blank=True
    )
    label_expires = models.DateTimeField(_("expiry on the label"), null=True, blank=True)

    class Meta:
        verbose_name = _("product unit at the clinic")
        ordering = ["unit_id"]

    def __str__(self) -> str:
        return self.unit_id

    @property
    def made_under(self) -> str:
        """The batch's product version as manufacturing names it ("CODE vN"); empty when not known upstream."""
        return f"{self.batch_product} v{self.batch_product_version}" if self.batch_product_version else ""


class Thaw(RegulatedModel):
    """The thaw record (T-8.2.4): area, device, operator, start and end, temperature, method, appearance."""

    unit = models.OneToOneField(
        ClinicUnit,
        on_delete=models.PROTECT,
        related_name="thaw",
        verbose_name=pgettext_lazy("bag or vial with its own identifier", "unit"),
    )
    started_at = models.DateTimeField(_("thaw start"))
    ended_at = models.DateTimeField(_("thaw end"))
    temperature_c = models.FloatField(_("thaw temperature (°C)"))
    method = models.CharField(_("thaw method"), max_length=40)
    area = models.CharField(_("area"), max_length=80)
    device = models.CharField(_("thawing device"), max_length=80)
    appearance_normal = models.BooleanField(_("appearance normal after thaw"))
    interrupted = models.BooleanField(_("thaw interrupted"), default=False)
    no_shaking_confirmed = models.BooleanField(_("no vigorous shaking (confirmed)"), default=False)
    precautions_acknowledged = models.BooleanField(_("precautions acknowledged (T-7.9-d)"), default=False)
    operator = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("operator"))
    findings = models.JSONField(_("check findings"), default=list, blank=True)

    class Meta:
        verbose_name = _("thaw")

    def __str__(self) -> str:
        return f"thaw {self.unit_id}"


class Dilution(RegulatedModel):
    """The dilution or mixing record (T-8.2.5 a-e)."""

    unit = models.OneToOneField(
        ClinicUnit,
        on_delete=models.PROTECT,
        related_name="dilution",
        verbose_name=pgettext_lazy("bag or vial with its own identifier", "unit"),
    )
    diluent = models.CharField(_("diluent"), max_length=80)
    diluent_lot = models.CharField(_("diluent lot"), max_length=40)
    diluent_expiry = models.DateField(_("diluent expiry"))
    product_volume_ml = models.FloatField(_("product volume (mL)"))
    diluent_volume_ml = models.FloatField(_("diluent volume (mL)"))
    started_at = models.DateTimeField(_("dilution start"))
    ended_at = models.DateTimeField(_("dilution end"))
    gentle_mixing_confirmed = models.BooleanField(_("gentle mixing (confirmed)"))
    aseptic_area = models.CharField(_("aseptic area or biosafety cabinet"), max_length=80)
    operator = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("operator"))

    class Meta:
        verbose_name = _("dilution")

    def __str__(self) -> str:
        return f"dilution {self.unit_id}"


class BedsideCheck(RegulatedModel):
    """The bedside scan of wristband and unit with its verdict, verified by a second person (T-8.2.6-e, T-10.7,
    REGULATORY items 37-38). Verified = the two-person check's "performed" and "verified" signatures."""

    class Verdict(models.TextChoices):
        PROCEED = "proceed", _("Proceed")
        BLOCKED = "blocked", _("Blocked")

    class Entry(models.TextChoices):
        SCANNED = "scanned", _("Scanned")
        MANUAL = "manual", _("Typed")

    course = models.ForeignKey(
        TreatmentCourse,
        on_delete=models.PROTECT,
        related_name="bedside_checks",
        verbose_name=_("treatment course"),
    )
    unit = models.ForeignKey(
        ClinicUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unit scanned"),
    )
    wristband_scan = models.CharField(_("wristband scanned"), max_length=120)
    unit_scan = models.CharField(_("unit scanned"), max_length=120)
    entry = models.CharField(_("entry"), max_length=10, choices=Entry.choices, default=Entry.SCANNED)
    manual_reason = models.CharField(_("reason for typing (T-10.7)"), max_length=200, blank=True)
    performer = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("performed by")
    )
    checked_at = models.DateTimeField(_("checked at"))
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    deviation_number = models.CharField(_("identity incident"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("bedside check")
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"bedside {self.course.journey_ref} {self.checked_at:%Y-%m-%d %H:%M}"

    @property
    def verification(self) -> Signature | None:
        return _current_signature(self, Meaning.VERIFIED)


class Infusion(RegulatedModel):
    """The infusion record (T-8.2.6, T-8.2.7-d, T-9.2.3, T-9.2.5)."""

    course = models.ForeignKey(
        TreatmentCourse,
        on_delete=models.PROTECT,
        related_name="infusions",
        verbose_name=_("treatment course"),
    )
    unit = models.OneToOneField(
        ClinicUnit,
        on_delete=models.PROTECT,
        related_name="infusion",
        verbose_name=pgettext_lazy("bag or vial with its own identifier", "unit"),
    )
    bedside_check = models.OneToOneField(
        BedsideCheck, on_delete=models.PROTECT, related_name="infusion", verbose_name=_("bedside check")
    )
    route = models.CharField(_("route"), max_length=40)
    rate_ml_h = models.FloatField(_("rate (mL/h)"))
    infusion_set = models.CharField(_("infusion set"), max_length=80)
    set_has_leukocyte_filter = models.BooleanField(_("set has a leukocyte filter"), default=False)
    volume_ml = models.FloatField(_("volume infused (mL)"))
    car_positive_viable_cells = models.FloatField(_("dose (CAR+ viable cells)"))
    weight_kg = models.FloatField(_("body weight (kg)"), null=True, blank=True)
    started_at = models.DateTimeField(_("start"))
    ended_at = models.DateTimeField(_("end"), null=True, blank=True)
    emergency_contact = models.CharField(_("on-duty emergency contact (T-9.2.5)"), max_length=120)
    rescue_staff_present = models.BooleanField(_("rescue staff present (T-9.2.5)"))
    rate_deviation = models.CharField(_("deviation for the rate (T-8.2.6-c)"), max_length=30, blank=True)
    reaction = models.TextField(_("recipient reaction (T-8.2.7-d)"), blank=True)
    performed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("performed by")
    )

    class Meta:
        verbose_name = _("infusion")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"infusion {self.unit_id}"


class Observation(RegulatedModel):
    """Post-infusion observation (T-8.2.7, T-9.2.6-1): closed no earlier than the product's minimum."""

    infusion = models.OneToOneField(
        Infusion, on_delete=models.PROTECT, related_name="observation", verbose_name=_("infusion")
    )
    ended_at = models.DateTimeField(_("observation end"), null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("closed by")
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("observation")

    def __str__(self) -> str:
        return f"observation {self.infusion_id}"


class VitalSigns(RegulatedModel):
    """One set of vital signs during observation or monitoring (T-8.2.7-b)."""

    course = models.ForeignKey(
        TreatmentCourse,
        on_delete=models.PROTECT,
        related_name="vital_signs",
        verbose_name=_("treatment course"),
    )
    measured_at = models.DateTimeField(_("measured at"))
    temperature_c = models.FloatField(_("temperature (°C)"))
    heart_rate = models.PositiveSmallIntegerField(_("heart rate (/min)"))
    systolic = models.PositiveSmallIntegerField(_("systolic BP (mmHg)"))
    diastolic = models.PositiveSmallIntegerField(_("diastolic BP (mmHg)"))
    respiratory_rate = models.PositiveSmallIntegerField(_("respiratory rate (/min)"))
    spo2 = models.PositiveSmallIntegerField(_("SpO2 (%)"))
    entered_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("entered by")
    )

    class Meta:
        verbose_name = _("vital signs")
        verbose_name_plural = _("vital signs")
        ordering = ["-measured_at"]
        constraints = [models.CheckConstraint(condition=models.Q(spo2__lte=100), name="clinic_vitals_spo2")]

    def __str__(self) -> str:
        return f"vitals {self.measured_at:%Y-%m-%d %H:%M}"


class MonitoringDay(RegulatedModel):
    """A completed day of the days 1-7 intensive monitoring checklist (T-9.2.6-2)."""

    course = models.ForeignKey(
        TreatmentCourse,
        on_delete=models.PROTECT,
        related_name="monitoring_days",
        verbose_name=_("treatment course"),
    )
    day = models.PositiveSmallIntegerField(_("day after infusion"))
    on = models.DateField(_("date"))
    items = models.JSONField(_("items done"), default=dict)
    notes = models.TextField(_("findings"), blank=True)
    completed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("completed by")
    )
    completed_at = models.DateTimeField(_("completed at"))

    class Meta:
        verbose_name = _("monitoring day")
        ordering = ["course", "day"]
        constraints = [
            models.UniqueConstraint(fields=["course", "day"], name="clinic_monitoring_day_once"),
            models.CheckConstraint(
                condition=models.Q(day__gte=1, day__lte=7), name="clinic_monitoring_day_1_7"
            ),
        ]

    def __str__(self) -> str:
        return f"D{self.day}"


class AdverseEvent(RegulatedModel):
    """An adverse event or reaction after collection or treatment (T-8.2.7, T-9.2.4, T-9.2.7, T-10.8), graded
    by ASTCT 2019 (CRS, ICANS) or CTCAE v5 and sent to the manufacturer (T-7.10)."""

    class Category(models.TextChoices):
        CRS = "crs", _("Cytokine release syndrome (ASTCT)")
        ICANS = "icans", _("ICANS (ASTCT)")
        OTHER = "other", _("Other (CTCAE v5)")

    class EventType(models.TextChoices):
        ADVERSE_REACTION = "adverse_reaction", _("Adverse reaction")
        QUALITY_ANOMALY = "quality_anomaly", _("Quality anomaly")
        USE_ANOMALY = "use_anomaly", _("Use anomaly")

    class Relation(models.TextChoices):
        RELATED = "related", _("Related")
        POSSIBLY = "possibly", _("Possibly related")
        UNLIKELY = "unlikely", _("Unlikely related")
        UNRELATED = "unrelated", _("Not related")

    class Outcome(models.TextChoices):
        ONGOING = "ongoing", _("Not yet recovered")
        RECOVERING = "recovering", _("Recovering")
        RECOVERED = "recovered", _("Recovered")
        SEQUELAE = "sequelae", _("Recovered with sequelae")
        FATAL = "fatal", _("Fatal")
        UNKNOWN = "unknown", _("Unknown")

    number = models.CharField(_("number"), max_length=30, unique=True)
    course = models.ForeignKey(
        TreatmentCourse,
        on_delete=models.PROTECT,
        related_name="adverse_events",
        verbose_name=_("treatment course"),
    )
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    event_type = models.CharField(
        _("report content (T-7.10-a)"),
        max_length=20,
        choices=EventType.choices,
        default=EventType.ADVERSE_REACTION,
    )
    term = models.CharField(_("term"), max_length=120)
    description = models.TextField(_("description"))
    onset_at = models.DateTimeField(_("onset"))
    awareness_at = models.DateTimeField(_("first awareness (day 0)"))
    findings = models.JSONField(_("grading findings"), default=dict, blank=True)
    grade = models.PositiveSmallIntegerField(_("grade"))
    grade_reasons = models.JSONField(_("grading reasoning"), default=list, blank=True)
    serious = models.BooleanField(_("serious"))
    unexpected = models.BooleanField(_("unexpected"), default=False)
    life_threatening = models.BooleanField(_("life-threatening"), default=False)
    fatal = models.BooleanField(_("fatal"), default=False)
    relation = models.CharField(_("relation to the product"), max_length=10, choices=Relation.choices)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.ONGOING)
    treatment = models.TextField(_("treatment given (T-8.2.7-c)"), blank=True)
    reported_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("reported by")
    )
    ethics_report_date = models.DateField(
        _("reported to the ethics committee on (T-9.2.8-3)"), null=True, blank=True
    )
    ethics_report_ref = models.CharField(_("ethics committee reference"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("adverse event")
        ordering = ["-awareness_at"]
        constraints = [models.CheckConstraint(condition=models.Q(grade__lte=5), name="clinic_ae_grade_0_5")]

    def __str__(self) -> str:
        return f"{self.number} {self.term}"

    @property
    def suspected_related(self) -> bool:
        return self.relation in (self.Relation.RELATED, self.Relation.POSSIBLY)


class ReportingDuty(RegulatedModel):
    """One report owed for an adverse event with its due time (T-7.10-b; REGULATORY items 50-51)."""

    event = models.ForeignKey(
        AdverseEvent, on_delete=models.PROTECT, related_name="duties", verbose_name=_("adverse event")
    )
    duty = models.CharField(_("duty"), max_length=40)
    recipient = models.CharField(_("recipient"), max_length=40)
    due_at = models.DateTimeField(_("due"))
    basis = models.CharField(_("basis"), max_length=120)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    reference = models.CharField(_("report reference"), max_length=80, blank=True)
    sent_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("sent by")
    )

    class Meta:
        verbose_name = _("reporting duty")
        verbose_name_plural = _("reporting duties")
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["event", "duty"], name="clinic_duty_once")]

    def __str__(self) -> str:
        return f"{self.event.number} {self.duty}"


class FollowUpVisit(RegulatedModel):
    """A follow-up visit done (T-9.2.8): what was checked and found."""

    course = models.ForeignKey(
        TreatmentCourse,
        on_delete=models.PROTECT,
        related_name="follow_up_visits",
        verbose_name=_("treatment course"),
    )
    key = models.CharField(_("visit"), max_length=8)
    due = models.DateField(_("due"))
    done_on = models.DateField(_("done on"))
    findings = models.JSONField(_("findings per item"), default=dict)
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("follow-up visit")
        ordering = ["course", "due"]
        constraints = [models.UniqueConstraint(fields=["course", "key"], name="clinic_followup_once")]

    def __str__(self) -> str:
        return f"{self.course.journey_ref} {self.key}"


class ProtocolDeviationReport(RegulatedModel):
    """The ethics-committee side of a protocol deviation (T-9.3.1, T-9.3.2-p2); the deviation itself lives in
    quality (kind PROTOCOL)."""

    deviation = models.OneToOneField(
        Deviation, on_delete=models.PROTECT, related_name="protocol_report", verbose_name=_("deviation")
    )
    course = models.ForeignKey(
        TreatmentCourse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="protocol_deviations",
        verbose_name=_("treatment course"),
    )
    occurred_on = models.DateField(_("occurred on"))
    urgent_risk = models.BooleanField(
        _("done to avoid an urgent risk to the subject (T-9.3.2-p2)"), default=False
    )
    process_record = models.TextField(_("detailed process record"), blank=True)
    ec_reported_on = models.DateField(_("reported to the ethics committee on"), null=True, blank=True)
    ec_reference = models.CharField(_("ethics committee reference"), max_length=80, blank=True)
    sponsor_reported_on = models.DateField(_("reported to the sponsor on"), null=True, blank=True)
    sponsor_reference = models.CharField(_("sponsor reference"), max_length=80, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("closed by")
    )

    class Meta:
        verbose_name = _("protocol deviation report")
        ordering = ["-occurred_on"]

    def __str__(self) -> str:
        return str(self.deviation)


class CorrectiveAction(RegulatedModel):
    """A corrective action tracked to closure with an effectiveness check (T-9.3.2)."""

    report = models.ForeignKey(
        ProtocolDeviationReport,
        on_delete=models.PROTECT,
        related_name="actions",
        verbose_name=_("protocol deviation"),
    )
    description = models.TextField(pgettext_lazy("corrective action of a protocol deviation", "action"))
    owner = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner"))
    due = models.DateField(_("due"))
    done_on = models.DateField(_("done on"), null=True, blank=True)
    effectiveness_check = models.TextField(_("effectiveness check"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("corrective action")
        ordering = ["due", "pk"]

    def __str__(self) -> str:
        return self.description[:60]


class ReportedUnit(RegulatedModel):
    """A product unit as its manufacturer reported it by message, for a hospital installation that does not keep
    the manufacturing records itself (issue 12 item 2; T-8.1.6, Q-2.5-c).

    The manufacturer's release, conditional release, late result or recall arrives as a standard message; the
    latest by event time stands. The clinic judges a unit on this record and its own, the stricter winning.
    """

    din = models.CharField(_("unit id (DIN)"), max_length=20, unique=True)
    coi = models.CharField(_("chain-of-identity id"), max_length=40)
    batch_number = models.CharField(_("batch number"), max_length=40)
    product_code = models.CharField(_("product code"), max_length=40, blank=True)
    product_version = models.PositiveIntegerField(_("product version"), null=True, blank=True)
    manufacturer = models.CharField(_("manufacturer (its ledger log id)"), max_length=120)
    release = models.CharField(_("release status"), max_length=24, choices=ClinicUnit.Release.choices)
    reasons = models.JSONField(_("reasons given"), default=list, blank=True)
    event_time = models.DateTimeField(_("time of the manufacturer's event"))
    event_id = models.CharField(_("event id of the last message applied"), max_length=200)
    documents = models.JSONField(
        _("documents the manufacturer referred to (URI, SHA-256, kind, event)"), default=list, blank=True
    )

    class Meta:
        verbose_name = _("unit as reported by its manufacturer")
        ordering = ["din"]

    def __str__(self) -> str:
        return f"{self.din} ({self.manufacturer}: {self.release})"


class IncomingShipment(RegulatedModel):
    """A product shipment its manufacturer announced by EPCIS message, at a hospital installation that does not
    keep the manufacturer's logistics records (issue 12 item 2; T-7.15, T-8.1.1, T-8.1.3-a, T-8.1.5).

    What the receipt checks against: the units to expect (DIN, COI, product, batch), the expiry, the shipper,
    and the loggers' summary with their excursion alarms as the manufacturer read them.
    """

    number = models.CharField(_("shipment number (the manufacturer's)"), max_length=40)
    manufacturer = models.CharField(_("manufacturer (its ledger log id)"), max_length=120)
    to_site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("to"))
    from_site_code = models.CharField(_("from (the manufacturer's site code)"), max_length=60)
    shipped_at = models.DateTimeField(_("handed to courier at"))
    expires_at = models.DateTimeField(_("product expiry or use-by"), null=True, blank=True)
    shipper_code = models.CharField(_("shipper serial"), max_length=60)
    shipper_kind = models.CharField(_("shipper kind"), max_length=40)
    units = models.JSONField(_("units (DIN, COI, product code, batch)"), default=list)
    loggers = models.JSONField(_("loggers' summary"), default=list, blank=True)
    excursions = models.PositiveIntegerField(_("excursion alarms reported"), default=0)
    event_id = models.CharField(_("event id"), max_length=200, unique=True)

    class Meta:
        verbose_name = _("shipment announced by its manufacturer")
        ordering = ["-shipped_at", "number"]
        constraints = [
            models.UniqueConstraint(fields=["manufacturer", "number"], name="clinic_incoming_shipment_once")
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.manufacturer})"

    @property
    def dins(self) -> list[str]:
        return [unit["din"] for unit in self.units]
