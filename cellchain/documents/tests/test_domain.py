"""The pure rules of controlled documents, without a database (issue 13 item 1; T-6.1, T-6.4, T-5.3.5.2)."""

from __future__ import annotations

import datetime as dt

from cellchain.documents.models import DocumentVersion
from cellchain.domain import documents as rules
from cellchain.domain.documents import Shown, Signoffs, Stored, VersionFacts

D = dt.date(2026, 6, 15)


def _v(
    pk: int, stored: Stored, days: int | None, months: int = 12, reviewed: dt.date | None = None
) -> VersionFacts:
    when = None if days is None else D + dt.timedelta(days=days)
    return VersionFacts(pk, str(pk), stored, when, months, reviewed)


class TestInForce:
    def test_only_the_latest_effective_approved_version_is_in_force_t_6_1(self) -> None:
        """T-6.1: one version in force per date; a later one supersedes from its effective date."""
        old, new, draft = _v(1, Stored.APPROVED, -100), _v(2, Stored.APPROVED, 10), _v(3, Stored.DRAFT, -5)
        versions = [old, new, draft]
        assert rules.in_force_on(versions, D) == old
        assert rules.in_force_on(versions, D + dt.timedelta(days=10)) == new
        assert rules.shown_status(old, versions, D) is Shown.EFFECTIVE
        assert rules.shown_status(new, versions, D) is Shown.APPROVED
        assert rules.shown_status(old, versions, D + dt.timedelta(days=10)) is Shown.SUPERSEDED
        assert rules.shown_status(draft, versions, D) is Shown.DRAFT

    def test_a_retired_version_is_never_in_force_t_6_1(self) -> None:
        versions = [_v(1, Stored.RETIRED, -10)]
        assert rules.in_force_on(versions, D) is None
        assert rules.shown_status(versions[0], versions, D) is Shown.RETIRED

    def test_stored_statuses_match_the_model_t_6_1(self) -> None:
        assert {s.value for s in Stored} == set(DocumentVersion.Status.values)


class TestReviewDue:
    def test_overdue_after_the_interval_from_effective_or_last_review_t_6_4(self) -> None:
        """T-6.4: reviewed periodically; overdue once the interval has passed since the last review."""
        version = _v(1, Stored.APPROVED, -400, months=12)
        assert rules.review_due(version) == dt.date(2026, 5, 11)
        assert rules.review_overdue(version, D)
        reviewed = _v(1, Stored.APPROVED, -400, months=12, reviewed=D - dt.timedelta(days=30))
        assert not rules.review_overdue(reviewed, D)

    def test_months_clamp_to_the_end_of_the_month(self) -> None:
        assert rules.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
        assert rules.add_months(dt.date(2026, 11, 30), 14) == dt.date(2028, 1, 30)


class TestSignGate:
    def test_author_reviewer_and_approver_are_three_people_t_6_1(self) -> None:
        """T-6.1: the author neither reviews nor approves; the reviewer does not approve."""
        signed = Signoffs(author=1, reviewer=2)
        assert rules.sign_gate("review", 1, Signoffs(author=1), Stored.IN_REVIEW).checks == (
            "document.author_signs",
        )
        assert rules.sign_gate("approve", 1, signed, Stored.IN_REVIEW).checks == ("document.author_signs",)
        assert rules.sign_gate("approve", 2, signed, Stored.IN_REVIEW).checks == (
            "document.reviewer_approves",
        )
        assert rules.sign_gate("approve", 3, signed, Stored.IN_REVIEW).allowed

    def test_approval_needs_a_review_first_t_6_1(self) -> None:
        gate = rules.sign_gate("approve", 3, Signoffs(author=1), Stored.IN_REVIEW)
        assert gate.checks == ("document.not_reviewed",)

    def test_drug_management_needs_a_pharmacist_author_or_reviewer_t_5_3_5_2(self) -> None:
        """T-5.3.5.2: a drug-management SOP names the pharmacist as author or reviewer."""
        without = Signoffs(author=1, reviewer=2, pharmacists=frozenset({3}))
        gate = rules.sign_gate("approve", 3, without, Stored.IN_REVIEW, drug_management=True)
        assert gate.checks == ("document.pharmacist",) and gate.findings[0].clause == "T-5.3.5.2"
        with_pharmacist = Signoffs(author=1, reviewer=2, pharmacists=frozenset({2}))
        assert rules.sign_gate("approve", 3, with_pharmacist, Stored.IN_REVIEW, drug_management=True).allowed

    def test_a_step_out_of_order_is_refused_t_6_1(self) -> None:
        assert rules.sign_gate("review", 2, Signoffs(author=1), Stored.DRAFT).checks == ("document.state",)
        assert rules.sign_gate("submit", 1, Signoffs(), Stored.APPROVED).checks == ("document.state",)


class TestEffectiveDate:
    def test_effective_date_not_backdated_and_after_other_approved_versions_t_6_1(self) -> None:
        """T-6.1: one version in force on each date; records made earlier keep the version then in force."""
        assert rules.effective_date_gate(D - dt.timedelta(days=1), D, []).checks == ("document.backdated",)
        other = _v(1, Stored.APPROVED, 5)
        assert rules.effective_date_gate(D + dt.timedelta(days=5), D, [other]).checks == ("document.overlap",)
        assert rules.effective_date_gate(D + dt.timedelta(days=6), D, [other]).allowed


class TestTrainingGate:
    def test_untrained_person_is_refused_naming_document_version_and_clause_t_6_5(self) -> None:
        """T-6.5-e, T-6.1: the step is refused to a person not trained on the version in force."""
        gate = rules.training_gate("2", "SOP-INF", "infusion", trained=False)
        assert not gate.allowed
        message = gate.findings[0].message
        assert "SOP-INF version 2" in message and "T-6.5-e" in message
        assert rules.training_gate("2", "SOP-INF", "infusion", trained=True).allowed

    def test_each_step_cites_its_sop_clause_t_6_5_a_to_f(self) -> None:
        """T-6.5-a, T-6.5-b, T-6.5-c, T-6.5-d, T-6.5-e, T-6.5-f."""
        assert sorted(rules.STEP_CLAUSES.values()) == [f"T-6.5-{c}" for c in "abcdef"]
