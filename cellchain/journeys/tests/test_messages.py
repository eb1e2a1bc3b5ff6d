"""Hospital -> manufacturer messages (issue 12 item 2; X-7, T-10.4, T-5.2.2, P-1.3.1-g, T-8.1.7, T-8.2.6,
T-9.2.8): enqueued at a hospital-only installation in the step's transaction, nothing at ``both``, valid by
the FHIR R5 schema and model / the GS1 EPCIS 2.0 schema and event hash, refused with identity in them, and
received at the manufacturer's installation (journey by COI + pseudonym, unit in transit, reports on the
journey), idempotently, refusing an unknown COI into the quarantine."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.core.errors import NotAllowed, NotFound, ValidationFailed
from cellchain.domain.custody import CustodyStep
from cellchain.domain.identity import mod37_2_check_character
from cellchain.exchange import kinds
from cellchain.exchange.models import InboxMessage, OutboxMessage, QuarantinedMessage
from cellchain.exchange.services import partner_register
from cellchain.exchange.tests.conftest import deliver, their_envelope
from cellchain.journeys import messages, services
from cellchain.journeys.models import HospitalReport, Journey, Unit
from cellchain.journeys.tests.gs1 import assert_gs1_valid
from cellchain.ledger.models import LedgerEntry
from cellchain.verifier.signing import public_key_bytes
from conftest import PERSONA_PASSWORD

INBOUND = "ccx_inbound-token-of-hospital-xiehe-0123"
OUTBOUND = "ccx_outbound-token-to-manufacturer-0123"


@pytest.fixture
def exchange_dir(settings: Any, tmp_path: Any) -> Any:
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    return settings.CELLCHAIN_EXCHANGE_DIR


@pytest.fixture
def hospital_role(settings: Any) -> None:
    settings.CELLCHAIN_INSTALLATION_ROLE = "hospital"


@pytest.fixture
def manufacturer_partner(world: Any, exchange_dir: Any) -> Any:
    """At the hospital: the manufacturer's installation, standing for the organisation "shenghe"."""
    partner, _ = partner_register(
        actor=None,
        name="Shenghe",
        role="manufacturer",
        base_url="http://127.0.0.1:9",
        log_id="shenghe-ledger",
        public_key=base64.b64encode(public_key_bytes(Ed25519PrivateKey.generate())).decode(),
        outbound_token=OUTBOUND,
        inbound_token=INBOUND,
        organisation="shenghe",
    )
    return partner


@pytest.fixture
def hospital_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def hospital_partner(world: Any, exchange_dir: Any, hospital_key: Ed25519PrivateKey) -> Any:
    """At the manufacturer: the hospital's installation ("hospital-a"), standing for the organisation "xiehe"."""
    partner, _ = partner_register(
        actor=None,
        name="Union Hospital",
        role="hospital",
        base_url="http://127.0.0.1:9",
        log_id="hospital-a",
        public_key=base64.b64encode(public_key_bytes(hospital_key)).decode(),
        outbound_token=OUTBOUND,
        inbound_token="ccx_inbound-token-of-hospital-a-0123456789",
        organisation="xiehe",
    )
    return partner


def _other_coi(coi: str, number: int) -> str:
    """Another well-formed COI of the same facility and year (the sequence changed)."""
    return coi[:-6] + f"{(int(coi[-6:]) + 500 + number) % 1_000_000:06d}"


def _enrolment_of_new_journey(journey: Journey, number: int = 1) -> dict[str, Any]:
    """An enrolment body of a journey this database does not hold yet (what another hospital DB would send)."""
    body = messages.enrolment_request(journey)
    body["identifier"][0]["value"] = _other_coi(journey.coi, number)
    body["subject"]["identifier"]["value"] = f"P-NEWPSN{number:02d}"
    return body


# --------------------------------------------------------------------------- sending (hospital side)


