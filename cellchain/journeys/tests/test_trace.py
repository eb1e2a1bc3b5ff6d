"""Journey trace and EPCIS export: constant queries whatever the events; schema-valid export (T-10.4; item 41)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from cellchain.domain.custody import CustodyStep
from cellchain.domain.tests.epcis_reference import assert_valid_and_identified
from cellchain.journeys import services
from cellchain.journeys.models import CustodyEvent
from cellchain.journeys.selectors import journey_epcis, journey_get_for, journey_trace
from cellchain.journeys.tests.test_services import _labelled
from cellchain.ledger.tests.behind import bulk_create_unledgered

pytestmark = pytest.mark.django_db
STANDARDS = Path(__file__).resolve().parents[3] / ".." / "shared" / "standards" / "epcis"


def _add_observations(journey, unit, actor, count):
    """Bulk scan history (bypassing services: only the read side is under test here)."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    bulk_create_unledgered(
        CustodyEvent,
        [
            CustodyEvent(
                journey=journey,
                unit=unit,
                step=CustodyStep.RETRIEVE,
                site=unit.site,
                actor=actor,
                at=start + dt.timedelta(minutes=i),
                scanned_text=unit.din_keyboard,
                scanned_din=unit.din,
                verdict="blocked",
                reasons=[{"message": "duplicate", "fault": "duplicate_scan"}],
            )
            for i in range(count)
        ],
    )


@pytest.mark.parametrize("events", [10, 1000])
def test_trace_runs_in_a_constant_number_of_queries(kit, world, django_assert_num_queries, events):
    journey, (unit, _) = _labelled(kit, world)
    _add_observations(journey, unit, world["apheresis_sun"], events)
    journey = journey_get_for(world["qa_li"], journey.coi)  # as the trace page loads it
    with django_assert_num_queries(11):
        trace = journey_trace(journey)
    scans = [entry for entry in trace if entry.kind.startswith("scan:")]
    assert len(scans) == events + 2  # two label verifications
    assert trace == sorted(trace, key=lambda entry: entry.at)


def test_trace_shows_who_where_identifiers_and_signatures(kit, world):
    journey, (unit, _) = _labelled(kit, world)
    trace = journey_trace(journey)
    kinds = [entry.kind for entry in trace]
    for kind in (
        "enrol",
        "consent",
        "eligibility",
        "booking",
        "screening",
        "collection",
        "label",
        "scan:label",
    ):
        assert kind in kinds
    label = next(entry for entry in trace if entry.kind == "label")
    assert any("performed" in s for s in label.signatures) and any("verified" in s for s in label.signatures)
    scan = next(entry for entry in trace if entry.kind == "scan:label")
    assert scan.who == world["apheresis_sun"].printed_name
    assert scan.verdict == "match"
    assert "W2001" in scan.identifiers[0] and unit.din in scan.identifiers[0]


def test_trace_holds_no_patient_identity(kit, world):
    """X-7: the trace is what a manufacturer user reads."""
    journey, _ = _labelled(kit, world)
    identity = journey.patient_identity
    text = repr(journey_trace(journey))
    for value in (identity.name, identity.hospital_record_number, identity.wristband_id):
        assert value not in text


def test_custody_export_validates_against_the_epcis_schema(kit, world):
    journey, (unit, other) = _labelled(kit, world)
    details = services.ScanDetails(shipper_code="SHIP-01")
    services.unit_custody_scan(
        actor=world["apheresis_sun"],
        unit=unit,
        step=CustodyStep.PACK,
        scanned_text=other.din_keyboard,
        details=details,
    )  # wrong bag: blocked
    for step, actor, d in (
        (CustodyStep.PACK, "apheresis_sun", details),
        (CustodyStep.HAND_TO_COURIER, "apheresis_sun", None),
        (CustodyStep.RECEIVE_AT_MANUFACTURER, "logistics_zhao", None),
    ):
        services.unit_custody_scan(
            actor=world[actor], unit=unit, step=step, scanned_text=unit.din_keyboard, details=d
        )
    document = journey_epcis(journey)
    schema = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
    validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
    assert {"uri", "date-time"} <= set(Draft7Validator.FORMAT_CHECKER.checkers)
    assert [e.message for e in validator.iter_errors(document)] == []
    events = document["epcisBody"]["eventList"]
    assert [e["type"] for e in events].count("AggregationEvent") == 1
    assert [e.get("bizStep") for e in events][-3:] == ["packing", "shipping", "receiving"]
    mismatch = [e for e in events if e.get("disposition") == "mismatch_instance"]
    assert len(mismatch) == 1 and mismatch[0]["cellchain:identityIncident"]
    assert all(e["eventTimeZoneOffset"] == "+08:00" for e in events)
    # Issue 12 item 2: each eventID is the GS1 event hash (cross-checked with GS1's implementation), and the
    # same custody history exported again names its events the same.
    assert_valid_and_identified(document)
    assert [e["eventID"] for e in journey_epcis(journey)["epcisBody"]["eventList"]] == [
        e["eventID"] for e in events
    ]
