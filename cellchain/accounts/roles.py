"""Roles of the two organisations (issue 2 item 5). Manufacturer roles never see hospital patient identity (T-7.6)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    # manufacturer (制备厂商)
    QA = "qa", _("Quality assurance")
    QC_ANALYST = "qc_analyst", _("QC analyst")
    PRODUCTION_OPERATOR = "production_operator", _("Production operator")
    LOGISTICS = "logistics", _("Logistics")
    # clinical institution (医疗机构)
    PHYSICIAN = "physician", _("Physician")
    NURSE = "nurse", _("Nurse")
    PHARMACIST = "pharmacist", _("Pharmacist")
    APHERESIS_OPERATOR = "apheresis_operator", _("Apheresis operator")
    COORDINATOR = "coordinator", _("Cell-therapy coordinator")
    # both
    SITE_ADMIN = "site_admin", _("Site administrator")
    AUDITOR = "auditor", _("Auditor (read-only)")


MANUFACTURER_ROLES = frozenset({Role.QA, Role.QC_ANALYST, Role.PRODUCTION_OPERATOR, Role.LOGISTICS})
HOSPITAL_ROLES = frozenset(
    {Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.APHERESIS_OPERATOR, Role.COORDINATOR}
)
SHARED_ROLES = frozenset({Role.SITE_ADMIN, Role.AUDITOR})
ALL_ROLES = frozenset(Role)

# Separation of duties (三员, REGULATORY item 25): no account holds both of these.
INCOMPATIBLE_ROLES = frozenset({frozenset({Role.SITE_ADMIN, Role.AUDITOR})})