def test_enrolment_enqueued_at_hospital_role_with_pseudonym_and_coi_only(
    kit: Any, hospital_role: None, manufacturer_partner: Any
) -> None:
    """issue 12 item 2, X-7, T-10.4: journey_enrol at a hospital installation writes one signed ServiceRequest
    for the manufacturer's partner in its own transaction; subject = pseudonym, identifier = COI, no name."""
    journey = kit.enrol(name="李四")
    (message,) = OutboxMessage.objects.filter(partner=manufacturer_partner)
    body = message.envelope["body"]
    assert message.kind == messages.KIND_ENROLMENT
    assert body["resourceType"] == "ServiceRequest"
    assert body["subject"] == {
        "identifier": {"system": messages.PSEUDONYM_SYSTEM, "value": journey.pseudonym}
    }
    assert body["identifier"] == [{"system": messages.COI_SYSTEM, "value": journey.coi}]
    assert messages.enrolment_reasons(body) == []
    identity = journey.patient_identity
    text = str(body)
    for value in (identity.name, identity.hospital_record_number, identity.wristband_id, "1970-01-01"):
        assert value not in text
    assert message.event_id == messages.fhir_event_id(body)


def test_nothing_enqueued_at_role_both(kit: Any, manufacturer_partner: Any, settings: Any) -> None:
    """issue 12 item 2, decision 0021: at ``both`` (the single-database demo) nothing is sent."""
    assert settings.CELLCHAIN_INSTALLATION_ROLE == "both"
    kit.enrol()
    assert not OutboxMessage.objects.exists()


def test_enrolment_not_blocked_without_a_partner(kit: Any, hospital_role: None) -> None:
    """issue 12 item 2: with no partner for the manufacturer the enrolment stands, nothing is queued."""
    journey = kit.enrol()
    assert Journey.objects.filter(pk=journey.pk).exists()
    assert not OutboxMessage.objects.exists()


def test_identity_scan_refuses_a_name_in_a_free_text_field(
    kit: Any, hospital_role: None, manufacturer_partner: Any
) -> None:
    """X-7, issue 12 item 2: a patient's name typed into free text (the product display) is refused by the
    outgoing identity scan and the whole enrolment is rolled back: no journey, no message."""
    from django.db import transaction

    from cellchain.exchange.services import message_enqueue

    journey = kit.enrol(name="王小明")
    body = messages.enrolment_request(journey)
    body["orderDetail"][0]["parameterFocus"]["concept"]["coding"][0]["display"] = "CAR-T for 王小明"
    with pytest.raises(ValidationFailed, match="patient identity"), transaction.atomic():
        message_enqueue(
            actor=None, partner=manufacturer_partner, kind=messages.KIND_ENROLMENT, body=body,
            event_id=messages.fhir_event_id(body),
        )  # fmt: skip
    assert OutboxMessage.objects.count() == 1  # only the enrolment's own message


def test_a_name_typed_into_the_order_refuses_the_enrolment_itself(
    kit: Any, hospital_role: None, manufacturer_partner: Any
) -> None:
    """X-7, issue 12 item 2 (outbox in the step's transaction): the patient's name typed into the product name
    is found by the outgoing scan (the hospital's own identity values), the enrolment is refused and nothing
    of it stays: no journey, no identity, no message."""
    before = Journey.objects.count()
    with pytest.raises(ValidationFailed, match="patient identity"):
        services.journey_enrol(
            actor=kit.world["physician_wang"],
            hospital_site=kit.hospital,
            manufacturer_site=kit.manufacturer,
            product_code="S1395V00",
            product_name="CAR-T for 赵六一",
            starting_material="fresh",
            patient=services.PatientData(
                name="赵六一",
                birth_date=dt.date(1970, 1, 1),
                hospital_record_number="MRN-77",
                wristband_id="WB-77",
            ),
        )
    assert Journey.objects.count() == before
    assert not OutboxMessage.objects.exists()


