"""Commands of the logistics context: shipment, packing, loggers, readings, arrival, receipt (T-7.15, T-8.1).

Each regulated write is one transaction with its ledger entry. Bulk readings are plain rows (idempotent for
live MQTT data); a logger file's SHA-256 is kept on its regulated import record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from cellchain.accounts.services import require_qualification
from cellchain.core import clock
from cellchain.core.errors import Conflict, IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.domain import receipt as rules
from cellchain.domain.coldchain import DEFAULT_LIMITS, ColdChainVerdict, ShipperKind
from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.loggers import GENERIC_FORMAT, LoggerCsvFormat, read_logger_csv
from cellchain.ledger.services import ledger_append
from cellchain.logistics import storage_rules
from cellchain.logistics.models import (
    LoggerFileImport,
    LoggerLink,
    PackedUnit,
    ReceiptInspection,
    Shipment,
    StockEvent,
    StorageLocation,
    TemperatureReading,
)
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_open
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import (
    SignerCredentials,
    record_sign,
    signature_is_current,
    signatures_of,
    two_person_check,
)

RETENTION_YEARS = 15  # X-6 default: records kept 15 years (T-8.1.7-h)


def _require_site(actor: Any, site: Any, what: str) -> None:
    if actor.site_id != site.pk:
        raise NotAllowed(f"{what} is done by staff of {site.name}.")


def _set_status(actor: Any, shipment: Shipment, status: str, event: str, reason: str) -> None:
    shipment.status = status
    shipment.save()
    ledger_append(actor=actor, record=shipment, action="amend", event=event, reason=reason)


# --- shipment and packing ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ShipmentInput:
    """What a shipment is created with; limits default to the shipper kind's reference values (T-7.7-a)."""

    to_site: Any
    kind: str
    product_name: str
    expected_units: tuple[str, ...]
    container_type: str
    container_code: str
    max_transit_hours: Decimal
    coi: str = ""
    batch_number: str = ""
    min_c: Decimal | None = None
    max_c: Decimal | None = None
    allowed_containers: tuple[str, ...] = ()
    expires_at: dt.datetime | None = None


def _next_number(now: dt.datetime) -> str:
    count = Shipment.objects.filter(number__startswith=f"SH-{now.year}-").count()
    return f"SH-{now.year}-{count + 1:05d}"


@transaction.atomic
def shipment_create(*, actor: Any, data: ShipmentInput) -> Shipment:
    """Open a shipment from the actor's site with its limits and transit limit (T-7.7-a/b/c, T-7.15)."""
    if actor.site is None:
        raise NotAllowed("Creating a shipment needs a user attached to a site.")
    if data.kind not in Shipment.Kind.values:
        raise ValidationFailed(f"Unknown shipper kind {data.kind!r}.", field="kind")
    if not data.expected_units:
        raise ValidationFailed("A shipment needs at least one unit.", field="expected_units")
    default = DEFAULT_LIMITS[ShipperKind(data.kind)]
    low = data.min_c if data.min_c is not None or data.max_c is not None else _dec(default.min_c)
    high = data.max_c if data.min_c is not None or data.max_c is not None else _dec(default.max_c)
    now = clock.now()
    shipment = Shipment(
        number=_next_number(now), kind=data.kind, from_site=actor.site, to_site=data.to_site, coi=data.coi,
        product_name=data.product_name, batch_number=data.batch_number,
        expected_units=sorted({u.strip().upper() for u in data.expected_units}), min_c=low, max_c=high,
        max_transit_hours=data.max_transit_hours,
        allowed_containers=list(data.allowed_containers or (data.container_type,)),
        container_type=data.container_type, container_code=data.container_code, expires_at=data.expires_at,
        created_at=now, created_by=actor,
    )  # fmt: skip
    shipment.full_clean()
    shipment.save()
    ledger_append(actor=actor, record=shipment, action="create", event="shipment:create")
    return shipment


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _din_of(scanned_text: str, expected: Iterable[str]) -> str | None:
    text = scanned_text.strip().upper().replace(" ", "")
    for din in expected:
        # A keyboard-wedge scan gives the DIN with its check character (14) or alone (13).
        if text in (din, din.replace(" ", "")) or text[:-1] == din.replace(" ", ""):
            return din
    return None


