"""The hospital sends its adverse-event reports to the manufacturer's installation through the exchange outbox:
an HL7 FHIR R5 AdverseEvent and an ICH E2B(R3) ICSR in the transaction that records or regrades the AE
(issue 12 item 2; T-7.10, T-7.10-d, T-10.8; decision 0024). At `both` (one database) nothing is queued."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.clinic import services
from cellchain.clinic.models import AdverseEvent, ReportingDuty
from cellchain.clinic.reporting import messages
from cellchain.clinic.tests.conftest import NOW
from cellchain.core.errors import ValidationFailed
from cellchain.domain.adverse_event_messages import adverse_event_from_e2b, adverse_event_from_fhir
from cellchain.exchange.models import OutboxMessage
from cellchain.exchange.services import partner_register
from cellchain.quality.models import Notification
from cellchain.verifier.signing import public_key_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def hospital(settings: Any, tmp_path: Any) -> Any:
    settings.CELLCHAIN_INSTALLATION_ROLE = "hospital"
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    return settings


@pytest.fixture
def maker(world: Any, hospital: Any) -> Any:
    """The manufacturer's installation registered as the partner standing for Shenghe (the product's maker)."""
    partner, _made = partner_register(
        actor=None,
        name="Shenghe manufacturing",
        role="manufacturer",
        base_url="http://127.0.0.1:9",
        log_id="shenghe-mfg",
        public_key=base64.b64encode(public_key_bytes(Ed25519PrivateKey.generate())).decode(),
        outbound_token="ccx_outbound-token-for-shenghe-0123456789",
        inbound_token="ccx_inbound-token-of-shenghe-0123456789",
        organisation=world.organisations["shenghe"].code,
    )
    return partner


def _record(world: Any, course: Any, **overrides: Any) -> AdverseEvent:
    values: dict[str, Any] = {
        "category": "crs",
        "term": "Cytokine release syndrome",
        "description": "Fever 39.2 °C, hypotension needing norepinephrine",
        "onset_at": NOW - dt.timedelta(hours=1),
        "serious": True,
        "relation": "related",
        "findings": {"temperature_c": 39.2, "hypotension": True, "vasopressors": ["norepinephrine"]},
    }
    values.update(overrides)
    return services.adverse_event_record(actor=world["physician_wang"], course=course, **values)


def _duty(event: AdverseEvent) -> ReportingDuty:
    return event.duties.get(duty="to_manufacturer")


def test_t_7_10_recording_an_ae_at_a_hospital_queues_fhir_and_e2b_for_the_manufacturer(
    world: Any, course: Any, infusion: Any, maker: Any
) -> None:
    """T-7.10, T-10.8 (issue 12 item 2): both messages to the partner standing for the product's manufacturer,
    with stable event ids, valid bodies, read back to the AE; the duty records the exchange as its reference."""
    event = _record(world, course)
    rows = {row.kind: row for row in OutboxMessage.objects.filter(partner=maker)}
    assert set(rows) == {"fhir.adverseevent", "ich.e2b-icsr"}
    fhir, e2b = rows["fhir.adverseevent"], rows["ich.e2b-icsr"]
    assert fhir.event_id == f"urn:cellchain:adverse-event:{event.number}:1:fhir"
    assert e2b.event_id == f"urn:cellchain:adverse-event:{event.number}:1:e2b"
    assert messages.fhir_body_reasons(fhir.envelope["body"]) == []
    assert messages.e2b_body_reasons(e2b.envelope["body"]) == []
    for report in (
        adverse_event_from_fhir(fhir.envelope["body"]),
        adverse_event_from_e2b(messages.e2b_document(e2b.envelope["body"])),
    ):
        assert (report.number, report.coi, report.grade, report.serious) == (
            event.number,
            course.coi,
            event.grade,
            True,
        )
        assert report.din == infusion.unit.unit_id  # T-7.10-d
        assert report.awareness_at == event.awareness_at
        assert report.reporter_site == course.site.facility_id
    duty = _duty(event)
    assert duty.sent_at is not None
    assert duty.reference == f"urn:cellchain:adverse-event:{event.number}:1"
    assert not Notification.objects.filter(subject_id=str(event.pk)).exists()  # the exchange replaces it


def test_t_10_8_a_follow_up_of_the_same_ae_is_a_new_pair_of_messages(
    world: Any, course: Any, infusion: Any, maker: Any
) -> None:
    """T-10.8: a regrade reaches the manufacturer as report 2 (new event ids, new E2B transmission ids)."""
    event = _record(world, course)
    services.adverse_event_regrade(
        actor=world["physician_wang"],
        event=event,
        findings={"temperature_c": 38.5, "hypotension": False},
        ctcae_grade=None,
        outcome="recovering",
        reason="hypotension resolved",
    )
    ids = set(OutboxMessage.objects.filter(partner=maker).values_list("event_id", flat=True))
    prefix = f"urn:cellchain:adverse-event:{event.number}"
    assert ids == {f"{prefix}:{n}:{form}" for n in (1, 2) for form in ("fhir", "e2b")}
    follow_up = OutboxMessage.objects.get(event_id=f"{prefix}:2:e2b").envelope["body"]["xml"]
    assert f"{event.number}-B-2" in follow_up and f"{event.number}-M-2" in follow_up
    assert adverse_event_from_e2b(follow_up).outcome == "recovering"


def test_t_7_10_nothing_is_queued_at_role_both(
    world: Any, course: Any, infusion: Any, settings: Any, tmp_path: Any
) -> None:
    """Issue 12 item 1: the single-database demo keeps today's in-app report; no exchange message."""
    settings.CELLCHAIN_INSTALLATION_ROLE = "both"
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    partner_register(
        actor=None,
        name="Shenghe manufacturing",
        role="manufacturer",
        base_url="http://127.0.0.1:9",
        log_id="shenghe-mfg",
        public_key=base64.b64encode(public_key_bytes(Ed25519PrivateKey.generate())).decode(),
        organisation=world.organisations["shenghe"].code,
    )
    event = _record(world, course)
    assert not OutboxMessage.objects.exists()
    assert Notification.objects.filter(subject_id=str(event.pk), subject__startswith=event.number).exists()
    assert _duty(event).reference.startswith("notification ")


