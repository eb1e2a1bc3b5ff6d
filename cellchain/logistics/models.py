"""Models of the logistics context: shipments, logger links and readings, hospital receipt (T-7.15, T-8.1).

Shipments, logger links, file imports and receipt inspections are regulated records (every change goes
through a service that appends to the ledger). Temperature readings are bulk sensor data: plain rows, their
files' SHA-256 kept on the regulated import record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cellchain.accounts.models import Site
from cellchain.domain.coldchain import ShipperKind
from cellchain.domain.shipping_release import ReleaseState
from cellchain.ledger.models import RegulatedModel
from cellchain.logistics.storage_rules import StorageMode

USER = settings.AUTH_USER_MODEL


class StorageModeChoices(models.TextChoices):
    """The storage modes of cellchain.logistics.storage_rules.StorageMode (same values, T-7.7-d)."""

    LIQUID_NITROGEN = StorageMode.LIQUID_NITROGEN.value, _("Liquid nitrogen (vapour phase)")
    MINUS_80 = StorageMode.MINUS_80.value, _("-80 °C freezer")
    FRIDGE_2_8 = StorageMode.FRIDGE_2_8.value, _("2-8 °C refrigerator")


class ReleaseStateChoices(models.TextChoices):
    """The batch release states of cellchain.domain.shipping_release.ReleaseState (same values, Q-2-b)."""

    RELEASED = ReleaseState.RELEASED.value, _("Released")
    CONDITIONAL = ReleaseState.CONDITIONAL.value, _("Conditionally released")
    NOT_RELEASED = ReleaseState.NOT_RELEASED.value, _("Not released")
    REJECTED = (
        ReleaseState.REJECTED.value,
        pgettext_lazy("batch release state: QA rejected the batch", "Rejected"),
    )
    ON_HOLD = ReleaseState.ON_HOLD.value, _("On hold / recall")


class Shipment(RegulatedModel):
    """One shipment in a shipper: limits, transit limit, units packed, courier, arrival (T-7.7, T-7.15).

    A product shipment (a batch's units to the hospital) takes its limits, containers, expiry and storage mode
    from the batch's product version; `limits_source` names that version (e.g. "cd19-cart v3"). An apheresis
    shipment (no batch yet) has an empty source: its limits are the shipper kind's reference values.
    """

    class Status(models.TextChoices):
        PACKING = "packing", _("Packing")
        PACKED = "packed", _("Packed and checked")
        IN_TRANSIT = "in_transit", _("In transit")
        ARRIVED = "arrived", _("Arrived")
        ACCEPTED = "accepted", _("Accepted at receipt")
        QUARANTINED = "quarantined", _("Quarantined at receipt")
        REJECTED = "rejected", _("Rejected at receipt")

    class Kind(models.TextChoices):
        """The shipper kinds of cellchain.domain.coldchain.ShipperKind (same values)."""

        LN2_DRY_SHIPPER = ShipperKind.LN2_DRY_SHIPPER.value, _("LN2 dry shipper")
        CRYOPRESERVED_APHERESIS = (
            ShipperKind.CRYOPRESERVED_APHERESIS.value,
            _("Cryopreserved apheresis (LN2 vapour)"),
        )
        FRESH_2_8 = ShipperKind.FRESH_2_8.value, _("Fresh, 2-8 °C")

    number = models.CharField(_("shipment number"), max_length=20, unique=True)
    kind = models.CharField(_("shipper kind"), max_length=30, choices=Kind.choices)
    from_site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("from"))
    to_site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("to"))
    coi = models.CharField(_("chain-of-identity identifier"), max_length=20, blank=True)
    product_name = models.CharField(_("product name"), max_length=200)
    batch_number = models.CharField(_("batch number"), max_length=40, blank=True)
    expected_units = models.JSONField(_("units ordered (DINs)"), default=list)
    min_c = models.DecimalField(
        _("lowest allowed (°C)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    max_c = models.DecimalField(
        _("highest allowed (°C)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    max_transit_hours = models.DecimalField(_("maximum transit time (h)"), max_digits=6, decimal_places=1)
    mkt_formula = models.CharField(
        _("mean kinetic temperature formula"),
        max_length=20,
        choices=[("time_weighted", _("time-weighted")), ("equal_weight", _("equal weight per reading"))],
        default="time_weighted",
        help_text=_("From the product version's transport requirements (USP <1079.2>)."),
    )
    allowed_containers = models.JSONField(_("allowed container types"), default=list)
    container_type = models.CharField(_("container type"), max_length=40)
    container_code = models.CharField(_("container serial"), max_length=40)
    expires_at = models.DateTimeField(_("product expiry or use-by"), null=True, blank=True)
    limits_source = models.CharField(
        _("limits from"),
        max_length=200,
        blank=True,
        help_text=_("The product version the limits come from; empty: the shipper kind's reference values."),
    )
    storage_mode = models.CharField(
        _("storage mode needed at the clinic"), max_length=20, choices=StorageModeChoices.choices, blank=True
    )
    storage_time_limit_hours = models.DecimalField(
        _("storage time limit (h)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.PACKING)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    courier = models.CharField(_("courier"), max_length=120, blank=True)
    dispatched_at = models.DateTimeField(_("handed to courier at"), null=True, blank=True)
    dispatched_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("handed over by"),
    )
    release_status = models.CharField(
        _("batch release at hand-off"),
        max_length=25,
        choices=ReleaseStateChoices.choices,
        blank=True,
        help_text=_("Empty for an apheresis shipment and before hand-off (Q-2-b)."),
    )
    release_pending = models.JSONField(_("tests pending at a conditional release"), default=list, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    arrival_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("arrival scanned by"),
    )

    class Meta:
        verbose_name = _("shipment")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(max_transit_hours__gt=0), name="shipment_transit_positive"),
            models.CheckConstraint(
                condition=models.Q(min_c__isnull=True) | models.Q(max_c__isnull=True) | models.Q(min_c__lt=models.F("max_c")),
                name="shipment_range_ordered",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number

    @property
    def is_product_shipment(self) -> bool:
        """Limits from a product version (True) or the shipper kind's reference values (apheresis)."""
        return bool(self.limits_source)


class PackedUnit(RegulatedModel):
    """A unit scanned into the shipper at packing (T-8.1.3-a compares these with the order)."""

    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, related_name="packed_units", verbose_name=_("shipment")
    )
    din = models.CharField(_("unit identifier (DIN)"), max_length=20)
    scanned_text = models.CharField(_("scanned"), max_length=120)
    scanned_at = models.DateTimeField(_("scanned at"))
    scanned_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("scanned by")
    )

    class Meta:
        verbose_name = _("packed unit")
        ordering = ["shipment", "din"]
        constraints = [models.UniqueConstraint(fields=["shipment", "din"], name="packed_unit_once")]