@transaction.atomic
def shipment_pack_scan(*, actor: Any, shipment: Shipment, scanned_text: str) -> PackedUnit:
    """Scan a unit into the shipper; a unit not on the order is refused (T-8.1.3-a at the sending end)."""
    _require_site(actor, shipment.from_site, "Packing")
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.status != Shipment.Status.PACKING:
        raise Conflict(f"Shipment {shipment.number} is {shipment.get_status_display()}: packing is closed.")
    din = _din_of(scanned_text, shipment.expected_units)
    if din is None:
        raise IdentityMismatch(
            f"Scanned {scanned_text.strip()!r} is not a unit of shipment {shipment.number}; do not pack it.",
            field="scan",
        )
    if shipment.packed_units.filter(din=din).exists():
        raise Conflict(f"Unit {din} is already packed in {shipment.number}.")
    row = PackedUnit(shipment=shipment, din=din, scanned_text=scanned_text.strip()[:120], scanned_at=clock.now(),
                     scanned_by=actor)  # fmt: skip
    row.save()
    ledger_append(actor=actor, record=row, action="create", event="shipment:pack")
    return row


@transaction.atomic
def shipment_pack_verify(
    *, shipment: Shipment, performer: SignerCredentials, verifier: SignerCredentials
) -> Shipment:
    """Two-person check of the packing: every ordered unit scanned in, then two packers sign (X-5)."""
    _require_site(performer.user, shipment.from_site, "Packing")
    packed = set(shipment.packed_units.values_list("din", flat=True))
    missing = sorted(set(shipment.expected_units) - packed)
    if missing:
        raise Conflict(f"Units not yet scanned into the shipper: {', '.join(missing)}.")
    two_person_check(record=shipment, performer=performer, verifier=verifier, qualification="packing")
    _set_status(performer.user, shipment, Shipment.Status.PACKED, "shipment:pack:verify", "two-person check")
    return shipment


@transaction.atomic
def logger_link(
    *, actor: Any, shipment: Shipment, serial: str, interval_s: int, armed_at: dt.datetime
) -> LoggerLink:
    """Link a temperature logger to the shipment (several loggers per shipment are allowed)."""
    _require_site(actor, shipment.from_site, "Linking a logger")
    if shipment.status not in (Shipment.Status.PACKING, Shipment.Status.PACKED):
        raise Conflict(f"Shipment {shipment.number} has left: loggers are linked before hand-off.")
    link = LoggerLink(shipment=shipment, serial=serial.strip(), interval_s=interval_s, armed_at=armed_at,
                      linked_at=clock.now(), linked_by=actor)  # fmt: skip
    link.full_clean()
    link.save()
    ledger_append(actor=actor, record=link, action="create", event="shipment:logger")
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


@transaction.atomic
def shipment_dispatch(
    *, actor: Any, shipment: Shipment, courier: str, at: dt.datetime | None = None
) -> Shipment:
    """Hand the checked shipper to the courier; the transit clock starts (T-7.7-b)."""
    _require_site(actor, shipment.from_site, "Hand-off")
    if shipment.status != Shipment.Status.PACKED:
        raise Conflict(f"Shipment {shipment.number} must be packed and two-person checked before hand-off.")
    if not shipment.loggers.exists():
        raise Conflict(f"Shipment {shipment.number} has no temperature logger linked.")
    if not courier.strip():
        raise ValidationFailed("Name the courier taking the shipper.", field="courier")
    moment = _moment(
        at, shipment.loggers.order_by("armed_at").values_list("armed_at", flat=True).first(), "hand-off"
    )
    shipment.courier, shipment.dispatched_at, shipment.dispatched_by = courier.strip(), moment, actor
    _set_status(
        actor, shipment, Shipment.Status.IN_TRANSIT, "shipment:dispatch", f"handed to {courier.strip()}"
    )
    return shipment


