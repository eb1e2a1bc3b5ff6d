"""A hospital installation receives its manufacturer's EPCIS 2.0 messages through the exchange inbox and keeps
them: release, late result and recall on `ReportedUnit` (the latest event standing), the package's reference,
the shipment as an `IncomingShipment` for the receipt (issue 12 item 2; Q-2-b, Q-2.5-b, Q-2.5-c, T-7.4, T-7.15,
T-8.1.3-a, T-8.1.5; decisions 0017, 0018, 0022)."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.test import Client

from cellchain.clinic import incoming, upstream
from cellchain.clinic.models import ClinicUnit, IncomingShipment, ReportedUnit
from cellchain.core import clock
from cellchain.core.errors import NotAllowed
from cellchain.exchange.envelope import envelope_build
from cellchain.exchange.epcis import event_id_of
from cellchain.exchange.models import InboxMessage, QuarantinedMessage
from cellchain.exchange.services import partner_register
from cellchain.ledger.models import LedgerEntry
from cellchain.manufacturing.tests import conftest as manufacturing_fixtures
from cellchain.qc import services
from cellchain.qc.epcis import (
    coa_document,
    late_result_message_document,
    package_message_document,
    recall_message_document,
    release_message_document,
)
from cellchain.qc.models import QcResult, RecallHold
from cellchain.verifier.signing import public_key_bytes

pytestmark = pytest.mark.django_db

# The manufacturing kit makes the QC records whose messages the hospital receives.
mfg, now = manufacturing_fixtures.mfg, manufacturing_fixtures.now

MAKER = "maker-a"
TOKEN = "ccx_inbound-token-of-maker-a-0123456789"


@pytest.fixture
def maker_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def maker(db: None, settings: Any, tmp_path: Any, maker_key: Ed25519PrivateKey) -> Any:
    """The manufacturer's installation, registered as our partner with its pinned key."""
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    partner, _ = partner_register(
        actor=None,
        name="Maker A",
        role="manufacturer",
        base_url="http://127.0.0.1:9",
        log_id=MAKER,
        public_key=base64.b64encode(public_key_bytes(maker_key)).decode(),
        outbound_token="ccx_outbound-token-for-maker-a-0123456789",
        inbound_token=TOKEN,
    )
    return partner


def deliver(key: Ed25519PrivateKey, document: dict[str, Any], *, event_id: str | None = None) -> Any:
    """POST the document to our inbox as the manufacturer's worker would, signed with its key."""
    kind = "epcis." + document["epcisBody"]["eventList"][0]["cellchain:message"]
    envelope = envelope_build(
        private_key=key,
        sender=MAKER,
        recipient=django_settings.CELLCHAIN_LEDGER_LOG_ID,
        kind=kind,
        event_id=event_id or event_id_of(document),
        sent_at=dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC),
        body=document,
    )
    return Client().post(
        "/api/exchange/inbox",
        data=json.dumps(envelope),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
    )


def _conditional_release_and_recall(mfg: Any) -> tuple[Any, dict, dict, dict]:
    """Real QC records made at the manufacturer: conditional release, late sterility positive, recall/hold."""
    batch = mfg.manufactured()
    for code in ("sterility", "mycoplasma"):
        services.result_record(actor=mfg.analyst, batch=batch, item_code=code, status=QcResult.Status.ORDERED)
    batch = mfg.ready_for_release(batch, sterility={"status": "ordered"}, mycoplasma={"status": "ordered"})
    decision = services.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"),
                                      outcome="conditionally_releasable")  # fmt: skip
    batch.refresh_from_db()
    release = release_message_document(decision, created_at=clock.now(), certificate=coa_document(batch)[0])
    mfg.advance(2)
    positive = services.result_record(
        actor=mfg.analyst, batch=batch, item_code="sterility", outcome="positive"
    )
    late = late_result_message_document(positive, created_at=clock.now())
    mfg.advance(1)
    recall = recall_message_document(RecallHold.objects.get(batch=batch), created_at=clock.now())
    return batch, release, late, recall


def _dins(batch: Any) -> list[str]:
    return sorted(batch.units.filter(purpose="patient").values_list("din", flat=True))


def _as_hospital(settings: Any, organisation: str = "") -> None:
    settings.CELLCHAIN_INSTALLATION_ROLE = "hospital"
    settings.CELLCHAIN_INSTALLATION_ORGANISATION = organisation


