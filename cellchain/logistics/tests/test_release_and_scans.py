"""The release gate at hand-off (Q-2-b, Q-2.5-c) and unit scans by typed DIN or final-label barcode at packing,
receipt and stock moves, with a label of another chain of identity refused and recorded (G-4, T-10.4)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cellchain.core.errors import Conflict, IdentityMismatch, ValidationFailed
from cellchain.domain.identity import LabelPayload, parse_coi, parse_label_payload
from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.tests.behind import update_unledgered
from cellchain.logistics import demo, services
from cellchain.logistics.models import PackedUnit, ReceiptInspection, Shipment, StockEvent
from cellchain.logistics.tests import kit
from cellchain.logistics.tests.test_services import at_receipt, ready_to_dispatch
from cellchain.manufacturing.models import Batch, ProductUnit
from cellchain.manufacturing.tests.conftest import mfg  # noqa: F401  (the manufacturing test kit)
from cellchain.quality.models import Deviation, Notification
from cellchain.signatures.services import SignerCredentials
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def product_shipment(world, tag, **batch_options):
    """A product shipment of a new batch B26-<tag> (released unless told otherwise), not packed yet."""
    batch = kit.product_batch(world, tag, **batch_options)
    return services.shipment_create(actor=world["logistics_zhao"], data=services.ShipmentInput(
        batch_number=batch, kind=Shipment.Kind.LN2_DRY_SHIPPER, container_type="LN2 dry shipper",
        container_code=f"DS-{tag}"))  # fmt: skip


def ready(world, tag, **batch_options):
    """Packed, two-person checked, logger linked and storage reserved at Xiehe: only the hand-off is left."""
    shipment = ready_to_dispatch(world, product_shipment(world, tag, **batch_options))
    services.storage_reservation_create(
        actor=world["pharmacist_liu"], shipment=shipment, location=demo.xiehe_storage(world)
    )
    return shipment


def dispatch(world, shipment):
    return services.shipment_dispatch(
        actor=world["logistics_zhao"], shipment=shipment, courier="SF Cold Chain"
    )


def document(entry: LedgerEntry) -> dict[str, Any]:
    """A ledger entry's canonical document (state, reason, extra)."""
    return json.loads(bytes(entry.canonical))


def relabelled(scan: str, coi: str) -> str:
    """The same bag's label DataMatrix, but carrying chain of identity `coi` (a wrong label)."""
    from cellchain.domain.identity import mod37_2_check_character

    payload = parse_label_payload(scan)
    wrong = parse_coi(coi + mod37_2_check_character(coi))
    return LabelPayload(wrong, payload.din, payload.product_code, payload.expires).encode()