def test_apheresis_shipment_enqueued_on_hand_to_courier(
    kit: Any, hospital_role: None, manufacturer_partner: Any
) -> None:
    """issue 12 item 2, T-10.6, G-4: the matched hand-to-courier scan sends one EPCIS shipping event per unit,
    schema-valid with eventID = GS1 event hash, naming DIN and COI only."""
    journey = kit.collected()
    unit = kit.units(journey)[0]
    _ship(kit, unit)
    (message,) = OutboxMessage.objects.filter(kind=messages.KIND_APHERESIS)
    document = message.envelope["body"]
    assert_gs1_valid(document)
    event = document["epcisBody"]["eventList"][0]
    assert message.event_id == event["eventID"]
    assert (event["bizStep"], event["disposition"]) == ("shipping", "in_transit")
    assert event["cellchain:units"] == [{"cellchain:din": unit.din, "cellchain:coi": journey.coi}]
    assert messages.epcis_reasons(messages.KIND_APHERESIS)(document) == []


def _ship(kit: Any, unit: Unit) -> None:
    """Label (printed and two-person verified), pack and hand to the courier, through the services."""
    from cellchain.signatures.services import SignerCredentials

    world = kit.world
    label = services.label_print(actor=world["apheresis_sun"], unit=unit)
    services.unit_label_verify(
        unit=unit,
        scanned_text=label.record.payload,
        performer=SignerCredentials(world["apheresis_sun"], PERSONA_PASSWORD),
        verifier=SignerCredentials(world["nurse_wang"], PERSONA_PASSWORD),
    )
    unit.refresh_from_db()
    for step, details in (
        (CustodyStep.PACK, services.ScanDetails(shipper_code="SHIP-01")),
        (CustodyStep.HAND_TO_COURIER, None),
    ):
        event = services.unit_custody_scan(
            actor=world["apheresis_sun"],
            unit=unit,
            step=step,
            scanned_text=unit.din_keyboard,
            details=details,
        )
        assert event.verdict == "match", event.reasons
        unit.refresh_from_db()


# --------------------------------------------------------------------------- receiving (manufacturer side)


@pytest.fixture
def manufacturer_role(settings: Any) -> None:
    settings.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"


def _receive(kind: str, body: dict[str, Any], partner: Any, event_id: str) -> Any:
    return kinds.get(kind).receive(actor=None, partner=partner, body=body, event_id=event_id)  # type: ignore[union-attr]


def test_enrolment_received_creates_the_journey_without_identity(
    kit: Any, hospital_partner: Any, manufacturer_role: None
) -> None:
    """issue 12 item 2, X-7, T-5.2.2: the manufacturer's journey by COI and pseudonym only, with the ethics
    approval cited, ledgered; the same message again is the same journey."""
    journey = kit.enrol()
    body = _enrolment_of_new_journey(journey)
    event_id = messages.fhir_event_id(body)
    created = _receive(messages.KIND_ENROLMENT, body, hospital_partner, event_id)
    assert created.coi == body["identifier"][0]["value"]
    assert created.coi_check == mod37_2_check_character(created.coi)
    assert created.pseudonym == "P-NEWPSN01"
    assert created.enrolled_by is None
    assert created.ethics_approval.number == journey.ethics_approval.number
    assert not Journey.objects.filter(pk=created.pk, patient_identity__isnull=False).exists()
    assert LedgerEntry.objects.filter(event="journey:enrol:receive").count() == 1
    again = _receive(messages.KIND_ENROLMENT, body, hospital_partner, event_id)
    assert again.pk == created.pk
    assert LedgerEntry.objects.filter(event="journey:enrol:receive").count() == 1


def test_enrolment_of_a_known_coi_under_another_pseudonym_refused(
    kit: Any, hospital_partner: Any, manufacturer_role: None
) -> None:
    """T-10.4: one COI is one journey; a second pseudonym for it is refused."""
    journey = kit.enrol()
    body = messages.enrolment_request(journey)
    body["subject"]["identifier"]["value"] = "P-OTHER001"
    with pytest.raises(Exception, match="another pseudonym"):
        _receive(messages.KIND_ENROLMENT, body, hospital_partner, messages.fhir_event_id(body))


def test_receive_refused_at_a_hospital_only_installation(
    kit: Any, hospital_partner: Any, hospital_role: None
) -> None:
    """issue 12 item 2, decision 0021: a hospital's installation receives no hospital report."""
    body = _enrolment_of_new_journey(kit.enrol())
    with pytest.raises(NotAllowed, match="hospital's"):
        _receive(messages.KIND_ENROLMENT, body, hospital_partner, messages.fhir_event_id(body))