def test_release_then_recall_update_the_reported_unit_and_a_repeat_is_taken_once(
    mfg, maker, maker_key, settings
):
    """Q-2.5-b then Q-2.5-c: the conditional release makes the units conditionally released with the CoA's
    reference (URI + SHA-256); the recall quarantines them; the bedside's upstream view follows. The same
    message again is answered "already received" and writes nothing (idempotent by event id, decision 0017)."""
    batch, release, late, recall = _conditional_release_and_recall(mfg)
    _as_hospital(settings)
    assert deliver(maker_key, release).json()["status"] == "received"
    din = _dins(batch)[0]
    unit = ReportedUnit.objects.get(din=din)
    assert (unit.release, unit.coi, unit.manufacturer) == (
        ClinicUnit.Release.CONDITIONAL,
        batch.intake.coi,
        MAKER,
    )
    (certificate,) = unit.documents
    sent = release["epcisBody"]["eventList"][0]["cellchain:document"]
    assert (
        certificate["kind"] == "certificate_of_analysis" and certificate["sha256"] == sent["cellchain:sha256"]
    )
    assert upstream.unit_facts(din).release == ClinicUnit.Release.CONDITIONAL

    entries = LedgerEntry.objects.count()
    again = deliver(maker_key, release)
    assert again.status_code == 200 and again.json()["status"] == "already received"
    assert LedgerEntry.objects.count() == entries

    assert deliver(maker_key, late).json()["status"] == "received"
    assert ReportedUnit.objects.get(din=din).release == ClinicUnit.Release.QUARANTINED
    assert deliver(maker_key, recall).json()["status"] == "received"
    unit = ReportedUnit.objects.get(din=din)
    # The recall/hold starts at the moment the positive is recorded: both events stand, both reasons shown.
    assert unit.release == ClinicUnit.Release.QUARANTINED and unit.event_id == event_id_of(recall)
    assert any("recalled" in reason for reason in unit.reasons)
    assert any("late result sterility: does not conform" in reason for reason in unit.reasons)
    assert upstream.unit_facts(din).release == ClinicUnit.Release.QUARANTINED
    assert InboxMessage.objects.filter(sender=MAKER).count() == 3
    assert ReportedUnit.objects.filter(din__in=_dins(batch)).count() == len(_dins(batch))


def test_an_older_release_delivered_after_the_recall_does_not_undo_it(mfg, maker, maker_key, settings):
    """Out of order (a receiver that was down, retries): the recall stands over the older release; the release's
    CoA reference is still kept (Q-2.5-c, issue 12 item 2)."""
    batch, release, _late, recall = _conditional_release_and_recall(mfg)
    _as_hospital(settings)
    assert deliver(maker_key, recall).json()["status"] == "received"
    assert deliver(maker_key, release).json()["status"] == "received"
    unit = ReportedUnit.objects.get(din=_dins(batch)[0])
    assert unit.release == ClinicUnit.Release.QUARANTINED and unit.event_id == event_id_of(recall)
    assert [d["kind"] for d in unit.documents] == ["certificate_of_analysis"]


def test_the_package_reference_is_kept_and_a_later_release_still_stands(mfg, maker, maker_key, settings):
    """T-7.4: the package version travels by reference (its RFC 8785 SHA-256 as QC recorded it). A package
    delivered before its release leaves the unit "not released" until the release arrives (Q-2-b)."""
    batch = mfg.ready_for_release(mfg.manufactured())
    decision = services.batch_release(
        actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable"
    )
    release = release_message_document(decision, created_at=clock.now(), certificate=coa_document(batch)[0])
    mfg.advance(1)
    issue = services.package_issue(actor=mfg.qa, batch=batch)
    package = package_message_document(issue, created_at=clock.now())
    _as_hospital(settings)
    assert deliver(maker_key, package).json()["status"] == "received"
    din = _dins(batch)[0]
    assert ReportedUnit.objects.get(din=din).release == ClinicUnit.Release.NOT_RELEASED
    assert deliver(maker_key, release).json()["status"] == "received"
    unit = ReportedUnit.objects.get(din=din)
    assert unit.release == ClinicUnit.Release.RELEASED
    kinds = {d["kind"]: d for d in unit.documents}
    assert kinds["product_information"]["sha256"] == issue.content_sha256
    assert kinds["product_information"]["version"] == str(issue.version)


def test_a_schema_invalid_body_is_refused_and_quarantined(mfg, maker, maker_key, settings):
    """Issue 12 item 2: a message that is not valid against GS1's EPCIS 2.0 JSON schema is refused with the
    reason and kept in the quarantine; nothing is applied."""
    batch, release, _late, _recall = _conditional_release_and_recall(mfg)
    _as_hospital(settings)
    broken = copy.deepcopy(release)
    broken["epcisBody"]["eventList"][0]["eventTime"] = "yesterday"
    answer = deliver(maker_key, broken, event_id=event_id_of(release))
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_body"
    assert "EPCIS schema" in answer.json()["message"] and "eventTime" in answer.json()["message"]
    assert QuarantinedMessage.objects.filter(code="invalid_body", kind="epcis.release").count() == 1
    assert not ReportedUnit.objects.filter(din__in=_dins(batch)).exists()


