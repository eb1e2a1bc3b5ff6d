"""The controlled-document services: register, draft, three signatures, periodic review, retirement, training
and the step gate (issue 13 item 1; T-6.1, T-6.4, T-6.5-a..f, T-5.3.5.2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.core.errors import AuthenticationRequired, Conflict, NotAllowed, ValidationFailed
from cellchain.documents import selectors, services
from cellchain.documents.models import DocumentVersion, SopUse, TrainingRecord, VersionSignoff
from cellchain.documents.tests.conftest import TODAY, DocumentKit
from cellchain.domain.documents import Shown
from cellchain.ledger.models import LedgerEntry
from cellchain.signatures.models import Signature

pytestmark = pytest.mark.django_db


class TestVersionSign:
    def test_author_reviewer_approver_sign_and_the_version_is_in_force_t_6_1(self, kit: DocumentKit) -> None:
        """T-6.1: version, author, reviewer, approver with e-signatures, effective date; ledgered."""
        document = kit.register()
        version = kit.approved(document)
        assert version.status == DocumentVersion.Status.APPROVED
        assert (version.author, version.reviewer, version.approver) == (
            kit["nurse_wang"],
            kit["pharmacist_liu"],
            kit["physician_wang"],
        )
        roles = list(VersionSignoff.objects.filter(version=version).values_list("role", "content_sha256"))
        assert [r for r, _ in roles] == ["author", "reviewer", "approver"]
        assert {sha for _, sha in roles} == {version.content_sha256}
        meanings = set(
            Signature.objects.filter(signer__in=[kit["nurse_wang"], kit["physician_wang"]]).values_list(
                "meaning", flat=True
            )
        )
        assert meanings == {"authored", "approved"}
        site = kit["nurse_wang"].site
        assert services.sop_in_force_for("thaw", site, TODAY) == version
        assert LedgerEntry.objects.filter(event="document:approve").count() == 1

    def test_the_author_cannot_review_and_the_reviewer_cannot_approve_t_6_1(self, kit: DocumentKit) -> None:
        """T-6.1: three different people."""
        version = kit.draft(kit.register())
        kit.sign(version, "submit", "nurse_wang")
        with pytest.raises(Conflict, match="author cannot review"):
            kit.sign(version, "review", "nurse_wang")
        kit.sign(version, "review", "physician_lin")
        with pytest.raises(Conflict, match="reviewer cannot also approve"):
            kit.sign(version, "approve", "physician_lin")
        assert DocumentVersion.objects.get(pk=version.pk).status == DocumentVersion.Status.IN_REVIEW
        assert not VersionSignoff.objects.filter(version=version, role="approver").exists()

    def test_a_wrong_password_writes_no_signoff(self, kit: DocumentKit) -> None:
        version = kit.draft(kit.register())
        with pytest.raises(AuthenticationRequired):
            kit.sign(version, "submit", "nurse_wang", password="wrong")
        assert DocumentVersion.objects.get(pk=version.pk).status == DocumentVersion.Status.DRAFT
        assert not VersionSignoff.objects.filter(version=version).exists()

    def test_drug_management_sop_needs_a_pharmacist_author_or_reviewer_t_5_3_5_2(
        self, kit: DocumentKit
    ) -> None:
        """T-5.3.5.2: the SOP record names the pharmacist as author or reviewer."""
        document = kit.register(step="", code="SOP-DRUG", drug_management=True)
        version = kit.draft(document)
        kit.sign(version, "submit", "nurse_wang")
        kit.sign(version, "review", "physician_lin")
        with pytest.raises(Conflict, match=r"T-5\.3\.5\.2"):
            kit.sign(version, "approve", "physician_wang")
        other = kit.approved(document, label="2", reviewer="pharmacist_liu")
        assert other.status == DocumentVersion.Status.APPROVED

    def test_one_version_in_force_per_date_t_6_1(self, kit: DocumentKit) -> None:
        """T-6.1: an approved version takes effect after the other approved ones and never backdated; the
        newer one supersedes the older from its date, and a superseded version cannot be trained on."""
        document = kit.register()
        first = kit.approved(document)
        backdated = kit.draft(document, label="2", days=-1)
        kit.sign(backdated, "submit", "nurse_wang")
        kit.sign(backdated, "review", "pharmacist_liu")
        with pytest.raises(Conflict, match="in the past"):
            kit.sign(backdated, "approve", "physician_wang")
        second = kit.approved(document, label="3", days=30)
        site = kit["nurse_wang"].site
        later = TODAY + dt.timedelta(days=30)
        assert services.sop_in_force_for("thaw", site, TODAY) == first
        assert services.sop_in_force_for("thaw", site, later) == second
        assert selectors.shown_status(first, later) is Shown.SUPERSEDED
        with pytest.raises(Conflict, match="already takes effect"):
            kit.approved(document, label="4", days=30)

    def test_register_refuses_a_second_document_for_the_same_step_t_6_1(self, kit: DocumentKit) -> None:
        kit.register()
        with pytest.raises(Conflict, match="already governs"):
            kit.register(code="SOP-THAW-2")

    def test_only_the_keeper_of_the_register_registers(self, kit: DocumentKit) -> None:
        with pytest.raises(NotAllowed):
            services.document_register(actor=kit["nurse_wang"], code="X", title="X", kind="sop")

    def test_version_of_another_organisation_is_refused(self, kit: DocumentKit) -> None:
        document = kit.register()
        with pytest.raises(NotAllowed, match="another organisation"):
            kit.draft(document, author="nurse_li")


class TestPeriodicReview:
    def test_overdue_review_is_listed_and_a_signed_review_clears_it_t_6_4(
        self, kit: DocumentKit, world: Any
    ) -> None:
        """T-6.4: each document has a review interval; overdue reviews are listed."""
        version = kit.approved(kit.register())
        coordinator = kit["coordinator_zhou"]
        later = TODAY + dt.timedelta(days=400)
        assert selectors.register(coordinator, TODAY, overdue_only=True) == []
        overdue = selectors.register(coordinator, later, overdue_only=True)
        assert [r.document.code for r in overdue] == ["SOP-THAW"] and overdue[0].review_due == dt.date(
            2027, 6, 15
        )
        from cellchain.core import clock

        with clock.frozen(dt.datetime(2027, 7, 20, 4, 0, tzinfo=dt.UTC)):
            services.version_periodic_review(
                actor=coordinator, version=version, signer=kit.signer("coordinator_zhou"), note="still right"
            )
            assert selectors.register(coordinator, later, overdue_only=True) == []
        assert DocumentVersion.objects.get(pk=version.pk).last_reviewed_on == dt.date(2027, 7, 20)


class TestTraining:
    def test_untrained_person_is_refused_and_trained_person_passes_t_6_1(self, kit: DocumentKit) -> None:
        """T-6.1, T-6.5-d: the step is refused to a person not trained on the version in force."""
        version = kit.approved(kit.register())
        nurse, site = kit["nurse_zhou"], kit["nurse_zhou"].site
        with pytest.raises(NotAllowed, match=r"SOP-THAW version 1.*T-6\.5-d"):
            services.training_gate(nurse, "thaw", site, TODAY)
        kit.train(version, "nurse_zhou")
        assert services.training_gate(nurse, "thaw", site, TODAY) == version
        assert Signature.objects.filter(signer=nurse, meaning="acknowledged").count() == 1

    def test_no_document_governing_the_step_lets_it_proceed(self, kit: DocumentKit) -> None:
        kit.approved(kit.register())
        assert services.training_gate(kit["nurse_zhou"], "infusion", kit["nurse_zhou"].site, TODAY) is None
        other_hospital = kit["nurse_li"]
        assert services.training_gate(other_hospital, "thaw", other_hospital.site, TODAY) is None

    def test_a_new_version_needs_new_training_t_6_1(self, kit: DocumentKit) -> None:
        """T-6.1: read-and-understood training on each new version."""
        document = kit.register()
        kit.train(kit.approved(document), "nurse_zhou")
        second = kit.approved(document, label="2", days=10)
        later = TODAY + dt.timedelta(days=10)
        with pytest.raises(NotAllowed, match="version 2"):
            services.training_gate(kit["nurse_zhou"], "thaw", kit["nurse_zhou"].site, later)
        kit.train(second, "nurse_zhou")  # training ahead of the effective date
        assert services.training_gate(kit["nurse_zhou"], "thaw", kit["nurse_zhou"].site, later) == second

    def test_draft_and_retired_versions_cannot_be_trained_on_t_6_1(self, kit: DocumentKit) -> None:
        document = kit.register()
        draft = kit.draft(document)
        with pytest.raises(Conflict, match="draft"):
            kit.train(draft, "nurse_zhou")
        services.version_retire(actor=kit["coordinator_zhou"], version=draft, reason="abandoned")
        with pytest.raises(Conflict, match="retired"):
            kit.train(draft, "nurse_zhou")
        assert not TrainingRecord.objects.exists()

    def test_a_superseded_version_cannot_be_trained_on_t_6_1(self, kit: DocumentKit) -> None:
        """T-6.1: superseded versions cannot be selected."""
        from cellchain.core import clock

        document = kit.register()
        first = kit.approved(document)
        kit.approved(document, label="2", days=3)
        with (
            clock.frozen(dt.datetime(2026, 6, 18, 4, 0, tzinfo=dt.UTC)),
            pytest.raises(Conflict, match="superseded"),
        ):
            kit.train(first, "nurse_zhou")

    def test_training_twice_is_refused(self, kit: DocumentKit) -> None:
        version = kit.approved(kit.register())
        kit.train(version, "nurse_zhou")
        with pytest.raises(Conflict, match="already signed"):
            kit.train(version, "nurse_zhou")


class TestSopVersionLink:
    def test_the_record_names_the_sop_version_in_force_t_6_1(self, kit: DocumentKit) -> None:
        """T-6.1 "records link the effective SOP version": the link is a ledgered record."""
        version = kit.approved(kit.register())
        kit.train(version, "nurse_zhou")
        record = version  # any regulated record stands in for the step's record here
        linked = services.sop_version_link(
            actor=kit["nurse_zhou"], step="thaw", site=kit["nurse_zhou"].site, record=record
        )
        assert linked == version
        use = SopUse.objects.get()
        assert (use.record_type, use.record_id, use.performed_by) == (
            "documents.documentversion",
            str(version.pk),
            kit["nurse_zhou"],
        )
        entry = LedgerEntry.objects.get(event="documents.documentversion:sop")
        assert "SOP-THAW v1" in bytes(entry.canonical).decode()
        assert selectors.sop_uses_for(record) == [use]

    def test_untrained_link_is_refused_and_writes_nothing(self, kit: DocumentKit) -> None:
        version = kit.approved(kit.register())
        with pytest.raises(NotAllowed):
            services.sop_version_link(
                actor=kit["nurse_zhou"], step="thaw", site=kit["nurse_zhou"].site, record=version
            )
        assert not SopUse.objects.exists()

    def test_invalid_inputs_name_the_rule(self, kit: DocumentKit) -> None:
        document = kit.register()
        with pytest.raises(ValidationFailed, match="text of the version"):
            services.version_draft(
                actor=kit["nurse_wang"],
                document=document,
                label="1",
                effective_from=TODAY,
                review_interval_months=12,
            )
