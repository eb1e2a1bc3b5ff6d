"""The manufacturer's register of adverse-event reports received from hospitals' installations (issue 12
item 2; T-7.10, T-7.10-d, T-10.8; decision 0024): every report kept, an unknown COI flagged, one safety
deviation per serious AE, receipt idempotent by event id, refused at a hospital-only installation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.accounts.roles import Role
from cellchain.clinic import services as clinic
from cellchain.clinic.reporting import adverse_event_e2b, adverse_event_fhir, messages
from cellchain.clinic.tests.conftest import NOW
from cellchain.core.permissions import roles_for
from cellchain.exchange.models import InboxMessage, Partner, QuarantinedMessage
from cellchain.exchange.services import partner_register
from cellchain.exchange.tests.conftest import INBOUND, PARTNER_LOG, deliver, their_envelope
from cellchain.ledger.canonical import canonical_bytes
from cellchain.quality.models import Deviation, Notification, SafetyReport
from cellchain.verifier.signing import public_key_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def their_key() -> Ed25519PrivateKey:
    """The hospital installation's ledger key."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def sender(world: Any, settings: Any, tmp_path: Any, their_key: Ed25519PrivateKey) -> Partner:
    """Xiehe's installation, registered at the manufacturer as the partner standing for Xiehe."""
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    partner, _made = partner_register(
        actor=None,
        name="Xiehe hospital",
        role="hospital",
        base_url="http://127.0.0.1:9",
        log_id=PARTNER_LOG,
        public_key=base64.b64encode(public_key_bytes(their_key)).decode(),
        inbound_token=INBOUND,
        organisation=world.organisations["xiehe"].code,
    )
    return partner


def _bodies(world: Any, course: Any, coi: str | None = None, **overrides: Any) -> tuple[dict, dict, Any]:
    """The FHIR and E2B bodies the hospital would send for a new AE (built at the one-database demo), with
    the COI replaced by `coi` when given (to report on one of our journeys)."""
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
    event = clinic.adverse_event_record(actor=world["physician_wang"], course=course, **values)
    fhir = adverse_event_fhir(event)
    e2b = messages.e2b_body(adverse_event_e2b(event))
    if coi is not None:
        fhir = json.loads(json.dumps(fhir).replace(course.coi, coi))
        e2b["xml"] = e2b["xml"].replace(course.coi, coi)
    return fhir, e2b, event


def _send(key: Ed25519PrivateKey, kind: str, body: dict, event_id: str) -> Any:
    return deliver(their_envelope(key, kind=kind, body=body, event_id=event_id))


def _id(event: Any, n: int, form: str) -> str:
    return messages.event_id(event.number, n, form)


@pytest.fixture
def journey(world: Any, frozen_now: Any) -> Any:
    """One of our journeys (enrolled through the services), whose COI the hospital reports on."""
    from cellchain.journeys.tests.conftest import JourneyKit

    return JourneyKit(world, NOW).enrol()


@pytest.fixture
def manufacturer(settings: Any, world: Any) -> Any:
    settings.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"
    settings.CELLCHAIN_INSTALLATION_ORGANISATION = world.organisations["shenghe"].code
    return settings


