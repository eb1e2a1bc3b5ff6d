"""Clean-zone records: cleaning and disinfection, the site's alert/action limits, monitoring results (T-5.1.6).

The areas themselves, with their purpose, grade and HVAC system, are the manufacturing context's production areas
(T-5.1.3); these records point at them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cellchain.accounts.models import Site
from cellchain.ledger.models import RegulatedModel
from cellchain.manufacturing.models import CleanlinessGrade, MaterialLot, ProductionArea, ProductUnit
from cellchain.quality.models import Deviation

USER = settings.AUTH_USER_MODEL


class Parameter(models.TextChoices):
    """What is measured (`cellchain.domain.environment.Parameter`; Annex 1 Tables 5 and 6)."""

    PARTICLES_0_5 = "particles_0_5", _("Particles ≥ 0.5 µm per m³")
    PARTICLES_5_0 = "particles_5_0", _("Particles ≥ 5.0 µm per m³")
    VIABLE_AIR = "viable_air", _("Viable air sample (cfu/m³)")
    SETTLE_PLATE = "settle_plate", _("Settle plate (cfu/4 h)")
    CONTACT_PLATE = "contact_plate", _("Contact plate (cfu/plate)")
    GLOVE_PRINT = "glove_print", _("Glove print (cfu/glove)")


class AreaCleaning(RegulatedModel):
    """A cleaning or disinfection of an area, by whom, with what agent (T-5.1.6)."""

    class Kind(models.TextChoices):
        CLEANING = "cleaning", _("Cleaning")
        DISINFECTION = "disinfection", _("Disinfection")
        SPORICIDE = "sporicide", _("Sporicidal disinfection")

    area = models.ForeignKey(
        ProductionArea, on_delete=models.PROTECT, related_name="cleanings", verbose_name=_("area")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    agent = models.CharField(_("agent and lot"), max_length=200)
    performed_at = models.DateTimeField(_("performed at (activity time)"))
    entered_at = models.DateTimeField(_("entered at"))
    performed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("area cleaning")
        ordering = ["-performed_at"]


class MonitoringLimit(RegulatedModel):
    """A site's alert and action limit for one grade and parameter (T-5.1.6)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    grade = models.CharField(_("cleanliness grade"), max_length=1, choices=CleanlinessGrade.choices)
    parameter = models.CharField(_("parameter"), max_length=20, choices=Parameter.choices)
    alert = models.DecimalField(_("alert limit"), max_digits=12, decimal_places=2)
    action = models.DecimalField(_("action limit"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("monitoring limit")
        ordering = ["site", "grade", "parameter"]
        constraints = [
            models.UniqueConstraint(fields=["site", "grade", "parameter"], name="monitoring_limit_once"),
            models.CheckConstraint(
                condition=models.Q(alert__lte=models.F("action")), name="alert_not_above_action"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grade} {self.parameter}"


class MonitoringResult(RegulatedModel):
    """One environmental-monitoring result of an area, judged against the limits in force when it was
    recorded (kept with it); an action-limit excursion opens a deviation (T-5.1.6, G-2)."""

    class Outcome(models.TextChoices):
        WITHIN = "within", _("Within limits")
        ALERT = "alert", _("Above the alert limit")
        ACTION = "action", _("Above the action limit (excursion)")

    area = models.ForeignKey(
        ProductionArea, on_delete=models.PROTECT, related_name="monitoring_results", verbose_name=_("area")
    )
    grade = models.CharField(_("grade of the area then"), max_length=1, choices=CleanlinessGrade.choices)
    parameter = models.CharField(_("parameter"), max_length=20, choices=Parameter.choices)
    sample_point = models.CharField(_("sample point"), max_length=80, blank=True)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    alert = models.DecimalField(_("alert limit then"), max_digits=12, decimal_places=2)
    action = models.DecimalField(_("action limit then"), max_digits=12, decimal_places=2)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    sampled_at = models.DateTimeField(_("sampled at (activity time)"))
    entered_at = models.DateTimeField(_("entered at"))
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    deviation = models.ForeignKey(
        Deviation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deviation"),
    )

    class Meta:
        verbose_name = _("monitoring result")
        ordering = ["-sampled_at"]


class StoragePlacement(RegulatedModel):
    """A vector lot or a cell unit put into a storage area; virus and cell storage kept apart (T-5.1.4-c).
    The latest placement of an item is where it is."""

    area = models.ForeignKey(
        ProductionArea, on_delete=models.PROTECT, related_name="placements", verbose_name=_("storage area")
    )
    lot = models.ForeignKey(
        MaterialLot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("vector lot"),
    )
    unit = models.ForeignKey(
        ProductUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cell unit"),
    )
    position = models.CharField(_("position (freezer, rack, box)"), max_length=80, blank=True)
    placed_at = models.DateTimeField(_("placed at"))
    placed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))

    class Meta:
        verbose_name = _("storage placement")
        ordering = ["-placed_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lot__isnull=True, unit__isnull=False)
                | models.Q(lot__isnull=False, unit__isnull=True),
                name="placement_of_one_item",
            )
        ]
