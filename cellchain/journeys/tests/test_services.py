"""Journeys services: enrolment, identifiers, booking, apheresis, labels, custody (T-10.4, T-10.6, G-4, X-7)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.domain.custody import CustodyStep
from cellchain.domain.identity import mod37_2_check_character, parse_label_payload
from cellchain.journeys import services
from cellchain.journeys.models import Booking, CustodyEvent, Journey, LabelPrint, PatientIdentity
from cellchain.journeys.selectors import patient_identity_for
from cellchain.ledger.models import LedgerEntry
from cellchain.quality.models import Deviation, Notification
from cellchain.signatures.models import Signature
from cellchain.signatures.services import SignerCredentials
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def _creds(world, username):
    return SignerCredentials(world[username], PERSONA_PASSWORD)


class TestJourneyEnrol:
    def test_enrolment_issues_a_checked_coi_of_the_hospital_facility(self, kit):
        journey = kit.enrol()
        assert journey.coi.startswith("CHW2001")
        assert len(journey.coi) == 15
        assert journey.coi_check == mod37_2_check_character(journey.coi)
        assert journey.pseudonym.startswith("P-")

    def test_consecutive_enrolments_get_consecutive_distinct_cois(self, kit):
        first, second = kit.enrol(), kit.enrol()
        assert int(second.coi[-6:]) == int(first.coi[-6:]) + 1

    def test_enrolment_blocked_without_ethics_approval_in_force(self, kit, world):
        """T-5.2.2: enrolment for a product is blocked without a valid approval."""
        with pytest.raises(ValidationFailed, match="ethics approval"):
            services.journey_enrol(
                actor=world["physician_wang"],
                hospital_site=kit.hospital,
                manufacturer_site=kit.manufacturer,
                product_code="S9999V00",
                product_name="other",
                starting_material="fresh",
                patient=services.PatientData("李四", dt.date(1980, 1, 1), "MRN-9", "WB-9"),
            )

    def test_manufacturer_staff_cannot_enrol(self, kit, world):
        with pytest.raises(NotAllowed):
            services.journey_enrol(
                actor=world["qa_li"],
                hospital_site=kit.hospital,
                manufacturer_site=kit.manufacturer,
                product_code="S1395V00",
                product_name="x",
                starting_material="fresh",
                patient=services.PatientData("李四", dt.date(1980, 1, 1), "MRN-9", "WB-9"),
            )

    def test_ledger_holds_only_a_keyed_digest_of_the_patient_identity(self, kit):
        """REGULATORY item 42, X-7: the ledger never carries the name, birth date or record numbers."""
        journey = kit.enrol(name="王小明")
        identity = PatientIdentity.objects.get(journey=journey)
        entries = LedgerEntry.objects.filter(
            record_type="journeys.patientidentity", record_id=str(identity.pk)
        )
        text = b"".join(bytes(e.canonical) for e in entries).decode()
        assert identity.identity_digest in text
        for value in ("王小明", identity.hospital_record_number, identity.wristband_id, "1970-01-01"):
            assert value not in text

    def test_manufacturer_user_is_refused_the_patient_identity(self, kit, world):
        journey = kit.enrol()
        with pytest.raises(NotAllowed):
            patient_identity_for(world["qa_li"], journey)
        with pytest.raises(NotAllowed):
            patient_identity_for(world["coordinator_xu"], journey)  # another hospital
        assert patient_identity_for(world["nurse_wang"], journey).journey == journey


class TestConsentAndEligibility:
    def test_eligibility_needs_consent_first(self, kit, world):
        journey = kit.enrol()
        with pytest.raises(Conflict, match="Consent"):
            services.eligibility_assess(actor=world["physician_wang"], journey=journey, answers={"a": True})

    def test_an_unmet_criterion_makes_the_journey_not_eligible(self, kit, world):
        journey = kit.enrol()
        services.consent_record(
            actor=world["physician_wang"],
            journey=journey,
            form_version="v1",
            signed_on=kit.today,
            signer="patient",
        )
        services.eligibility_assess(
            actor=world["physician_wang"],
            journey=journey,
            answers={"ECOG 0-1": True, "CD19+ disease": False},
        )
        journey.refresh_from_db()
        assert journey.status == Journey.Status.NOT_ELIGIBLE

    def test_withdrawal_stops_the_journey_and_tells_the_manufacturer(self, kit, world):
        journey = kit.eligible()
        consent = journey.consents.get()
        services.consent_withdraw(actor=world["physician_wang"], consent=consent, reason="patient declined")
        journey.refresh_from_db()
        assert journey.status == Journey.Status.WITHDRAWN
        assert Notification.objects.filter(
            recipient_organisation=kit.manufacturer.organisation, subject__contains="withdrawn"
        ).exists()


class TestBooking:
    def test_fresh_apheresis_needs_the_manufacturing_slot_first(self, kit, world):
        """P-T3-a: booking a fresh apheresis requires a reserved manufacturing slot."""
        journey = kit.eligible()
        apheresis, _ = kit.slots()
        with pytest.raises(ValidationFailed, match="manufacturing slot"):
            services.booking_book(actor=world["coordinator_zhou"], journey=journey, slot=apheresis)

    def test_booking_needs_consent(self, kit, world):
        """T-6.4-b: consent required before apheresis can be scheduled."""
        journey = kit.enrol()
        apheresis, _ = kit.slots()
        with pytest.raises(Conflict):
            services.booking_book(actor=world["coordinator_zhou"], journey=journey, slot=apheresis)

    def test_a_full_slot_refuses_the_next_booking(self, kit, world):
        kit.scheduled()
        kit.scheduled()  # capacity 2 reached on both slots
        third = kit.eligible()
        _, manufacturing = kit.slots()
        with pytest.raises(ValidationFailed, match="full"):
            services.booking_book(actor=world["logistics_zhao"], journey=third, slot=manufacturing)

    def test_move_needs_a_reason_and_notifies_both_parties(self, kit, world):
        journey = kit.scheduled()
        booking = journey.bookings.get(kind="apheresis", status="booked")
        later, _ = kit.slots(days_ahead=4)
        with pytest.raises(ValidationFailed, match="reason"):
            services.booking_move(actor=world["coordinator_zhou"], booking=booking, slot=later, reason=" ")
        services.booking_move(actor=world["coordinator_zhou"], booking=booking, slot=later, reason="fever")
        booking.refresh_from_db()
        assert booking.status == Booking.Status.MOVED
        assert journey.bookings.get(kind="apheresis", status="booked").slot == later
        notified = Notification.objects.filter(subject__contains="moved")
        assert {n.recipient_organisation.code for n in notified} == {"xiehe", "shenghe"}

    def test_cancel_records_the_reason(self, kit, world):
        journey = kit.scheduled()
        booking = journey.bookings.get(kind="manufacturing")
        services.booking_cancel(actor=world["logistics_zhao"], booking=booking, reason="suite out of service")
        booking.refresh_from_db()
        assert (booking.status, booking.change_reason) == (Booking.Status.CANCELLED, "suite out of service")


class TestCollectionRecord:
    def test_collection_blocked_without_screening_results(self, kit, world):
        """P-1.3.1-a: apheresis cannot start without results for every mandatory marker."""
        journey = kit.scheduled()
        with pytest.raises(ValidationFailed) as caught:
            services.collection_record(
                actor=world["apheresis_sun"], journey=journey, data=kit.collection_input()
            )
        assert caught.value.detail["reasons"] == ["missing_marker"] * 4
        assert not journey.units.exists()
        refusal = LedgerEntry.objects.get(event="collection:refuse", record_id=str(journey.pk))
        assert "missing_marker" in bytes(refusal.canonical).decode()

    def test_reactive_result_blocks_until_physician_decides_then_flags_infectious(self, kit, world):
        journey = kit.scheduled()
        kit.screened(journey, hbv="reactive")
        with pytest.raises(ValidationFailed, match="physician"):
            services.collection_record(
                actor=world["apheresis_sun"], journey=journey, data=kit.collection_input()
            )
        with pytest.raises(NotAllowed):
            services.screening_decide(
                actor=world["nurse_wang"],
                journey=journey,
                active_infection=False,
                decision="proceed",
                reason="x",
            )
        services.screening_decide(
            actor=world["physician_wang"],
            journey=journey,
            active_infection=False,
            decision="proceed",
            reason="HBV DNA negative on prophylaxis",
        )
        collection = services.collection_record(
            actor=world["apheresis_sun"], journey=journey, data=kit.collection_input()
        )
        assert collection.infectious

    def test_operator_without_apheresis_qualification_is_refused(self, kit, world):
        journey = kit.scheduled()
        kit.screened(journey)
        with pytest.raises(NotAllowed, match="apheresis"):
            services.collection_record(
                actor=world["nurse_wang"], journey=journey, data=kit.collection_input()
            )

    def test_mnc_shortfall_is_flagged_and_each_bag_gets_a_din(self, kit, world):
        journey = kit.scheduled()
        kit.screened(journey)
        collection = services.collection_record(
            actor=world["apheresis_sun"],
            journey=journey,
            data=kit.collection_input(mnc_count=Decimal("0.7e9")),
        )
        assert collection.mnc_shortfall
        units = kit.units(journey)
        assert len(units) == 2
        assert all(u.din.startswith("W200126") or u.din.startswith("W2001") for u in units)
        assert units[0].din != units[1].din
        assert all(u.din_check == mod37_2_check_character(u.din) for u in units)

    def test_out_of_range_parameters_are_named(self, kit, world):
        journey = kit.scheduled()
        kit.screened(journey)
        with pytest.raises(ValidationFailed, match="cycles 0 outside"):
            services.collection_record(
                actor=world["apheresis_sun"], journey=journey, data=kit.collection_input(cycles=0)
            )


class TestLabelPrint:
    def test_label_carries_the_identifiers_and_reprint_needs_a_reason(self, kit, world):
        journey = kit.collected()
        unit = kit.units(journey)[0]
        first = services.label_print(actor=world["apheresis_sun"], unit=unit)
        payload = parse_label_payload(first.record.payload)
        assert (payload.coi.data, payload.din.data) == (journey.coi, unit.din)
        with pytest.raises(ValidationFailed, match="reprint needs a reason"):
            services.label_print(actor=world["apheresis_sun"], unit=unit)
        second = services.label_print(actor=world["apheresis_sun"], unit=unit, reprint_reason="smudged")
        assert second.record.print_number == 2
        assert LabelPrint.objects.filter(unit=unit).count() == 2
        assert second.record.template_version == "UL-1.0"

    def test_labelling_needs_two_different_qualified_people(self, kit, world):
        """T-10.6, X-5: two different users, both qualified, both sign."""
        journey = kit.collected()
        unit = kit.units(journey)[0]
        label = services.label_print(actor=world["apheresis_sun"], unit=unit)
        with pytest.raises(NotAllowed):
            services.unit_label_verify(
                unit=unit,
                scanned_text=label.record.payload,
                performer=_creds(world, "apheresis_sun"),
                verifier=_creds(world, "apheresis_sun"),
            )
        event = services.unit_label_verify(
            unit=unit,
            scanned_text=label.record.payload,
            performer=_creds(world, "apheresis_sun"),
            verifier=_creds(world, "nurse_wang"),
        )
        assert event.verdict == "match"
        unit.refresh_from_db()
        assert unit.state == "labelled"
        meanings = sorted(
            Signature.objects.filter(record_type="journeys.labelprint").values_list("meaning", flat=True)
        )
        assert meanings == ["performed", "verified"]


def _labelled(kit, world):
    journey = kit.collected()
    units = kit.units(journey)
    for unit in units:
        label = services.label_print(actor=world["apheresis_sun"], unit=unit)
        services.unit_label_verify(
            unit=unit,
            scanned_text=label.record.payload,
            performer=_creds(world, "apheresis_sun"),
            verifier=_creds(world, "nurse_wang"),
        )
    return journey, [u.__class__.objects.get(pk=u.pk) for u in units]


class TestUnitCustodyScan:
    def test_walk_from_pack_to_storage_at_the_manufacturer(self, kit, world):
        _, (unit, _) = _labelled(kit, world)
        scan = unit.din_keyboard
        for actor, step, details in (
            ("apheresis_sun", CustodyStep.PACK, services.ScanDetails(shipper_code="SHIP-01")),
            ("apheresis_sun", CustodyStep.HAND_TO_COURIER, None),
            (
                "logistics_zhao",
                CustodyStep.RECEIVE_AT_MANUFACTURER,
                services.ScanDetails(condition="bag intact"),
            ),
        ):
            event = services.unit_custody_scan(
                actor=world[actor], unit=unit, step=step, scanned_text=scan, details=details
            )
            assert event.verdict == "match", event.reasons
        position = services.storage_position_create(
            actor=world["logistics_zhao"],
            site=kit.manufacturer,
            tank="T1",
            rack="R1",
            box="B1",
            position="P1",
        )
        services.unit_custody_scan(
            actor=world["logistics_zhao"],
            unit=unit,
            step=CustodyStep.STORE,
            scanned_text=scan,
            details=services.ScanDetails(storage_position=position),
        )
        unit.refresh_from_db()
        assert (unit.state, unit.site, unit.storage_position) == ("stored", kit.manufacturer, position)

    def test_start_of_manufacture_is_not_a_custody_scan_of_its_own(self, kit, world):
        """P-1-a, T-10.4: only a started batch consumes a unit (unit_manufacture_start), never the scan form."""
        _, (unit, _) = _labelled(kit, world)
        with pytest.raises(NotAllowed, match="when the batch is started"):
            services.unit_custody_scan(
                actor=world["logistics_zhao"],
                unit=unit,
                step=CustodyStep.START_MANUFACTURE,
                scanned_text=unit.din_keyboard,
            )
        assert not CustodyEvent.objects.filter(step=CustodyStep.START_MANUFACTURE).exists()

    def test_manufacture_start_refuses_a_unit_not_yet_received_and_records_nothing(self, kit, world):
        _, (unit, _) = _labelled(kit, world)
        with pytest.raises(
            Conflict, match=r"cannot go into batch B26-0009.*needs it to be received, retrieved"
        ):
            services.unit_manufacture_start(
                actor=world["operator_chen"],
                din=unit.din,
                scanned_text=unit.din_keyboard,
                batch_number="B26-0009",
            )
        unit.refresh_from_db()
        assert unit.state == "labelled"
        assert not CustodyEvent.objects.filter(step=CustodyStep.START_MANUFACTURE).exists()

    def test_wrong_bag_is_blocked_recorded_and_reported_to_qa(self, kit, world):
        """G-4, REGULATORY item 37: scanning the wrong bag -> blocked and audited; QA notified."""
        _, (unit, _) = _labelled(kit, world)
        _, (other, _) = _labelled(kit, world)
        event = services.unit_custody_scan(
            actor=world["apheresis_sun"],
            unit=unit,
            step=CustodyStep.PACK,
            scanned_text=other.din_keyboard,
            details=services.ScanDetails(shipper_code="SHIP-01"),
        )
        assert event.verdict == CustodyEvent.Verdict.BLOCKED
        assert event.reasons[0]["fault"] == "wrong_patient"
        unit.refresh_from_db()
        assert unit.state == "labelled"  # nothing moved
        deviation = Deviation.objects.get(number=event.deviation_number)
        assert deviation.kind == Deviation.Kind.IDENTITY
        assert Notification.objects.filter(
            recipient_organisation=kit.manufacturer.organisation,
            recipient_role="qa",
            subject__contains="identity mismatch",
        ).exists()
        assert LedgerEntry.objects.filter(event="unit:scan", record_id=str(event.pk)).exists()

    def test_mistyped_din_is_blocked_without_an_identity_incident(self, kit, world):
        _, (unit, _) = _labelled(kit, world)
        wrong = "0" if unit.din_check != "0" else "1"
        event = services.unit_custody_scan(
            actor=world["apheresis_sun"],
            unit=unit,
            step=CustodyStep.PACK,
            scanned_text=unit.din + wrong,
            details=services.ScanDetails(shipper_code="SHIP-01"),
        )
        assert (event.verdict, event.reasons[0]["fault"], event.deviation_number) == (
            "blocked",
            "check_failed",
            "",
        )

    def test_receipt_scanned_at_the_hospital_is_wrong_site_and_duplicate_pack_is_refused(self, kit, world):
        _, (unit, _) = _labelled(kit, world)
        details = services.ScanDetails(shipper_code="SHIP-01")
        services.unit_custody_scan(
            actor=world["apheresis_sun"],
            unit=unit,
            step=CustodyStep.PACK,
            scanned_text=unit.din_keyboard,
            details=details,
        )
        again = services.unit_custody_scan(
            actor=world["apheresis_sun"],
            unit=unit,
            step=CustodyStep.PACK,
            scanned_text=unit.din_keyboard,
            details=details,
        )
        assert [r["fault"] for r in again.reasons] == ["duplicate_scan"]
        early = services.unit_custody_scan(
            actor=world["logistics_zhao"],
            unit=unit,
            step=CustodyStep.RECEIVE_AT_MANUFACTURER,
            scanned_text=unit.din_keyboard,
        )
        assert [r["fault"] for r in early.reasons] == ["wrong_state"]

    def test_packing_without_a_shipper_code_is_refused_and_nothing_moves(self, kit, world):
        _, (unit, _) = _labelled(kit, world)
        with pytest.raises(ValidationFailed, match="shipper"):
            services.unit_custody_scan(
                actor=world["apheresis_sun"], unit=unit, step=CustodyStep.PACK, scanned_text=unit.din_keyboard
            )
        unit.refresh_from_db()
        assert unit.state == "labelled"

    def test_blocked_event_is_in_the_ledger_with_its_reasons(self, kit, world):
        _, (unit, _) = _labelled(kit, world)
        event = services.unit_custody_scan(
            actor=world["apheresis_sun"],
            unit=unit,
            step=CustodyStep.PACK,
            scanned_text="(01)09506000134352",
            details=services.ScanDetails("S"),
        )
        entry = LedgerEntry.objects.get(event="unit:scan", record_id=str(event.pk))
        state = json.loads(bytes(entry.canonical))["state"]
        assert state["verdict"] == "blocked"
        assert state["reasons"][0]["fault"] == "unreadable"