def test_t_7_10_a_serious_ae_is_kept_in_both_forms_and_opens_one_deviation(
    world: Any, course: Any, infusion: Any, sender: Partner, their_key: Any, journey: Any, settings: Any
) -> None:
    """T-7.10, T-7.10-d, T-10.8: FHIR and E2B of the same report are two register rows with the COI's
    pseudonym, dates, site, event id and body hash; the serious AE opens one safety deviation, which the
    second form and a follow-up join instead of opening another."""
    fhir, e2b, event = _bodies(world, course, coi=journey.coi_keyboard)
    settings.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"
    assert _send(their_key, messages.FHIR_KIND, fhir, _id(event, 1, "fhir")).status_code == 200
    assert _send(their_key, messages.E2B_KIND, e2b, _id(event, 1, "e2b")).status_code == 200
    reports = {r.form: r for r in SafetyReport.objects.all()}
    assert set(reports) == {"fhir", "e2b"}
    for form, report in reports.items():
        assert (report.ae_number, report.sequence, report.coi) == (event.number, 1, journey.coi_keyboard)
        assert (report.journey, report.pseudonym, report.coi_known, report.flags) == (
            journey,
            journey.pseudonym,
            True,
            [],
        )
        assert (report.serious, report.grade, report.din) == (True, event.grade, infusion.unit.unit_id)
        assert report.onset_at == event.onset_at and report.awareness_at == event.awareness_at
        assert report.reporter_site == course.site.facility_id and report.partner == sender
        assert report.event_id == _id(event, 1, form)
    assert reports["fhir"].body_sha256 == hashlib.sha256(canonical_bytes(fhir)).hexdigest()
    deviation = Deviation.objects.get(kind=Deviation.Kind.SAFETY)
    assert reports["fhir"].deviation == reports["e2b"].deviation == deviation
    assert deviation.site == journey.manufacturer_site and event.number in deviation.title
    assert not deviation.blocks_subject
    told = Notification.objects.filter(subject_type=SafetyReport.ledger_record_type())
    assert told.count() == 1  # T-7.10-c: QA told once per report, not once per form
    assert told.get().recipient_role == Role.QA and journey.pseudonym in told.get().body

    follow_up = json.loads(json.dumps(fhir))
    follow_up["outcome"][0]["coding"][0]["code"] = "recovering"
    assert _send(their_key, messages.FHIR_KIND, follow_up, _id(event, 2, "fhir")).status_code == 200
    report = SafetyReport.objects.get(event_id=_id(event, 2, "fhir"))
    assert (report.sequence, report.outcome, report.deviation) == (2, "recovering", deviation)
    assert Deviation.objects.filter(kind=Deviation.Kind.SAFETY).count() == 1  # per AE, not per follow-up
    assert told.count() == 2 and told.filter(body__startswith="Follow-up 2 ").exists()


def test_t_7_10_the_same_event_id_again_is_received_once(
    world: Any, course: Any, infusion: Any, sender: Partner, their_key: Any, manufacturer: Any
) -> None:
    """Issue 12 item 2 (the receiver is idempotent by event ID): the same signed message again answers
    "already received" and keeps nothing new; other content under that id is refused and quarantined."""
    with_role = manufacturer.CELLCHAIN_INSTALLATION_ROLE
    manufacturer.CELLCHAIN_INSTALLATION_ROLE = "both"
    fhir, _e2b, event = _bodies(world, course)
    manufacturer.CELLCHAIN_INSTALLATION_ROLE = with_role
    envelope = their_envelope(their_key, kind=messages.FHIR_KIND, body=fhir, event_id=_id(event, 1, "fhir"))
    first, again = deliver(envelope), deliver(envelope)
    assert (first.status_code, first.json()["status"]) == (200, "received")
    assert (again.status_code, again.json()["status"]) == (200, "already received")
    assert SafetyReport.objects.count() == 1 and InboxMessage.objects.count() == 1
    assert Deviation.objects.filter(kind=Deviation.Kind.SAFETY).count() == 1
    altered = json.loads(json.dumps(fhir))
    altered["code"]["text"] = "Something else"
    forged = deliver(
        their_envelope(their_key, kind=messages.FHIR_KIND, body=altered, event_id=_id(event, 1, "fhir"))
    )
    assert forged.status_code == 409
    assert SafetyReport.objects.count() == 1
    assert QuarantinedMessage.objects.get().code == "tampered_duplicate"


def test_t_7_10_an_unknown_coi_is_kept_and_flagged(
    world: Any, course: Any, infusion: Any, sender: Partner, their_key: Any, manufacturer: Any
) -> None:
    """A report about a COI that is none of our journeys is never dropped: kept, flagged, and (serious)
    its deviation opened at a site of this installation's organisation."""
    manufacturer.CELLCHAIN_INSTALLATION_ROLE = "both"
    _fhir, e2b, event = _bodies(world, course)
    manufacturer.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"
    assert _send(their_key, messages.E2B_KIND, e2b, _id(event, 1, "e2b")).status_code == 200
    report = SafetyReport.objects.get()
    assert (report.coi, report.coi_known, report.journey, report.pseudonym) == (course.coi, False, None, "")
    assert report.flags == ["unknown_coi"]
    assert report.deviation is not None
    assert report.deviation.site.organisation == world.organisations["shenghe"]