def test_apheresis_shipment_received_becomes_the_unit_in_transit(
    kit: Any, hospital_partner: Any, settings: Any
) -> None:
    """issue 12 item 2, P-1.3.1-g: the shipped unit is expected at the manufacturer (in transit to its site,
    with its collection) so its receipt scan works; receiving it again changes nothing."""
    journey = kit.collected()
    unit = kit.units(journey)[1]
    _ship(kit, unit)
    settings.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"
    enrolment = _enrolment_of_new_journey(journey)
    there = _receive(messages.KIND_ENROLMENT, enrolment, hospital_partner, messages.fhir_event_id(enrolment))
    document = messages.apheresis_shipment_document(unit, unit.journey.enrolled_at)
    # The same shipment as the other hospital's database would send it: its journey, a DIN not held here.
    din = unit.din[:-4] + f"{(int(unit.din[-4:]) + 777) % 10_000:04d}"
    event = document["epcisBody"]["eventList"][0]
    event["cellchain:units"] = [{"cellchain:din": din, "cellchain:coi": there.coi}]
    event["epcList"] = [event["epcList"][0].rsplit("/", 1)[0] + "/" + din]
    document["epcisBody"]["eventList"][0] = messages.identified(event)
    assert messages.epcis_reasons(messages.KIND_APHERESIS)(document) == []
    event_id = messages.epcis_event_id(document)
    received = _receive(messages.KIND_APHERESIS, document, hospital_partner, event_id)
    assert (received.din, received.state, received.last_step) == (din, "in_transit", "hand_to_courier")
    assert (received.journey, received.destination_site) == (there, journey.manufacturer_site)
    assert received.collection.operator is None
    assert received.collection.mnc_count == unit.collection.mnc_count
    assert received.volume_ml == unit.volume_ml
    again = _receive(messages.KIND_APHERESIS, document, hospital_partner, event_id)
    assert again.pk == received.pk
    assert Unit.objects.filter(din=din).count() == 1
    # The manufacturer's own receipt scan now finds it in transit to its site (G-4).
    scan = services.unit_custody_scan(
        actor=kit.world["logistics_zhao"], unit=received, step=CustodyStep.RECEIVE_AT_MANUFACTURER,
        scanned_text=received.din_keyboard, details=services.ScanDetails(condition="bag intact"),
    )  # fmt: skip
    assert scan.verdict == "match", scan.reasons


def _report_body(kind: str, journey: Journey, din: str) -> dict[str, Any]:
    at = journey.enrolled_at + dt.timedelta(days=20)
    if kind == messages.KIND_RECEIPT:
        return messages.epcis_message(
            kind, at=at, site_code=journey.hospital_site.code, units=[(din, journey.coi)],
            biz_step="inspecting", disposition="non_conformant",
            details={"shipment": "SH-1", "outcome": "rejected", "failedChecks": ["T-8.1.4-a"]},
        )  # fmt: skip
    if kind == messages.KIND_INFUSION:
        return messages.epcis_message(
            kind, at=at, site_code=journey.hospital_site.code, units=[(din, journey.coi)],
            biz_step="dispensing", disposition="dispensed",
            details={"startedAt": messages._iso(at), "endedAt": messages._iso(at), "volumeMl": 68.0, "dose": 1e8},
        )  # fmt: skip
    return messages.follow_up_task(
        coi=journey.coi, pseudonym=journey.pseudonym, key="D28", due=at.date(), done_on=at.date(),
        items=["blood count", "CRS signs"],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "report_kind", "outcome"),
    [
        (messages.KIND_RECEIPT, "receipt_inspection", "rejected"),
        (messages.KIND_INFUSION, "infusion", "dispensed"),
        (messages.KIND_FOLLOW_UP, "follow_up", "D28"),
    ],
)
def test_reports_recorded_on_the_journey_and_idempotent(
    kit: Any, hospital_partner: Any, manufacturer_role: None, kind: str, report_kind: str, outcome: str
) -> None:
    """issue 12 item 2, T-8.1.7, T-8.2.6, T-9.2.8: receipt result, infusion done and follow-up are recorded on
    the manufacturer's journey, ledgered, once per event id."""
    journey = kit.enrol()
    body = _report_body(kind, journey, "W000026000001")
    validate = kinds.get(kind).validate  # type: ignore[union-attr]
    assert validate(body) == []
    if kind != messages.KIND_FOLLOW_UP:
        assert_gs1_valid(body)
        event_id = messages.epcis_event_id(body)
    else:
        event_id = messages.fhir_event_id(body)
    report = _receive(kind, body, hospital_partner, event_id)
    assert (report.journey, report.kind, report.outcome) == (journey, report_kind, outcome)
    assert LedgerEntry.objects.filter(event=f"hospital_report:{report_kind}").count() == 1
    assert _receive(kind, body, hospital_partner, event_id).pk == report.pk
    assert HospitalReport.objects.count() == 1
    assert LedgerEntry.objects.filter(event=f"hospital_report:{report_kind}").count() == 1