class PackingCheck(RegulatedModel):
    """The two-person check of a shipment's packing: what the two packers saw and signed (X-5).

    The signatures bind this record, not the shipment: dispatch, arrival and receipt change the shipment but
    not what was checked at packing, so the packing signatures stay valid (21 CFR 11.70).
    """

    shipment = models.OneToOneField(
        Shipment, on_delete=models.PROTECT, related_name="packing_check", verbose_name=_("shipment")
    )
    units = models.JSONField(_("units packed (DINs)"), default=list)
    container_type = models.CharField(_("container type"), max_length=40)
    container_code = models.CharField(_("container serial"), max_length=40)
    loggers = models.JSONField(_("loggers linked at the check (serials)"), default=list, blank=True)
    checked_at = models.DateTimeField(_("checked at"))

    class Meta:
        verbose_name = _("packing check")
        ordering = ["checked_at"]

    def __str__(self) -> str:
        return f"{self.shipment} packing check"


class LoggerLink(RegulatedModel):
    """A temperature logger travelling with a shipment (several per shipment are allowed)."""

    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, related_name="loggers", verbose_name=_("shipment")
    )
    serial = models.CharField(_("logger serial"), max_length=40)
    interval_s = models.PositiveIntegerField(_("logging interval (s)"))
    armed_at = models.DateTimeField(_("armed at"))
    linked_at = models.DateTimeField(_("linked at"))
    linked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("linked by")
    )

    class Meta:
        verbose_name = _("logger link")
        ordering = ["shipment", "serial"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "serial"], name="logger_link_once"),
            models.CheckConstraint(condition=models.Q(interval_s__gte=1), name="logger_interval_positive"),
        ]

    def __str__(self) -> str:
        return self.serial

    @property
    def topic(self) -> str:
        return f"cellchain/loggers/{self.serial}/readings"


