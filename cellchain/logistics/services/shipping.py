"""Shipment commands: create (limits from the product version), pack by scan, link loggers, hand over under the
batch's release, arrive (T-7.7, T-7.15, T-8.1.1, T-8.1.2-e, Q-2-b, G-4)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from cellchain.core import clock
from cellchain.core.errors import Conflict, IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.core.numbering import number_next
from cellchain.domain.coldchain import DEFAULT_LIMITS, ShipperKind
from cellchain.domain.findings import Gate
from cellchain.domain.shipping_limits import (
    AppliedLimits,
    RequestedLimits,
    product_expiry,
    product_transport,
    shipment_limits,
)
from cellchain.journeys import services as journeys
from cellchain.ledger.records import record_create
from cellchain.logistics import storage_rules
from cellchain.logistics.messages import announce_shipment
from cellchain.logistics.models import LoggerLink, PackedUnit, PackingCheck, Shipment, StorageReservation
from cellchain.logistics.scans import UnitScan, din_of, read_unit_scan
from cellchain.logistics.services._common import guard_label_coi, require_site, set_status
from cellchain.logistics.services.release import mark_units_shipped, require_release
from cellchain.signatures.services import SignerCredentials, two_person_check

APHERESIS_KINDS = frozenset({ShipperKind.CRYOPRESERVED_APHERESIS, ShipperKind.FRESH_2_8})
"""Shipper kinds an apheresis shipment (no batch yet) may use; an LN2 dry shipper carries a product."""


@dataclasses.dataclass(frozen=True)
class ShipmentInput:
    """What a shipment is created with (T-7.7, T-7.15).

    Product shipment (``batch_number`` given): the shipper kind, the container and its serial, optionally the
    units (default: the batch's patient units). Destination, COI, product name, temperature range, maximum
    transport time, allowed containers, expiry and storage mode come from the batch and its product
    version. ``min_c``/``max_c``/``max_transit_hours`` may only narrow the product's values.

    Apheresis shipment (no batch yet): destination, product name, units, shipper kind, container and
    ``max_transit_hours``; the temperature limits are the shipper kind's reference values
    (cellchain.domain.coldchain.DEFAULT_LIMITS) unless ``min_c``/``max_c`` are given.
    """

    kind: str
    container_type: str
    container_code: str
    batch_number: str = ""
    expected_units: tuple[str, ...] = ()
    to_site: Any = None
    product_name: str = ""
    coi: str = ""
    max_transit_hours: Decimal | None = None
    min_c: Decimal | None = None
    max_c: Decimal | None = None
    allowed_containers: tuple[str, ...] = ()
    expires_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class ProductShipmentPlan:
    """What a product shipment of a batch will be created with: destination, units and limits (T-7.7)."""

    batch: Any
    to_site: Any
    coi: str
    product_name: str
    units: tuple[str, ...]
    limits: AppliedLimits
    storage_mode: storage_rules.StorageMode
    storage_time_limit: dt.timedelta | None
    expires_at: dt.datetime | None
    mkt_formula: str = "time_weighted"  # the product version's choice (USP <1079.2>; issue 16)


def _next_number(now: dt.datetime) -> str:
    prefix = f"SH-{now.year}-"
    issued = number_next(prefix, issued_before=Shipment.objects.filter(number__startswith=prefix).count)
    return f"{prefix}{issued:05d}"


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


_FIELD_OF_CHECK = {
    "shipper_incompatible": "kind",
    "transit_longer": "max_transit_hours",
    "container_not_allowed": "container_type",
    "range_empty": "min_c",
}


def _refuse(gate: Gate) -> None:
    if gate.allowed:
        return
    first = gate.findings[0]
    field = _FIELD_OF_CHECK.get(
        first.check, first.subject if first.check == "range_looser" else "batch_number"
    )
    raise ValidationFailed("; ".join(f"{f.clause}: {f.message}" for f in gate.findings) + ".", field=field)


def _units_of(batch: Any, requested: tuple[str, ...]) -> tuple[str, ...]:
    patient = sorted(u.din for u in batch.units.all() if u.purpose == "patient")
    if not requested:
        if not patient:
            raise Conflict(f"Batch {batch.number} has no patient units to ship.", field="expected_units")
        return tuple(patient)
    units = []
    for scanned in requested:
        din = din_of(scanned, patient)
        if din is None:
            raise ValidationFailed(
                f"{scanned.strip()!r} is not a patient unit of batch {batch.number}; its patient units are "
                f"{', '.join(patient) or 'none'}.",
                field="expected_units",
            )
        units.append(din)
    return tuple(sorted(set(units)))


def _already_shipped(batch_number: str, units: tuple[str, ...]) -> None:
    for other in Shipment.objects.filter(batch_number=batch_number, voided_at__isnull=True):
        twice = sorted(set(units) & set(other.expected_units))
        if twice:
            raise Conflict(f"Unit(s) {', '.join(twice)} are already on shipment {other.number}.")


def product_shipment_plan(*, actor: Any, data: ShipmentInput) -> ProductShipmentPlan:
    """The destination, units and limits a product shipment of the batch gets, or the reasons why not.

    The limits are the transport range, maximum transport time and containers of the batch's product version
    (T-7.7-a/b/c, T-7.15-a/b/c), narrowed where the sender asked; the expiry is the shelf life from the fill
    (T-7.5-e); the storage mode at the clinic comes from the product's storage requirements (T-7.7-d).
    """
    from cellchain.manufacturing.selectors import batch_for_shipping

    found = batch_for_shipping(data.batch_number.strip())
    if found is None:
        raise ValidationFailed(f"No batch {data.batch_number.strip()!r}.", field="batch_number")
    batch, info = found
    if batch.site.organisation_id != actor.organisation_id:
        raise NotAllowed(f"Batch {batch.number} is not a batch of your organisation.")
    if data.product_name or data.allowed_containers or data.expires_at is not None:
        raise ValidationFailed(
            f"Product name, allowed containers and expiry of batch {batch.number} come from its product version "
            f"{batch.product_version}; do not give them.",
            field="batch_number",
        )
    if batch.manufactured_at is None:
        raise Conflict(
            f"Batch {batch.number} has no fill time yet, so its expiry (T-7.5-e) is unknown; ship it after the "
            "fill.",
            field="batch_number",
        )
    to_site = batch.intake.collection_site
    if data.to_site is not None and data.to_site.pk != to_site.pk:
        raise ValidationFailed(
            f"Batch {batch.number} was made from an apheresis unit collected at {to_site.name}; its product "
            f"goes back there, not to {data.to_site.name}.",
            field="to_site",
        )
    try:
        kind = ShipperKind(data.kind)
    except ValueError:
        raise ValidationFailed(f"Unknown shipper kind {data.kind!r}.", field="kind") from None
    source = str(batch.product_version)
    storage = info.storage_transport
    transit = None if data.max_transit_hours is None else dt.timedelta(hours=float(data.max_transit_hours))
    requested = RequestedLimits(data.container_type, data.min_c, data.max_c, transit)
    limits, gate = shipment_limits(product_transport(storage, source), kind, requested)
    _refuse(gate)
    assert limits is not None
    mode = storage_rules.product_storage_mode(
        storage.storage_temperature.minimum_c,
        storage.storage_temperature.maximum_c,
        (storage.storage_mode.zh, storage.storage_mode.en),
        source,
    )
    if mode.mode is None:
        raise ValidationFailed(mode.reason, field="batch_number")
    units = _units_of(batch, tuple(u for u in data.expected_units if u.strip()))
    return ProductShipmentPlan(
        batch=batch,
        to_site=to_site,
        coi=batch.intake.coi,
        product_name=f"{info.product_name.zh} / {info.product_name.en}"[:200],
        units=units,
        limits=limits,
        storage_mode=mode.mode,
        storage_time_limit=storage.storage_time_limit,
        expires_at=product_expiry(batch.manufactured_at, info.shelf_life),
        mkt_formula=storage.mkt_formula,
    )


def _product_shipment(actor: Any, data: ShipmentInput, now: dt.datetime) -> Shipment:
    plan = product_shipment_plan(actor=actor, data=data)
    if plan.expires_at is not None and plan.expires_at <= now:
        raise Conflict(
            f"Batch {plan.batch.number} expired at {plan.expires_at:%Y-%m-%d %H:%M} UTC (T-7.5-e); it is not "
            "shipped.",
            field="batch_number",
        )
    _already_shipped(plan.batch.number, plan.units)
    limit = plan.storage_time_limit
    return Shipment(
        kind=data.kind, to_site=plan.to_site, coi=plan.coi, product_name=plan.product_name,
        batch_number=plan.batch.number, expected_units=list(plan.units), min_c=plan.limits.min_c,
        max_c=plan.limits.max_c, max_transit_hours=Decimal(str(plan.limits.max_transport.total_seconds() / 3600)),
        allowed_containers=list(plan.limits.containers), container_type=plan.limits.container,
        expires_at=plan.expires_at, limits_source=plan.limits.describe_source()[:200],
        storage_mode=plan.storage_mode.value, mkt_formula=plan.mkt_formula,
        storage_time_limit_hours=None if limit is None else Decimal(str(limit.total_seconds() / 3600)),
    )  # fmt: skip


def _apheresis_shipment(data: ShipmentInput) -> Shipment:
    """No batch yet: the shipper kind's reference limits (DEFAULT_LIMITS) and the typed transit limit."""
    if data.kind not in Shipment.Kind.values:
        raise ValidationFailed(f"Unknown shipper kind {data.kind!r}.", field="kind")
    kind = ShipperKind(data.kind)
    if kind not in APHERESIS_KINDS:
        raise ValidationFailed(
            f"A {kind.value} shipment carries a product: name its batch, so that its limits come from the "
            "product version (T-7.7).",
            field="batch_number",
        )
    if data.to_site is None:
        raise ValidationFailed("Name the site the apheresis shipment goes to.", field="to_site")
    if not data.product_name.strip():
        raise ValidationFailed("Name what the shipment carries.", field="product_name")
    if data.max_transit_hours is None or data.max_transit_hours <= 0:
        raise ValidationFailed("Give the maximum transit time in hours.", field="max_transit_hours")
    if not data.expected_units:
        raise ValidationFailed("A shipment needs at least one unit.", field="expected_units")
    default = DEFAULT_LIMITS[kind]
    typed = data.min_c is not None or data.max_c is not None
    return Shipment(
        kind=data.kind, to_site=data.to_site, coi=data.coi, product_name=data.product_name.strip(),
        expected_units=sorted({u.strip().upper() for u in data.expected_units}),
        min_c=data.min_c if typed else _dec(default.min_c), max_c=data.max_c if typed else _dec(default.max_c),
        max_transit_hours=data.max_transit_hours,
        allowed_containers=list(data.allowed_containers or (data.container_type,)),
        container_type=data.container_type, expires_at=data.expires_at,
    )  # fmt: skip


@transaction.atomic
def shipment_create(*, actor: Any, data: ShipmentInput) -> Shipment:
    """Open a shipment from the actor's site (T-7.7-a/b/c, T-7.15).

    With a batch, every limit comes from the batch's product version and a request to loosen one is refused
    naming the version and the value; without one (apheresis) the shipper kind's reference values apply.
    """
    if actor.site is None:
        raise NotAllowed("Creating a shipment needs a user attached to a site.")
    if not data.container_code.strip():
        raise ValidationFailed("Give the serial of the shipper.", field="container_code")
    now = clock.now()
    product = bool(data.batch_number.strip())
    shipment = _product_shipment(actor, data, now) if product else _apheresis_shipment(data)
    shipment.number, shipment.from_site, shipment.container_code = (
        _next_number(now),
        actor.site,
        data.container_code.strip(),
    )
    shipment.created_at, shipment.created_by = now, actor
    shipment.full_clean()
    record_create(
        actor=actor,
        record=shipment,
        event="shipment:create",
        extra={"limits_source": shipment.limits_source or "shipper kind reference values"},
    )
    return shipment


def shipment_pack_scan(*, actor: Any, shipment: Shipment, scanned_text: str) -> PackedUnit:
    """Scan a unit into the shipper by its typed DIN or its label barcode; a unit not on the order is refused
    (T-8.1.3-a at the sending end), and so is a label whose chain of identity is not the shipment's (G-4).

    Runs outside a transaction of its own: a label of another chain of identity is recorded as an identity
    incident (committed) before the scan is refused.
    """
    require_site(actor, shipment.from_site, "Packing")
    _require_packing(shipment)
    scan = read_unit_scan(scanned_text, shipment.expected_units)
    guard_label_coi(actor=actor, shipment=shipment, scan=scan, where="packing")
    return _pack(actor, shipment, scan)


def _require_packing(shipment: Shipment) -> None:
    if shipment.status != Shipment.Status.PACKING:
        raise Conflict(f"Shipment {shipment.number} is {shipment.get_status_display()}: packing is closed.")


@transaction.atomic
def _pack(actor: Any, shipment: Shipment, scan: UnitScan) -> PackedUnit:
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    _require_packing(shipment)
    if scan.din is None:
        why = f" ({scan.problem})" if scan.problem else ""
        raise IdentityMismatch(
            f"Scanned {scan.shown!r} is not a unit of shipment {shipment.number}{why}; do not pack it. Its units "
            f"are {', '.join(shipment.expected_units)}.",
            field="scan",
        )
    if shipment.packed_units.filter(din=scan.din).exists():
        raise Conflict(f"Unit {scan.din} is already packed in {shipment.number}.", field="scan")
    row = PackedUnit(shipment=shipment, din=scan.din, scanned_text=scan.text[:120], scanned_at=clock.now(),
                     scanned_by=actor)  # fmt: skip
    record_create(
        actor=actor, record=row, event="shipment:pack", extra={"label_coi": scan.coi} if scan.coi else None
    )
    return row


def _require_all_packed(shipment: Shipment) -> None:
    packed = set(shipment.packed_units.values_list("din", flat=True))
    missing = sorted(set(shipment.expected_units) - packed)
    if missing:
        raise Conflict(f"Units not yet scanned into the shipper: {', '.join(missing)}.")


def shipment_pack_verify(
    *, shipment: Shipment, performer: SignerCredentials, verifier: SignerCredentials
) -> Shipment:
    """Two-person check of the packing: every ordered unit scanned in, then two packers sign (X-5).

    The check is a record of its own (PackingCheck: units, shipper, loggers linked so far, time) and the two
    signatures bind it, not the shipment, whose status and hand-off fields change afterwards (21 CFR 11.70).

    Runs outside a transaction of its own, as the signing services ask: a wrong password is recorded and
    counts towards the lockout (21 CFR 11.300); the check record, both signatures and the shipment's "packed"
    status are then written together, or nothing is.
    """
    require_site(performer.user, shipment.from_site, "Packing")
    _require_packing(shipment)
    _require_all_packed(shipment)
    two_person_check(
        record=lambda: _record_packing_check(performer.user, shipment),
        performer=performer,
        verifier=verifier,
        qualification="packing",
    )
    shipment.refresh_from_db()  # the caller's instance follows the change
    return shipment


def _record_packing_check(actor: Any, shipment: Shipment) -> PackingCheck:
    """Inside the signing transaction: lock the shipment, write what was checked, mark the shipment packed."""
    locked = Shipment.objects.select_for_update().get(pk=shipment.pk)  # one verification at a time
    _require_packing(locked)
    _require_all_packed(locked)
    check = PackingCheck(
        shipment=locked,
        units=sorted(locked.packed_units.values_list("din", flat=True)),
        container_type=locked.container_type,
        container_code=locked.container_code,
        loggers=sorted(locked.loggers.values_list("serial", flat=True)),
        checked_at=clock.now(),
    )
    check.full_clean()
    record_create(actor=actor, record=check, event="shipment:pack:check")
    set_status(actor, locked, Shipment.Status.PACKED, "shipment:pack:verify", "two-person check")
    return check


@transaction.atomic
def logger_link(
    *, actor: Any, shipment: Shipment, serial: str, interval_s: int, armed_at: dt.datetime
) -> LoggerLink:
    """Link a temperature logger to the shipment (several loggers per shipment are allowed)."""
    require_site(actor, shipment.from_site, "Linking a logger")
    if shipment.status not in (Shipment.Status.PACKING, Shipment.Status.PACKED):
        raise Conflict(f"Shipment {shipment.number} has left: loggers are linked before hand-off.")
    link = LoggerLink(shipment=shipment, serial=serial.strip(), interval_s=interval_s, armed_at=armed_at,
                      linked_at=clock.now(), linked_by=actor)  # fmt: skip
    link.full_clean()
    record_create(actor=actor, record=link, event="shipment:logger")
    return link


def _moment(at: dt.datetime | None, after: dt.datetime | None, what: str) -> dt.datetime:
    """When a hand-off happened: now, or a time the person states (never in the future, never before the
    previous step); the ledger still records when it was entered."""
    now = clock.now()
    if at is None:
        return now
    if at.tzinfo is None or at > now:
        raise ValidationFailed(f"The {what} time must be an aware time not in the future.", field="at")
    if after is not None and at < after:
        raise ValidationFailed(f"The {what} time cannot be before the previous step.", field="at")
    return at


def needs_reservation(shipment: Shipment) -> bool:
    """A shipment to a hospital needs storage reserved there before hand-off (T-8.1.2-e)."""
    return not shipment.to_site.organisation.is_manufacturer


def _require_reservation(shipment: Shipment) -> None:
    """T-8.1.2-e: the receiving hospital has reserved a location of the product's storage mode."""
    if not needs_reservation(shipment):
        return
    reservation = shipment.reservations.filter(status=StorageReservation.Status.ACTIVE).first()
    if reservation is None:
        mode = storage_rules.shipment_storage_mode(shipment.storage_mode, shipment.kind)
        raise Conflict(
            f"T-8.1.2-e: {shipment.to_site.name} has not reserved storage for shipment {shipment.number}. A "
            f"pharmacist there must reserve a {mode.value} location for its {len(shipment.expected_units)} "
            "unit(s) before hand-off.",
            field="reservation",
        )


def _require_no_identity_incident(shipment: Shipment) -> None:
    """An open identity incident on the shipment (a label of another chain of identity) holds it (G-4)."""
    from cellchain.quality.services import open_blocking_deviations

    blocking = open_blocking_deviations(shipment)
    if blocking:
        numbers = ", ".join(sorted(d.number for d in blocking))
        raise Conflict(
            f"Shipment {shipment.number} is held by open deviation(s) {numbers}: QA must disposition them "
            "before hand-off.",
            field="deviation",
        )


@transaction.atomic
def shipment_dispatch(
    *, actor: Any, shipment: Shipment, courier: str, at: dt.datetime | None = None
) -> Shipment:
    """Hand the checked shipper to the courier; the transit clock starts (T-7.7-b).

    A product leaves only under a standing release of its batch - full, or conditional (recorded on the
    shipment with the tests pending) - without an open recall hold (Q-2-b, Q-2.5-c); a shipment to a hospital
    leaves only with storage reserved there (T-8.1.2-e). The batch's units are marked shipped in the same
    transaction.
    """
    require_site(actor, shipment.from_site, "Hand-off")
    Shipment.objects.select_for_update().get(pk=shipment.pk)  # one hand-off at a time
    shipment.refresh_from_db()  # the caller's instance follows the change
    if shipment.status != Shipment.Status.PACKED:
        raise Conflict(f"Shipment {shipment.number} must be packed and two-person checked before hand-off.")
    if not shipment.loggers.exists():
        raise Conflict(f"Shipment {shipment.number} has no temperature logger linked.")
    _require_no_identity_incident(shipment)
    journeys.journey_step_allowed(
        shipment.coi, "shipping", din=next(iter(shipment.expected_units), "")
    )  # T-6.4-h
    release = require_release(shipment)
    _require_reservation(shipment)
    if not courier.strip():
        raise ValidationFailed("Name the courier taking the shipper.", field="courier")
    moment = _moment(
        at, shipment.loggers.order_by("armed_at").values_list("armed_at", flat=True).first(), "hand-off"
    )
    shipment.courier, shipment.dispatched_at, shipment.dispatched_by = courier.strip(), moment, actor
    if release is not None:
        shipment.release_status, shipment.release_pending = release.state.value, list(release.pending)
    reason = f"handed to {shipment.courier}"
    if release is not None:
        reason += f" under batch release: {release.state.value}"
    set_status(actor, shipment, Shipment.Status.IN_TRANSIT, "shipment:dispatch", reason)
    if release is not None:
        mark_units_shipped(actor, shipment)
        announce_shipment(actor, shipment)  # issue 12 item 2, T-7.15: to the hospital's installation
    return shipment


@transaction.atomic
def shipment_arrive(
    *, actor: Any, shipment: Shipment, scanned_text: str, at: dt.datetime | None = None
) -> Shipment:
    """Scan the shipper on arrival at the hospital: the receipt starts from here (T-8.1.1)."""
    require_site(actor, shipment.to_site, "Receiving")
    if shipment.status != Shipment.Status.IN_TRANSIT:
        raise Conflict(f"Shipment {shipment.number} is {shipment.get_status_display()}, not in transit.")
    if scanned_text.strip() not in (shipment.number, shipment.container_code):
        raise IdentityMismatch(
            f"Scanned {scanned_text.strip()!r} is neither shipment {shipment.number} nor its shipper "
            f"{shipment.container_code}.",
            field="scan",
        )
    shipment.arrived_at, shipment.arrival_by = _moment(at, shipment.dispatched_at, "arrival"), actor
    set_status(actor, shipment, Shipment.Status.ARRIVED, "shipment:arrive", "arrival scanned")
    return shipment
