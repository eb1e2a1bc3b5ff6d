"""Issue chain-of-identity identifiers and DINs without collisions under concurrency (T-10.4, T-10.6).

Each (kind, facility, year) has one sequence row; it is locked with SELECT ... FOR UPDATE for the increment,
so two transactions never draw the same number, and the unique constraints on Journey.coi and Unit.din stop
any identifier issued twice by some other path.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction

from cellchain.accounts.models import Site
from cellchain.core import clock
from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.domain.identity import (
    ChainOfIdentityIdentifier,
    DonationIdentificationNumber,
    coi_issue,
    din_issue,
)
from cellchain.journeys.models import IdentifierSequence


def _site_year(site: Site, moment: dt.datetime) -> int:
    return moment.astimezone(ZoneInfo(site.time_zone)).year


def _facility(site: Site) -> str:
    if not site.facility_id:
        raise ValidationFailed(
            f"Site {site.code} has no ISBT 128 facility identification number; an administrator must set it "
            "before identifiers can be issued there.",
            field="site",
        )
    return site.facility_id


def _next_number(kind: str, facility_id: str, year: int) -> int:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("identifiers are drawn inside the service's transaction")
    IdentifierSequence.objects.get_or_create(kind=kind, facility_id=facility_id, year=year)
    sequence = IdentifierSequence.objects.select_for_update().get(
        kind=kind, facility_id=facility_id, year=year
    )
    if sequence.last_number >= 999_999:
        raise Conflict(f"All {kind.upper()} numbers of {facility_id} for {year} are used.")
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


def coi_next(site: Site) -> ChainOfIdentityIdentifier:
    """The next chain-of-identity identifier of ``site`` for the current year (ISBT 128 DS 040 form)."""
    facility = _facility(site)
    year = _site_year(site, clock.now())
    return coi_issue(facility, year, _next_number(IdentifierSequence.Kind.COI, facility, year))


def din_next(site: Site) -> DonationIdentificationNumber:
    """The next DIN of ``site`` for the current year (ISBT 128 DS 001 layout)."""
    facility = _facility(site)
    year = _site_year(site, clock.now())
    return din_issue(facility, year, _next_number(IdentifierSequence.Kind.DIN, facility, year))