class TestReleaseGate:
    def test_a_batch_without_release_decision_is_refused_naming_the_batch(self, world):
        """Q-2-b: nothing leaves before QA's release; the message says which batch and what is missing."""
        shipment = ready(world, "001101", release=None)
        with pytest.raises(Conflict, match="batch B26-001101 has no release decision") as refused:
            dispatch(world, shipment)
        assert refused.value.field == "release" and "Q-2-b" in refused.value.message
        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.PACKED and shipment.dispatched_at is None
        assert set(
            ProductUnit.objects.filter(din__in=shipment.expected_units).values_list("status", flat=True)
        ) == {ProductUnit.Status.IN_STOCK}

    def test_a_batch_rejected_after_its_conditional_release_is_refused(self, world):
        shipment = ready(world, "001102", release=kit.CONDITIONAL)
        update_unledgered(Batch.objects.filter(number=shipment.batch_number), status=Batch.Status.REJECTED)
        with pytest.raises(Conflict, match="batch B26-001102 was rejected by QA"):
            dispatch(world, shipment)

    def test_a_batch_on_recall_hold_is_refused(self, world):
        """Q-2.5-c: a held batch does not leave even with a release decision."""
        shipment = ready(world, "001103")
        update_unledgered(Batch.objects.filter(number=shipment.batch_number), status=Batch.Status.ON_HOLD)
        with pytest.raises(Conflict, match=r"Q-2\.5-c: batch B26-001103 has an open recall hold"):
            dispatch(world, shipment)

    def test_a_quarantined_unit_is_refused(self, world):
        shipment = ready(world, "001104")
        update_unledgered(
            ProductUnit.objects.filter(din=shipment.expected_units[1]), status=ProductUnit.Status.QUARANTINED
        )
        with pytest.raises(Conflict, match=rf"unit {shipment.expected_units[1]} .* is quarantined"):
            dispatch(world, shipment)

    def test_release_is_checked_before_the_reservation(self, world):
        """Both refusals name what is missing: the release first, then T-8.1.2-e."""
        shipment = ready_to_dispatch(world, product_shipment(world, "001105", release=None))
        with pytest.raises(Conflict, match="no release decision"):
            dispatch(world, shipment)
        shipment = ready_to_dispatch(world, product_shipment(world, "001106"))
        with pytest.raises(Conflict, match=r"T-8\.1\.2-e: .* has not reserved storage"):
            dispatch(world, shipment)

    def test_a_conditional_release_leaves_marked_and_the_units_are_shipped_in_the_same_transaction(
        self, world
    ):
        """Q-2-b: conditionally released product may go; the shipment says so with the pending tests; the
        batch's patient units on it become shipped, held by Xiehe, each change ledgered."""
        shipment = dispatch(world, ready(world, "001107", release=kit.CONDITIONAL))
        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.IN_TRANSIT
        assert shipment.release_status == "conditionally_released"
        assert shipment.release_pending == ["sterility", "mycoplasma"]
        units = ProductUnit.objects.filter(batch__number=shipment.batch_number)
        shipped = {u.din: (u.status, u.holder_site.code) for u in units}
        patient, second, qc_unit = kit.units_of("001107")
        assert shipped[patient] == shipped[second] == ("shipped", "xiehe-main")
        assert shipped[qc_unit][0] == "in_stock"
        entries = LedgerEntry.objects.filter(event="unit:shipped", record_type="manufacturing.productunit")
        assert entries.count() == 2 and all(shipment.number in document(e)["reason"] for e in entries)
        dispatched = document(LedgerEntry.objects.get(event="shipment:dispatch"))
        assert "conditionally_released" in dispatched["reason"]

    def test_a_full_release_is_recorded_without_pending_tests(self, world):
        shipment = dispatch(world, ready(world, "001108"))
        assert (shipment.release_status, shipment.release_pending) == ("released", [])

    def test_an_apheresis_shipment_needs_no_release(self, world):
        from cellchain.logistics.tests.test_services import new_shipment

        zhao = world["logistics_zhao"]
        shipment = ready_to_dispatch(world, new_shipment(world))
        demo.xiehe_storage(world)
        services.storage_reservation_create(
            actor=world["pharmacist_liu"], shipment=shipment, location=demo.xiehe_storage(world)
        )
        services.shipment_dispatch(actor=zhao, shipment=shipment, courier="SF")
        assert shipment.status == Shipment.Status.IN_TRANSIT and shipment.release_status == ""

    def test_receipt_records_the_conditional_release_as_qc_has_it_at_receipt(self, world):
        """Q-2-b: the hospital's receipt record says "conditionally released" with the tests pending."""
        batch = kit.product_batch(world, "001109", release=kit.CONDITIONAL)
        shipment = demo.ship_and_arrive(world, batch_number=batch, tag="001109", excursion=False,
                                        password=PERSONA_PASSWORD)  # fmt: skip
        assert shipment.release_status == "conditionally_released"
        inspection = demo.inspect(world, shipment, PERSONA_PASSWORD)
        assert (inspection.release_status, inspection.release_pending) == (
            "conditionally_released",
            ["sterility", "mycoplasma"],
        )


