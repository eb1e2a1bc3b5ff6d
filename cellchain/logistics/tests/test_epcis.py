"""EPCIS 2.0 export of packing with sensor data validates against the GS1 schema (issue 6 item 1; REGULATORY
item 41; T-8.1.5-b)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from cellchain.core import clock
from cellchain.core.errors import Conflict
from cellchain.domain.tests.epcis_reference import assert_valid_and_identified
from cellchain.logistics import services
from cellchain.logistics.epcis import shipment_packing_document
from cellchain.logistics.tests import kit
from cellchain.logistics.tests.test_services import new_shipment
from cellchain.signatures.services import SignerCredentials
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db

STANDARDS = Path(__file__).resolve().parents[3] / ".." / "shared" / "standards" / "epcis"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
    checker = Draft7Validator.FORMAT_CHECKER
    assert {"uri", "date-time"} <= set(checker.checkers)  # else formats are silently not checked
    return Draft7Validator(schema, format_checker=checker)


def _errors(validator, document):
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_packing_with_an_excursion_exports_a_valid_aggregation_event_with_an_alarm(world, validator):
    shipment = kit.ship_and_arrive(world, tag="000661", excursion=True)
    document = shipment_packing_document(shipment, created_at=clock.now())
    assert _errors(validator, document) == []
    (event,) = document["epcisBody"]["eventList"]
    assert (event["type"], event["action"], event["bizStep"]) == ("AggregationEvent", "ADD", "packing")
    assert event["parentID"].endswith(f"/shipper/{shipment.container_code}")
    assert sorted(c.rsplit("/", 1)[1] for c in event["childEPCs"]) == sorted(shipment.expected_units)
    (sensor,) = event["sensorElementList"]
    summary, *alarms = sensor["sensorReport"]
    assert summary["uom"] == "CEL" and summary["maxValue"] == -142.1
    assert [a["exception"] for a in alarms] == ["ALARM_CONDITION"]
    assert alarms[0]["value"] == -142.1 and alarms[0]["cellchain:limitCelsius"] == -150.0
    # Issue 12 item 2: the eventID is the event hash of the event with its sensor data, as GS1's tool has it.
    assert_valid_and_identified(document)


def test_clean_packing_has_no_alarm(world, validator):
    shipment = kit.ship_and_arrive(world, tag="000662", excursion=False)
    document = shipment_packing_document(shipment, created_at=clock.now())
    assert _errors(validator, document) == []
    reports = document["epcisBody"]["eventList"][0]["sensorElementList"][0]["sensorReport"]
    assert len(reports) == 1 and "exception" not in reports[0] and reports[0]["maxValue"] < -150


def test_the_schema_check_catches_a_report_without_type(world, validator):
    shipment = kit.ship_and_arrive(world, tag="000663", excursion=False)
    broken = copy.deepcopy(shipment_packing_document(shipment, created_at=clock.now()))
    broken["epcisBody"]["eventList"][0]["sensorElementList"][0]["sensorReport"][0].pop("type")
    assert _errors(validator, broken)


def test_export_is_refused_before_packing_is_verified_and_a_silent_logger_is_an_error_condition(
    world, validator
):
    """Issue 6 bad input: never a false "within limits" — a logger without readings is declared."""
    zhao = world["logistics_zhao"]
    fresh = new_shipment(world)
    services.shipment_pack_scan(actor=zhao, shipment=fresh, scanned_text=fresh.expected_units[0])
    with pytest.raises(Conflict, match="no verified packing"):
        shipment_packing_document(fresh, created_at=clock.now())
    services.shipment_pack_verify(shipment=fresh, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                  verifier=SignerCredentials(world["logistics_qian"], PERSONA_PASSWORD))  # fmt: skip
    services.logger_link(actor=zhao, shipment=fresh, serial="TL-SILENT", interval_s=60, armed_at=clock.now())
    silent = shipment_packing_document(fresh, created_at=clock.now())
    assert _errors(validator, silent) == []
    (report,) = silent["epcisBody"]["eventList"][0]["sensorElementList"][0]["sensorReport"]
    assert report["exception"] == "ERROR_CONDITION"


def test_api_serves_the_document_only_to_those_who_see_the_shipment(world, client_for, validator):
    shipment = kit.ship_and_arrive(world, tag="000664", excursion=False)
    response = client_for("logistics_zhao").get(f"/api/logistics/shipments/{shipment.number}/epcis")
    assert response.status_code == 200 and _errors(validator, response.json()) == []
    other = client_for("nurse_li").get(f"/api/logistics/shipments/{shipment.number}/epcis")
    assert other.status_code == 404


def test_shipment_message_to_the_hospital_carries_units_and_logger_data_and_parses_back(world):
    """Issue 12 item 2 (first bullet), T-7.15, T-8.1.5: the shipment as one EPCIS shipping event with its
    units (DIN, COI, product code, batch) and loggers, schema-valid, its eventID GS1's event hash."""
    import json

    from cellchain.domain.epcis_messages import logger_data, parse_shipment
    from cellchain.logistics.epcis import shipment_message_document

    shipment = kit.ship_and_arrive(world, tag="000664", excursion=True)
    document = shipment_message_document(shipment, created_at=clock.now())
    assert_valid_and_identified(document)
    received = parse_shipment(document)
    notice = received.notice
    assert sorted(u.din for u in notice.units) == sorted(shipment.expected_units)
    assert {(u.coi, u.batch_number) for u in notice.units} == {(shipment.coi, shipment.batch_number)}
    assert (notice.number, notice.to_site) == (shipment.number, shipment.to_site.code)
    (logger,) = logger_data(notice)
    assert logger.max_c == -142.1 and len(logger.alarms) == 1
    # The same shipment announced again (a retry) keeps its ID: the hospital takes it once.
    again = shipment_message_document(shipment, created_at=clock.now())
    assert again["epcisBody"]["eventList"][0]["eventID"] == received.event_id
    # T-7.6: nothing that identifies the patient: the strict parser accepted only DIN/COI/product/batch per
    # unit, and no field of any level is about a patient.
    text = json.dumps(document, ensure_ascii=False).lower()
    assert not any(word in text for word in ("pseudonym", "patient", "birth", "wristband", "record_number"))


def test_shipment_message_is_refused_before_dispatch(world):
    from cellchain.logistics.epcis import shipment_message_document

    fresh = new_shipment(world)
    with pytest.raises(Conflict, match="not been handed to the courier"):
        shipment_message_document(fresh, created_at=clock.now())