def test_a_changed_event_under_its_old_event_id_is_refused(mfg, maker, maker_key, settings):
    """Decision 0018: the eventID is the event's hash, so a schema-valid event changed after naming (here the
    units' COI) is refused by the parser of its kind, and nothing is applied."""
    batch, release, _late, _recall = _conditional_release_and_recall(mfg)
    _as_hospital(settings)
    changed = copy.deepcopy(release)
    changed["epcisBody"]["eventList"][0]["cellchain:releaseStatus"] = "released"
    answer = deliver(maker_key, changed)
    assert answer.status_code == 422 and "does not match the event's content" in answer.json()["message"]
    assert not ReportedUnit.objects.filter(din__in=_dins(batch)).exists()


def test_a_unit_of_another_hospital_is_refused(mfg, maker, maker_key, settings):
    """T-8.1.3-a, issue 12 item 2: Renji's installation is told nothing of a Xiehe patient's unit; the message is
    refused as misrouted, quarantined, and nothing is kept."""
    batch, release, _late, _recall = _conditional_release_and_recall(mfg)
    assert batch.intake.collection_site.organisation.code != "renji"
    _as_hospital(settings, organisation="renji")
    answer = deliver(maker_key, release)
    assert answer.status_code == 422 and answer.json()["code"] == "not_applied"
    assert "not of a patient of this hospital" in answer.json()["message"]
    assert not ReportedUnit.objects.filter(din__in=_dins(batch)).exists()
    assert QuarantinedMessage.objects.filter(code="not_applied").count() == 1


def test_refused_at_a_manufacturer_installation(mfg, maker, maker_key, settings):
    """Decision 0021: a manufacturer's installation keeps no hospital records; the receive refuses."""
    _batch, release, _late, _recall = _conditional_release_and_recall(mfg)
    settings.CELLCHAIN_INSTALLATION_ROLE = "manufacturer"
    with pytest.raises(NotAllowed, match="keeps no hospital records"):
        incoming.release_receive(actor=None, partner=maker, body=release, event_id=event_id_of(release))
    answer = deliver(maker_key, release)
    assert answer.status_code == 422 and not ReportedUnit.objects.exists()


def _patient_of_xiehe(course: Any, coi: str) -> None:
    """A treatment course at Xiehe for the patient whose COI the logistics kit's batch carries."""
    from cellchain.clinic.models import TreatmentCourse
    from cellchain.ledger.tests.behind import create_unledgered

    fields = {
        f.name: getattr(course, f.name) for f in TreatmentCourse._meta.concrete_fields if not f.primary_key
    }
    create_unledgered(TreatmentCourse, **(fields | {"journey_ref": f"J-{coi}", "coi": coi}))


def test_a_shipment_message_becomes_the_incoming_shipment_the_receipt_expects(
    world, course, maker, maker_key, settings
):
    """T-7.15, T-8.1.3-a, T-8.1.5: the announced shipment is kept with its units (DIN, COI, product, batch), its
    shipper and its loggers' summary with the excursion alarm; the receipt finds it by a unit's DIN. Received
    again (by the inbox or the receive itself) it is kept once."""
    from cellchain.logistics.epcis import shipment_message_document
    from cellchain.logistics.tests import kit

    shipment = kit.ship_and_arrive(world, tag="000881", excursion=True)
    _patient_of_xiehe(course, shipment.coi)
    document = shipment_message_document(shipment, created_at=clock.now())
    _as_hospital(settings)
    answer = deliver(maker_key, document)
    assert answer.json().get("status") == "received", answer.json()
    record = IncomingShipment.objects.get()
    assert (record.number, record.manufacturer, record.to_site) == (shipment.number, MAKER, shipment.to_site)
    assert sorted(record.dins) == sorted(shipment.expected_units)
    assert {u["coi"] for u in record.units} == {shipment.coi}
    (logger,) = record.loggers
    assert logger["max_c"] == -142.1 and len(logger["alarms"]) == 1 and record.excursions == 1
    assert incoming.incoming_shipment_for(shipment.expected_units[0]) == record
    assert incoming.incoming_shipment_for("W0000 26 999999") is None

    assert deliver(maker_key, document).json()["status"] == "already received"
    again = incoming.shipment_receive(
        actor=None, partner=maker, body=document, event_id=event_id_of(document)
    )
    assert again == record and IncomingShipment.objects.count() == 1


def test_a_shipment_to_another_hospital_is_refused(world, course, maker, maker_key, settings):
    """T-8.1.1, issue 12 item 2: Renji's installation does not keep a shipment addressed to Xiehe."""
    from cellchain.logistics.epcis import shipment_message_document
    from cellchain.logistics.tests import kit

    shipment = kit.ship_and_arrive(world, tag="000882")
    _patient_of_xiehe(course, shipment.coi)
    document = shipment_message_document(shipment, created_at=clock.now())
    _as_hospital(settings, organisation="renji")
    answer = deliver(maker_key, document)
    assert answer.status_code == 422 and answer.json()["code"] == "not_applied"
    assert not IncomingShipment.objects.exists()
