"""Clinic services: thaw -> bedside check -> infusion -> observation -> AE, and every refusal the standard asks
for (T-7.8, T-8.2.4..T-8.2.7, T-9.1..T-9.3, T-10.4, T-10.7, T-10.8; REGULATORY items 37-38, 50-53)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.clinic import samples as factories
from cellchain.clinic import services
from cellchain.clinic.models import AdverseEvent, BedsideCheck, ClinicUnit, ReportingDuty
from cellchain.clinic.tests.conftest import INFUSION, NOW
from cellchain.core import clock
from cellchain.core.errors import (
    AuthenticationRequired,
    Conflict,
    IdentityMismatch,
    NotAllowed,
    ValidationFailed,
)
from cellchain.ledger.models import LedgerEntry
from cellchain.quality.models import Deviation, Notification
from cellchain.signatures.services import signatures_of
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def events_for(record: Any) -> list[str]:
    return list(
        LedgerEntry.objects.filter(
            record_type=record.ledger_record_type(), record_id=str(record.pk)
        ).values_list("event", flat=True)
    )


class TestCoursePlan:
    def test_plan_records_windows_and_ledger_entry(self, course: Any) -> None:
        assert course.coi.startswith("CHW2001") and len(course.coi) == 15
        assert events_for(course) == ["course:plan"]

    def test_infusion_window_must_follow_lymphodepletion(self, world: Any, profile: Any) -> None:
        today = clock.now().date()
        with pytest.raises(ValidationFailed, match="after lymphodepletion ends"):
            services.course_plan(
                actor=world["coordinator_zhou"],
                site=world.sites["xiehe-main"],
                product=profile,
                journey_ref="J-X",
                coi=factories.coi_issue("W2001", 2026, 9).keyboard_form,
                patient_wristband_id="MRN9",
                patient_label="P9",
                lymphodepletion_regimen="Flu/Cy",
                lymphodepletion_start=today,
                lymphodepletion_end=today + dt.timedelta(days=2),
                infusion_window_start=today + dt.timedelta(days=1),
                infusion_window_end=today + dt.timedelta(days=3),
                physician=world["physician_wang"],
            )

    def test_staff_of_another_hospital_cannot_plan_here(self, world: Any, profile: Any) -> None:
        with pytest.raises(NotAllowed):
            factories.course(
                world["physician_chen"],
                world.sites["xiehe-main"],
                profile,
                7,
                physician=world["physician_wang"],
            )

    def test_preconditioning_different_from_plan_opens_a_protocol_deviation(
        self, world: Any, course: Any
    ) -> None:
        dose = services.lymphodepletion_record(
            actor=world["physician_wang"],
            course=course,
            drug="fludarabine",
            dose="25 mg/m2",
            given_on=clock.now().date(),
            as_planned=False,
            difference="reduced for renal function",
        )
        assert Deviation.objects.filter(kind=Deviation.Kind.PROTOCOL, subject_id=str(dose.pk)).exists()


class TestUnitAdmit:
    def test_unit_of_another_journey_is_refused_at_hand_over(self, world: Any, course: Any) -> None:
        with pytest.raises(IdentityMismatch, match="not this journey's"):
            services.unit_admit(
                actor=world["pharmacist_liu"],
                course=course,
                unit_id=factories.din_issue("W1234", 2026, 5).keyboard_form,
                coi=factories.coi_issue("W2001", 2026, 2).keyboard_form,
                batch_number="B1",
                release=ClinicUnit.Release.RELEASED,
            )

    def test_din_without_check_character_is_refused(self, world: Any, course: Any) -> None:
        with pytest.raises(ValidationFailed):
            services.unit_admit(
                actor=world["pharmacist_liu"],
                course=course,
                unit_id=factories.din_issue("W1234", 2026, 5).data,
                coi=course.coi + "X",
                batch_number="B1",
                release=ClinicUnit.Release.RELEASED,
            )


class TestThawRecord:
    def test_thaw_starts_the_use_by_countdown(self, thawed_unit: Any) -> None:
        assert thawed_unit.state == ClinicUnit.State.THAWED
        assert thawed_unit.use_by == NOW - dt.timedelta(minutes=5) + dt.timedelta(minutes=90)
        assert thawed_unit.use_by_clock == "thaw"

    def test_thaw_entered_in_the_future_is_blocked_and_nothing_written(self, world: Any, unit: Any) -> None:
        with pytest.raises(ValidationFailed, match=r"(?i)thaw end is in the future"):
            services.thaw_record(
                actor=world["nurse_wang"],
                unit=unit,
                started_at=NOW,
                ended_at=NOW + dt.timedelta(minutes=10),
                temperature_c=37,
                method="water_bath",
                area="A",
                device="D",
                appearance_normal=True,
                no_shaking_confirmed=True,
                precautions_acknowledged=True,
            )
        unit.refresh_from_db()
        assert unit.state == ClinicUnit.State.STORED and not hasattr(unit, "thaw")

    def test_temperature_out_of_range_quarantines_and_opens_deviation(self, world: Any, unit: Any) -> None:
        thaw = services.thaw_record(
            actor=world["nurse_wang"],
            unit=unit,
            started_at=NOW - dt.timedelta(minutes=9),
            ended_at=NOW - dt.timedelta(minutes=2),
            temperature_c=39.5,
            method="water_bath",
            area="A",
            device="D",
            appearance_normal=True,
            no_shaking_confirmed=True,
            precautions_acknowledged=True,
        )
        unit.refresh_from_db()
        assert unit.release == ClinicUnit.Release.QUARANTINED
        assert Deviation.objects.filter(subject_id=str(thaw.pk), kind=Deviation.Kind.PROCESS).exists()

    def test_abnormal_appearance_rejects_the_unit(self, world: Any, unit: Any) -> None:
        services.thaw_record(
            actor=world["nurse_wang"],
            unit=unit,
            started_at=NOW - dt.timedelta(minutes=9),
            ended_at=NOW - dt.timedelta(minutes=2),
            temperature_c=37,
            method="water_bath",
            area="A",
            device="D",
            appearance_normal=False,
            no_shaking_confirmed=True,
            precautions_acknowledged=True,
        )
        unit.refresh_from_db()
        assert unit.release == ClinicUnit.Release.REJECTED

    def test_a_thawed_unit_cannot_be_thawed_again(self, world: Any, thawed_unit: Any) -> None:
        with pytest.raises(Conflict, match="cannot be thawed again"):
            services.thaw_record(
                actor=world["nurse_wang"],
                unit=thawed_unit,
                started_at=NOW,
                ended_at=NOW,
                temperature_c=37,
                method="water_bath",
                area="A",
                device="D",
                appearance_normal=True,
                no_shaking_confirmed=True,
                precautions_acknowledged=True,
            )

    def test_precautions_must_be_acknowledged(self, world: Any, unit: Any) -> None:
        with pytest.raises(ValidationFailed, match=r"T-7.9-d"):
            services.thaw_record(
                actor=world["nurse_wang"],
                unit=unit,
                started_at=NOW - dt.timedelta(minutes=5),
                ended_at=NOW,
                temperature_c=37,
                method="water_bath",
                area="A",
                device="D",
                appearance_normal=True,
                no_shaking_confirmed=True,
                precautions_acknowledged=False,
            )

    def test_dilution_shortens_the_use_by_to_the_dilution_clock(self, world: Any, thawed_unit: Any) -> None:
        services.dilution_record(
            actor=world["nurse_wang"],
            unit=thawed_unit,
            diluent="0.9% NaCl",
            diluent_lot="L1",
            diluent_expiry=dt.date(2027, 1, 1),
            product_volume_ml=50,
            diluent_volume_ml=50,
            started_at=NOW - dt.timedelta(minutes=3),
            ended_at=NOW - dt.timedelta(minutes=1),
            gentle_mixing_confirmed=True,
            aseptic_area="BSC-2",
        )
        thawed_unit.refresh_from_db()
        assert thawed_unit.use_by_clock == "dilution"
        assert thawed_unit.use_by == NOW - dt.timedelta(minutes=1) + dt.timedelta(minutes=30)


class TestBedsideScan:
    def test_matching_scans_proceed(self, world: Any, course: Any, thawed_unit: Any) -> None:
        check = services.bedside_scan(
            actor=world["nurse_wang"],
            course=course,
            wristband_scan=course.patient_wristband_id,
            unit_scan=factories.din_barcode(1),
        )
        assert check.verdict == BedsideCheck.Verdict.PROCEED and check.unit == thawed_unit
        assert events_for(check) == ["bedside:scan"]

    def test_wrong_wristband_is_blocked_and_records_an_identity_incident(
        self, world: Any, course: Any, thawed_unit: Any
    ) -> None:
        check = services.bedside_scan(
            actor=world["nurse_wang"],
            course=course,
            wristband_scan="MRN-SOMEONE-ELSE",
            unit_scan=factories.din_barcode(1),
        )
        assert check.verdict == BedsideCheck.Verdict.BLOCKED
        assert [r["code"] for r in check.reasons] == ["wrong_patient"]
        deviation = Deviation.objects.get(number=check.deviation_number)
        assert deviation.kind == Deviation.Kind.IDENTITY and "wrong_patient" in deviation.title
        assert events_for(check) == ["bedside:scan", "bedside:incident"]

    def test_product_of_another_journey_is_blocked(self, world: Any, course: Any, thawed_unit: Any) -> None:
        other = factories.course(
            world["coordinator_zhou"],
            world.sites["xiehe-main"],
            course.product,
            2,
            physician=world["physician_wang"],
        )
        factories.unit(world["pharmacist_liu"], other, 2)
        check = services.bedside_scan(
            actor=world["nurse_wang"],
            course=course,
            wristband_scan=course.patient_wristband_id,
            unit_scan=factories.din_barcode(2),
        )
        codes = {r["code"] for r in check.reasons}
        assert codes >= {"product_of_another_journey", "coi_mismatch"}
        assert check.deviation_number

    def test_unit_not_yet_thawed_is_blocked(self, world: Any, course: Any, unit: Any) -> None:
        check = services.bedside_scan(
            actor=world["nurse_wang"],
            course=course,
            wristband_scan=course.patient_wristband_id,
            unit_scan=factories.din_barcode(1),
        )
        assert [r["code"] for r in check.reasons] == ["not_thawed"]
        assert not check.deviation_number

    def test_unit_past_use_by_is_blocked_and_rejected(
        self, world: Any, course: Any, thawed_unit: Any
    ) -> None:
        with clock.frozen(thawed_unit.use_by + dt.timedelta(minutes=1)):
            check = services.bedside_scan(
                actor=world["nurse_wang"],
                course=course,
                wristband_scan=course.patient_wristband_id,
                unit_scan=factories.din_barcode(1),
            )
        assert "past_use_by" in [r["code"] for r in check.reasons]
        thawed_unit.refresh_from_db()
        assert thawed_unit.release == ClinicUnit.Release.REJECTED

    def test_quarantined_unit_is_blocked(self, world: Any, course: Any, thawed_unit: Any) -> None:
        services.unit_release_set(
            actor=world["pharmacist_liu"],
            unit=thawed_unit,
            release=ClinicUnit.Release.QUARANTINED,
            reason="receipt deviation",
        )
        check = services.bedside_scan(
            actor=world["nurse_wang"],
            course=course,
            wristband_scan=course.patient_wristband_id,
            unit_scan=factories.din_barcode(1),
        )
        assert [r["code"] for r in check.reasons] == ["quarantined"]


class TestBedsideVerify:
    def scan(self, world: Any, course: Any) -> BedsideCheck:
        return services.bedside_scan(
            actor=world["nurse_wang"],
            course=course,
            wristband_scan=course.patient_wristband_id,
            unit_scan=factories.din_barcode(1),
        )

    def test_two_people_sign_performed_and_verified(self, verified_check: Any) -> None:
        meanings = sorted(s.meaning for s in signatures_of(verified_check))
        assert meanings == ["performed", "verified"]
        assert verified_check.verification.signer.username == "nurse_zhou"

    def test_the_same_person_cannot_verify(self, world: Any, course: Any, thawed_unit: Any) -> None:
        check = self.scan(world, course)
        with pytest.raises(ValidationFailed, match="same person"):
            services.bedside_verify(
                check=check,
                performer_password=PERSONA_PASSWORD,
                verifier=world["nurse_wang"],
                verifier_password=PERSONA_PASSWORD,
                wristband_scan=course.patient_wristband_id,
                unit_scan=factories.din_barcode(1),
            )

    def test_wrong_password_verifies_nothing(self, world: Any, course: Any, thawed_unit: Any) -> None:
        check = self.scan(world, course)
        with pytest.raises(AuthenticationRequired):
            services.bedside_verify(
                check=check,
                performer_password=PERSONA_PASSWORD,
                verifier=world["nurse_zhou"],
                verifier_password="wrong",
                wristband_scan=course.patient_wristband_id,
                unit_scan=factories.din_barcode(1),
            )
        check.refresh_from_db()
        assert check.verification is None and not signatures_of(check)
        from cellchain.accounts.models import LoginEvent

        # verified outside any transaction: the failed re-authentication stays recorded (REGULATORY item 22)
        assert LoginEvent.objects.filter(
            username="nurse_zhou", outcome=LoginEvent.Outcome.REAUTH_FAILURE
        ).exists()

    def test_second_persons_scans_must_match_the_first(
        self, world: Any, course: Any, thawed_unit: Any
    ) -> None:
        check = self.scan(world, course)
        with pytest.raises(IdentityMismatch):
            services.bedside_verify(
                check=check,
                performer_password=PERSONA_PASSWORD,
                verifier=world["nurse_zhou"],
                verifier_password=PERSONA_PASSWORD,
                wristband_scan="MRN-OTHER",
                unit_scan=factories.din_barcode(1),
            )

    def test_verifier_without_infusion_qualification_is_refused(
        self, world: Any, course: Any, thawed_unit: Any
    ) -> None:
        check = self.scan(world, course)
        with pytest.raises(ValidationFailed, match="no current infusion qualification"):
            services.bedside_verify(
                check=check,
                performer_password=PERSONA_PASSWORD,
                verifier=world["pharmacist_liu"],
                verifier_password=PERSONA_PASSWORD,
                wristband_scan=course.patient_wristband_id,
                unit_scan=factories.din_barcode(1),
            )


class TestInfusionStart:
    def test_infusion_marks_the_unit_infused_and_opens_observation(self, infusion: Any) -> None:
        assert infusion.unit.state == ClinicUnit.State.INFUSED
        assert infusion.observation.ended_at is None

    @pytest.mark.parametrize("rate", [30.0, 900.0])
    def test_rate_out_of_range_is_blocked(
        self, world: Any, course: Any, verified_check: Any, rate: float
    ) -> None:
        with pytest.raises(ValidationFailed, match=r"(?i)infusion rate out of the product.s range"):
            services.infusion_start(
                actor=world["nurse_wang"],
                course=course,
                check=verified_check,
                **{**INFUSION, "rate_ml_h": rate},
            )

    def test_leukocyte_filter_is_blocked(self, world: Any, course: Any, verified_check: Any) -> None:
        with pytest.raises(ValidationFailed, match="leukocyte"):
            services.infusion_start(
                actor=world["nurse_wang"],
                course=course,
                check=verified_check,
                **{**INFUSION, "set_has_leukocyte_filter": True},
            )

    def test_unverified_check_cannot_start_an_infusion(
        self, world: Any, course: Any, thawed_unit: Any
    ) -> None:
        check = services.bedside_scan(
            actor=world["nurse_wang"],
            course=course,
            wristband_scan=course.patient_wristband_id,
            unit_scan=factories.din_barcode(1),
        )
        with pytest.raises(Conflict, match="verified by a second person"):
            services.infusion_start(actor=world["nurse_wang"], course=course, check=check, **INFUSION)

    def test_stale_check_must_be_repeated(self, world: Any, course: Any, verified_check: Any) -> None:
        with (
            clock.frozen(NOW + dt.timedelta(minutes=31)),
            pytest.raises(Conflict, match="older than 30 minutes"),
        ):
            services.infusion_start(
                actor=world["nurse_wang"], course=course, check=verified_check, **INFUSION
            )

    def test_open_checklist_item_blocks(self, world: Any, course: Any, verified_check: Any) -> None:
        answers = {**factories.CHECKLIST_ALL, "check:bag intact": False}
        with pytest.raises(ValidationFailed, match="bag intact"):
            services.infusion_start(
                actor=world["nurse_wang"],
                course=course,
                check=verified_check,
                **{**INFUSION, "checklist": answers},
            )

    def test_no_confirmed_risk_plan_blocks_the_first_infusion(self, world: Any, profile: Any) -> None:
        other = factories.product(world["physician_wang"], world.organisations["shenghe"], code="S2000V00")
        factories.site_ready(world["physician_wang"], world.sites["xiehe-main"], other, confirm_password=None)
        treatment = factories.course(
            world["coordinator_zhou"], world.sites["xiehe-main"], other, 3, physician=world["physician_wang"]
        )
        bag = factories.unit(world["pharmacist_liu"], treatment, 3)
        services.thaw_record(
            actor=world["nurse_wang"],
            unit=bag,
            started_at=NOW - dt.timedelta(minutes=9),
            ended_at=NOW - dt.timedelta(minutes=2),
            temperature_c=37,
            method="water_bath",
            area="A",
            device="D",
            appearance_normal=True,
            no_shaking_confirmed=True,
            precautions_acknowledged=True,
        )
        check = services.bedside_scan(
            actor=world["nurse_wang"],
            course=treatment,
            wristband_scan=treatment.patient_wristband_id,
            unit_scan=factories.din_barcode(3),
        )
        services.bedside_verify(
            check=check,
            performer_password=PERSONA_PASSWORD,
            verifier=world["nurse_zhou"],
            verifier_password=PERSONA_PASSWORD,
            wristband_scan=treatment.patient_wristband_id,
            unit_scan=factories.din_barcode(3),
        )
        with pytest.raises(NotAllowed, match=r"T-9.1.1"):
            services.infusion_start(actor=world["nurse_wang"], course=treatment, check=check, **INFUSION)

    def test_dose_outside_the_protocol_is_blocked(self, world: Any, course: Any, verified_check: Any) -> None:
        with pytest.raises(ValidationFailed, match=r"(?i)dose outside"):
            services.infusion_start(
                actor=world["nurse_wang"],
                course=course,
                check=verified_check,
                **{**INFUSION, "car_positive_viable_cells": 1.0e9},
            )


class TestObservationClose:
    def end(self, world: Any, infusion: Any, at: dt.datetime) -> None:
        with clock.frozen(at):
            services.infusion_end(actor=world["nurse_wang"], infusion=infusion)
            services.vitals_record(
                actor=world["nurse_wang"],
                course=infusion.course,
                temperature_c=37.1,
                heart_rate=88,
                systolic=118,
                diastolic=72,
                respiratory_rate=16,
                spo2=98,
            )

    def test_observation_end_before_30_minutes_is_refused(self, world: Any, infusion: Any) -> None:
        self.end(world, infusion, NOW + dt.timedelta(minutes=20))
        with (
            clock.frozen(NOW + dt.timedelta(minutes=45)),
            pytest.raises(ValidationFailed, match="at least 30 min"),
        ):
            services.observation_close(actor=world["nurse_wang"], observation=infusion.observation)

    def test_observation_closes_after_30_minutes(self, world: Any, infusion: Any) -> None:
        self.end(world, infusion, NOW + dt.timedelta(minutes=20))
        with clock.frozen(NOW + dt.timedelta(minutes=50)):
            services.observation_close(actor=world["nurse_wang"], observation=infusion.observation)
        assert infusion.observation.ended_at == NOW + dt.timedelta(minutes=50)

    def test_observation_needs_vital_signs(self, world: Any, infusion: Any) -> None:
        with clock.frozen(NOW + dt.timedelta(minutes=20)):
            services.infusion_end(actor=world["nurse_wang"], infusion=infusion)
        with (
            clock.frozen(NOW + dt.timedelta(minutes=60)),
            pytest.raises(ValidationFailed, match="vital signs"),
        ):
            services.observation_close(actor=world["nurse_wang"], observation=infusion.observation)


class TestMonitoringDay:
    def test_a_future_day_cannot_be_completed(self, world: Any, course: Any, infusion: Any) -> None:
        with pytest.raises(ValidationFailed, match="in advance"):
            services.monitoring_day_complete(actor=world["nurse_wang"], course=course, day=2, items={})

    def test_day_needs_every_item_and_then_is_done(self, world: Any, course: Any, infusion: Any) -> None:
        from cellchain.clinic.selectors import monitoring_plan

        with clock.frozen(NOW + dt.timedelta(days=1)):
            items = monitoring_plan(course, (NOW + dt.timedelta(days=1)).date())[0].items
            with pytest.raises(ValidationFailed, match="Complete every item"):
                services.monitoring_day_complete(actor=world["nurse_wang"], course=course, day=1, items={})
            services.monitoring_day_complete(
                actor=world["nurse_wang"], course=course, day=1, items=dict.fromkeys(items, True)
            )
        with clock.frozen(NOW + dt.timedelta(days=4)):
            plan = {d.day: d.status for d in monitoring_plan(course, (NOW + dt.timedelta(days=4)).date())}
        assert plan[1] == "done" and plan[2] == "overdue" and plan[3] == "overdue" and plan[4] == "due"

    def test_day_one_counts_in_the_site_zone_not_in_utc(self, world: Any, course: Any, infusion: Any) -> None:
        """At 01:00 in Shanghai on day 1 it is still the infusion day in UTC: the local date decides (X-2)."""
        from cellchain.clinic.selectors import monitoring_plan

        local_night = NOW + dt.timedelta(hours=16)  # 17:00 UTC = 01:00 the next day in Shanghai
        assert local_night.date() == NOW.date()
        with clock.frozen(local_night):
            items = monitoring_plan(course, clock.today(course.site.time_zone))[0].items
            done = services.monitoring_day_complete(
                actor=world["nurse_wang"], course=course, day=1, items=dict.fromkeys(items, True)
            )
        assert done.day == 1


def crs_grade_3(world: Any, course: Any, **extra: Any) -> AdverseEvent:
    return services.adverse_event_record(
        actor=world["physician_wang"],
        course=course,
        category="crs",
        term="Cytokine release syndrome",
        description="Fever 39.2 °C, hypotension needing norepinephrine",
        onset_at=NOW,
        serious=True,
        relation="related",
        findings={
            "temperature_c": 39.2,
            "hypotension": True,
            "vasopressors": ["norepinephrine"],
            "oxygen_device": "nasal_cannula",
            "oxygen_flow_l_min": 3,
        },
        **extra,
    )


class TestAdverseEventRecord:
    def test_grade_3_crs_is_graded_with_reasoning_and_reaches_the_manufacturer(
        self, world: Any, course: Any, infusion: Any
    ) -> None:
        event = crs_grade_3(world, course)
        assert event.grade == 3
        assert event.grade_reasons[-1].startswith("grade 3 set by: hypotension requiring one vasopressor")
        note = Notification.objects.get(subject_type=event.ledger_record_type(), subject_id=str(event.pk))
        assert note.recipient_organisation == world.organisations["shenghe"]
        assert infusion.unit.batch_number in note.body and infusion.unit.unit_id in note.body
        assert course.patient_wristband_id not in note.body and course.patient_label not in note.body
        duty = event.duties.get(duty="to_manufacturer")
        assert duty.sent_at == NOW and duty.due_at == NOW + dt.timedelta(hours=24)

    def test_marketed_serious_event_gets_the_cn_15_day_clock(
        self, world: Any, course: Any, infusion: Any
    ) -> None:
        event = crs_grade_3(world, course)
        duty = event.duties.get(duty="adr_serious")
        # day 0 = awareness; due at the end of calendar day 15 (awareness is in UTC here)
        assert duty.due_at == dt.datetime.combine(
            NOW.date() + dt.timedelta(days=16), dt.time(0), tzinfo=dt.UTC
        )

    def test_overdue_duty_appears_on_the_overdue_list(self, world: Any, course: Any, infusion: Any) -> None:
        from cellchain.clinic.selectors import overdue_duties

        event = crs_grade_3(world, course)
        with clock.frozen(NOW + dt.timedelta(days=16)):
            overdue = overdue_duties(world["physician_wang"], clock.now())
        assert [d.duty for d in overdue] == ["adr_serious"] and overdue[0].event == event

    def test_ice_score_11_is_refused(self, world: Any, course: Any, infusion: Any) -> None:
        with pytest.raises(ValidationFailed, match="ICE score 11 is out of range"):
            services.adverse_event_record(
                actor=world["physician_wang"],
                course=course,
                category="icans",
                term="ICANS",
                description="confused",
                onset_at=NOW,
                serious=True,
                relation="related",
                findings={"ice_score": "11"},
            )
        assert not AdverseEvent.objects.exists() and not ReportingDuty.objects.exists()

    def test_other_event_takes_the_physicians_ctcae_grade(
        self, world: Any, course: Any, infusion: Any
    ) -> None:
        event = services.adverse_event_record(
            actor=world["physician_wang"],
            course=course,
            category="other",
            term="Febrile neutropenia",
            description="ANC 0.3",
            onset_at=NOW,
            serious=False,
            relation="possibly",
            ctcae_grade=3,
        )
        assert event.grade == 3 and "CTCAE v5 grade 3" in event.grade_reasons[0]

    def test_regrade_sends_an_update(self, world: Any, course: Any, infusion: Any) -> None:
        event = crs_grade_3(world, course)
        services.adverse_event_regrade(
            actor=world["physician_wang"],
            event=event,
            findings={
                "temperature_c": 38.5,
                "hypotension": True,
                "vasopressors": ["norepinephrine", "epinephrine"],
            },
            ctcae_grade=None,
            outcome="ongoing",
            reason="second pressor started",
        )
        assert event.grade == 4
        assert Notification.objects.filter(subject_id=str(event.pk)).count() == 2


class TestFollowUpVisit:
    def test_visit_needs_every_item(self, world: Any, course: Any, infusion: Any) -> None:
        with clock.frozen(NOW + dt.timedelta(days=31)), pytest.raises(ValidationFailed, match="every item"):
            services.follow_up_visit_record(
                actor=world["physician_wang"],
                course=course,
                key="M1",
                done_on=(NOW + dt.timedelta(days=31)).date(),
                findings={"viral_replication": "RCL negative"},
            )

    def test_visit_recorded_and_missed_visits_listed(self, world: Any, course: Any, infusion: Any) -> None:
        from cellchain.clinic.selectors import overdue_follow_up
        from cellchain.domain.clinical_timing import FOLLOW_UP_ITEMS

        findings = dict.fromkeys(FOLLOW_UP_ITEMS, "none found")
        with clock.frozen(NOW + dt.timedelta(days=31)):
            services.follow_up_visit_record(
                actor=world["physician_wang"],
                course=course,
                key="M1",
                done_on=(NOW + dt.timedelta(days=31)).date(),
                findings=findings,
            )
        with clock.frozen(NOW + dt.timedelta(days=200)):
            overdue = overdue_follow_up(world["physician_wang"], (NOW + dt.timedelta(days=200)).date())
        assert [t.what for t in overdue] == ["M3", "M6"]

    def test_unknown_visit_is_refused(self, world: Any, course: Any, infusion: Any) -> None:
        with pytest.raises(ValidationFailed, match="not a visit"):
            services.follow_up_visit_record(
                actor=world["physician_wang"], course=course, key="M2", done_on=NOW.date(), findings={}
            )


class TestProtocolDeviation:
    def test_urgent_risk_needs_the_process_record(self, world: Any, course: Any) -> None:
        with pytest.raises(ValidationFailed, match=r"T-9.3.2-p2"):
            services.protocol_deviation_record(
                actor=world["physician_wang"],
                site=course.site,
                title="Early dose",
                description="given a day early",
                occurred_on=NOW.date(),
                course=course,
                urgent_risk=True,
            )

    def test_closure_needs_ec_report_and_effective_actions(self, world: Any, course: Any) -> None:
        report = services.protocol_deviation_record(
            actor=world["physician_wang"],
            site=course.site,
            title="Visit outside window",
            description="M1 visit 20 days late",
            occurred_on=NOW.date(),
            course=course,
        )
        with pytest.raises(Conflict, match="report to the ethics committee"):
            services.protocol_deviation_close(actor=world["physician_wang"], report=report)
        services.protocol_deviation_report_ec(
            actor=world["physician_wang"],
            report=report,
            ec_reported_on=NOW.date(),
            ec_reference="EC-2026-031",
        )
        action = services.corrective_action_add(
            actor=world["physician_wang"],
            report=report,
            description="reminders 14 days ahead",
            owner=world["coordinator_zhou"],
            due=NOW.date() + dt.timedelta(days=14),
        )
        with pytest.raises(ValidationFailed, match="effectiveness"):
            services.corrective_action_close(
                actor=world["coordinator_zhou"], action=action, done_on=NOW.date(), effectiveness_check=" "
            )
        services.corrective_action_close(
            actor=world["coordinator_zhou"],
            action=action,
            done_on=NOW.date(),
            effectiveness_check="no late visit in 3 months",
        )
        services.protocol_deviation_close(actor=world["physician_wang"], report=report)
        assert report.closed_at == NOW and report.deviation.kind == Deviation.Kind.PROTOCOL


class TestRiskPlanConfirm:
    def test_confirmation_is_signed(self, world: Any, profile: Any) -> None:
        from cellchain.clinic.models import RiskPlan

        plan = RiskPlan.objects.get(product=profile)
        assert plan.confirmation.signer == world["physician_wang"]
        assert [s.meaning for s in signatures_of(plan)] == ["approved"]


class TestRemindersSend:
    def test_reminders_go_out_once_for_due_visits_missing_days_and_overdue_reports(
        self, world: Any, course: Any, infusion: Any
    ) -> None:
        crs_grade_3(world, course)
        later = NOW + dt.timedelta(days=25)  # M1 (due in ~1 month) is in its reminder lead; D1-D7 all missed
        with clock.frozen(later):
            sent = services.reminders_send(now=later)
            again = services.reminders_send(now=later)
        subjects = list(Notification.objects.filter(sent_by__isnull=True).values_list("subject", flat=True))
        assert any(" M1 " in s for s in subjects)
        assert sum(" D" in s and "missing" in s for s in subjects) == 7
        assert any("report 'adr_serious'" in s for s in subjects)
        assert sent == len(subjects) and again == 0
