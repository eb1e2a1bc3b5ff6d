"""The manufacturer's word on a unit, kept from its messages at a hospital installation (issue 12 item 2).

A hospital does not read the manufacturer's tables: release, conditional release, late results and recalls
reach it as standard messages, and each one received updates the unit's `ReportedUnit` here, ledgered in the
receiving transaction. Messages can arrive out of order (retries, a receiver that was down): a message older than
the one applied leaves the record as it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from cellchain.clinic.models import ClinicUnit, ReportedUnit
from cellchain.clinic.services._common import amend, create
from cellchain.core.errors import Conflict, ValidationFailed


@dataclass(frozen=True)
class UnitReport:
    """What one message says of a unit: whose it is and where its release stands."""

    din: str
    coi: str
    batch_number: str
    manufacturer: str
    release: str  # a ClinicUnit.Release value
    event_time: dt.datetime
    event_id: str
    reasons: tuple[str, ...] = ()
    product_code: str = ""
    product_version: int | None = None


_CHANGES = ("release", "reasons", "event_time", "event_id", "product_code", "product_version")


def _checked(report: UnitReport) -> None:
    if report.release not in ClinicUnit.Release.values:
        raise ValidationFailed(
            f"Unknown release status {report.release!r} for unit {report.din}.", field="release"
        )
    if report.event_time.tzinfo is None:
        raise ValidationFailed(f"The event time for unit {report.din} has no time zone.", field="event_time")


@transaction.atomic
def reported_unit_record(*, actor: object | None, report: UnitReport) -> ReportedUnit:
    """Keep what the manufacturer reported of a unit; the latest event stands (issue 12 item 2, Q-2.5-c).

    A report that names another COI, batch or manufacturer for a DIN already known is refused: a DIN names one
    unit of one patient, and a message saying otherwise is a mix-up to investigate, not an update.
    """
    _checked(report)
    known = ReportedUnit.objects.select_for_update().filter(din=report.din).first()
    if known is None:
        return create(  # type: ignore[return-value]
            actor,
            ReportedUnit(
                din=report.din,
                coi=report.coi,
                batch_number=report.batch_number,
                manufacturer=report.manufacturer,
                release=report.release,
                reasons=list(report.reasons),
                event_time=report.event_time,
                event_id=report.event_id,
                product_code=report.product_code,
                product_version=report.product_version,
            ),
            "unit:reported",
        )
    identity = (known.coi, known.batch_number, known.manufacturer)
    if identity != (report.coi, report.batch_number, report.manufacturer):
        raise Conflict(
            f"Unit {report.din} is COI {known.coi}, batch {known.batch_number} of {known.manufacturer}; "
            f"message {report.event_id} says COI {report.coi}, batch {report.batch_number} of "
            f"{report.manufacturer}."
        )
    if report.event_time < known.event_time or report.event_id == known.event_id:
        return known
    if report.event_time == known.event_time:
        return _simultaneous(actor, known, report)
    for name in _CHANGES:
        value = list(report.reasons) if name == "reasons" else getattr(report, name)
        setattr(known, name, value)
    amend(actor, known, "unit:reported", reason=f"message {report.event_id} from {report.manufacturer}")
    return known


_SEVERITY = [
    ClinicUnit.Release.RELEASED,
    ClinicUnit.Release.CONDITIONAL,
    ClinicUnit.Release.NOT_RELEASED,
    ClinicUnit.Release.QUARANTINED,
    ClinicUnit.Release.REJECTED,
]


def _simultaneous(actor: object | None, known: ReportedUnit, report: UnitReport) -> ReportedUnit:
    """Two events of the same time (e.g. a late positive and the recall it starts, decision 0022): neither is
    newer, so the less usable status stands and both reasons are kept, whatever order they arrived in."""
    release = max(known.release, report.release, key=_SEVERITY.index)
    reasons = [*known.reasons, *(r for r in report.reasons if r not in known.reasons)]
    if (release, reasons) == (known.release, list(known.reasons)):
        return known
    known.release, known.reasons, known.event_id = release, reasons, report.event_id
    amend(actor, known, "unit:reported", reason=f"message {report.event_id} from {report.manufacturer}")
    return known
