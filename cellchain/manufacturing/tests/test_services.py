"""Manufacturing services: product approval, intake, batch start, steps, parameters, equipment, lots, fill,
line clearance (P-1-a, P-1.2.1-a/b, P-1.3.1-e/g, P-T2, P-1.3.5-a, T-10.12, P-1.1, G-4, X-5)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest

from cellchain.core.errors import (
    AuthenticationRequired,
    Conflict,
    IdentityMismatch,
    NotAllowed,
    ValidationFailed,
)
from cellchain.domain.custody import CustodyStep
from cellchain.manufacturing import services
from cellchain.manufacturing.models import Batch, BatchStep, ParameterEntry, ProductUnit, ProductVersion
from cellchain.manufacturing.reference_product import SPECIFICATION
from cellchain.manufacturing.tests.kit import ManufacturingKit
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_disposition
from cellchain.signatures.services import SignerCredentials, signatures_of

pytestmark = pytest.mark.django_db


def disposition(kit: ManufacturingKit, deviation: Deviation) -> None:
    deviation_disposition(actor=kit.qa, deviation=deviation, investigation="checked", disposition="use as is")


def first_steps(kit: ManufacturingKit, batch: Batch, upto: str) -> None:
    for code, values, hours in kit.STEPS:
        if code == upto:
            return
        kit.step(batch, code, values, hours)


class TestProductVersionApprove:
    def test_approved_version_has_a_current_approval_signature(self, mfg: ManufacturingKit) -> None:
        (signature,) = signatures_of(mfg.version)
        assert (signature.meaning, signature.signer) == ("approved", mfg.qa)
        assert mfg.version.status == ProductVersion.Status.APPROVED

    def test_new_approval_supersedes_the_previous_version(self, mfg: ManufacturingKit) -> None:
        second = mfg.new_version(change_note="tighter VCN")
        services.product_version_approve(actor=mfg.qa, version=second, signer=mfg.signer("qa_li"))
        mfg.version.refresh_from_db()
        assert mfg.version.status == ProductVersion.Status.SUPERSEDED

    def test_specification_without_bead_residue_cannot_be_approved_for_a_bead_process(self, mfg) -> None:
        spec = copy.deepcopy(SPECIFICATION)
        spec["items"] = [i for i in spec["items"] if i["assay"] != "bead_residue"]
        draft = mfg.new_version(specification=spec)
        with pytest.raises(Conflict, match="bead_residue") as error:
            services.product_version_approve(actor=mfg.qa, version=draft, signer=mfg.signer("qa_li"))
        assert error.value.detail["findings"][0]["clause"] == "Q-2-g"

    def test_definition_with_a_typo_is_refused_with_its_path(self, mfg) -> None:
        spec = copy.deepcopy(SPECIFICATION)
        spec["items"][0]["methdo"] = "visual"
        with pytest.raises(ValidationFailed, match=r"specification.items\[0\]: unknown key\(s\) methdo"):
            mfg.new_version(specification=spec)

    def test_operator_cannot_approve(self, mfg) -> None:
        draft = mfg.new_version()
        with pytest.raises(NotAllowed):
            services.product_version_approve(
                actor=mfg.operator, version=draft, signer=mfg.signer("operator_chen")
            )

    def test_draft_version_cannot_start_a_batch(self, mfg) -> None:
        draft = mfg.new_version()
        intake = mfg.intake()
        with pytest.raises(Conflict, match="not an approved version"):
            services.batch_start(
                actor=mfg.operator, version=draft, intake=intake, scan=mfg.scan(intake), area=mfg.unit_area
            )


class TestApheresisIntake:
    def test_intake_takes_identity_from_the_received_unit(self, mfg) -> None:
        unit = mfg.received_unit()
        intake = mfg.intake(unit)
        assert (intake.din, intake.coi) == (unit.din, unit.journey.coi)
        assert intake.collection_site == mfg.world.sites["xiehe-main"]

    def test_unit_not_yet_received_is_refused(self, mfg) -> None:
        mfg.received_unit()
        journeys = mfg._journeys
        unit = journeys.units(journeys.collected())[0]
        with pytest.raises(Conflict, match="has not been received here"):
            services.apheresis_intake_record(
                actor=mfg.operator, scan=unit.din + unit.din_check, bag_intact=True, temperature_ok=True
            )

    def test_unknown_identifier_is_an_identity_mismatch(self, mfg) -> None:
        from cellchain.domain.identity import din_issue

        stranger = din_issue("W2001", 2026, 999_999).keyboard_form
        with pytest.raises(IdentityMismatch):
            services.apheresis_intake_record(
                actor=mfg.operator, scan=stranger, bag_intact=True, temperature_ok=True
            )

    def test_failed_bag_check_opens_a_deviation_that_blocks_the_batch_until_dispositioned(self, mfg) -> None:
        intake = mfg.intake(bag_intact=False)
        assert intake.deviation is not None and intake.deviation.kind == Deviation.Kind.RECEIPT
        with pytest.raises(Conflict, match=intake.deviation.number):
            mfg.start(intake)
        disposition(mfg, intake.deviation)
        assert mfg.start(intake).status == Batch.Status.IN_PROCESS

    def test_same_unit_cannot_be_taken_in_twice(self, mfg) -> None:
        unit = mfg.received_unit()
        mfg.intake(unit)
        with pytest.raises(Conflict, match="already taken in"):
            mfg.intake(unit)


class TestBatchStart:
    def test_wrong_bag_scanned_is_refused_and_recorded_as_identity_incident(self, mfg) -> None:
        intake, other = mfg.intake(), mfg.intake()
        with pytest.raises(IdentityMismatch, match="Wrong unit"):
            services.batch_start(
                actor=mfg.operator,
                version=mfg.version,
                intake=intake,
                scan=mfg.scan(other),
                area=mfg.unit_area,
            )
        assert Deviation.objects.filter(kind=Deviation.Kind.IDENTITY, subject_id=str(intake.pk)).count() == 1
        assert not Batch.objects.exists()

    def test_unit_based_area_takes_one_batch_at_a_time(self, mfg) -> None:
        mfg.start(mfg.intake())
        with pytest.raises(Conflict, match="in use by batch"):
            mfg.start(mfg.intake())

    def test_next_batch_needs_a_two_person_line_clearance_after_the_first_closes(self, mfg) -> None:
        mfg.manufactured()
        second = mfg.intake()
        with pytest.raises(Conflict, match="line clearance"):
            mfg.start(second)
        with pytest.raises(NotAllowed, match="two different people"):
            services.line_clearance_record(
                actor=mfg.operator,
                area=mfg.unit_area,
                performer=mfg.signer("operator_chen"),
                verifier=mfg.signer("operator_chen"),
            )
        services.line_clearance_record(
            actor=mfg.operator,
            area=mfg.unit_area,
            performer=mfg.signer("operator_chen"),
            verifier=mfg.signer("operator_wu"),
        )
        assert mfg.start(second).area == mfg.unit_area

    def test_line_clearance_refused_while_a_batch_is_open(self, mfg) -> None:
        mfg.start(mfg.intake())
        with pytest.raises(Conflict, match="still holds an open batch"):
            services.line_clearance_record(
                actor=mfg.operator,
                area=mfg.unit_area,
                performer=mfg.signer("operator_chen"),
                verifier=mfg.signer("operator_wu"),
            )

    def test_fresh_unit_past_its_window_needs_a_dispositioned_deviation(self, mfg) -> None:
        intake = mfg.intake()
        mfg.advance(48)
        with pytest.raises(Conflict, match=r"P-1\.3\.1-e"):
            mfg.start(intake)
        deviation = Deviation.objects.get(subject_id=str(intake.pk), title__startswith="Fresh apheresis past")
        disposition(mfg, deviation)
        assert mfg.start(intake).number.startswith("B")

    # -- the journey's unit moves with the batch (P-1-a, G-4, T-10.4) ----------------------------------------

    def test_starting_a_batch_consumes_the_journeys_unit_ledgered_and_traced(self, mfg) -> None:
        from cellchain.journeys.models import Unit
        from cellchain.journeys.selectors import journey_trace
        from cellchain.ledger.models import LedgerEntry

        unit = mfg.received_unit()
        batch = mfg.start(mfg.intake(unit))
        unit.refresh_from_db()
        assert (unit.state, unit.last_step) == ("consumed", "start_manufacture")
        entry = LedgerEntry.objects.get(
            record_type=Unit.ledger_record_type(), record_id=str(unit.pk), event="unit:start_manufacture"
        )
        assert f"taken into batch {batch.number}" in bytes(entry.canonical).decode()
        starts = [e for e in journey_trace(unit.journey) if e.kind == "scan:start_manufacture"]
        assert len(starts) == 1 and starts[0].verdict == "match"
        assert f"batch {batch.number}" in starts[0].summary and unit.din in starts[0].summary
        assert starts[0].who == mfg.operator.printed_name

    def test_the_start_of_manufacture_exports_as_a_schema_valid_epcis_event(self, mfg) -> None:
        """REGULATORY item 41: the journey's EPCIS export stays valid with the consuming scan in it."""
        import json

        from jsonschema import Draft7Validator

        from cellchain.journeys.selectors import journey_epcis
        from cellchain.journeys.tests.test_trace import STANDARDS

        unit = mfg.received_unit()
        mfg.start(mfg.intake(unit))
        document = journey_epcis(unit.journey)
        schema = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
        validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
        assert [e.message for e in validator.iter_errors(document)] == []
        last = document["epcisBody"]["eventList"][-1]
        assert (last["bizStep"], last["disposition"], last["cellchain:step"]) == (
            "other",
            "in_progress",
            "start_manufacture",
        )

    def test_a_unit_still_in_storage_is_refused_until_retrieved(self, mfg) -> None:
        from cellchain.journeys import services as js

        unit = mfg.received_unit()
        intake = mfg.intake(unit)
        position = js.storage_position_create(
            actor=mfg.operator, site=mfg.site, tank="LN2-01", rack="R1", box="B1", position="A1"
        )
        scan = mfg.scan(intake)
        js.unit_custody_scan(
            actor=mfg.operator,
            unit=unit,
            step=CustodyStep.STORE,
            scanned_text=scan,
            details=js.ScanDetails(storage_position=position),
        )
        with pytest.raises(Conflict, match=r"is stored in its journey.*Retrieve it from storage first"):
            mfg.start(intake)
        unit.refresh_from_db()
        assert unit.state == "stored" and not Batch.objects.exists()
        js.unit_custody_scan(actor=mfg.operator, unit=unit, step=CustodyStep.RETRIEVE, scanned_text=scan)
        assert mfg.start(intake).status == Batch.Status.IN_PROCESS
        unit.refresh_from_db()
        assert unit.state == "consumed"

    def test_a_journeys_refusal_rolls_the_batch_back(self, mfg, monkeypatch) -> None:
        """Same transaction: when the journeys service refuses, no batch and no batch ledger entry remain."""
        from cellchain.journeys import services as js
        from cellchain.ledger.models import LedgerEntry
        from cellchain.manufacturing.services import batches

        unit = mfg.received_unit()
        intake = mfg.intake(unit)
        position = js.storage_position_create(
            actor=mfg.operator, site=mfg.site, tank="LN2-01", rack="R1", box="B1", position="A2"
        )
        js.unit_custody_scan(
            actor=mfg.operator,
            unit=unit,
            step=CustodyStep.STORE,
            scanned_text=mfg.scan(intake),
            details=js.ScanDetails(storage_position=position),
        )
        monkeypatch.setattr(batches, "_require_journey_allows_start", lambda intake: None)
        with pytest.raises(Conflict, match="needs it to be received, retrieved"):
            mfg.start(intake)
        assert not Batch.objects.exists()
        assert not LedgerEntry.objects.filter(event="batch:start").exists()
        unit.refresh_from_db()
        assert unit.state == "stored"

    def test_a_consumed_unit_cannot_be_scanned_into_storage_again(self, mfg) -> None:
        from cellchain.journeys import services as js
        from cellchain.journeys.models import CustodyEvent

        unit = mfg.received_unit()
        intake = mfg.intake(unit)
        mfg.start(intake)
        event = js.unit_custody_scan(
            actor=mfg.operator, unit=unit, step=CustodyStep.RETRIEVE, scanned_text=mfg.scan(intake)
        )
        assert event.verdict == CustodyEvent.Verdict.BLOCKED
        assert "consumed" in event.reasons[0]["message"]


