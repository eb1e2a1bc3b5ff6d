"""Manufacturer -> hospital EPCIS messages and their parsers (issue 12 item 2, first bullet; T-7.4, T-7.6,
T-7.15, T-8.1.3-a, T-8.1.5, Q-2-b, Q-2.5-b, Q-2.5-c).

Every document is checked against GS1's EPCIS 2.0 JSON schema and its eventID against GS1's reference event
hash implementation (files and a client nobody here wrote)."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cellchain.domain.epcis_events import EPCIS_NAMESPACES, EpcisIds
from cellchain.domain.epcis_hash import event_hash
from cellchain.domain.epcis_messages import (
    DocumentRef,
    LateResultNotice,
    MessageError,
    MessageKind,
    ProductInformationNotice,
    RecallDisposition,
    RecallNotice,
    ReleaseNotice,
    ReleaseStatus,
    ResultOutcome,
    ShipmentNotice,
    UnitLine,
    late_result_message,
    logger_data,
    message_kind,
    parse_late_result,
    parse_message,
    parse_product_information,
    parse_recall,
    parse_release,
    parse_shipment,
    product_information_message,
    recall_message,
    release_message,
    shipment_message,
)
from cellchain.domain.tests.epcis_reference import assert_valid_and_identified

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=CST)
IDS = EpcisIds("https://id.maker-a.example")
UNITS = (
    UnitLine("W123426000042", "CHA0001260000017", "S1234", "B2026-001"),
    UnitLine("W123426000043", "CHA0001260000017", "S1234", "B2026-001"),
)
COA = DocumentRef("https://id.maker-a.example/documents/coa/B2026-001.pdf",
                  hashlib.sha256(b"%PDF-1.7 CoA B2026-001").hexdigest(), "certificate_of_analysis")  # fmt: skip
SENSOR = {
    "sensorMetadata": {"deviceID": "https://id.maker-a.example/logger/TL-7", "startTime": "2026-03-01T01:00:00.000+00:00",
                       "endTime": "2026-03-02T01:00:00.000+00:00"},
    "sensorReport": [
        {"type": "Temperature", "minValue": -196.2, "maxValue": -142.1, "meanValue": -180.55, "uom": "CEL"},
        {"type": "Temperature", "exception": "ALARM_CONDITION", "time": "2026-03-01T10:00:00.000+00:00",
         "value": -142.1, "uom": "CEL", "cellchain:durationSeconds": 600.0, "cellchain:limitCelsius": -150.0},
    ],
}  # fmt: skip

SHIPMENT = ShipmentNotice("S-2026-0007", T0, "M0001", "H0001", "LN2-88", "ln2_dry_shipper", UNITS,
                          expires_at=T0 + timedelta(days=180), sensors=(SENSOR,))  # fmt: skip
RELEASE = ReleaseNotice("S1234", "B2026-001", ReleaseStatus.RELEASED, T0, "M0001", UNITS, COA)
CONDITIONAL = ReleaseNotice("S1234", "B2026-001", ReleaseStatus.CONDITIONAL, T0, "M0001", UNITS, COA,
                            pending_tests=("sterility (ChP 1101)", "mycoplasma (ChP 3301)"))  # fmt: skip
LATE = LateResultNotice("S1234", "B2026-001", "sterility (ChP 1101)", ResultOutcome.FAIL, T0 + timedelta(days=7),
                        "M0001", UNITS, DocumentRef(COA.uri.replace("coa", "results"), COA.sha256, "test_report"))  # fmt: skip
RECALL = RecallNotice("RC-2026-002", "S1234", "B2026-001", "compendial sterility positive after conditional release",
                      T0 + timedelta(days=7, minutes=5), "M0001", UNITS)  # fmt: skip
PACKAGE = ProductInformationNotice("S1234", "B2026-001", 3, T0, "M0001", UNITS,
                                   DocumentRef("https://id.maker-a.example/packages/S1234/B2026-001/v3.json",
                                               COA.sha256, "product_information", "application/json"))  # fmt: skip

CASES = [
    pytest.param(shipment_message, parse_shipment, SHIPMENT, MessageKind.SHIPMENT, id="shipment T-8.1.5"),
    pytest.param(release_message, parse_release, RELEASE, MessageKind.RELEASE, id="release Q-2-b"),
    pytest.param(release_message, parse_release, CONDITIONAL, MessageKind.RELEASE, id="conditional Q-2.5-b"),
    pytest.param(late_result_message, parse_late_result, LATE, MessageKind.LATE_RESULT, id="late result Q-2.5-c"),
    pytest.param(recall_message, parse_recall, RECALL, MessageKind.RECALL, id="recall Q-2.5-c"),
    pytest.param(product_information_message, parse_product_information, PACKAGE, MessageKind.PRODUCT_INFORMATION,
                 id="package T-7.4"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "parse", "notice", "kind"), CASES)
def test_each_message_is_schema_valid_hash_identified_and_parses_back(build, parse, notice, kind):
    document = build(notice, ids=IDS, created_at=T0 + timedelta(hours=1))
    assert_valid_and_identified(document)  # GS1 schema + GS1's reference hash
    received = parse(document)
    assert received.notice == notice
    assert received.event_id == document["epcisBody"]["eventList"][0]["eventID"]
    assert received.sender == IDS.site("M0001")
    assert message_kind(document) == kind and parse_message(document).notice == notice


@pytest.mark.parametrize(("build", "parse", "notice", "kind"), CASES)
def test_the_same_message_sent_again_has_the_same_event_id(build, parse, notice, kind):
    """Issue 12 item 2: the receiver is idempotent by event ID, so a resend must carry the same one."""
    first = build(notice, ids=IDS, created_at=T0 + timedelta(hours=1))
    again = build(copy.deepcopy(notice), ids=IDS, created_at=T0 + timedelta(days=2))
    assert first["epcisBody"]["eventList"][0]["eventID"] == again["epcisBody"]["eventList"][0]["eventID"]


def test_messages_of_different_content_have_different_ids():
    documents = [build(n, ids=IDS, created_at=T0) for build, _, n, _ in (c.values for c in CASES)]
    ids = {d["epcisBody"]["eventList"][0]["eventID"] for d in documents}
    assert len(ids) == len(documents)


PATIENT_WORDS = (
    "patient",
    "name",
    "birth",
    "mrn",
    "medicalrecord",
    "phone",
    "address",
    "pseudonym",
    "idnumber",
    "gender",
)


@pytest.mark.parametrize(("build", "parse", "notice", "kind"), CASES)
def test_no_patient_field_travels(build, parse, notice, kind):
    """T-7.6, DESIGN identity: only the pseudonymous COI; no key of any message names a patient attribute."""
    document = build(notice, ids=IDS, created_at=T0)

    def keys(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)

    found = [k for k in keys(document) if any(w in k.lower() for w in PATIENT_WORDS)]
    assert found == []


def test_shipment_carries_units_shipper_and_loggers_in_standard_fields():
    """T-7.15, T-8.1.5: units in epcList, sites as source/destination, the shipment as a desadv, logger data in
    the EPCIS 2.0 sensor model."""
    (event,) = shipment_message(SHIPMENT, ids=IDS, created_at=T0)["epcisBody"]["eventList"]
    assert (event["bizStep"], event["disposition"], event["action"]) == ("shipping", "in_transit", "OBSERVE")
    assert event["epcList"] == [IDS.unit(u.din) for u in UNITS]
    assert event["sourceList"] == [{"type": "location", "source": IDS.site("M0001")}]
    assert event["destinationList"] == [{"type": "location", "destination": IDS.site("H0001")}]
    assert event["bizTransactionList"] == [
        {"type": "desadv", "bizTransaction": f"{IDS.base}/shipment/S-2026-0007"}
    ]
    (logger,) = logger_data(parse_shipment(shipment_message(SHIPMENT, ids=IDS, created_at=T0)).notice)
    assert (logger.device_id, logger.min_c, logger.max_c, logger.errors) == (
        f"{IDS.base}/logger/TL-7",
        -196.2,
        -142.1,
        0,
    )
    assert logger.alarms == (datetime(2026, 3, 1, 10, 0, tzinfo=UTC),)


def test_release_references_the_coa_by_uri_and_sha256_never_inline():
    """Q-2-b: the CoA PDF goes by reference; the event names it as a cert transaction with its SHA-256."""
    (event,) = release_message(CONDITIONAL, ids=IDS, created_at=T0)["epcisBody"]["eventList"]
    assert event["bizTransactionList"] == [{"type": "cert", "bizTransaction": COA.uri}]
    assert event["cellchain:document"]["cellchain:sha256"] == COA.sha256
    assert event["cellchain:releaseStatus"] == "conditional" and len(event["cellchain:pendingTests"]) == 2
    assert "%PDF" not in json.dumps(event)


def test_recall_and_hold_dispositions():
    """Q-2.5-c: recalled units, or a hold as non_sellable_other, each with its reason."""
    (event,) = recall_message(RECALL, ids=IDS, created_at=T0)["epcisBody"]["eventList"]
    assert (event["bizStep"], event["disposition"]) == ("holding", "recalled") and "sterility" in event[
        "cellchain:reason"
    ]
    hold = RecallNotice(**{**RECALL.__dict__, "disposition": RecallDisposition.NON_SELLABLE_OTHER})
    document = recall_message(hold, ids=IDS, created_at=T0)
    assert_valid_and_identified(document)
    assert parse_recall(document).notice.disposition == RecallDisposition.NON_SELLABLE_OTHER


# --------------------------------------------------------------------------- what the builders refuse


def test_builders_refuse_incoherent_notices():
    with pytest.raises(MessageError, match="pending_tests: a conditional release names the compendial tests"):
        ReleaseNotice("S1234", "B2026-001", ReleaseStatus.CONDITIONAL, T0, "M0001", UNITS, COA)
    with pytest.raises(MessageError, match="W9 not of S1234 batch B2026-001"):
        RecallNotice(
            "R", "S1234", "B2026-001", "why", T0, "M0001", (*UNITS, UnitLine("W9", "C", "S1234", "B-other"))
        )
    with pytest.raises(MessageError, match="shipped_at: needs its time zone offset"):
        ShipmentNotice("S", datetime(2026, 3, 1), "M0001", "H0001", "X", "k", UNITS)
    with pytest.raises(MessageError, match="document sha256"):
        DocumentRef(COA.uri, "ABC", "certificate_of_analysis")
    with pytest.raises(MessageError, match="a DIN is listed twice"):
        ShipmentNotice("S", T0, "M0001", "H0001", "X", "k", (UNITS[0], UNITS[0]))


# --------------------------------------------------------------------------- what the parsers refuse


def _rehashed(document):
    """The document after an edit, its eventID recomputed: a well-formed message saying something else."""
    event = document["epcisBody"]["eventList"][0]
    event["eventID"] = event_hash(event, EPCIS_NAMESPACES)
    return document


def _release():
    return release_message(CONDITIONAL, ids=IDS, created_at=T0)


def test_parsers_refuse_what_is_valid_json_but_not_the_message_expected():
    with pytest.raises(MessageError, match="document: expected a JSON object"):
        parse_release([1, 2])
    with pytest.raises(MessageError, match=r"document\.type: not an EPCISDocument"):
        parse_release({"type": "EPCISQueryDocument"})
    with pytest.raises(MessageError, match="expected a release message, found 'shipment'"):
        parse_release(shipment_message(SHIPMENT, ids=IDS, created_at=T0))
    two = _release()
    two["epcisBody"]["eventList"] *= 2
    with pytest.raises(MessageError, match="exactly one event"):
        parse_release(two)
    foreign = _release()
    foreign["@context"][1] = {"cellchain": "https://example.org/other/"}
    with pytest.raises(MessageError, match="the prefix cellchain must be"):
        parse_release(foreign)


def test_a_changed_event_no_longer_matches_its_id():
    tampered = _release()
    tampered["epcisBody"]["eventList"][0]["cellchain:batch"] = "B2026-999"
    with pytest.raises(MessageError, match=r"event\.eventID: does not match the event's content"):
        parse_release(tampered)


def test_a_patient_field_is_refused_even_in_a_well_formed_message():
    """T-7.6: a receiver never stores a field it was not meant to get."""
    leaky = _release()
    leaky["epcisBody"]["eventList"][0]["cellchain:patientName"] = "张三"
    with pytest.raises(MessageError, match=r"unexpected field\(s\) cellchain:patientName"):
        parse_release(_rehashed(leaky))
    leaky = _release()
    leaky["epcisBody"]["eventList"][0]["cellchain:units"][0]["cellchain:mrn"] = "MRN-1"
    with pytest.raises(MessageError, match=r"cellchain:units\[0\]: unexpected field\(s\) cellchain:mrn"):
        parse_release(_rehashed(leaky))


def test_parsers_name_the_missing_or_inconsistent_part():
    cases = [
        (lambda e: e.pop("cellchain:batch"), "event.cellchain:batch: missing"),
        (lambda e: e.__setitem__("cellchain:releaseStatus", "maybe"), "'maybe' is not released/conditional"),
        (lambda e: e.__setitem__("cellchain:pendingTests", []), r"release message \(pending_tests\)"),
        (lambda e: e["epcList"].pop(), "event.epcList: names units"),
        (lambda e: e.__setitem__("bizTransactionList", []), "the cert transaction does not reference"),
        (lambda e: e["cellchain:document"].__setitem__("cellchain:sha256", "x"), "document sha256"),
        (lambda e: e["cellchain:units"][0].__setitem__("cellchain:coi", 17), r"cellchain:coi: expected str"),
        (lambda e: e.__setitem__("readPoint", {"id": "https://elsewhere.example/x"}), "is not a site URI"),
    ]
    for edit, message in cases:
        document = _release()
        edit(document["epcisBody"]["eventList"][0])
        with pytest.raises(MessageError, match=message):
            parse_release(_rehashed(document))


def test_late_result_disposition_must_agree_with_its_outcome():
    document = late_result_message(LATE, ids=IDS, created_at=T0)
    document["epcisBody"]["eventList"][0]["disposition"] = "conformant"
    with pytest.raises(MessageError, match="a fail result is non_conformant"):
        parse_late_result(_rehashed(document))


# --------------------------------------------------------------------------- properties

_code = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=16).filter(
    lambda s: s.strip("-") == s
)


@st.composite
def shipments(draw):
    product, batch = draw(_code), draw(_code)
    dins = draw(st.lists(_code, min_size=1, max_size=6, unique=True))
    units = tuple(UnitLine(f"W{d}", draw(_code), product, batch) for d in dins)
    at = draw(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1),
                           timezones=st.sampled_from([CST, UTC, timezone(timedelta(hours=-5))])))  # fmt: skip
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)
    return ShipmentNotice(draw(_code), at, "M0001", draw(st.sampled_from(["H0001", "H0002"])), draw(_code),
                          "ln2_dry_shipper", units, sensors=draw(st.sampled_from([(), (SENSOR,)])))  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(shipments())
def test_any_shipment_round_trips_and_hashes_as_gs1_does(notice):
    document = shipment_message(notice, ids=IDS, created_at=T0)
    assert_valid_and_identified(document)
    assert parse_shipment(document).notice == notice