@transaction.atomic
def shipment_arrive(
    *, actor: Any, shipment: Shipment, scanned_text: str, at: dt.datetime | None = None
) -> Shipment:
    """Scan the shipper on arrival at the hospital: the receipt starts from here (T-8.1.1)."""
    _require_site(actor, shipment.to_site, "Receiving")
    if shipment.status != Shipment.Status.IN_TRANSIT:
        raise Conflict(f"Shipment {shipment.number} is {shipment.get_status_display()}, not in transit.")
    if scanned_text.strip() not in (shipment.number, shipment.container_code):
        raise IdentityMismatch(
            f"Scanned {scanned_text.strip()!r} is neither shipment {shipment.number} nor its shipper "
            f"{shipment.container_code}.",
            field="scan",
        )
    shipment.arrived_at, shipment.arrival_by = _moment(at, shipment.dispatched_at, "arrival"), actor
    _set_status(actor, shipment, Shipment.Status.ARRIVED, "shipment:arrive", "arrival scanned")
    return shipment


# --- temperature data -------------------------------------------------------------------------------


@transaction.atomic
def logger_file_import(
    *, actor: Any, logger: LoggerLink, data: bytes, file_name: str, fmt: LoggerCsvFormat = GENERIC_FORMAT
) -> LoggerFileImport:
    """Import a logger export for a linked logger; a bad file or another logger's file is refused."""
    if actor.site_id not in (logger.shipment.from_site_id, logger.shipment.to_site_id):
        raise NotAllowed("Only the sending or receiving site imports the shipment's logger files.")
    digest = hashlib.sha256(data).hexdigest()
    if logger.imports.filter(sha256=digest).exists():
        raise Conflict(f"{file_name} was already imported for logger {logger.serial}.")
    try:
        parsed = read_logger_csv(data, fmt, name=file_name, expected_logger=logger.serial)
    except InstrumentFileError as exc:
        raise ValidationFailed(str(exc), field="file") from exc
    trace = parsed.trace
    faults = int((~_finite(trace.celsius)).sum())
    row = LoggerFileImport(logger=logger, file_name=file_name[:200], sha256=digest, readings=len(trace),
                           faults=faults, imported_at=clock.now(), imported_by=actor)  # fmt: skip
    row.save()
    TemperatureReading.objects.bulk_create(
        [
            TemperatureReading(logger_serial=logger.serial, at=_utc(t), celsius=_celsius(c), file_import=row)
            for t, c in zip(trace.times.tolist(), trace.celsius.tolist(), strict=True)
        ],
        batch_size=5000,
    )
    ledger_append(actor=actor, record=row, action="create", event="shipment:logger:import",
                  extra={"sha256": digest, "readings": len(trace)})  # fmt: skip
    return row


def _finite(values: Any) -> Any:
    import numpy as np

    return np.isfinite(values)


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _celsius(value: float) -> float | None:
    return None if value != value else value  # NaN: no temperature (probe fault)


def readings_store_live(serial: str, readings: Iterable[tuple[dt.datetime, float | None]]) -> int:
    """Store live readings of a logger idempotently (a re-delivered MQTT message is kept once).

    Returns how many readings were offered; duplicates of (logger, time) are ignored by the database.
    """
    rows = [TemperatureReading(logger_serial=serial, at=at, celsius=c) for at, c in readings]
    TemperatureReading.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    return len(rows)


# --- receipt (T-8.1) --------------------------------------------------------------------------------


def receipt_facts(
    shipment: Shipment, scanned_units: Iterable[str], received_at: dt.datetime
) -> rules.ReceiptFacts:
    """The system's facts for T-8.1.3-a (units), T-8.1.3-d (expiry) and T-8.1.5-d (container)."""
    scanned = {_din_of(s, shipment.expected_units) or s.strip().upper() for s in scanned_units if s.strip()}
    return rules.ReceiptFacts(
        received_at=received_at.timestamp(),
        expires_at=shipment.expires_at.timestamp() if shipment.expires_at else None,
        expected_units=frozenset(shipment.expected_units),
        scanned_units=frozenset(scanned),
        container=shipment.container_type,
        allowed_containers=frozenset(shipment.allowed_containers),
    )