def test_t_7_10_a_patient_name_in_the_description_is_refused_and_nothing_is_recorded(
    world: Any, course: Any, infusion: Any, maker: Any
) -> None:
    """Issue 12 item 2 ("no field that identifies the patient is ever sent"): the outgoing scan, told the
    hospital's identifiers, refuses a message whose free text names the patient; the AE, its duties and
    both messages roll back together (one transaction)."""
    assert course.patient_label  # the on-screen name the hospital holds
    before = AdverseEvent.objects.count()
    with pytest.raises(ValidationFailed, match="patient identity"):
        _record(world, course, description=f"{course.patient_label} febrile overnight, hypotensive")
    assert AdverseEvent.objects.count() == before
    assert not OutboxMessage.objects.exists()
    assert not ReportingDuty.objects.exists()


def test_t_7_10_without_a_partner_for_the_manufacturer_the_duty_stays_open(
    world: Any, course: Any, infusion: Any, hospital: Any
) -> None:
    """T-7.10-b: at a hospital with no partner standing for the maker nothing is queued, the duty to report
    stays open (so its deadline reminder fires), and an explicit send says why."""
    event = _record(world, course)
    assert not OutboxMessage.objects.exists()
    assert _duty(event).sent_at is None
    with pytest.raises(ValidationFailed, match="no exchange partner stands for"):
        services.adverse_event_send(actor=world["physician_wang"], event=event)


def test_t_7_10_an_enrolled_patients_name_in_either_message_is_refused_by_the_outgoing_scan(
    world: Any, course: Any, infusion: Any, maker: Any
) -> None:
    """Issue 12 item 2: the name given at enrolment (held hospital-side in journeys.PatientIdentity), typed
    into the treatment text, is found in the FHIR note and in the E2B narrative; each body alone is refused
    by `message_enqueue`, and nothing is written."""
    from django.db import transaction

    from cellchain.clinic.reporting import adverse_event_e2b, adverse_event_fhir
    from cellchain.exchange.services import message_enqueue
    from cellchain.journeys.tests.conftest import JourneyKit

    enrolled = JourneyKit(world, NOW).enrol(name="李明华")
    assert enrolled.coi  # the identity stays at the hospital; the name is one of its known identifiers
    with pytest.raises(ValidationFailed, match="patient identity"):
        _record(world, course, treatment="tocilizumab 8 mg/kg; 李明华 tolerated it")
    # (the enrolment above sent its own message to the manufacturer, decision 0023: no AE message is written)
    ae_kinds = ("fhir.adverseevent", "ich.e2b-icsr")
    assert not AdverseEvent.objects.exists() and not OutboxMessage.objects.filter(kind__in=ae_kinds).exists()

    event = _record(world, course)  # a clean report goes out; now put the name into each body by hand
    fhir = adverse_event_fhir(event)
    fhir["note"].append({"text": "Seen by family of 李明华"})
    e2b = messages.e2b_body(adverse_event_e2b(event))
    e2b["xml"] = e2b["xml"].replace(
        "Cytokine release syndrome, ASTCT", "李明华: Cytokine release syndrome, ASTCT"
    )
    for kind, body in ((messages.FHIR_KIND, fhir), (messages.E2B_KIND, e2b)):
        with pytest.raises(ValidationFailed, match="patient identity") as refused, transaction.atomic():
            message_enqueue(actor=None, partner=maker, kind=kind, body=body, event_id=f"test:{kind}")
        assert refused.value.detail["findings"], kind
    assert not OutboxMessage.objects.filter(event_id__startswith="test:").exists()


def test_t_7_10_e2b_structure_checks_name_what_is_missing(world: Any, course: Any, infusion: Any) -> None:
    """Without the ICH XSDs (decision 0024) the E2B kind still checks the transmission header."""
    from cellchain.clinic.reporting import adverse_event_e2b

    event = _record(world, course)
    body = messages.e2b_body(adverse_event_e2b(event))
    assert messages.e2b_body_reasons(body) == []
    no_sender = dict(
        body, xml=body["xml"].replace(f'extension="CC-{course.site.facility_id}"', 'extension=""')
    )
    reasons = messages.e2b_body_reasons(no_sender)
    assert any("sender id (N.1.3)" in r for r in reasons) and any("(N.2.r.2)" in r for r in reasons)
    assert messages.e2b_body_reasons({"format": "ich-e2b-r3-icsr", "xml": 42}) == [
        "xml: missing or not the ICSR's XML text"
    ]
    assert "unknown fields: base64" in messages.e2b_body_reasons(dict(body, base64="..."))[0]
