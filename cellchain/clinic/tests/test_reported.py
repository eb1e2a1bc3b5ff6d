"""A hospital installation judges a unit on what its manufacturer reported by message (issue 12 item 2;
Q-2.5-c recall, T-8.1.6 receipt), never by reading the manufacturer's tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.clinic import upstream
from cellchain.clinic.models import ClinicUnit, ReportedUnit
from cellchain.clinic.services.reported import UnitReport, reported_unit_record
from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)


def _report(**changes: Any) -> UnitReport:
    fields: dict[str, Any] = {
        "din": "W1234 26 000001",
        "coi": "W1234260000017",
        "batch_number": "FB-2026-0001",
        "manufacturer": "maker-a",
        "release": ClinicUnit.Release.NOT_RELEASED,
        "event_time": T0,
        "event_id": "ni:///sha-256;aa?ver=CBV2.0",
    }
    return UnitReport(**(fields | changes))


def test_the_latest_report_stands_and_each_change_is_ledgered() -> None:
    before = LedgerEntry.objects.count()
    reported_unit_record(actor=None, report=_report())
    released = _report(
        release=ClinicUnit.Release.RELEASED, event_time=T0 + dt.timedelta(hours=2), event_id="ni:///b"
    )
    unit = reported_unit_record(actor=None, report=released)
    assert unit.release == ClinicUnit.Release.RELEASED and unit.event_id == "ni:///b"
    assert LedgerEntry.objects.count() == before + 2


def test_a_late_arriving_older_report_does_not_undo_a_newer_one() -> None:
    """A recall sent after the release but delivered first is not overwritten by the release (retries, Q-2.5-c)."""
    recall = _report(
        release=ClinicUnit.Release.QUARANTINED,
        reasons=("recall: sterility result late",),
        event_time=T0 + dt.timedelta(days=1),
        event_id="ni:///recall",
    )
    reported_unit_record(actor=None, report=recall)
    entries = LedgerEntry.objects.count()
    unit = reported_unit_record(actor=None, report=_report(release=ClinicUnit.Release.RELEASED))
    assert unit.release == ClinicUnit.Release.QUARANTINED
    assert LedgerEntry.objects.count() == entries


def test_a_report_naming_another_patient_for_a_known_din_is_refused() -> None:
    reported_unit_record(actor=None, report=_report())
    with pytest.raises(Conflict, match=r"W1234260000017.*says COI W9999"):
        reported_unit_record(
            actor=None, report=_report(coi="W9999260000010", event_time=T0 + dt.timedelta(hours=1))
        )
    assert ReportedUnit.objects.get().coi == "W1234260000017"


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"release": "usable"}, "release"), ({"event_time": dt.datetime(2026, 6, 1, 8, 0)}, "event_time")],
)
def test_a_malformed_report_is_refused_with_the_field_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        reported_unit_record(actor=None, report=_report(**changes))
    assert refused.value.field == field
    assert not ReportedUnit.objects.exists()


def test_a_hospital_installation_takes_the_facts_from_the_report(settings: Any) -> None:
    settings.CELLCHAIN_INSTALLATION_ROLE = "hospital"
    assert upstream.unit_facts("W1234 26 000001") is None
    reported_unit_record(
        actor=None,
        report=_report(release=ClinicUnit.Release.CONDITIONAL, reasons=("batch conditionally released",)),
    )
    facts = upstream.unit_facts("W1234 26 000001")
    assert facts is not None
    assert (facts.coi, facts.batch_number, facts.release) == (
        "W1234260000017",
        "FB-2026-0001",
        ClinicUnit.Release.CONDITIONAL,
    )
    assert facts.product_unit is None and upstream.product_unit("W1234 26 000001") is None