def _answers(raw: Mapping[str, Any]) -> dict[str, rules.CheckAnswer]:
    answers: dict[str, rules.CheckAnswer] = {}
    for check_id, value in raw.items():
        answer = value.get("answer") if isinstance(value, Mapping) else value
        note = str(value.get("note", "")) if isinstance(value, Mapping) else ""
        if answer not in rules.Answer._value2member_map_:
            raise ValidationFailed(f"{check_id}: answer must be yes, no or na.", field=check_id)
        answers[check_id] = rules.CheckAnswer(rules.Answer(answer), note.strip())
    return answers


def _coldchain_json(verdicts: list[tuple[LoggerLink, ColdChainVerdict]]) -> dict[str, Any]:
    return {
        "within_limits": bool(verdicts) and all(v.within_limits for _, v in verdicts),
        "loggers": [
            {"serial": link.serial, "within_limits": v.within_limits, "reasons": list(v.reasons),
             "notes": [f.reason for f in v.findings if not f.blocking],
             "time_out_of_range_s": v.time_out_of_range_s, "mkt_c": v.mkt_c, "mkt_note": v.mkt_note}
            for link, v in verdicts
        ],
    }  # fmt: skip


@transaction.atomic
def receipt_inspect(
    *,
    actor: Any,
    shipment: Shipment,
    scanned_units: Iterable[str],
    answers: Mapping[str, Any],
    anomaly_handling: str = "",
) -> ReceiptInspection:
    """Record the receipt inspection (T-8.1.1-T-8.1.7) with the cold-chain analysis filled in (T-8.1.5).

    Any failed check quarantines or rejects the shipment's units and opens a receipt nonconformance at the
    manufacturer, which must investigate and answer with a disposition (T-8.1.6). An incomplete form is
    refused, naming the checks still to answer.
    """
    from cellchain.logistics.selectors import shipment_coldchain

    _require_site(actor, shipment.to_site, "Receipt inspection")
    require_qualification(actor, "receipt")  # T-8.1.2-a: a designated, qualified receiver
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.status != Shipment.Status.ARRIVED:
        raise Conflict(
            f"Shipment {shipment.number} is {shipment.get_status_display()}: scan its arrival first."
        )
    now = clock.now()
    scanned = [s.strip() for s in scanned_units if s.strip()]
    verdicts = shipment_coldchain(shipment)
    verdict = rules.evaluate_receipt(
        _answers(answers), [v for _, v in verdicts], receipt_facts(shipment, scanned, now)
    )
    if verdict.missing:
        # The record must be complete (T-8.1.7); until it is, the unit is not received and cannot be used.
        raise ValidationFailed(
            "The receipt form is incomplete: " + "; ".join(verdict.reasons), field=verdict.missing[0]
        )
    inspection = ReceiptInspection(
        shipment=shipment, received_at=now, receiver=actor, scanned_units=scanned,
        answers={k: {"answer": v.get("answer"), "note": v.get("note", "")} if isinstance(v, Mapping)
                 else {"answer": v, "note": ""} for k, v in answers.items()},
        coldchain=_coldchain_json(verdicts), outcome=verdict.outcome.value,
        failures=[{"check": f.check.id, "reason": f.reason, "source": f.source.value,
                   "consequence": f.check.consequence.value} for f in verdict.failures],
        triggers=[t.value for t in verdict.triggers], anomaly_handling=anomaly_handling.strip(),
        retain_until=now.date().replace(year=now.year + RETENTION_YEARS),
    )  # fmt: skip
    inspection.save()
    ledger_append(actor=actor, record=inspection, action="create", event="shipment:receive",
                  extra={"outcome": verdict.outcome.value, "reasons": list(verdict.reasons)})  # fmt: skip
    _set_status(actor, shipment, verdict.outcome.value, f"shipment:receive:{verdict.outcome.value}",
                 "; ".join(verdict.reasons) or "receipt accepted")  # fmt: skip
    if verdict.failures:
        _open_nonconformance(actor, shipment, inspection, verdict)
    return inspection


