"""EPCIS 2.0 export: every document validates against the GS1 JSON schema (REGULATORY item 41; T-10.4)."""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from cellchain.domain.epcis_hash import is_event_hash
from cellchain.domain.tests.epcis_reference import assert_valid_and_identified
from cellchain.journeys.epcis import (
    AggregationEvent,
    EpcisAction,
    EpcisIds,
    EventCommon,
    ObjectEvent,
    TransformationEvent,
    epcis_document,
    epcis_offset,
    event_json,
)

STANDARDS = Path(__file__).resolve().parents[3] / ".." / "shared" / "standards" / "epcis"
CST = timezone(timedelta(hours=8))
IDS = EpcisIds()
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=CST)


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
    checker = Draft7Validator.FORMAT_CHECKER
    # Without these the format checker silently skips uri/date-time, and the test would prove nothing.
    assert {"uri", "date-time"} <= set(checker.checkers)
    return Draft7Validator(schema, format_checker=checker)


def _errors(validator, document):
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def _common(number, biz_step, **extra):
    return EventCommon(
        event_time=T0 + timedelta(hours=number),
        record_time=T0 + timedelta(hours=number, seconds=2),
        biz_step=biz_step,
        read_point=IDS.site("H0001"),
        **extra,
    )


def _journey_events():
    unit = IDS.unit("W123425000042")
    return [
        ObjectEvent(_common(1, "commissioning", disposition="active"), (unit,), EpcisAction.ADD),
        AggregationEvent(_common(2, "packing", disposition="container_closed"), IDS.shipper("S-1"), (unit,)),
        ObjectEvent(
            _common(
                3,
                "shipping",
                disposition="in_transit",
                sources=(("location", IDS.site("H0001")),),
                destinations=(("location", IDS.site("M0001")),),
                extensions=(("scanned", "=W12342500004282"), ("verdict", "match"), ("actor", "nurse_wang")),
            ),
            (unit,),
        ),
        ObjectEvent(
            _common(
                4, "inspecting", disposition="mismatch_instance", extensions=(("verdict", "wrong_patient"),)
            ),
            (IDS.unit("W123425000099"),),
        ),
        ObjectEvent(_common(5, "receiving", disposition="in_progress"), (unit,)),
        ObjectEvent(
            _common(6, "storing", biz_location=IDS.storage_position("M0001", "T1.R2.B3.P4")), (unit,)
        ),
        TransformationEvent(
            _common(7, "creating_class_instance"), (unit,), (IDS.product("B2025-001-1"),), IDS.event("tx-1")
        ),
    ]


def test_the_shared_gs1_examples_validate_so_the_validator_is_sound(validator):
    example = json.loads(
        (STANDARDS / "JSON" / "Example_9.6.1-ObjectEvent.jsonld").read_text(encoding="utf-8")
    )
    assert _errors(validator, example) == []


def test_journey_document_with_all_three_event_types_validates(validator):
    document = epcis_document(
        _journey_events(), document_id=IDS.event("doc-1"), created_at=T0 + timedelta(days=1)
    )
    assert _errors(validator, document) == []
    types = [event["type"] for event in document["epcisBody"]["eventList"]]
    assert types == [
        "ObjectEvent",
        "AggregationEvent",
        "ObjectEvent",
        "ObjectEvent",
        "ObjectEvent",
        "ObjectEvent",
        "TransformationEvent",
    ]


def test_event_fields_carry_who_where_when_and_the_scan(validator):
    document = epcis_document(_journey_events(), document_id=IDS.event("doc-1"), created_at=T0)
    shipping = document["epcisBody"]["eventList"][2]
    assert shipping["eventTimeZoneOffset"] == "+08:00"
    assert shipping["eventTime"] == "2025-03-01T12:30:00.000+08:00"
    assert shipping["cellchain:actor"] == "nurse_wang"
    assert shipping["cellchain:scanned"] == "=W12342500004282"
    assert shipping["destinationList"] == [{"type": "location", "destination": IDS.site("M0001")}]
    assert document["epcisBody"]["eventList"][5]["bizLocation"]["id"].endswith("/position/T1.R2.B3.P4")


def test_a_broken_document_is_caught_by_the_schema(validator):
    document = epcis_document(_journey_events(), document_id=IDS.event("doc-1"), created_at=T0)
    document["epcisBody"]["eventList"][0]["action"] = "MOVE"
    document["epcisBody"]["eventList"][1]["eventTime"] = "yesterday"
    assert len(_errors(validator, document)) >= 2


def test_event_times_without_offset_are_refused():
    with pytest.raises(ValueError, match="time zone"):
        EventCommon(datetime(2025, 1, 1), T0, "receiving", IDS.site("M0001"))


def test_offsets_format_for_utc_and_negative_zones():
    assert epcis_offset(datetime(2025, 1, 1, tzinfo=UTC_ZONE)) == "+00:00"
    assert epcis_offset(datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=-6)))) == "-06:00"


UTC_ZONE = UTC


def test_every_event_id_is_the_gs1_event_hash_cross_checked_with_the_reference_implementation():
    """Issue 12 item 2: eventID = ni:///sha-256 hash of the event, the same by our code and GS1's tool."""
    document = epcis_document(_journey_events(), document_id=IDS.event("doc-1"), created_at=T0)
    assert_valid_and_identified(document)
    ids = [event["eventID"] for event in document["epcisBody"]["eventList"]]
    assert all(is_event_hash(i) for i in ids) and len(set(ids)) == len(ids)
    assert not any("id.cellchain.org/event" in i for i in ids)


def test_two_installations_writing_the_same_event_give_it_the_same_id_and_a_changed_event_another():
    """Issue 12 item 2: no database key in the ID, so installations agree; any change of a value changes it."""
    first = epcis_document(_journey_events(), document_id=IDS.event("doc-a"), created_at=T0)
    again = epcis_document(
        _journey_events(), document_id=IDS.event("doc-b"), created_at=T0 + timedelta(days=3)
    )
    assert [e["eventID"] for e in first["epcisBody"]["eventList"]] == [
        e["eventID"] for e in again["epcisBody"]["eventList"]
    ]
    unit = IDS.unit("W123425000042")
    base = ObjectEvent(_common(5, "receiving", disposition="in_progress"), (unit,))
    later = ObjectEvent(
        EventCommon(
            event_time=T0 + timedelta(hours=5, milliseconds=1),
            record_time=T0 + timedelta(hours=5, seconds=2),
            biz_step="receiving",
            read_point=IDS.site("H0001"),
            disposition="in_progress",
        ),
        (unit,),
    )
    other_unit = ObjectEvent(_common(5, "receiving", disposition="in_progress"), (IDS.unit("W123425000043"),))
    hashes = {event_json(e)["eventID"] for e in (base, later, other_unit)}
    assert len(hashes) == 3
    recorded_later = ObjectEvent(
        EventCommon(
            event_time=T0 + timedelta(hours=5),
            record_time=T0 + timedelta(days=9),
            biz_step="receiving",
            read_point=IDS.site("H0001"),
            disposition="in_progress",
        ),
        (unit,),
    )
    assert event_json(recorded_later)["eventID"] == event_json(base)["eventID"]  # recordTime is not hashed
