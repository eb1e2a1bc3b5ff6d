"""The receipt inspection result sent to the manufacturer from a hospital-only installation, in the receipt's
own transaction (issue 12 item 2; T-8.1.7, X-7); nothing at ``both``."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.exchange.models import OutboxMessage
from cellchain.exchange.services import partner_register
from cellchain.journeys import messages
from cellchain.journeys.tests.gs1 import assert_gs1_valid
from cellchain.logistics import demo, services
from cellchain.logistics.tests import kit
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


def _inspect(world: Any, shipment: Any) -> Any:
    return services.receipt_inspect(
        actor=world["pharmacist_liu"], shipment=shipment, scanned_units=shipment.expected_units,
        answers=demo.ALL_YES, monitoring_device=demo.receipt_device(world), receiving_area=demo.RECEIVING_AREA,
    )  # fmt: skip


@pytest.mark.parametrize("role", ["hospital", "both"])
def test_receipt_result_enqueued_only_at_hospital_role(
    world: Any, manufacturer_partner: Any, settings: Any, role: str
) -> None:
    """issue 12 item 2, T-8.1.7: at a hospital installation the accepted receipt goes as one EPCIS inspecting
    event (conformant), the shipment as its desadv, units by DIN + COI; at ``both`` nothing is sent."""
    shipment = kit.ship_and_arrive(world, tag="000771")
    settings.CELLCHAIN_INSTALLATION_ROLE = role
    inspection = _inspect(world, shipment)
    sent = list(OutboxMessage.objects.filter(kind=messages.KIND_RECEIPT))
    if role == "both":
        assert sent == []
        return
    (message,) = sent
    document = message.envelope["body"]
    event = document["epcisBody"]["eventList"][0]
    assert inspection.outcome == "accepted"
    assert (event["bizStep"], event["disposition"]) == ("inspecting", "conformant")
    assert event["cellchain:receipt"]["cellchain:outcome"] == "accepted"
    assert event["bizTransactionList"][0]["type"] == "desadv"
    assert {u["cellchain:din"] for u in event["cellchain:units"]} == set(shipment.expected_units)
    assert {u["cellchain:coi"] for u in event["cellchain:units"]} == {shipment.coi}
    assert message.event_id == event["eventID"]
    assert messages.epcis_reasons(messages.KIND_RECEIPT)(document) == []
    assert_gs1_valid(document)