def _open_nonconformance(
    actor: Any, shipment: Shipment, inspection: ReceiptInspection, verdict: rules.ReceiptVerdict
) -> None:
    """A receipt nonconformance at the manufacturer, naming the T-8.1.6 triggers (T-8.1.5, T-8.1.6)."""
    kind = Deviation.Kind.TRANSPORT if verdict.transport_deviation else Deviation.Kind.RECEIPT
    triggers = ", ".join(f"{t.value} {rules.TRIGGER_TEXT[t][0]}" for t in verdict.triggers)
    deviation = deviation_open(
        actor=actor,
        site=shipment.from_site,
        kind=kind,
        title=f"Receipt {verdict.outcome.value}: {shipment.number} at {shipment.to_site.name}",
        description=(
            f"Receipt inspection of shipment {shipment.number} ({shipment.product_name}, batch "
            f"{shipment.batch_number or '-'}) at {shipment.to_site.name}: {verdict.outcome.value}.\n"
            f"Triggers (T-8.1.6): {triggers}.\n"
            + "\n".join(verdict.reasons)
            + "\nThe product stays out of use until the manufacturer has investigated and given its advice."
        ),
        subject=inspection,
        blocks_subject=True,
    )
    inspection.deviation_number = deviation.number
    inspection.save()
    ledger_append(actor=actor, record=inspection, action="amend", event="shipment:receive:nonconformance",
                  reason=f"nonconformance {deviation.number} opened at the manufacturer")  # fmt: skip


@transaction.atomic
def receipt_sign(*, inspection: ReceiptInspection, signer: SignerCredentials) -> ReceiptInspection:
    """The receiver signs the receipt record (T-8.1.7-b) with password re-entry."""
    if signer.user.pk != inspection.receiver_id:
        raise NotAllowed("The receipt record is signed by the receiver who recorded it (T-8.1.7-b).")
    record_sign(record=inspection, signer=signer, meaning=Meaning.PERFORMED, qualification="receipt")
    return inspection


# --- hospital storage (issue 6 item 5) ---------------------------------------------------------------


@transaction.atomic
def storage_location_create(
    *, actor: Any, code: str, name: str, storage_mode: str, monitoring_reference: str
) -> StorageLocation:
    """Add a storage location at the actor's hospital site with its storage mode (T-7.7-d) and the reference of
    the device that monitors its temperature (T-8.1.2-c)."""
    if actor.site is None or not actor.is_hospital_user:
        raise NotAllowed("Hospital storage locations are added by the hospital site's own staff.")
    if storage_mode not in StorageLocation.Mode.values:
        raise ValidationFailed(f"Unknown storage mode {storage_mode!r}.", field="storage_mode")
    if not monitoring_reference.strip():
        raise ValidationFailed("Name the temperature monitor of the location.", field="monitoring_reference")
    if StorageLocation.objects.filter(site=actor.site, code=code.strip()).exists():
        raise Conflict(f"Location {code.strip()} exists already at {actor.site.name}.")
    row = StorageLocation(site=actor.site, code=code.strip(), name=name.strip(), storage_mode=storage_mode,
                          monitoring_reference=monitoring_reference.strip(), created_at=clock.now(),
                          created_by=actor)  # fmt: skip
    row.full_clean()
    row.save()
    ledger_append(actor=actor, record=row, action="create", event="storage_location:create")
    return row


def _receipt_signed(inspection: ReceiptInspection) -> bool:
    return any(
        s.meaning == Meaning.PERFORMED and signature_is_current(s, inspection)
        for s in signatures_of(inspection)
    )


def _stock_in_facts(location: StorageLocation, shipment: Shipment, din: str, now: dt.datetime) -> Any:
    from cellchain.logistics.selectors import receipt_get, stock_open_in

    inspection = receipt_get(shipment)
    open_in = stock_open_in(din, location.site_id)
    return storage_rules.StockInFacts(
        din=din,
        unit_mode=storage_rules.SHIPPER_STORAGE_MODE[ShipperKind(shipment.kind)],
        location_mode=storage_rules.StorageMode(location.storage_mode),
        location_label=location.code,
        receipt_outcome=None if inspection is None else inspection.outcome,
        receipt_signed=inspection is not None and _receipt_signed(inspection),
        already_stored_at=None if open_in is None else open_in.location.code,
        expires_at=shipment.expires_at,
        now=now,
    )