class TestSteps:
    def test_steps_start_only_in_template_order(self, mfg) -> None:
        batch = mfg.start(mfg.intake())
        with pytest.raises(Conflict, match="activation must be completed before transduction"):
            services.step_start(
                actor=mfg.operator, batch=batch, step_code="transduction", scan=mfg.scan(batch)
            )

    def test_every_step_scans_the_bag(self, mfg) -> None:
        batch, other = mfg.start(mfg.intake()), mfg.intake()
        with pytest.raises(IdentityMismatch):
            services.step_start(actor=mfg.operator, batch=batch, step_code="activation", scan=mfg.scan(other))
        assert not batch.steps.exists()

    def test_room_based_room_refuses_a_second_batch_except_for_culture(self, mfg) -> None:
        room, culture = mfg.rooms
        first, second = mfg.start(mfg.intake(), room), mfg.start(mfg.intake(), room)
        mfg.step(first, "activation", mfg.STEPS[0][1], 30, area=room)
        services.step_start(
            actor=mfg.operator, batch=first, step_code="transduction", scan=mfg.scan(first), area=room
        )
        with pytest.raises(Conflict, match="in use by batch"):
            services.step_start(
                actor=mfg.operator, batch=second, step_code="activation", scan=mfg.scan(second), area=room
            )
        assert first.area is None and second.area is None
        assert culture.mode == "room_based"

    def test_out_of_range_parameter_opens_a_deviation_and_blocks_completion_until_qa_dispositions(
        self, mfg
    ) -> None:
        batch = mfg.start(mfg.intake())
        step = services.step_start(
            actor=mfg.operator, batch=batch, step_code="activation", scan=mfg.scan(batch)
        )
        entry = services.parameter_record(actor=mfg.operator, step=step, code="bead_ratio", value="4.2")
        assert entry.outcome == ParameterEntry.Outcome.OUT_OF_RANGE and entry.deviation.kind == "process"
        for code, value in (("viable_cells_in", "1.2E8"), ("activator_lot", "DB-2291")):
            services.parameter_record(actor=mfg.operator, step=step, code=code, value=value)
        services.equipment_use_record(actor=mfg.operator, step=step, equipment=mfg.cabinet)
        mfg.advance(30)
        with pytest.raises(Conflict, match="awaits QA disposition"):
            services.step_complete(actor=mfg.operator, step=step)
        disposition(mfg, entry.deviation)
        assert services.step_complete(actor=mfg.operator, step=step).status == BatchStep.Status.COMPLETED

    @pytest.mark.parametrize("value", ["ERROR", "", "3..1"])
    def test_unreadable_parameter_is_refused_and_not_stored(self, mfg, value: str) -> None:
        batch = mfg.start(mfg.intake())
        step = services.step_start(
            actor=mfg.operator, batch=batch, step_code="activation", scan=mfg.scan(batch)
        )
        with pytest.raises(ValidationFailed):
            services.parameter_record(actor=mfg.operator, step=step, code="bead_ratio", value=value)
        assert not step.entries.exists()

    def test_changing_an_entered_parameter_needs_a_reason(self, mfg) -> None:
        batch = mfg.start(mfg.intake())
        step = services.step_start(
            actor=mfg.operator, batch=batch, step_code="activation", scan=mfg.scan(batch)
        )
        services.parameter_record(actor=mfg.operator, step=step, code="bead_ratio", value="3")
        with pytest.raises(ValidationFailed, match="give a reason"):
            services.parameter_record(actor=mfg.operator, step=step, code="bead_ratio", value="3.2")
        entry = services.parameter_record(
            actor=mfg.operator, step=step, code="bead_ratio", value="3.2", reason="transcription error"
        )
        assert entry.value == "3.2"

    def test_activation_shorter_than_24_hours_opens_a_duration_deviation(self, mfg) -> None:
        batch = mfg.start(mfg.intake())
        step = services.step_start(
            actor=mfg.operator, batch=batch, step_code="activation", scan=mfg.scan(batch)
        )
        for code, value in mfg.STEPS[0][1].items():
            services.parameter_record(actor=mfg.operator, step=step, code=code, value=value)
        services.equipment_use_record(actor=mfg.operator, step=step, equipment=mfg.cabinet)
        mfg.advance(20)
        with pytest.raises(Conflict, match="shorter than 24–48 h"):
            services.step_complete(actor=mfg.operator, step=step)
        step.refresh_from_db()
        with pytest.raises(Conflict, match="awaits QA disposition"):
            services.step_complete(actor=mfg.operator, step=step)
        disposition(mfg, step.duration_deviation)
        assert services.step_complete(actor=mfg.operator, step=step).status == BatchStep.Status.COMPLETED

    def test_equipment_overdue_for_calibration_cannot_be_used(self, mfg) -> None:
        services.equipment_calibration_record(
            actor=mfg.qa,
            equipment=mfg.cabinet,
            calibration_due=mfg.now.date() - dt.timedelta(days=1),
            reason="lapsed",
        )
        batch = mfg.start(mfg.intake())
        step = services.step_start(
            actor=mfg.operator, batch=batch, step_code="activation", scan=mfg.scan(batch)
        )
        with pytest.raises(Conflict, match="calibration was due"):
            services.equipment_use_record(actor=mfg.operator, step=step, equipment=mfg.cabinet)

    def test_unreleased_lot_cannot_be_issued(self, mfg) -> None:
        lot = services.material_lot_register(
            actor=mfg.qa, material="IL-2", lot="X1", documents_attached=True, registered_supplier=mfg.supplier
        )
        batch = mfg.start(mfg.intake())
        step = services.step_start(
            actor=mfg.operator, batch=batch, step_code="activation", scan=mfg.scan(batch)
        )
        with pytest.raises(Conflict, match="not released by QA"):
            services.material_use_record(actor=mfg.operator, step=step, lot=lot, quantity="1 mL")

    def test_harvest_step_needs_the_operator_signature_and_a_wrong_password_changes_nothing(
        self, mfg
    ) -> None:
        batch = mfg.start(mfg.intake())
        first_steps(mfg, batch, "harvest")
        step = services.step_start(actor=mfg.operator, batch=batch, step_code="harvest", scan=mfg.scan(batch))
        services.parameter_record(actor=mfg.operator, step=step, code="wash_cycles", value="3")
        with pytest.raises(Conflict, match="must be signed"):
            services.step_complete(actor=mfg.operator, step=step)
        with pytest.raises(AuthenticationRequired):
            services.step_complete(
                actor=mfg.operator, step=step, signer=SignerCredentials(mfg.operator, "wrong")
            )
        step.refresh_from_db()
        assert step.status == BatchStep.Status.OPEN
        services.step_complete(actor=mfg.operator, step=step, signer=mfg.signer("operator_chen"))
        assert [s.meaning for s in signatures_of(step)] == ["performed"]

    def test_harvest_after_the_maximum_time_is_blocked(self, mfg) -> None:
        batch = mfg.start(mfg.intake())
        first_steps(mfg, batch, "expansion")
        step = services.step_start(
            actor=mfg.operator, batch=batch, step_code="expansion", scan=mfg.scan(batch)
        )
        for code, value in mfg.STEPS[2][1].items():
            services.parameter_record(actor=mfg.operator, step=step, code=code, value=value)
        services.equipment_use_record(actor=mfg.operator, step=step, equipment=mfg.incubator)
        mfg.advance(15 * 24)  # beyond 14 days: a duration deviation, then past the 16-day harvest window
        with pytest.raises(Conflict, match="longer than"):
            services.step_complete(actor=mfg.operator, step=step)
        step.refresh_from_db()
        disposition(mfg, step.duration_deviation)
        services.step_complete(actor=mfg.operator, step=step)
        with pytest.raises(Conflict, match="harvest window closed") as error:
            services.step_start(actor=mfg.operator, batch=batch, step_code="harvest", scan=mfg.scan(batch))
        assert error.value.detail["findings"][0]["clause"] == "P-T2-g"


