"""QC services: results and OOS, audit-trail review, retained sample, release full and conditional, the late
compendial positive, information package (Q-2-a..g, Q-2.1, Q-2.5-a..c, Q-2.6-c, T-7.4, T-7.6, items 6, 7, 21)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cellchain.accounts.models import Qualification
from cellchain.accounts.roles import Role
from cellchain.accounts.services import qualification_grant, role_grant
from cellchain.core.errors import AuthenticationRequired, Conflict, NotAllowed, ValidationFailed
from cellchain.manufacturing.models import Batch, ProductUnit
from cellchain.manufacturing.tests.kit import ManufacturingKit
from cellchain.qc import selectors, services
from cellchain.qc.models import AnalyticalMethod, QcResult, RecallHold
from cellchain.quality.models import Deviation, Notification
from cellchain.signatures.services import SignerCredentials

pytestmark = pytest.mark.django_db


def release(kit: ManufacturingKit, batch: Batch, outcome: str = "releasable"):  # type: ignore[no-untyped-def]
    return services.batch_release(actor=kit.qa, batch=batch, signer=kit.signer("qa_li"), outcome=outcome)


def ordered(kit: ManufacturingKit, batch: Batch, code: str) -> None:
    services.result_record(actor=kit.analyst, batch=batch, item_code=code, status=QcResult.Status.ORDERED)


class TestResultRecord:
    def test_result_out_of_specification_opens_an_oos_investigation(self, mfg) -> None:
        batch = mfg.manufactured()
        row = services.result_record(actor=mfg.analyst, batch=batch, item_code="vcn", value=Decimal("5.4"))
        assert row.verdict == QcResult.Verdict.DOES_NOT_CONFORM
        assert row.investigation.kind == Deviation.Kind.OOS and "5.4" in row.investigation.title

    def test_positive_rapid_sterility_opens_oos_and_a_contamination_deviation(self, mfg) -> None:
        batch = mfg.manufactured()
        services.result_record(
            actor=mfg.analyst, batch=batch, item_code="sterility_rapid", outcome="positive"
        )
        kinds = sorted(Deviation.objects.filter(title__contains=batch.number).values_list("kind", flat=True))
        assert kinds == ["oos", "process"]

    def test_result_by_an_unvalidated_method_is_kept_but_not_accepted(self, mfg) -> None:
        batch = mfg.manufactured()
        trial = services.method_register(
            actor=mfg.qa,
            code="new-count",
            name_zh="新方法",
            name_en="New method",
            standing=AnalyticalMethod.Standing.UNVALIDATED,
        )
        row = services.result_record(
            actor=mfg.analyst, batch=batch, item_code="viability", value=Decimal(95), method=trial
        )
        assert row.verdict == QcResult.Verdict.METHOD_NOT_ACCEPTED and row.investigation is None

    def test_result_by_another_validated_method_cannot_support_release(self, mfg) -> None:
        batch = mfg.ready_for_release(mfg.manufactured())
        trypan = AnalyticalMethod.objects.get(code="trypan-vicell")
        services.result_record(
            actor=mfg.analyst,
            batch=batch,
            item_code="viability",
            value=Decimal(95),
            method=trypan,
            reason="recount",
        )
        evaluation = selectors.release_evaluation(batch)
        assert [(f.check, f.clause) for f in evaluation.findings] == [("method_differs", "Q-2.1")]

    def test_retest_needs_a_reason_and_supersedes_the_first_result(self, mfg) -> None:
        batch = mfg.manufactured()
        first = services.result_record(actor=mfg.analyst, batch=batch, item_code="ph", value=Decimal("7.0"))
        with pytest.raises(ValidationFailed, match="retest needs a reason"):
            services.result_record(actor=mfg.analyst, batch=batch, item_code="ph", value=Decimal("7.1"))
        second = services.result_record(
            actor=mfg.analyst, batch=batch, item_code="ph", value=Decimal("7.1"), reason="meter recalibrated"
        )
        first.refresh_from_db()
        assert first.superseded_by == second
        assert list(selectors.current_results(batch)) == [second]

    def test_qualitative_test_needs_an_outcome(self, mfg) -> None:
        batch = mfg.manufactured()
        with pytest.raises(ValidationFailed, match="needs an outcome"):
            services.result_record(actor=mfg.analyst, batch=batch, item_code="sterility", value=Decimal(0))

    def test_corrected_value_is_marked_as_amended(self, mfg) -> None:
        batch = mfg.manufactured()
        row = services.result_record(actor=mfg.analyst, batch=batch, item_code="ph", value=Decimal("7.0"))
        services.result_amend(actor=mfg.analyst, result=row, value=Decimal("7.2"), reason="typo")
        row.refresh_from_db()
        assert row.amended and row.value == Decimal("7.2")

    def test_operator_cannot_enter_qc_results(self, mfg) -> None:
        batch = mfg.manufactured()
        with pytest.raises(NotAllowed):
            services.result_record(actor=mfg.operator, batch=batch, item_code="ph", value=Decimal("7.0"))

    def test_raw_file_is_kept_with_its_hash_and_a_change_is_detected(self, mfg) -> None:
        raw = services.raw_file_store(
            actor=mfg.analyst, name="run.csv", reader="ddpcr", content=b"a,b\n1,2\n"
        )
        assert services.raw_file_content(raw) == b"a,b\n1,2\n"
        raw.content = b"a,b\n1,3\n"
        with pytest.raises(Conflict, match="altered"):
            services.raw_file_content(raw)


class TestBatchRelease:
    def test_release_blocked_without_audit_trail_review_and_retained_sample(self, mfg) -> None:
        batch = mfg.manufactured()
        mfg.results(batch)
        with pytest.raises(Conflict, match="not releasable") as error:
            release(mfg, batch)
        checks = {f["check"] for f in error.value.detail["findings"]}
        assert checks == {"audit_trail_not_reviewed", "retained_sample_not_registered"}

    def test_release_blocked_when_vcn_above_limit(self, mfg) -> None:
        batch = mfg.ready_for_release(mfg.manufactured(), vcn={"value": Decimal("5.2")})
        with pytest.raises(Conflict, match="vcn") as error:
            release(mfg, batch)
        checks = [f["check"] for f in error.value.detail["findings"]]
        assert "above_maximum" in checks and "investigation_open" in checks

    def test_full_release_signed_by_qa_tells_the_clinic(self, mfg) -> None:
        batch = mfg.ready_for_release(mfg.manufactured())
        decision = release(mfg, batch)
        batch.refresh_from_db()
        assert batch.status == Batch.Status.RELEASED and decision.pending == []
        assert Notification.objects.filter(
            recipient_organisation__code="xiehe", subject__contains=batch.number
        )

    def test_wrong_password_leaves_the_batch_unreleased(self, mfg) -> None:
        batch = mfg.ready_for_release(mfg.manufactured())
        with pytest.raises(AuthenticationRequired):
            services.batch_release(
                actor=mfg.qa, batch=batch, signer=SignerCredentials(mfg.qa, "nope"), outcome="releasable"
            )
        batch.refresh_from_db()
        assert batch.status == Batch.Status.AWAITING_RELEASE and not batch.release_decisions.exists()

    def test_only_qa_releases(self, mfg) -> None:
        batch = mfg.ready_for_release(mfg.manufactured())
        with pytest.raises(NotAllowed):
            services.batch_release(
                actor=mfg.analyst, batch=batch, signer=mfg.signer("qc_zhang"), outcome="releasable"
            )

    def test_performer_cannot_review_the_audit_trail(self, mfg) -> None:
        guo = mfg.world["qa_guo"]
        role_grant(actor=None, user=guo, role=Role.QC_ANALYST)
        qualification_grant(
            actor=None,
            user=guo,
            code="qc_testing",
            title="QC",
            valid_from=mfg.now.date(),
            valid_until=mfg.now.date().replace(year=mfg.now.year + 1),
            kind=Qualification.Kind.TRAINING,
            evidence="test",
        )
        batch = mfg.manufactured()
        services.result_record(actor=guo, batch=batch, item_code="ph", value=Decimal("7.0"))
        with pytest.raises(Conflict, match="reviewed by someone else"):
            services.audit_trail_review_record(actor=guo, batch=batch, signer=mfg.signer("qa_guo"))

    def test_conditional_release_with_compendial_tests_pending(self, mfg) -> None:
        batch = mfg.manufactured()
        ordered(mfg, batch, "sterility")
        ordered(mfg, batch, "mycoplasma")
        batch = mfg.ready_for_release(
            batch, sterility={"status": "ordered"}, mycoplasma={"status": "ordered"}
        )
        assert selectors.release_evaluation(batch).pending == ("sterility", "mycoplasma")
        with pytest.raises(Conflict, match="evaluation changed"):
            release(mfg, batch, "releasable")
        decision = release(mfg, batch, "conditionally_releasable")
        batch.refresh_from_db()
        assert batch.status == Batch.Status.CONDITIONALLY_RELEASED
        assert decision.pending == ["sterility", "mycoplasma"]

    def test_compendial_negatives_then_allow_the_full_release(self, mfg) -> None:
        batch = self._conditionally_released(mfg)
        mfg.advance(14 * 24)
        for code in ("sterility", "mycoplasma"):
            services.result_record(actor=mfg.analyst, batch=batch, item_code=code, outcome="negative")
        assert Notification.objects.filter(subject__contains="compendial results complete").exists()
        with pytest.raises(Conflict, match="review it again"):
            release(mfg, batch, "releasable")
        mfg.advance(1)
        services.audit_trail_review_record(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"))
        release(mfg, batch, "releasable")
        batch.refresh_from_db()
        assert batch.status == Batch.Status.RELEASED

    def test_late_compendial_positive_alerts_quarantines_and_opens_safety_records(self, mfg) -> None:
        from cellchain.manufacturing.services import product_unit_status_set

        batch = self._conditionally_released(mfg)
        infused, waiting = batch.units.filter(purpose=ProductUnit.Purpose.PATIENT).order_by("din")
        xiehe = mfg.world.sites["xiehe-main"]
        for unit in (infused, waiting):
            product_unit_status_set(
                actor=mfg.qa, unit=unit, status="shipped", reason="shipped", holder_site=xiehe
            )
        product_unit_status_set(
            actor=mfg.qa, unit=infused, status="infused", reason="infused", infused_at=mfg.now
        )
        services.result_record(actor=mfg.analyst, batch=batch, item_code="sterility", outcome="positive")
        batch.refresh_from_db()
        waiting.refresh_from_db()
        recall = RecallHold.objects.get(batch=batch)
        assert batch.status == Batch.Status.ON_HOLD and waiting.status == ProductUnit.Status.QUARANTINED
        assert Deviation.objects.filter(kind=Deviation.Kind.SAFETY, subject_id=str(infused.pk)).exists()
        assert Notification.objects.filter(
            recipient_organisation__code="xiehe", subject__startswith="URGENT"
        ).exists()
        assert Notification.objects.filter(
            recipient_organisation__code="shenghe", recipient_role="qa", subject__startswith="URGENT"
        ).exists()
        kinds = [a["kind"] for a in recall.actions]
        assert {
            "alert_manufacturer_qa",
            "start_recall_hold",
            "alert_holder",
            "quarantine_unit",
            "patient_safety_record",
        } <= set(kinds)

    def test_clinic_is_alerted_even_when_no_unit_has_left_the_manufacturer(self, mfg) -> None:
        batch = self._conditionally_released(mfg)
        services.result_record(actor=mfg.analyst, batch=batch, item_code="mycoplasma", outcome="positive")
        assert Notification.objects.filter(
            recipient_organisation__code="xiehe", subject__startswith="URGENT"
        ).exists()

    def _conditionally_released(self, mfg) -> Batch:  # type: ignore[no-untyped-def]
        batch = mfg.manufactured()
        batch = mfg.ready_for_release(
            batch, sterility={"status": "ordered"}, mycoplasma={"status": "ordered"}
        )
        release(mfg, batch, "conditionally_releasable")
        batch.refresh_from_db()
        return batch


class TestRetainedSample:
    def test_patient_unit_cannot_be_registered_as_retained_sample(self, mfg) -> None:
        batch = mfg.manufactured()
        unit = batch.units.filter(purpose="patient").first()
        with pytest.raises(ValidationFailed, match="not a retained sample"):
            services.retained_sample_register(
                actor=mfg.analyst, unit=unit, container="T", rack="R", box="B", position="1"
            )


class TestPackageIssue:
    def test_package_cannot_be_issued_before_release(self, mfg) -> None:
        batch = mfg.ready_for_release(mfg.manufactured())
        with pytest.raises(Conflict, match="released_at"):
            services.package_issue(actor=mfg.qa, batch=batch)

    def test_package_is_issued_to_the_clinic_without_patient_identity(self, mfg) -> None:
        batch = mfg.ready_for_release(mfg.manufactured())
        release(mfg, batch)
        issue = services.package_issue(actor=mfg.qa, batch=batch)
        text = json.dumps(issue.content, ensure_ascii=False)
        from cellchain.journeys.models import PatientIdentity

        identity = PatientIdentity.objects.get(journey__coi=batch.intake.coi)
        assert issue.recipient.code == "xiehe" and issue.notification is not None
        assert issue.content["donor"]["donor_code"] == identity.journey.pseudonym
        for field in ("name", "hospital_record_number", "wristband_id"):
            value = getattr(identity, field)
            assert value and value not in text
        assert issue.content["label"]["released_at"] is not None


class TestLabelReconciliationAtRelease:
    """FACT-JACIE CM7.2.2.1 (issue 13 item 8): no release while a printed label of the batch has no fate."""

    def test_release_refused_with_the_outstanding_label_then_allowed_once_it_is_destroyed(self, mfg) -> None:
        from cellchain.journeys import services as js
        from cellchain.journeys.models import Unit

        batch = mfg.ready_for_release(mfg.manufactured())
        unit = Unit.objects.get(din=batch.intake.din)
        spare = js.label_print(actor=mfg.world["apheresis_sun"], unit=unit, reprint_reason="spare").record
        with pytest.raises(Conflict, match=rf"CM7\.2\.2\.1.*{unit.din}#2") as error:
            release(mfg, batch)
        assert error.value.detail["outstanding"] == [f"{unit.din}#2"]
        assert "printed 2, used 1, voided 0, destroyed 0" in str(error.value)
        batch.refresh_from_db()
        assert batch.status == Batch.Status.AWAITING_RELEASE
        assert selectors.latest_release(batch) is None
        js.label_disposition_record(
            actor=mfg.world["apheresis_sun"],
            unit=unit,
            label=spare,
            fate="destroyed",
            reason="spare label, not applied",
            witness=mfg.world["apheresis_gao"],
        )
        assert selectors.batch_label_reconciliation(batch).balanced
        release(mfg, batch)
        batch.refresh_from_db()
        assert batch.status == Batch.Status.RELEASED
