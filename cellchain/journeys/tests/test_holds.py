"""Journey suspension and termination (T-6.4-h), the protocol-version eligibility checklist (T-9.2.1-2) and the
collection-site certification (P-1.3.1-d): services, refusals, ledger, notification and pages (issue 13)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from cellchain.core import installation
from cellchain.core.errors import AuthenticationRequired, Conflict, NotAllowed, ValidationFailed
from cellchain.journeys import services
from cellchain.journeys.models import CollectionSiteCertification, Journey, JourneyHold
from cellchain.journeys.tests.holding import hold, journey_of_coi
from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.records import record_void
from cellchain.quality.models import Notification
from cellchain.signatures.models import Signature
from cellchain.signatures.services import SignerCredentials
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def signer(world, who="physician_wang", password=PERSONA_PASSWORD):
    return SignerCredentials(world[who], password)


class TestJourneyHoldPlace:
    def test_T_6_4_h_suspension_is_signed_ledgered_and_the_manufacturer_told(self, kit, world):
        journey = kit.scheduled()
        placed = hold(world, journey)
        assert placed.kind == "suspension" and placed.placed_by_name == world["physician_wang"].printed_name
        assert Signature.objects.filter(
            record_type=placed.ledger_record_type(), record_id=str(placed.pk)
        ).exists()
        assert LedgerEntry.objects.filter(event="journey:suspend", record_id=str(placed.pk)).exists()
        note = Notification.objects.get(subject__contains=f"{journey.coi}: treatment suspended")
        assert note.recipient_organisation == journey.manufacturer_site.organisation

    def test_T_6_4_h_apheresis_refused_while_suspended_naming_the_hold_and_clause(self, kit, world):
        journey = kit.scheduled()
        kit.screened(journey)
        hold(world, journey)
        with pytest.raises(Conflict, match=r"is suspended.*apheresis is refused.*T-6\.4-h"):
            services.collection_record(
                actor=world["apheresis_sun"], journey=journey, data=kit.collection_input()
            )
        assert not journey.collections.exists()

    def test_T_6_4_h_wrong_password_writes_no_hold(self, kit, world):
        journey = kit.scheduled()
        with pytest.raises(AuthenticationRequired):
            services.journey_hold_place(
                actor=world["physician_wang"], journey=journey, kind="termination", reason="progression",
                signer=signer(world, password="wrong"),
            )  # fmt: skip
        assert not JourneyHold.objects.exists()

    def test_T_6_4_h_reason_is_required_and_a_nurse_may_not_hold(self, kit, world):
        journey = kit.scheduled()
        with pytest.raises(Conflict, match="reason"):
            services.journey_hold_place(
                actor=world["physician_wang"],
                journey=journey,
                kind="suspension",
                reason=" ",
                signer=signer(world),
            )
        with pytest.raises(NotAllowed, match=r"T-6\.4-h"):
            services.journey_hold_place(
                actor=world["nurse_wang"], journey=journey, kind="suspension", reason="x",
                signer=signer(world, "nurse_wang"),
            )  # fmt: skip
        assert not JourneyHold.objects.exists()

    def test_T_6_4_h_manufacturer_qa_may_suspend_and_the_hospital_is_told(self, kit, world):
        journey = kit.scheduled()
        hold(world, journey, who="qa_li")
        note = Notification.objects.get(subject__contains="treatment suspended")
        assert note.recipient_organisation == journey.hospital_site.organisation


class TestJourneyHoldLift:
    def test_T_6_4_h_lifted_suspension_lets_the_steps_go_on(self, kit, world):
        journey = kit.scheduled()
        kit.screened(journey)
        placed = hold(world, journey)
        lifted = services.journey_hold_lift(
            actor=world["physician_wang"], hold=placed, reason="fever resolved", signer=signer(world)
        )
        assert lifted.lifted_at is not None and lifted.lift_reason == "fever resolved"
        assert LedgerEntry.objects.filter(event="journey:resume", record_id=str(placed.pk)).exists()
        services.journey_step_allowed(journey.coi, "apheresis")
        services.collection_record(actor=world["apheresis_sun"], journey=journey, data=kit.collection_input())
        assert journey.collections.count() == 1

    def test_T_6_4_h_termination_cannot_be_lifted(self, kit, world):
        journey = kit.scheduled()
        placed = hold(world, journey, kind="termination")
        with pytest.raises(Conflict, match="termination cannot be lifted"):
            services.journey_hold_lift(
                actor=world["physician_wang"], hold=placed, reason="changed mind", signer=signer(world)
            )
        placed.refresh_from_db()
        assert placed.lifted_at is None
        with pytest.raises(Conflict, match="terminated"):
            hold(world, journey)

    def test_T_6_4_h_lift_needs_a_reason(self, kit, world):
        placed = hold(world, kit.scheduled())
        with pytest.raises(Conflict, match="reason"):
            services.journey_hold_lift(
                actor=world["physician_wang"], hold=placed, reason="", signer=signer(world)
            )


class TestHoldMessage:
    def test_T_6_4_h_on_a_split_installation_the_partner_gets_a_signed_message(
        self, kit, world, settings, tmp_path
    ):
        from cellchain.exchange.models import OutboxMessage
        from cellchain.exchange.services import partner_register

        journey = kit.scheduled()
        settings.CELLCHAIN_INSTALLATION_ROLE = installation.HOSPITAL
        settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from cellchain.verifier.signing import public_key_bytes

        partner_register(
            actor=None, name="Shenghe", log_id="shenghe-log", role="manufacturer",
            base_url="https://shenghe.example", public_key=public_key_bytes(Ed25519PrivateKey.generate()),
            inbound_token="ccx_inbound-token-of-shenghe-0123456789", outbound_token="ccx_outbound-token-0123456789",
            organisation=journey.manufacturer_site.organisation.code,
        )  # fmt: skip
        placed = hold(world, journey)
        message = OutboxMessage.objects.get(kind="journey.hold")
        body = message.envelope["body"]
        assert body["coi"] == journey.coi and body["action"] == "suspend" and body["reason"] == placed.reason
        assert "name" not in body and "wristband" not in str(body)

    def test_T_6_4_h_a_received_hold_stops_the_steps_here(self, kit, world):
        from cellchain.journeys.services.holds import hold_message_receive, hold_message_validate

        journey = kit.scheduled()

        class Partner:
            log_id = "xiehe-log"

        body = {"coi": journey.coi, "action": "terminate", "reason": "progression", "signed_by": "Dr Wang",
                "at": "2026-12-07T10:00:00+00:00"}  # fmt: skip
        assert hold_message_validate(body) == []
        assert hold_message_validate({"coi": 1, "action": "pause"})
        received = hold_message_receive(None, Partner(), body, "e1")
        assert received.received_from == "xiehe-log" and "Dr Wang" in received.placed_by_name
        with pytest.raises(Conflict, match=r"T-6\.4-h"):
            services.journey_step_allowed(journey.coi, "batch start")


class TestEligibilityChecklist:
    def test_T_9_2_1_2_new_version_supersedes_and_an_older_assessment_refuses_apheresis(self, kit, world):
        journey = kit.scheduled()
        kit.screened(journey)
        v2 = services.eligibility_checklist_record(
            actor=world["coordinator_zhou"], site=kit.hospital, product_code="S1395V00", protocol="CT-2026-01",
            criteria=["ECOG 0-1", "CD19+ disease", "No CNS involvement"],
        )  # fmt: skip
        assert v2.version == 2 and services.checklist_in_force(journey) == v2
        with pytest.raises(Conflict, match=r"CT-2026-01 v2 is in force.*T-9\.2\.1-2"):
            services.collection_record(
                actor=world["apheresis_sun"], journey=journey, data=kit.collection_input()
            )

    def test_T_9_2_1_2_a_missing_item_refuses_the_assessment_and_writes_nothing(self, kit, world):
        journey = kit.enrol()
        services.consent_record(
            actor=world["physician_wang"],
            journey=journey,
            form_version="v1",
            signed_on=kit.today,
            signer="patient",
        )
        with pytest.raises(ValidationFailed, match=r"'CD19\+ disease' is not answered.*T-9\.2\.1-2"):
            services.eligibility_assess(
                actor=world["physician_wang"], journey=journey, answers={"ECOG 0-1": True}
            )
        assert not journey.eligibility.exists()

    def test_T_9_2_1_2_a_failed_item_makes_the_journey_not_eligible_and_blocks_booking(self, kit, world):
        journey = kit.enrol()
        services.consent_record(
            actor=world["physician_wang"],
            journey=journey,
            form_version="v1",
            signed_on=kit.today,
            signer="patient",
        )
        assessment = services.eligibility_assess(
            actor=world["physician_wang"], journey=journey, answers={"ECOG 0-1": True, "CD19+ disease": False}
        )
        assert assessment.checklist == kit.checklist and not assessment.eligible
        journey.refresh_from_db()
        apheresis, _manufacturing = kit.slots()
        with pytest.raises(Conflict, match="Not eligible"):
            services.booking_book(actor=world["coordinator_zhou"], journey=journey, slot=apheresis)

    def test_T_9_2_1_2_only_a_physician_completes_it(self, kit, world):
        journey = kit.enrol()
        with pytest.raises(NotAllowed, match="physician"):
            services.eligibility_assess(
                actor=world["coordinator_zhou"],
                journey=journey,
                answers={"ECOG 0-1": True, "CD19+ disease": True},
            )

    def test_T_9_2_1_2_no_checklist_for_the_protocol_refuses(self, kit, world):
        journey = journey_of_coi(world, "CHW200126000999")  # protocol HOLD-01 has no checklist
        services.consent_record(
            actor=world["physician_wang"],
            journey=journey,
            form_version="v1",
            signed_on=kit.today,
            signer="patient",
        )
        with pytest.raises(ValidationFailed, match=r"No eligibility checklist.*HOLD-01.*T-9\.2\.1-2"):
            services.eligibility_assess(
                actor=world["physician_wang"], journey=journey, answers={"ECOG 0-1": True}
            )
        assert not journey.eligibility.exists()

    def test_T_9_2_1_2_checklist_must_name_an_approved_protocol_and_real_criteria(self, kit, world):
        with pytest.raises(ValidationFailed, match="no ethics approval"):
            services.eligibility_checklist_record(
                actor=world["physician_wang"], site=kit.hospital, product_code="S1395V00", protocol="NOPE",
                criteria=["a"],
            )  # fmt: skip
        with pytest.raises(ValidationFailed, match="repeated criteria"):
            services.eligibility_checklist_record(
                actor=world["physician_wang"], site=kit.hospital, product_code="S1395V00", protocol="CT-2026-01",
                criteria=["a", "a"],
            )  # fmt: skip


class TestCollectionSite:
    def test_P_1_3_1_d_apheresis_at_an_expired_certification_is_refused(self, kit, world):
        journey = kit.scheduled()
        kit.screened(journey)
        late = kit.collection_input(collected_at=kit.now - dt.timedelta(days=31))
        with pytest.raises(
            ValidationFailed, match=r"no manufacturer's collection-site certification.*P-1\.3\.1-d"
        ):
            services.collection_record(actor=world["apheresis_sun"], journey=journey, data=late)
        assert not journey.collections.exists()

    def test_P_1_3_1_d_cryopreserved_apheresis_needs_the_freeze_flag(self, kit, world):
        journey = kit.scheduled()
        kit.screened(journey)
        record_void(actor=world["qa_li"], record=kit.certification, event="collection_site:void", reason="test",
                    at=kit.now)  # fmt: skip
        services.collection_site_certify(
            actor=world["qa_li"], site=kit.hospital, number="CS-FRESH-ONLY", valid_from=kit.today - dt.timedelta(days=1),
            valid_until=kit.today, may_cryopreserve=False,
        )  # fmt: skip
        frozen = kit.collection_input(starting_material="cryopreserved")
        with pytest.raises(ValidationFailed, match=r"CS-FRESH-ONLY.*not to cryopreserve.*P-1\.3\.1-d"):
            services.collection_record(actor=world["apheresis_sun"], journey=journey, data=frozen)
        services.collection_record(actor=world["apheresis_sun"], journey=journey, data=kit.collection_input())
        assert journey.collections.count() == 1

    def test_P_1_3_1_d_a_site_certified_by_no_one_is_refused(self, kit, world):
        other = SimpleNamespace(hospital_site=world.sites["renji-east"], manufacturer_site=kit.manufacturer)
        with pytest.raises(ValidationFailed, match=r"P-1\.3\.1-d"):
            services.collection_site_required(other, kit.today, "fresh")

    def test_P_1_3_1_d_only_manufacturer_qa_certifies(self, kit, world):
        with pytest.raises(NotAllowed, match=r"P-1\.3\.1-d"):
            services.collection_site_certify(
                actor=world["physician_wang"], site=kit.hospital, number="CS-X", valid_from=kit.today,
                valid_until=kit.today, may_cryopreserve=True,
            )  # fmt: skip
        with pytest.raises(ValidationFailed, match="ends before it starts"):
            services.collection_site_certify(
                actor=world["qa_li"], site=kit.hospital, number="CS-Y", valid_from=kit.today,
                valid_until=kit.today - dt.timedelta(days=1), may_cryopreserve=True,
            )  # fmt: skip


class TestPages:
    def test_T_6_4_h_suspend_and_lift_from_the_journey_page_with_htmx(self, kit, world, client_for):
        journey = kit.scheduled()
        client = client_for("physician_wang")
        page = client.get(f"/journeys/{journey.coi}/")
        assert b'data-form="hold"' in page.content
        response = client.post(
            f"/journeys/{journey.coi}/hold/",
            {"kind": "suspension", "reason": "infection", "password": PERSONA_PASSWORD},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200 and b'id="holds"' in response.content
        assert b"infection" in response.content and b'data-form="hold-lift"' in response.content
        placed = JourneyHold.objects.get(journey=journey)
        response = client.post(
            f"/journeys/{journey.coi}/holds/{placed.pk}/lift/",
            {"reason": "resolved", "password": PERSONA_PASSWORD},
        )
        assert response.status_code == 302
        placed.refresh_from_db()
        assert placed.lift_reason == "resolved"

    def test_T_6_4_h_a_refused_hold_says_why_on_the_page(self, kit, world, client_for):
        journey = kit.scheduled()
        response = client_for("physician_wang").post(
            f"/journeys/{journey.coi}/hold/",
            {"kind": "suspension", "reason": "x", "password": "wrong"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200 and b'class="badge bad"' in response.content
        assert not JourneyHold.objects.exists()

    def test_T_9_2_1_2_checklist_page_records_a_version_and_the_journey_form_shows_its_items(
        self, kit, world, client_for
    ):
        client = client_for("physician_wang")
        response = client.post(
            "/journeys/checklists/",
            {"product_code": "S1395V00", "protocol": "CT-2026-01", "criteria": "ECOG 0-1\nAge 18+\n"},
        )
        assert response.status_code == 302
        assert services.checklist_in_force(kit.enrol()).criteria == ["ECOG 0-1", "Age 18+"]
        journey = kit.enrol()
        services.consent_record(
            actor=world["physician_wang"],
            journey=journey,
            form_version="v1",
            signed_on=kit.today,
            signer="patient",
        )
        page = client.get(f"/journeys/{journey.coi}/")
        assert b"Age 18+" in page.content and b"checklist version 2" in page.content
        client.post(f"/journeys/{journey.coi}/eligibility/", {"c0": "yes"})
        assert not journey.eligibility.exists()  # the second item was left unanswered
        client.post(f"/journeys/{journey.coi}/eligibility/", {"c0": "yes", "c1": "yes"})
        journey.refresh_from_db()
        assert journey.status == Journey.Status.ELIGIBLE

    def test_P_1_3_1_d_certify_page(self, kit, world, client_for):
        client = client_for("qa_li")
        response = client.post(
            "/journeys/collection-sites/",
            {"site": kit.hospital.pk, "number": "CS-PAGE-1", "valid_from": kit.today.isoformat(),
             "valid_until": (kit.today + dt.timedelta(days=365)).isoformat(), "may_cryopreserve": "on"},
        )  # fmt: skip
        assert response.status_code == 302
        assert CollectionSiteCertification.objects.get(number="CS-PAGE-1").may_cryopreserve
        assert b"CS-PAGE-1" in client.get("/journeys/collection-sites/").content