def test_t_7_10_a_non_serious_ae_opens_no_deviation(
    world: Any, course: Any, infusion: Any, sender: Partner, their_key: Any, manufacturer: Any
) -> None:
    manufacturer.CELLCHAIN_INSTALLATION_ROLE = "both"
    fhir, _e2b, event = _bodies(
        world, course, serious=False, findings={"temperature_c": 38.4, "hypotension": False}
    )
    manufacturer.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"
    assert _send(their_key, messages.FHIR_KIND, fhir, _id(event, 1, "fhir")).status_code == 200
    assert SafetyReport.objects.get().serious is False
    assert not Deviation.objects.filter(kind=Deviation.Kind.SAFETY).exists()


def test_t_7_10_a_hospital_only_installation_refuses_and_quarantines_a_safety_report(
    world: Any, course: Any, infusion: Any, sender: Partner, their_key: Any, settings: Any
) -> None:
    """Issue 12 item 2: only the manufacturer keeps the register; a hospital-only installation refuses the
    message (ServiceError -> quarantine with the reason), keeping nothing."""
    fhir, _e2b, event = _bodies(world, course)
    settings.CELLCHAIN_INSTALLATION_ROLE = "hospital"
    response = _send(their_key, messages.FHIR_KIND, fhir, _id(event, 1, "fhir"))
    assert response.status_code == 422
    assert response.json()["code"] == "not_applied" and "hospital-only" in response.json()["message"]
    assert not SafetyReport.objects.exists() and not InboxMessage.objects.exists()
    assert QuarantinedMessage.objects.get().code == "not_applied"


def test_t_7_10_a_schema_invalid_report_is_quarantined(
    world: Any, course: Any, infusion: Any, sender: Partner, their_key: Any, manufacturer: Any
) -> None:
    """Issue 12 item 2 ("not schema-valid is refused with a clear reason"): FHIR R5 schema for the one,
    the ICSR's structure for the other."""
    manufacturer.CELLCHAIN_INSTALLATION_ROLE = "both"
    fhir, e2b, event = _bodies(world, course)
    manufacturer.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"
    fhir["severity"] = {"coding": [{"code": "severe"}]}  # FHIR R4's element, gone in R5
    e2b["xml"] = e2b["xml"].replace("MCCI_IN200100UV01", "MCCI_IN000000UV01")
    for kind, body, form in ((messages.FHIR_KIND, fhir, "fhir"), (messages.E2B_KIND, e2b, "e2b")):
        response = _send(their_key, kind, body, _id(event, 1, form))
        assert (response.status_code, response.json()["code"]) == (422, "invalid_body"), kind
    assert not SafetyReport.objects.exists()
    reasons = {q.kind: q.reason for q in QuarantinedMessage.objects.all()}
    assert "severity" in reasons[messages.FHIR_KIND]
    assert "MCCI_IN200100UV01" in reasons[messages.E2B_KIND]


def test_t_9_2_7_the_register_page_is_for_qa_and_auditors(
    world: Any,
    course: Any,
    infusion: Any,
    sender: Partner,
    their_key: Any,
    manufacturer: Any,
    client_for: Any,
) -> None:
    """T-9.2.7 (safety listing), REGULATORY items 23-24 (role matrix): QA and auditors see the received
    reports; others get 403."""
    assert roles_for("quality.view_safety_reports") == {Role.QA, Role.AUDITOR}
    manufacturer.CELLCHAIN_INSTALLATION_ROLE = "both"
    fhir, _e2b, event = _bodies(world, course)
    manufacturer.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"
    assert _send(their_key, messages.FHIR_KIND, fhir, _id(event, 1, "fhir")).status_code == 200
    for persona in ("qa_li", "auditor_xiehe"):
        page = client_for(persona).get("/quality/safety-reports/")
        assert page.status_code == 200
        assert event.number in page.content.decode() and course.coi in page.content.decode()
    flagged = client_for("qa_li").get("/quality/safety-reports/?flagged=1").content.decode()
    assert event.number in flagged  # the unknown COI is flagged
    for persona in ("physician_wang", "operator_chen"):
        assert client_for(persona).get("/quality/safety-reports/").status_code == 403
