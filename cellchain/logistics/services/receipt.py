"""The hospital's receipt inspection (T-8.1.1-T-8.1.7) with the device used and the receiving area
(T-8.1.2-c/d), the cold-chain analysis filled in, and the receiver's signature."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from cellchain.accounts.services import require_qualification
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.domain import receipt as rules
from cellchain.domain.coldchain import ColdChainVerdict
from cellchain.ledger.records import record_amend, record_create
from cellchain.logistics import outgoing_messages
from cellchain.logistics.models import LoggerLink, MonitoringDevice, ReceiptInspection, Shipment
from cellchain.logistics.scans import UnitScan, read_unit_scan
from cellchain.logistics.services._common import RETENTION_YEARS, guard_label_coi, require_site, set_status
from cellchain.logistics.services.devices import require_usable_device
from cellchain.logistics.services.release import shipment_release_check
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_open
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials, record_sign


def receipt_facts(
    shipment: Shipment, scanned_units: Iterable[str], received_at: dt.datetime
) -> rules.ReceiptFacts:
    """The system's facts for T-8.1.3-a (units), T-8.1.3-d (expiry) and T-8.1.5-d (container).

    Each scan is a typed DIN or a label barcode; a unit not on the order counts by the DIN it reads.
    """
    scans = [read_unit_scan(s, shipment.expected_units) for s in scanned_units if s.strip()]
    return rules.ReceiptFacts(
        received_at=received_at.timestamp(),
        expires_at=shipment.expires_at.timestamp() if shipment.expires_at else None,
        expected_units=frozenset(shipment.expected_units),
        scanned_units=frozenset(scan.din or scan.shown.upper() for scan in scans),
        container=shipment.container_type,
        allowed_containers=frozenset(shipment.allowed_containers),
    )


def _read_scans(actor: Any, shipment: Shipment, scanned_units: Iterable[str]) -> list[UnitScan]:
    """Read every scan (one per line on the form): an unreadable one is refused with its line, a label of
    another chain of identity is refused and recorded as an identity incident (G-4, T-8.1.3-a)."""
    scans = []
    for line, text in enumerate((s for s in scanned_units if s.strip()), start=1):
        scan = read_unit_scan(text, shipment.expected_units)
        if scan.din is None and scan.problem:
            raise ValidationFailed(
                f"Scan {line} ({scan.text[:60]!r}) could not be read as a unit: {scan.problem}. Scan the bag's "
                "label again or type its DIN with the check character.",
                field="scanned_units",
            )
        guard_label_coi(actor=actor, shipment=shipment, scan=scan, where="receipt")
        scans.append(scan)
    return scans


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


def receipt_inspect(
    *,
    actor: Any,
    shipment: Shipment,
    scanned_units: Iterable[str],
    answers: Mapping[str, Any],
    monitoring_device: MonitoringDevice | None,
    receiving_area: str,
    anomaly_handling: str = "",
) -> ReceiptInspection:
    """Record the receipt inspection (T-8.1.1-T-8.1.7) with the cold-chain analysis filled in (T-8.1.5).

    The temperature-monitoring device used is recorded and must be in service and within its calibration
    (T-8.1.2-c, T-10.12); so is the receiving area (T-8.1.2-d). Any failed check quarantines or rejects the
    shipment's units and opens a receipt nonconformance at the manufacturer, which must investigate and
    answer with a disposition (T-8.1.6). An incomplete form is refused, naming the checks still to answer.

    Each unit is scanned by its label barcode or typed DIN; a label of another chain of identity is refused
    and recorded as an identity incident (G-4), so this runs outside a transaction of its own. The record
    keeps the batch's release as QC has it at receipt: "conditionally released" with the tests still
    pending tells the hospital what it holds (Q-2-b).
    """
    require_site(actor, shipment.to_site, "Receipt inspection")
    require_qualification(actor, "receipt")  # T-8.1.2-a: a designated, qualified receiver
    if monitoring_device is None:
        raise ValidationFailed(
            "T-8.1.2-c: choose the temperature-monitoring device used at receipt.", field="monitoring_device"
        )
    if monitoring_device.site_id != shipment.to_site_id:
        raise NotAllowed(f"Device {monitoring_device.code} is not a device of {shipment.to_site.name}.")
    require_usable_device(monitoring_device, f"the receipt of {shipment.number}")
    if not receiving_area.strip():
        raise ValidationFailed(
            "T-8.1.2-d: name the area where the shipment is received.", field="receiving_area"
        )
    if shipment.status != Shipment.Status.ARRIVED:
        raise Conflict(
            f"Shipment {shipment.number} is {shipment.get_status_display()}: scan its arrival first."
        )
    scans = _read_scans(actor, shipment, scanned_units)
    return _record(actor, shipment, scans, answers, monitoring_device, receiving_area, anomaly_handling)


@transaction.atomic
def _record(
    actor: Any,
    shipment: Shipment,
    scans: list[UnitScan],
    answers: Mapping[str, Any],
    monitoring_device: MonitoringDevice,
    receiving_area: str,
    anomaly_handling: str,
) -> ReceiptInspection:
    from cellchain.logistics.selectors import shipment_coldchain

    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.status != Shipment.Status.ARRIVED:
        raise Conflict(
            f"Shipment {shipment.number} is {shipment.get_status_display()}: scan its arrival first."
        )
    now = clock.now()
    # The units as read: the DIN of each bag (label barcode or typed), what was scanned for anything else.
    scanned = [scan.din or scan.shown.upper() for scan in scans]
    verdicts = shipment_coldchain(shipment)
    verdict = rules.evaluate_receipt(
        _answers(answers), [v for _, v in verdicts], receipt_facts(shipment, scanned, now)
    )
    release = shipment_release_check(shipment)
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
        retain_until=now.date().replace(year=now.year + RETENTION_YEARS), monitoring_device=monitoring_device,
        receiving_area=receiving_area.strip()[:120],
        release_status="" if release is None else release.state.value,
        release_pending=[] if release is None else list(release.pending),
    )  # fmt: skip
    record_create(
        actor=actor,
        record=inspection,
        event="shipment:receive",
        extra={
            "outcome": verdict.outcome.value,
            "reasons": list(verdict.reasons),
            "scans": [scan.text[:120] for scan in scans],
        },
    )
    set_status(actor, shipment, verdict.outcome.value, f"shipment:receive:{verdict.outcome.value}",
                 "; ".join(verdict.reasons) or "receipt accepted")  # fmt: skip
    if verdict.failures:
        _open_nonconformance(actor, shipment, inspection, verdict)
    # issue 12 item 2: the result goes to the manufacturer
    outgoing_messages.receipt_send(actor, inspection)
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
            f"Limits from {shipment.limits_source or 'the shipper kind reference values'}.\n"
            f"Triggers (T-8.1.6): {triggers}.\n"
            + "\n".join(verdict.reasons)
            + "\nThe product stays out of use until the manufacturer has investigated and given its advice."
        ),
        subject=inspection,
        blocks_subject=True,
    )
    inspection.deviation_number = deviation.number
    record_amend(
        actor=actor,
        record=inspection,
        event="shipment:receive:nonconformance",
        reason=f"nonconformance {deviation.number} opened at the manufacturer",
    )


@transaction.atomic
def receipt_sign(*, inspection: ReceiptInspection, signer: SignerCredentials) -> ReceiptInspection:
    """The receiver signs the receipt record (T-8.1.7-b) with password re-entry."""
    if signer.user.pk != inspection.receiver_id:
        raise NotAllowed("The receipt record is signed by the receiver who recorded it (T-8.1.7-b).")
    record_sign(record=inspection, signer=signer, meaning=Meaning.PERFORMED, qualification="receipt")
    return inspection
