"""Helpers shared by the logistics commands: site checks, ledgered status changes, unit scans and the identity
incident of a label that names another chain of identity (G-4, T-10.4, T-10.6)."""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import transaction

from cellchain.core.errors import IdentityMismatch, NotAllowed
from cellchain.domain.identity import IdentifierError, compact, parse_coi
from cellchain.ledger.records import record_amend
from cellchain.ledger.services import ledger_append
from cellchain.logistics.models import Shipment
from cellchain.logistics.scans import UnitScan

RETENTION_YEARS = 15  # X-6 default: records kept 15 years (T-8.1.7-h)


def require_site(actor: Any, site: Any, what: str) -> None:
    if actor.site_id != site.pk:
        raise NotAllowed(f"{what} is done by staff of {site.name}.")


def set_status(actor: Any, shipment: Shipment, status: str, event: str, reason: str) -> None:
    shipment.status = status
    record_amend(actor=actor, record=shipment, event=event, reason=reason)


def coi_data(text: str) -> str:
    """A chain-of-identity identifier as its 15 data characters, whether kept with its check character or not."""
    try:
        return parse_coi(text).data
    except IdentifierError:
        return compact(text)


def label_coi_differs(scan: UnitScan, shipment: Shipment) -> bool:
    """The scanned label carries a chain of identity and it is not the shipment's (G-4, T-10.4)."""
    return scan.coi is not None and bool(shipment.coi.strip()) and scan.coi != coi_data(shipment.coi)


def guard_label_coi(*, actor: Any, shipment: Shipment, scan: UnitScan, where: str) -> None:
    """Refuse a label whose chain of identity is not the shipment's, and record it as an identity incident.

    Call outside any transaction of your own: the incident (a blocking identity deviation on the shipment,
    the manufacturer's QA told) is committed before the scan is refused, as the custody scans do (G-4,
    REGULATORY item 37).
    """
    if label_coi_differs(scan, shipment):
        _identity_incident(actor, shipment, scan, where)


def _manufacturer_site(shipment: Shipment) -> Any:
    """The manufacturer end of the shipment: the sender of a product, the receiver of an apheresis unit."""
    if shipment.from_site.organisation.is_manufacturer:
        return shipment.from_site
    return shipment.to_site


def _identity_incident(actor: Any, shipment: Shipment, scan: UnitScan, where: str) -> NoReturn:
    from cellchain.quality.models import Deviation
    from cellchain.quality.services import deviation_open, identity_deviation_tell_manufacturer

    expected = coi_data(shipment.coi)
    text = (
        f"At {where} of shipment {shipment.number} the label of unit {scan.read} carries chain of identity "
        f"{scan.coi}, but the shipment is for chain of identity {expected}"
    )
    with transaction.atomic():
        deviation = deviation_open(
            actor=actor,
            site=actor.site,
            kind=Deviation.Kind.IDENTITY,
            title=f"Identity mismatch at {where} of {shipment.number}: label {scan.coi}, shipment {expected}",
            description=f"{text}. Scanned {scan.text[:120]!r} at {actor.site.name}. The scan was refused "
            "(G-4); the shipment is blocked until QA has investigated.",
            subject=shipment,
            blocks_subject=True,
        )
        ledger_append(
            actor=actor,
            record=shipment,
            action="amend",
            event=f"shipment:{where.replace(' ', '_')}:identity",
            reason=f"identity deviation {deviation.number}: label {scan.coi}, shipment {expected}",
            extra={"scanned": scan.text[:120], "label_coi": scan.coi, "shipment_coi": expected,
                   "din": scan.read, "deviation": deviation.number},
        )  # fmt: skip
        identity_deviation_tell_manufacturer(
            actor=actor, deviation=deviation, manufacturer=_manufacturer_site(shipment), about=shipment.number
        )
    raise IdentityMismatch(
        f"{text}: do not go on with this bag. Identity incident {deviation.number} was recorded and QA told.",
        field="scan",
        detail={"label_coi": scan.coi, "shipment_coi": expected, "deviation": deviation.number},
    )