class TestScans:
    def test_packing_by_final_label_barcode(self, world):
        """G-4, T-10.6: the final label's DataMatrix (COI, DIN, product code, expiry) packs its unit."""
        shipment = product_shipment(world, "001121")
        labels = kit.final_label_scans(world, shipment.batch_number)
        assert len(labels) == 2 and all(len(label.split()) == 4 for label in labels)
        zhao = world["logistics_zhao"]
        rows = [
            services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text=label) for label in labels
        ]
        assert sorted(r.din for r in rows) == shipment.expected_units
        assert rows[0].scanned_text == labels[0]
        with pytest.raises(Conflict, match="already packed"):
            services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text=labels[0])
        services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                      verifier=SignerCredentials(world["logistics_qian"], PERSONA_PASSWORD))  # fmt: skip
        assert shipment.status == Shipment.Status.PACKED

    def test_another_patients_label_is_refused_recorded_and_holds_the_shipment(self, world):
        """G-4, REGULATORY item 37: a bag of another chain of identity is not packed; the identity incident is
        recorded (committed despite the refusal) and the shipment cannot leave until QA has dispositioned it."""
        shipment = product_shipment(world, "001122")
        other = product_shipment(world, "001123")
        foreign = kit.final_label_scans(world, other.batch_number)[0]
        zhao = world["logistics_zhao"]
        with pytest.raises(IdentityMismatch) as refused:
            services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text=foreign)
        message = refused.value.message
        assert kit.coi_of("001123") in message and kit.coi_of("001122") in message
        assert not PackedUnit.objects.filter(shipment=shipment).exists()
        deviation = Deviation.objects.get(kind=Deviation.Kind.IDENTITY)
        assert deviation.number in message and deviation.blocks_subject
        assert deviation.subject_id == str(shipment.pk) and deviation.site == world.sites["shenghe-prod"]
        incident = document(LedgerEntry.objects.get(event="shipment:packing:identity"))
        assert incident["extra"]["deviation"] == deviation.number and incident["extra"]["scanned"] == foreign
        for label in kit.final_label_scans(world, shipment.batch_number):
            services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text=label)
        services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                      verifier=SignerCredentials(world["logistics_qian"], PERSONA_PASSWORD))  # fmt: skip
        services.logger_link(actor=zhao, shipment=shipment, serial="TL-1122", interval_s=60,
                             armed_at=shipment.created_at)  # fmt: skip
        with pytest.raises(Conflict, match=f"held by open deviation\\(s\\) {deviation.number}"):
            dispatch(world, shipment)

    def test_a_wrong_check_character_is_refused(self, world):
        """T-10.6: a typed DIN is verified by its check character; a mistyped one packs nothing."""
        shipment = product_shipment(world, "001124")
        din = shipment.expected_units[0]
        wrong = "0" if kit.keyboard(din)[-1] != "0" else "1"
        with pytest.raises(IdentityMismatch, match="check character"):
            services.shipment_pack_scan(
                actor=world["logistics_zhao"], shipment=shipment, scanned_text=din + wrong
            )

    def test_receipt_by_label_barcodes_accepts_and_records_the_dins(self, world):
        shipment = kit.ship_and_arrive(world, tag="001125")
        labels = kit.final_label_scans(world, shipment.batch_number)
        inspection = services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment, scanned_units=labels,
                                              answers=demo.ALL_YES, **at_receipt(world))  # fmt: skip
        assert inspection.outcome == ReceiptInspection.Outcome.ACCEPTED
        assert sorted(inspection.scanned_units) == shipment.expected_units
        entry = document(LedgerEntry.objects.get(event="shipment:receive"))
        assert entry["extra"]["scans"] == labels

    def test_receipt_refuses_a_wrong_label_records_it_and_tells_the_manufacturer(self, world):
        """G-4: the label of a bag on the shipment names another chain of identity: refused at receipt, an
        identity deviation opened at the hospital, the manufacturer's QA told."""
        shipment = kit.ship_and_arrive(world, tag="001126")
        labels = kit.final_label_scans(world, shipment.batch_number)
        wrong = relabelled(labels[1], kit.coi_of("009999"))
        with pytest.raises(IdentityMismatch) as refused:
            services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                     scanned_units=[labels[0], wrong], answers=demo.ALL_YES,
                                     **at_receipt(world))  # fmt: skip
        assert kit.coi_of("009999") in refused.value.message and kit.coi_of("001126") in refused.value.message
        assert not ReceiptInspection.objects.exists()
        deviation = Deviation.objects.get(kind=Deviation.Kind.IDENTITY)
        assert deviation.site == world.sites["xiehe-main"] and deviation.subject_id == str(shipment.pk)
        assert Notification.objects.filter(
            recipient_organisation__code="shenghe", recipient_role="qa", subject__contains=deviation.number
        ).exists()

    def test_receipt_refuses_an_unreadable_scan_naming_its_line(self, world):
        shipment = kit.ship_and_arrive(world, tag="001127")
        with pytest.raises(ValidationFailed, match=r"Scan 2 .* could not be read"):
            services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                     scanned_units=[shipment.expected_units[0], "CH123 =W1 =<S"],
                                     answers=demo.ALL_YES, **at_receipt(world))  # fmt: skip

    def test_stock_in_and_out_by_label_barcode_and_a_wrong_label_refused(self, world):
        shipment = kit.received(world, "001128")
        liu = world["pharmacist_liu"]
        tank = demo.xiehe_storage(world)
        first, second = kit.final_label_scans(world, shipment.batch_number)
        event = services.stock_in(actor=liu, location=tank, scanned_text=first)
        assert event.din in shipment.expected_units and event.scanned_text == first
        with pytest.raises(IdentityMismatch, match=kit.coi_of("001199")):
            services.stock_in(actor=liu, location=tank, scanned_text=relabelled(second, kit.coi_of("001199")))
        assert not StockEvent.objects.filter(din=parse_label_payload(second).din.data).exists()
        assert (
            Deviation.objects.filter(kind=Deviation.Kind.IDENTITY, subject_id=str(shipment.pk)).count() == 1
        )
        out = services.stock_out(actor=liu, scanned_text=first, purpose=StockEvent.Purpose.THAW)
        assert out.din == event.din


