"""Infusion done and follow-up visit done, sent to the manufacturer from a hospital-only installation in the
step's own transaction (issue 12 item 2; T-8.2.6, T-9.2.8, X-7); nothing at ``both``."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.clinic import services
from cellchain.clinic.tests.conftest import NOW
from cellchain.core import clock
from cellchain.domain.clinical_timing import FOLLOW_UP_ITEMS
from cellchain.exchange.models import OutboxMessage
from cellchain.exchange.services import partner_register
from cellchain.journeys import messages
from cellchain.journeys.tests.gs1 import assert_gs1_valid
from cellchain.verifier.signing import public_key_bytes


@pytest.fixture
def manufacturer_partner(world: Any, settings: Any, tmp_path: Any) -> Any:
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    partner, _ = partner_register(
        actor=None,
        name="Shenghe",
        role="manufacturer",
        base_url="http://127.0.0.1:9",
        log_id="shenghe-ledger",
        public_key=base64.b64encode(public_key_bytes(Ed25519PrivateKey.generate())).decode(),
        outbound_token="ccx_outbound-token-to-manufacturer-0123",
        inbound_token="ccx_inbound-token-of-hospital-xiehe-0123",
        organisation="shenghe",
    )
    return partner


def _end_and_visit(world: Any, course: Any, infusion: Any) -> None:
    services.infusion_end(actor=world["nurse_wang"], infusion=infusion, reaction="患者 张三 felt cold")
    with clock.frozen(NOW + dt.timedelta(days=31)):
        services.follow_up_visit_record(
            actor=world["physician_wang"],
            course=course,
            key="M1",
            done_on=(NOW + dt.timedelta(days=31)).date(),
            findings=dict.fromkeys(FOLLOW_UP_ITEMS, "none found"),
            notes="called the patient's daughter",
        )


def test_infusion_and_follow_up_enqueued_at_hospital_role(
    world: Any, course: Any, infusion: Any, manufacturer_partner: Any, settings: Any
) -> None:
    """issue 12 item 2, T-8.2.6, T-9.2.8, X-7: infusion end sends one EPCIS dispensing event (unit DIN + COI,
    start, end, volume, dose) and the visit one FHIR R5 Task (completed); neither carries the reaction, the
    findings' text or the notes."""
    settings.CELLCHAIN_INSTALLATION_ROLE = "hospital"
    _end_and_visit(world, course, infusion)
    sent = {m.kind: m for m in OutboxMessage.objects.filter(partner=manufacturer_partner)}
    assert set(sent) == {messages.KIND_INFUSION, messages.KIND_FOLLOW_UP}
    document = sent[messages.KIND_INFUSION].envelope["body"]
    event = document["epcisBody"]["eventList"][0]
    assert (event["bizStep"], event["disposition"]) == ("dispensing", "dispensed")
    assert event["cellchain:units"] == [{"cellchain:din": infusion.unit.unit_id, "cellchain:coi": course.coi}]
    assert event["cellchain:infusion"]["cellchain:volumeMl"] == 68.0
    assert sent[messages.KIND_INFUSION].event_id == event["eventID"]
    assert messages.epcis_reasons(messages.KIND_INFUSION)(document) == []
    assert_gs1_valid(document)
    task = sent[messages.KIND_FOLLOW_UP].envelope["body"]
    assert messages.follow_up_reasons(task) == []
    assert task["status"] == "completed" and task["businessStatus"]["coding"][0]["code"] == "M1"
    assert sorted(o["valueString"] for o in task["output"]) == sorted(FOLLOW_UP_ITEMS)
    for body in (document, task):
        text = str(body)
        assert "张三" not in text and "daughter" not in text and "none found" not in text
        assert course.patient_wristband_id not in text


def test_nothing_enqueued_at_role_both(
    world: Any, course: Any, infusion: Any, manufacturer_partner: Any
) -> None:
    """issue 12 item 2, decision 0021: the single-database demo sends nothing."""
    _end_and_visit(world, course, infusion)
    assert not OutboxMessage.objects.exists()
