"""Journey holds, eligibility checklist and collection-site rules, without a database
(T-6.4-h, T-9.2.1-2, P-1.3.1-d; issue 13 items 6-7)."""

from __future__ import annotations

import datetime as dt

from cellchain.domain.journey_hold import (
    HeldStep,
    HoldFacts,
    HoldKind,
    SiteCertification,
    checklist_problems,
    collection_site_gate,
    eligibility_gate,
    lift_gate,
    place_gate,
    step_gate,
)

DAY = dt.date(2026, 12, 7)
SUSPENDED = HoldFacts(HoldKind.SUSPENSION, "neutropenic fever", "Dr Wang", DAY)
TERMINATED = HoldFacts(HoldKind.TERMINATION, "disease progression", "Dr Wang", DAY)


class TestStepGate:
    def test_T_6_4_h_standing_suspension_refuses_each_step_naming_hold_and_clause(self) -> None:
        for step in HeldStep:
            gate = step_gate("COI1", step, [SUSPENDED])
            assert gate.checks == ("journey_suspension",)
            assert "T-6.4-h" in gate.findings[0].message
            assert step.value in gate.findings[0].message
            assert "neutropenic fever" in gate.findings[0].message

    def test_T_6_4_h_lifted_suspension_allows_but_termination_always_stands(self) -> None:
        lifted = HoldFacts(HoldKind.SUSPENSION, "x", "Dr Wang", DAY, lifted=True)
        assert step_gate("COI1", HeldStep.INFUSION, [lifted]).allowed
        assert not step_gate("COI1", HeldStep.INFUSION, [lifted, TERMINATED]).allowed
        # a termination marked lifted by mistake still stands
        assert not step_gate(
            "COI1", HeldStep.SHIPPING, [HoldFacts(HoldKind.TERMINATION, "x", "y", DAY, True)]
        ).allowed


class TestPlaceAndLift:
    def test_T_6_4_h_place_needs_reason_and_not_twice_suspended(self) -> None:
        assert place_gate("C", HoldKind.SUSPENSION, [], "  ").checks == ("reason_missing",)
        assert place_gate("C", HoldKind.SUSPENSION, [SUSPENDED], "again").checks == ("already_suspended",)
        assert place_gate("C", HoldKind.TERMINATION, [SUSPENDED], "progression").allowed
        assert place_gate("C", HoldKind.SUSPENSION, [TERMINATED], "x").checks == ("terminated",)

    def test_T_6_4_h_termination_cannot_be_lifted_suspension_can(self) -> None:
        assert lift_gate("C", TERMINATED, "recovered").checks == ("termination_final",)
        assert lift_gate("C", SUSPENDED, "fever resolved").allowed
        assert lift_gate("C", SUSPENDED, "").checks == ("reason_missing",)


class TestEligibility:
    CRITERIA = ("CD19+ disease", "ECOG 0-1")

    def test_T_9_2_1_2_all_met_passes(self) -> None:
        assert eligibility_gate("CT-1", 1, self.CRITERIA, {"CD19+ disease": True, "ECOG 0-1": True}).allowed

    def test_T_9_2_1_2_missing_unmet_and_foreign_items_refuse(self) -> None:
        gate = eligibility_gate("CT-1", 2, self.CRITERIA, {"ECOG 0-1": False, "Age 18+": True})
        assert gate.checks == ("criterion_unanswered", "criterion_unmet", "criterion_unknown")
        assert all("CT-1 checklist v2" in f.message and "T-9.2.1-2" in f.message for f in gate.findings)

    def test_T_9_2_1_2_checklist_problems(self) -> None:
        assert checklist_problems([]) == ("the checklist has no criteria",)
        assert checklist_problems(["a", " ", "a"]) == ("a criterion is blank", "repeated criteria: a")
        assert checklist_problems(["a", "b"]) == ()


class TestCollectionSite:
    CERT = SiteCertification("CS-1", DAY - dt.timedelta(days=10), DAY + dt.timedelta(days=10), False)

    def test_P_1_3_1_d_uncertified_or_expired_site_refused(self) -> None:
        assert collection_site_gate("Xiehe", DAY, False, []).checks == ("site_uncertified",)
        later = DAY + dt.timedelta(days=11)
        gate = collection_site_gate("Xiehe", later, False, [self.CERT])
        assert gate.checks == ("site_uncertified",)
        assert "P-1.3.1-d" in gate.findings[0].message

    def test_P_1_3_1_d_cryopreserved_needs_the_freeze_flag(self) -> None:
        assert collection_site_gate("Xiehe", DAY, False, [self.CERT]).allowed
        assert collection_site_gate("Xiehe", DAY, True, [self.CERT]).checks == (
            "site_not_certified_to_freeze",
        )
        freezer = SiteCertification("CS-2", DAY, DAY, True)
        assert collection_site_gate("Xiehe", DAY, True, [self.CERT, freezer]).allowed
