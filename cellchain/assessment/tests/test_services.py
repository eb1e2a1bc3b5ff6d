"""Answering and reviewing self-assessment items (issue 14 item 2; CHECKLIST; X-3, X-4)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cellchain.accounts.models import LoginEvent
from cellchain.assessment import services
from cellchain.assessment.models import AssessmentAnswer, EvidenceFile
from cellchain.assessment.tests.factories import answer, today
from cellchain.core.errors import AuthenticationRequired, Conflict, NotAllowed, TooLarge, ValidationFailed
from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.verify import verify_ledger
from cellchain.signatures.models import Meaning, Signature
from cellchain.signatures.services import signature_is_current, signatures_of

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


def entries(record: Any) -> list[dict[str, Any]]:
    """The record's ledger entries as their canonical documents (action, state, reason, extra)."""
    rows = LedgerEntry.objects.filter(record_type=record.ledger_record_type(), record_id=str(record.pk))
    return [json.loads(bytes(row.canonical)) for row in rows.order_by("seq")]


class TestAssessmentAnswerRecord:
    def test_first_answer_is_created_ledgered_and_signed_reviewed(self, world: Any) -> None:
        row = answer(world, "qa_li", "shenghe-prod", "T-5.1.1", evidence_reference="生产许可证 苏20260001")
        assert (row.answer, row.clause, row.reviewed_by, row.evidence_reference) == (
            "yes",
            "T-5.1.1",
            world["qa_li"],
            "生产许可证 苏20260001",
        )
        assert [e["action"] for e in entries(row)] == ["create"]
        (signature,) = signatures_of(row)
        assert signature.meaning == Meaning.REVIEWED and signature.signer == world["qa_li"]
        assert [e["action"] for e in entries(signature)] == ["sign"]
        assert signature_is_current(signature, row)

    def test_a_change_needs_a_reason_and_keeps_the_old_answer_in_the_ledger(self, world: Any) -> None:
        first = answer(world, "qa_li", "shenghe-prod", "T-5.1.2")
        with pytest.raises(ValidationFailed) as refused:
            answer(world, "qa_guo", "shenghe-prod", "T-5.1.2", "no")
        assert refused.value.field == "reason"
        second = answer(
            world, "qa_guo", "shenghe-prod", "T-5.1.2", "no", note="ISO 14001 lapsed", reason="audit"
        )
        assert second.pk == first.pk and AssessmentAnswer.objects.count() == 1
        assert (second.answer, second.reviewed_by) == ("no", world["qa_guo"])
        amend = [e for e in entries(second) if e["action"] == "amend"]
        assert len(amend) == 1 and amend[0]["reason"] == "audit"
        old, new = signatures_of(second)
        assert old.superseded_at is not None and not signature_is_current(old, second)
        assert signature_is_current(new, second) and new.signer == world["qa_guo"]
        report = verify_ledger()
        assert report.ok, report.lines()

    def test_yes_without_evidence_is_refused_and_nothing_is_written(self, world: Any) -> None:
        with pytest.raises(ValidationFailed) as refused:
            answer(world, "qa_li", "shenghe-prod", "G-1", evidence_reference="")
        assert refused.value.field == "evidence_file"
        assert not AssessmentAnswer.objects.exists() and not Signature.objects.exists()

    @pytest.mark.parametrize("value", ["na", "no"])
    def test_na_and_no_need_a_note(self, world: Any, value: str) -> None:
        with pytest.raises(ValidationFailed) as refused:
            answer(world, "qa_li", "shenghe-prod", "T-5.1.4-d", value, note=" ")
        assert refused.value.field == "note"
        row = answer(world, "qa_li", "shenghe-prod", "T-5.1.4-d", value, note="No plasmid is made here.")
        assert row.answer == value and row.note == "No plasmid is made here."

    def test_next_review_after_today_and_not_decades_ahead(self, world: Any) -> None:
        site = world.sites["shenghe-prod"]
        for day, field in (
            (today(site), "next_review"),
            (today(site) + dt.timedelta(days=20000), "next_review"),
        ):
            with pytest.raises(ValidationFailed) as refused:
                answer(world, "qa_li", "shenghe-prod", "G-1", next_review=day)
            assert refused.value.field == field

    def test_evidence_file_is_kept_with_its_hash_and_type(self, world: Any) -> None:
        upload = SimpleUploadedFile("GMP证书.pdf", PDF)
        row = answer(world, "qa_li", "shenghe-prod", "G-1", upload=upload)
        stored = row.evidence_file
        assert (stored.name, stored.size, stored.content_type) == ("GMP证书.pdf", len(PDF), "application/pdf")
        assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
        assert services.evidence_file_content(stored) == PDF
        assert entries(stored)[0]["extra"]["sha256"] == stored.sha256

    def test_a_review_keeps_the_file_unless_told_otherwise(self, world: Any) -> None:
        row = answer(world, "qa_li", "shenghe-prod", "G-1", upload=SimpleUploadedFile("gmp.pdf", PDF))
        kept = answer(world, "qa_li", "shenghe-prod", "G-1", reason="annual review")
        assert kept.evidence_file_id == row.evidence_file_id
        dropped = answer(
            world, "qa_li", "shenghe-prod", "G-1", reason="certificate replaced", keep_file=False
        )
        assert dropped.evidence_file_id is None and EvidenceFile.objects.count() == 1

    def test_altered_file_bytes_are_detected_on_reading(self, world: Any) -> None:
        from cellchain.ledger.tests.behind import save_unledgered

        row = answer(world, "qa_li", "shenghe-prod", "G-1", upload=SimpleUploadedFile("gmp.pdf", PDF))
        stored = row.evidence_file
        stored.content = PDF + b"tampered"
        save_unledgered(stored, update_fields=["content"])
        with pytest.raises(Conflict):
            services.evidence_file_content(EvidenceFile.objects.get())

    def test_file_too_large_or_empty_is_refused(self, world: Any, settings: Any) -> None:
        settings.CELLCHAIN_MAX_EVIDENCE_FILE_BYTES = 10
        with pytest.raises(TooLarge):
            answer(world, "qa_li", "shenghe-prod", "G-1", upload=SimpleUploadedFile("big.pdf", PDF))
        settings.CELLCHAIN_MAX_EVIDENCE_FILE_BYTES = 10**6
        with pytest.raises(ValidationFailed) as refused:
            answer(world, "qa_li", "shenghe-prod", "G-1", upload=SimpleUploadedFile("empty.pdf", b""))
        assert refused.value.field == "evidence_file"
        assert not EvidenceFile.objects.exists()

    def test_link_must_be_a_cellchain_page(self, world: Any) -> None:
        row = answer(
            world,
            "qa_li",
            "shenghe-prod",
            "G-6-b",
            evidence_link="https://cellchain.example/manufacturing/equipment/",
        )
        assert row.evidence_link == "/manufacturing/equipment/"
        for link in ("https://dms.example/nothing-here/", "not a path", "javascript:alert(1)"):
            with pytest.raises(ValidationFailed) as refused:
                answer(world, "qa_li", "shenghe-prod", "G-6-a", evidence_link=link, evidence_reference="")
            assert refused.value.field == "evidence_link"

    def test_wrong_password_writes_nothing_and_counts_towards_lockout(self, world: Any) -> None:
        with pytest.raises(AuthenticationRequired):
            answer(world, "qa_li", "shenghe-prod", "G-1", password="wrong")
        assert not AssessmentAnswer.objects.exists()
        assert LoginEvent.objects.filter(
            user=world["qa_li"], outcome=LoginEvent.Outcome.REAUTH_FAILURE
        ).exists()

    def test_roles_and_organisations_that_do_not_answer_are_refused(self, world: Any) -> None:
        with pytest.raises(NotAllowed):
            answer(world, "physician_wang", "xiehe-main", "T-5.2.1")
        with pytest.raises(NotAllowed):
            answer(world, "coordinator_zhou", "renji-east", "T-5.2.1")  # another hospital
        with pytest.raises(NotAllowed):
            answer(world, "qa_li", "xiehe-main", "T-5.2.1")
        assert answer(world, "coordinator_zhou", "xiehe-main", "T-5.2.1").site == world.sites["xiehe-main"]

    def test_an_item_of_the_other_site_kind_or_unknown_is_refused(self, world: Any) -> None:
        with pytest.raises(ValidationFailed) as refused:
            answer(world, "qa_li", "shenghe-prod", "T-5.2.1")
        assert refused.value.field == "item_code"
        with pytest.raises(ValidationFailed):
            answer(world, "qa_li", "shenghe-prod", "T-99.9")

    def test_the_system_answer_at_signing_is_kept_on_the_record(self, world: Any) -> None:
        """G-6-a: the demo staff hold trainings but no health check, so the records say no; a reviewer who
        answers yes is recorded beside it."""
        row = answer(world, "qa_li", "shenghe-prod", "G-6-a", evidence_reference="HR file")
        assert (row.answer, row.suggested) == ("yes", "no")
        assert answer(world, "qa_li", "shenghe-prod", "T-5.1.1").suggested == ""