class LoggerFileImport(RegulatedModel):
    """One logger export imported for a logger link; the file's SHA-256 pins the exact bytes (T-8.1.5-a)."""

    logger = models.ForeignKey(
        LoggerLink, on_delete=models.PROTECT, related_name="imports", verbose_name=_("logger")
    )
    file_name = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    readings = models.PositiveIntegerField(_("readings"))
    faults = models.PositiveIntegerField(_("readings without temperature"))
    imported_at = models.DateTimeField(_("imported at"))
    imported_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("imported by")
    )

    class Meta:
        verbose_name = _("logger file import")
        ordering = ["logger", "imported_at"]
        constraints = [models.UniqueConstraint(fields=["logger", "sha256"], name="logger_file_once")]


class TemperatureReading(models.Model):
    """One logger reading (UTC, °C; no temperature = probe fault). Live MQTT readings are unique per
    logger and time, so a re-delivered message is stored once; file readings belong to their import."""

    logger_serial = models.CharField(_("logger serial"), max_length=40)
    at = models.DateTimeField(_("time (UTC)"))
    celsius = models.FloatField(_("temperature (°C)"), null=True, blank=True)
    file_import = models.ForeignKey(
        LoggerFileImport,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("from file"),
    )

    class Meta:
        verbose_name = _("temperature reading")
        ordering = ["logger_serial", "at"]
        indexes = [models.Index(fields=["logger_serial", "at"], name="reading_logger_at_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["logger_serial", "at"],
                condition=models.Q(file_import__isnull=True),
                name="live_reading_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.logger_serial} {self.at:%Y-%m-%d %H:%M:%S} {self.celsius}"


class ReceiptInspection(RegulatedModel):
    """The hospital's receipt record (T-8.1.1-T-8.1.7): structured answers, cold-chain result, outcome."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        QUARANTINED = "quarantined", _("Quarantined")
        REJECTED = "rejected", pgettext_lazy("outcome of the hospital receipt inspection", "Rejected")

    shipment = models.OneToOneField(
        Shipment, on_delete=models.PROTECT, related_name="receipt", verbose_name=_("shipment")
    )
    received_at = models.DateTimeField(_("date and time of receipt"))  # T-8.1.7-a
    receiver = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("receiver"))
    scanned_units = models.JSONField(_("units scanned at receipt"), default=list)  # T-8.1.3-a, T-8.1.7-c
    answers = models.JSONField(_("answers"))  # T-8.1.7-d/e
    coldchain = models.JSONField(_("temperature-record result"))  # T-8.1.7-f
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    failures = models.JSONField(_("failed checks"), default=list)  # T-8.1.7-g
    triggers = models.JSONField(_("T-8.1.6 trigger categories"), default=list)
    anomaly_handling = models.TextField(_("anomalies and their handling"), blank=True)  # T-8.1.7-g
    deviation_number = models.CharField(_("nonconformance"), max_length=40, blank=True)
    retain_until = models.DateField(_("retain record until"))  # T-8.1.7-h
    monitoring_device = models.ForeignKey(
        "MonitoringDevice",
        on_delete=models.PROTECT,
        related_name="receipts",
        null=True,
        blank=True,
        verbose_name=_("temperature-monitoring device used"),
    )  # T-8.1.2-c; empty on receipts recorded before the device register
    receiving_area = models.CharField(_("receiving area"), max_length=120, blank=True)  # T-8.1.2-d
    release_status = models.CharField(
        _("batch release at receipt"),
        max_length=25,
        choices=ReleaseStateChoices.choices,
        blank=True,
        help_text=_("Empty for an apheresis shipment (Q-2-b)."),
    )
    release_pending = models.JSONField(_("tests pending at a conditional release"), default=list, blank=True)

    class Meta:
        verbose_name = _("receipt inspection")

    def __str__(self) -> str:
        return f"{self.shipment.number} receipt"


class MonitoringDevice(RegulatedModel):
    """A hospital's temperature-monitoring device with its calibration (T-8.1.2-c, T-10.12).

    A device out of service or overdue for calibration cannot be selected for a receipt or a location.
    """

    class Kind(models.TextChoices):
        PROBE_THERMOMETER = "probe_thermometer", _("Probe thermometer")
        INFRARED_THERMOMETER = "infrared_thermometer", _("Infrared thermometer")
        DATA_LOGGER = "data_logger", _("Temperature data logger")
        CONTINUOUS_MONITOR = "continuous_monitor", _("Continuous storage monitor")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    code = models.CharField(_("device ID or serial"), max_length=40)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120)
    in_service = models.BooleanField(_("in service"), default=True)
    calibrated_on = models.DateField(_("last calibrated on"), null=True, blank=True)
    calibration_due = models.DateField(_("calibration due"), null=True, blank=True)
    calibration_certificate = models.CharField(_("calibration certificate"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("registered at"))
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("registered by")
    )

    class Meta:
        verbose_name = _("temperature-monitoring device")
        ordering = ["site", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="monitoring_device_code_once")]

    def __str__(self) -> str:
        return self.code


class StorageLocation(RegulatedModel):
    """A storage place at the hospital with its storage mode, capacity and temperature-monitoring device
    (T-7.7-d, T-8.1.2-c/e, issue 6 item 5)."""

    Mode = StorageModeChoices

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    code = models.CharField(_("location code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    storage_mode = models.CharField(_("storage mode"), max_length=20, choices=Mode.choices)
    monitoring_reference = models.CharField(_("temperature monitoring reference"), max_length=80)
    monitoring_device = models.ForeignKey(
        MonitoringDevice,
        on_delete=models.PROTECT,
        related_name="locations",
        null=True,
        blank=True,
        verbose_name=_("temperature-monitoring device"),
    )  # empty on locations made before the device register: their reference stays free text
    capacity = models.PositiveIntegerField(
        _("capacity (unit positions)"),
        null=True,
        blank=True,
        help_text=_("Empty on locations made before capacities were recorded: reservations are not counted."),
    )
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("hospital storage location")
        ordering = ["site", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="storage_location_code_once")]

    def __str__(self) -> str:
        return self.code


class StockEvent(RegulatedModel):
    """A unit scanned into or out of a hospital storage location (issue 6 item 5; T-8.1.1, T-7.7-d/e).

    A stock-out points at the stock-in it closes, so a unit is in stock exactly while its stock-in has none.
    """

    class Kind(models.TextChoices):
        IN = "in", _("Stock-in")
        OUT = "out", _("Stock-out")

    class Purpose(models.TextChoices):
        STORE = "store", _("Stored")
        THAW = "thaw", _("Issued for thaw and infusion")
        RETURN = "return", _("Returned to the manufacturer")
        DISCARD = "discard", _("Discarded")

    kind = models.CharField(_("event"), max_length=3, choices=Kind.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    location = models.ForeignKey(
        StorageLocation, on_delete=models.PROTECT, related_name="events", verbose_name=_("location")
    )
    din = models.CharField(_("unit identifier (DIN)"), max_length=20)
    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, related_name="stock_events", verbose_name=_("shipment")
    )
    scanned_text = models.CharField(_("scanned"), max_length=120)
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    expires_at = models.DateTimeField(_("product expiry"), null=True, blank=True)
    storage_until = models.DateTimeField(_("end of storage time limit"), null=True, blank=True)
    stock_in = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        related_name="stock_out",
        null=True,
        blank=True,
        verbose_name=_("closes stock-in"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("stock event")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["din", "kind"], name="stock_event_din_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="in", stock_in__isnull=True, purpose="store")
                           | models.Q(kind="out", stock_in__isnull=False) & ~models.Q(purpose="store")),
                name="stock_event_in_or_out",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.din} {self.kind} {self.location.code}"


class StorageReservation(RegulatedModel):
    """Storage reserved at the receiving hospital for a shipment's units before dispatch (T-8.1.2-e).

    One active reservation per shipment; it holds one position per unit of the shipment that is not yet in
    stock, and is fulfilled when every unit of the shipment has been stocked in at the site.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Reserved")
        FULFILLED = "fulfilled", _("Fulfilled at stock-in")
        CANCELLED = "cancelled", _("Cancelled")

    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("shipment")
    )
    location = models.ForeignKey(
        StorageLocation, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("location")
    )
    positions = models.PositiveIntegerField(_("positions"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    reserved_at = models.DateTimeField(_("reserved at"))
    reserved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("reserved by")
    )
    closed_at = models.DateTimeField(_("fulfilled or cancelled at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("fulfilled or cancelled by"),
    )
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("storage reservation")
        ordering = ["-reserved_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment"], condition=models.Q(status="active"), name="reservation_one_active"
            ),
            models.CheckConstraint(
                condition=models.Q(positions__gte=1), name="reservation_positions_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shipment.number} -> {self.location.code}"