def test_a_recall_hold_after_a_positive_compendial_result_holds_the_shipment(world, mfg):  # noqa: F811
    """Q-2.5-c with the real QC services: a conditionally released batch, packed by its final labels, is held
    by the recall hold a late positive sterility result starts; the refusal names the hold's reason."""
    from cellchain.qc import services as qc

    batch = mfg.ready_for_release(
        mfg.manufactured(), sterility={"status": "ordered"}, mycoplasma={"status": "ordered"}
    )
    qc.batch_release(
        actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="conditionally_releasable"
    )
    shipment = services.shipment_create(actor=world["logistics_zhao"], data=services.ShipmentInput(
        batch_number=batch.number, kind=Shipment.Kind.LN2_DRY_SHIPPER, container_type="LN2 dry shipper",
        container_code="DS-MFG"))  # fmt: skip
    zhao = world["logistics_zhao"]
    for label in kit.final_label_scans(world, batch.number):
        services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text=label)
    services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                  verifier=SignerCredentials(world["logistics_qian"], PERSONA_PASSWORD))  # fmt: skip
    services.logger_link(actor=zhao, shipment=shipment, serial="TL-MFG", interval_s=60, armed_at=mfg.now)
    services.storage_reservation_create(
        actor=world["pharmacist_liu"], shipment=shipment, location=demo.xiehe_storage(world)
    )
    assert services.shipment_release_check(shipment).conditional
    qc.result_record(actor=mfg.analyst, batch=batch, item_code="sterility", outcome="positive")
    with pytest.raises(Conflict, match=f"batch {batch.number} has an open recall hold") as refused:
        dispatch(world, shipment)
    assert "sterility" in refused.value.message