def test_epcis_event_changed_after_naming_is_invalid(kit: Any) -> None:
    """decision 0018: an eventID that is not the event's hash is refused by the validator."""
    journey = kit.enrol()
    body = _report_body(messages.KIND_INFUSION, journey, "W000026000001")
    body["epcisBody"]["eventList"][0]["cellchain:infusion"]["cellchain:volumeMl"] = 99
    assert any("eventID" in r for r in messages.epcis_reasons(messages.KIND_INFUSION)(body))


def test_unknown_coi_quarantined_through_the_inbox(
    kit: Any, hospital_partner: Any, hospital_key: Ed25519PrivateKey, manufacturer_role: None
) -> None:
    """issue 12 item 2: a report about a COI this installation does not know is refused with the reason and
    kept in the quarantine; nothing is recorded. The same envelope delivered twice is applied once."""
    journey = kit.enrol()
    body = _report_body(messages.KIND_FOLLOW_UP, journey, "W000026000001")
    unknown = _other_coi(journey.coi, 9)
    body["identifier"][0]["value"] = unknown
    envelope = their_envelope(
        hospital_key, kind=messages.KIND_FOLLOW_UP, body=body, event_id=messages.fhir_event_id(body)
    )
    response = deliver(envelope, token="ccx_inbound-token-of-hospital-a-0123456789")
    assert response.status_code == 422, response.content
    assert unknown in response.json()["message"] and "must come first" in response.json()["message"]
    (kept,) = QuarantinedMessage.objects.all()
    assert unknown in kept.reason and kept.kind == messages.KIND_FOLLOW_UP
    assert not HospitalReport.objects.exists()

    good = _report_body(messages.KIND_FOLLOW_UP, journey, "W000026000001")
    envelope = their_envelope(
        hospital_key, kind=messages.KIND_FOLLOW_UP, body=good, event_id=messages.fhir_event_id(good)
    )
    for _ in range(2):
        response = deliver(envelope, token="ccx_inbound-token-of-hospital-a-0123456789")
        assert response.status_code == 200, response.content
    assert HospitalReport.objects.count() == 1
    assert InboxMessage.objects.count() == 1


def test_receive_path_refuses_unknown_coi_with_a_clear_reason(
    kit: Any, hospital_partner: Any, manufacturer_role: None
) -> None:
    """T-10.4: the reason names the COI and that the enrolment must come first."""
    journey = kit.enrol()
    body = _report_body(messages.KIND_INFUSION, journey, "W000026000001")
    event = body["epcisBody"]["eventList"][0]
    event["cellchain:units"][0]["cellchain:coi"] = _other_coi(journey.coi, 3)
    body["epcisBody"]["eventList"][0] = messages.identified(event)
    with pytest.raises(NotFound, match="enrolment message must come first"):
        _receive(messages.KIND_INFUSION, body, hospital_partner, messages.epcis_event_id(body))
