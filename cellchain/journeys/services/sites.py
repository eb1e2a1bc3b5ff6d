"""The manufacturer's certification of collection sites (P-1.3.1-d, T-8.2.3; issue 13 item 6)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cellchain.accounts.models import Site
from cellchain.core import clock
from cellchain.core.errors import NotAllowed, ValidationFailed
from cellchain.core.permissions import has_permission
from cellchain.domain import journey_hold as rules
from cellchain.journeys.models import CollectionSiteCertification, Journey
from cellchain.ledger.records import record_create


@transaction.atomic
def collection_site_certify(
    *,
    actor: Any,
    site: Site,
    number: str,
    valid_from: dt.date,
    valid_until: dt.date,
    may_cryopreserve: bool,
    evidence: str = "",
) -> CollectionSiteCertification:
    """Manufacturer QA certifies a hospital's apheresis site, and says whether it may freeze apheresis
    (P-1.3.1-d, T-8.2.3)."""
    if not has_permission(actor, "journeys.certify_site") or not actor.is_manufacturer_user:
        raise NotAllowed(
            _("Only the manufacturer's quality assurance certifies a collection site (P-1.3.1-d).")
        )
    if site.organisation.is_manufacturer:
        raise ValidationFailed(_("Site: a collection site is a hospital's site (P-1.3.1-d)."), field="site")
    if not number.strip():
        raise ValidationFailed(_("Certificate number: give the certificate's number."), field="number")
    if valid_until < valid_from:
        raise ValidationFailed(
            _("Valid until: the certificate ends before it starts (P-1.3.1-d)."), field="valid_until"
        )
    return record_create(
        actor=actor,
        record=CollectionSiteCertification(
            site=site,
            manufacturer_site=actor.site,
            number=number.strip(),
            valid_from=valid_from,
            valid_until=valid_until,
            may_cryopreserve=may_cryopreserve,
            evidence=evidence.strip(),
            certified_at=clock.now(),
            certified_by=actor,
        ),
        event="collection_site:certify",
        extra={"may_cryopreserve": may_cryopreserve},
    )


def certifications_of(site: Site, manufacturer_organisation_id: int) -> list[rules.SiteCertification]:
    """The certifications of `site` by that manufacturer, as the rules see them."""
    rows = CollectionSiteCertification.objects.filter(
        site=site, manufacturer_site__organisation_id=manufacturer_organisation_id, voided_at__isnull=True
    )
    return [rules.SiteCertification(c.number, c.valid_from, c.valid_until, c.may_cryopreserve) for c in rows]


def collection_site_required(journey: Journey, day: dt.date, starting_material: str) -> None:
    """Refuse apheresis at an uncertified site, or cryopreserved material from a site without the freeze flag
    (P-1.3.1-d)."""
    site = journey.hospital_site
    gate = rules.collection_site_gate(
        site.name,
        day,
        starting_material == "cryopreserved",
        certifications_of(site, journey.manufacturer_site.organisation_id),
    )
    if not gate.allowed:
        raise ValidationFailed(" ".join(f.message for f in gate.findings), field="site")
