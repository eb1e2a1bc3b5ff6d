"""Organisations, sites, people, roles and qualifications (issue 2 items 5-6; T-5.3, T-5.1.9)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from cellchain.accounts.roles import Role
from cellchain.ledger.models import RegulatedModel


class Organisation(RegulatedModel):
    """A manufacturer (制备厂商) or a clinical institution (医疗机构)."""

    class Kind(models.TextChoices):
        MANUFACTURER = "manufacturer", _("Manufacturer")
        HOSPITAL = "hospital", _("Clinical institution")

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)

    class Meta:
        verbose_name = _("organisation")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_manufacturer(self) -> bool:
        return self.kind == self.Kind.MANUFACTURER


class Site(RegulatedModel):
    """A place of an organisation: production site, QC lab, hospital campus; holds its time zone."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="sites", verbose_name=_("organisation")
    )
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # ISBT 128 facility identification number (5 characters) used in COI and unit identifiers.
    facility_id = models.CharField(
        _("facility identification number"), max_length=5, unique=True, null=True, blank=True
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")

    class Meta:
        verbose_name = _("site")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CellChainUserManager(UserManager["User"]):
    pass


class User(AbstractUser):
    """A person with an individual account; deactivated, never deleted, username never reused (11.300(a))."""

    printed_name = models.CharField(
        _("printed name"), max_length=150, help_text=_("Name shown on signatures")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name=_("organisation"),
        null=True,
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="users", verbose_name=_("site"), null=True
    )
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)

    objects = CellChainUserManager()

    class Meta:
        verbose_name = _("user")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.printed_name or self.username

    def current_roles(self) -> list[str]:
        """Roles granted and not revoked."""
        return [a.role for a in self.role_assignments.all() if a.revoked_at is None]

    @property
    def is_manufacturer_user(self) -> bool:
        return self.organisation is not None and self.organisation.is_manufacturer

    @property
    def is_hospital_user(self) -> bool:
        return self.organisation is not None and not self.organisation.is_manufacturer


class RoleAssignment(RegulatedModel):
    """A role granted to a user; revoked, never deleted (REGULATORY item 32)."""

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="role_assignments", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    granted_at = models.DateTimeField(_("granted at"))
    granted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True, verbose_name=_("granted by")
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("role assignment")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_open_role_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


class Qualification(RegulatedModel):
    """A qualification, training, competence or health check with validity (T-5.3, T-5.1.9; REGULATORY item 33).

    `code` names what it allows, e.g. "infusion", "apheresis", "receipt", "release", "sop:SOP-INF-001".
    """

    class Kind(models.TextChoices):
        LICENCE = "licence", _("Licence or certificate")
        TRAINING = "training", _("Training")
        COMPETENCE = "competence", _("Competence assessment")
        HEALTH = "health", _("Health check")

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="qualifications", verbose_name=_("user")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.TRAINING)
    code = models.CharField(_("code"), max_length=80, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    evidence = models.CharField(_("evidence reference"), max_length=200, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("qualification")
        ordering = ["user", "code", "-valid_until"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")),
                name="qualification_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.code})"

    def is_valid_on(self, day: dt.date) -> bool:
        return self.revoked_at is None and self.valid_from <= day <= self.valid_until


class LoginEvent(models.Model):
    """Every sign-in attempt, success or failure (REGULATORY items 22, 57); the raw password is never kept."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Signed in")
        FAILURE = "failure", _("Wrong credentials")
        LOCKED = "locked", _("Refused: account locked")
        LOCKOUT = "lockout", _("Account locked")
        MFA_FAILURE = "mfa_failure", _("Wrong second factor")
        REAUTH_FAILURE = "reauth_failure", _("Wrong password at signing")
        LOGOUT = "logout", _("Signed out")
        TIMEOUT = "timeout", _("Session expired")

    at = models.DateTimeField(_("at"), db_index=True)
    username = models.CharField(_("username tried"), max_length=150, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("user")
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in event")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.outcome}"


class ApiToken(RegulatedModel):
    """A token for an integration; only its SHA-256 digest is stored; revocable (issue 2 item 6)."""

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    digest = models.CharField(_("digest"), max_length=64)
    created_at = models.DateTimeField(_("created at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    ledger_exclude = frozenset({"last_used_at"})

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.name} (cc_{self.prefix}_…)"


class TotpDevice(RegulatedModel):
    """A TOTP second factor (RFC 6238), confirmed by a first valid code."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="totp", verbose_name=_("user"))
    secret = models.CharField(_("secret"), max_length=64)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    last_used_step = models.BigIntegerField(_("last used time step"), default=0)

    # The secret is never written into the ledger (the ledger is exported to inspectors).
    ledger_exclude = frozenset({"secret", "last_used_step"})

    class Meta:
        verbose_name = _("TOTP device")
