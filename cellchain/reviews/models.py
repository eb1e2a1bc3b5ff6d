"""A quality review over a period, its content frozen and hashed at signing (issue 14 item 4).

Three kinds: the periodic quality review of a site (T-6.4-e), the annual product quality review of a product,
and the leader oversight report of a hospital team (T-5.3.2.3, T-5.3.2.4). A draft shows the figures live; at
signing the figures and the ids of their source records are written into `content` with its SHA-256, so the
signed report never changes when the data changes later.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cellchain.accounts.models import Organisation, Site
from cellchain.ledger.models import RegulatedModel
from cellchain.manufacturing.models import Product

USER = settings.AUTH_USER_MODEL


class QualityReview(RegulatedModel):
    """One review of one scope (a site, a product or a hospital team) over one period."""

    class Kind(models.TextChoices):
        PERIODIC = "periodic", _("Periodic quality review (T-6.4-e)")
        ANNUAL_PRODUCT = "annual_product", _("Annual product quality review")
        OVERSIGHT = "oversight", _("Leader oversight report (T-5.3.2.3/4)")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SIGNED = "signed", _("Signed")

    number = models.CharField(_("number"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("site")
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    period_from = models.DateField(_("period from"))
    period_to = models.DateField(_("period to"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    conclusions = models.TextField(_("conclusions"), blank=True)
    actions = models.TextField(_("actions decided"), blank=True)
    content = models.JSONField(_("content frozen at signing"), null=True, blank=True)
    content_sha256 = models.CharField(_("SHA-256 of the frozen content"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("drafted by")
    )
    created_at = models.DateTimeField(_("drafted at"))
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("signed by")
    )

    class Meta:
        verbose_name = _("quality review")
        ordering = ["-period_to", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_to__gte=models.F("period_from")), name="review_period_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(kind="annual_product", product__isnull=False)
                | models.Q(~models.Q(kind="annual_product"), site__isnull=False),
                name="review_scope_given",
            ),
            models.CheckConstraint(
                condition=models.Q(state="draft") | models.Q(content__isnull=False, signed_at__isnull=False),
                name="review_signed_has_content",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()}"

    @property
    def is_signed(self) -> bool:
        return self.state == self.State.SIGNED

    @property
    def scope_label(self) -> str:
        return str(self.product) if self.product_id else str(self.site)