class TestFill:
    def test_fill_without_the_retained_sample_unit_is_refused(self, mfg) -> None:
        batch = mfg.start(mfg.intake())
        first_steps(mfg, batch, "fill")
        step = services.step_start(actor=mfg.operator, batch=batch, step_code="fill", scan=mfg.scan(batch))
        with pytest.raises(ValidationFailed, match="retained-sample"):
            services.fill_record(
                actor=mfg.operator,
                step=step,
                patient_units=2,
                qc_units=1,
                retained_units=0,
                volume_per_unit_ml=Decimal(25),
            )

    def test_fill_creates_units_with_identifiers_and_closes_the_batch_on_completion(self, mfg) -> None:
        batch = mfg.manufactured()
        purposes = sorted(batch.units.values_list("purpose", flat=True))
        assert purposes == ["patient", "patient", "qc", "retained"]
        assert all(len(u.din) == 13 and u.din.startswith("W1234") for u in batch.units.all())
        assert batch.status == Batch.Status.AWAITING_RELEASE and batch.manufactured_at is not None

    def test_closed_batch_takes_no_more_steps(self, mfg) -> None:
        batch = mfg.manufactured()
        with pytest.raises(Conflict, match="record is closed"):
            services.step_start(actor=mfg.operator, batch=batch, step_code="fill", scan=mfg.scan(batch))

    def test_unit_status_changes_are_recorded(self, mfg) -> None:
        batch = mfg.manufactured()
        unit = batch.units.filter(purpose="patient").first()
        services.product_unit_status_set(
            actor=mfg.qa,
            unit=unit,
            status=ProductUnit.Status.SHIPPED,
            reason="ship",
            holder_site=mfg.world.sites["xiehe-main"],
        )
        unit.refresh_from_db()
        assert (unit.status, unit.holder_site.code) == ("shipped", "xiehe-main")
