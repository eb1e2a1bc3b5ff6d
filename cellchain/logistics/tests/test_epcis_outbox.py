"""The hand-off of a product shipment puts its EPCIS shipment message to the hospital into the outbox, in the
same transaction, only at a manufacturer-only installation (issue 12 item 2; T-7.15, T-8.1.5; decision 0022)."""

from __future__ import annotations

import pytest

from cellchain.domain.epcis_hash import document_namespaces, event_hash
from cellchain.domain.epcis_messages import parse_shipment
from cellchain.exchange.epcis import schema_reasons
from cellchain.exchange.tests.epcis_kit import epcis_outbox, kinds_sent, partner_for
from cellchain.logistics.tests import kit

pytestmark = pytest.mark.django_db


def test_dispatch_enqueues_the_shipment_message_to_the_receiving_hospital(world, settings, tmp_path):
    """T-7.15, issue 12 item 2: units (DIN, COI, product, batch), shipper and loggers as one EPCIS shipping
    event, its eventID the GS1 event hash; addressed to the partner standing for the receiving site's org."""
    settings.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    partner = partner_for(world.organisations["xiehe"])
    shipment = kit.ship_and_arrive(world, tag="000771")
    assert kinds_sent() == ["epcis.shipment"]
    (message,) = epcis_outbox()
    body = message.envelope["body"]
    event = body["epcisBody"]["eventList"][0]
    assert message.partner == partner and schema_reasons(body) == []
    assert message.event_id == event["eventID"] == event_hash(event, document_namespaces(body))
    notice = parse_shipment(body).notice
    assert notice.number == shipment.number and notice.to_site == shipment.to_site.code
    assert shipment.to_site.organisation == world.organisations["xiehe"]
    assert sorted(u.din for u in notice.units) == sorted(shipment.expected_units)
    assert {u.coi for u in notice.units} == {shipment.coi}
    assert len(notice.sensors) == shipment.loggers.count()


def test_dispatch_enqueues_nothing_at_a_single_installation(world, settings, tmp_path):
    """Decision 0021: at role "both" the hospital receipt reads the same shipment record."""
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    partner_for(world.organisations["xiehe"])
    kit.ship_and_arrive(world, tag="000772")
    assert kinds_sent() == []