def _scanned_unit(actor: Any, scanned_text: str) -> tuple[Shipment, str]:
    from cellchain.logistics.selectors import shipment_of_unit

    found = shipment_of_unit(actor.site_id, scanned_text)
    if found is None:
        raise IdentityMismatch(
            f"Scanned {scanned_text.strip()!r} is not a unit received at {actor.site.name}.", field="scan"
        )
    return found


@transaction.atomic
def stock_in(
    *,
    actor: Any,
    location: StorageLocation,
    scanned_text: str,
    storage_time_limit: dt.timedelta | None = None,
    note: str = "",
) -> StockEvent:
    """Scan a received unit into a storage location (issue 6 item 5).

    Refused unless the unit's receipt is recorded, accepted and signed (T-8.1.1), the location has the unit's
    storage mode (T-7.7-d) and the unit is not expired (T-8.1.3-d). The storage time limit from the label
    (T-7.7-e) counts from now.
    """
    require_qualification(actor, "stock")
    _require_site(actor, location.site, "Stocking")
    if storage_time_limit is not None and storage_time_limit <= dt.timedelta(0):
        raise ValidationFailed("The storage time limit must be positive.", field="storage_time_limit")
    shipment, din = _scanned_unit(actor, scanned_text)
    StorageLocation.objects.select_for_update().get(pk=location.pk)  # one stock move at a time per location
    now = clock.now()
    verdict = storage_rules.check_stock_in(_stock_in_facts(location, shipment, din, now))
    if not verdict.allowed:
        raise Conflict(" ".join(verdict.reasons))
    event = StockEvent(kind=StockEvent.Kind.IN, purpose=StockEvent.Purpose.STORE, location=location, din=din,
                       shipment=shipment, scanned_text=scanned_text.strip()[:120], at=now, actor=actor,
                       expires_at=shipment.expires_at,
                       storage_until=storage_rules.storage_limit_end(now, storage_time_limit),
                       note=note.strip()[:500])  # fmt: skip
    event.full_clean()
    event.save()
    ledger_append(actor=actor, record=event, action="create", event="unit:stock:in",
                  extra={"location": location.code, "storage_mode": location.storage_mode})  # fmt: skip
    return event


@transaction.atomic
def stock_out(*, actor: Any, scanned_text: str, purpose: str, note: str = "") -> StockEvent:
    """Scan a unit out of hospital storage (issue 6 item 5); a unit past its expiry or storage time limit is
    not issued for thaw, only returned or discarded (T-7.7-e, T-8.1.3-d)."""
    from cellchain.logistics.selectors import stock_open_in

    require_qualification(actor, "stock")
    if purpose not in StockEvent.Purpose.values or purpose == StockEvent.Purpose.STORE:
        raise ValidationFailed(f"Unknown stock-out purpose {purpose!r}.", field="purpose")
    if purpose != StockEvent.Purpose.THAW and not note.strip():
        raise ValidationFailed("Say why the unit is returned or discarded.", field="note")
    _, din = _scanned_unit(actor, scanned_text)
    stocked = stock_open_in(din, actor.site_id)
    if stocked is None:
        raise Conflict(f"Unit {din} is not in stock at {actor.site.name}.")
    StorageLocation.objects.select_for_update().get(pk=stocked.location_id)
    now = clock.now()
    if purpose == StockEvent.Purpose.THAW:
        entry = storage_rules.watch_entry(stocked.expires_at, stocked.storage_until, now, dt.timedelta(0))
        verdict = storage_rules.check_stock_out_for_use(din, entry)
        if not verdict.allowed:
            raise Conflict(" ".join(verdict.reasons))
    event = StockEvent(kind=StockEvent.Kind.OUT, purpose=purpose, location=stocked.location, din=din,
                       shipment=stocked.shipment, scanned_text=scanned_text.strip()[:120], at=now, actor=actor,
                       expires_at=stocked.expires_at, storage_until=stocked.storage_until, stock_in=stocked,
                       note=note.strip()[:500])  # fmt: skip
    event.full_clean()
    event.save()
    ledger_append(actor=actor, record=event, action="create", event=f"unit:stock:out:{purpose}",
                  extra={"location": stocked.location.code})  # fmt: skip
    return event
