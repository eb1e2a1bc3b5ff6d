"""CAPA of a deviation and change control, through the services (issue 13 item 4; T-6.4-f, T-9.3.2, T-10.15,
REGULATORY item 61, X-4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.capa import selectors, services
from cellchain.capa.models import (
    CapaAction,
    ChangeAffectedVersion,
    ChangeRequest,
    EffectivenessCheck,
    Investigation,
)
from cellchain.capa.tests.conftest import TODAY, CapaKit, raise_change
from cellchain.core.errors import AuthenticationRequired, Conflict, NotAllowed, ValidationFailed
from cellchain.domain.capa import ChangeState
from cellchain.ledger.models import LedgerEntry
from cellchain.quality import services as quality
from cellchain.quality.models import Deviation
from cellchain.signatures.services import signatures_of

pytestmark = pytest.mark.django_db


def _events(record: Any) -> list[str]:
    return list(
        LedgerEntry.objects.filter(record_type=record.ledger_record_type(), record_id=str(record.pk))
        .order_by("seq")
        .values_list("event", flat=True)
    )


class TestDeviationClose:
    def test_full_path_closes_with_a_qa_signature_and_every_step_ledgered(self, kit: CapaKit) -> None:
        """T-6.4-f, T-9.3.2, T-10.15: investigation -> CAPA -> effectiveness -> closure signed by QA (X-4)."""
        kit.ready()
        closed = kit.close()
        assert closed.status == Deviation.Status.CLOSED and closed.closed_by == kit.qa
        (signature,) = [s for s in signatures_of(closed) if s.superseded_at is None]
        assert (signature.meaning, signature.signer) == ("approved", kit.qa)
        assert _events(closed) == ["deviation:open:process", "deviation:disposition", "deviation:close"]
        assert _events(signature) == ["quality.deviation:sign"]
        action = CapaAction.objects.get(deviation=closed)
        assert _events(action) == ["capa:add:corrective", "capa:complete"]
        assert _events(Investigation.objects.get(deviation=closed)) == ["deviation:investigate"]
        assert _events(EffectivenessCheck.objects.get(deviation=closed)) == ["capa:check:effective"]

    def test_refused_while_the_investigation_is_empty(self, kit: CapaKit) -> None:
        """T-6.4-f: no investigation recorded -> refused, naming what is missing."""
        kit.disposition()
        kit.complete(kit.action())
        kit.check()
        with pytest.raises(Conflict, match=r"investigation is incomplete: root cause.*\(T-6.4-f\)"):
            kit.close()
        assert kit.refresh().status == Deviation.Status.DISPOSITIONED

    def test_refused_while_an_action_is_open(self, kit: CapaKit) -> None:
        """T-9.3.2: an open action blocks closure (and the effectiveness check)."""
        kit.disposition()
        kit.investigate()
        first = kit.action()
        kit.complete(first)
        kit.check()
        kit.action(kind="preventive")
        with pytest.raises(Conflict, match=r"1 CAPA action\(s\) still open: PA-2.*\(T-9.3.2\)"):
            kit.close()
        assert kit.refresh().status == Deviation.Status.DISPOSITIONED and not signatures_of(kit.deviation)

    def test_refused_without_an_effectiveness_check(self, kit: CapaKit) -> None:
        """T-9.3.2: "closure needs an effectiveness check"."""
        kit.disposition()
        kit.investigate()
        kit.complete(kit.action())
        with pytest.raises(Conflict, match=r"effectiveness check is missing: closure needs one \(T-9.3.2\)"):
            kit.close()

    def test_refused_without_any_action(self, kit: CapaKit) -> None:
        """T-10.15: a deviation closes on its CAPA."""
        kit.disposition()
        kit.investigate()
        with pytest.raises(Conflict, match=r"No CAPA action is recorded.*\(T-10.15\)"):
            kit.close()

    def test_refused_before_disposition(self, kit: CapaKit) -> None:
        kit.investigate()
        kit.complete(kit.action())
        kit.check()
        with pytest.raises(Conflict, match=r"not dispositioned the deviation yet \(T-6.4-f\)"):
            kit.close()

    def test_not_effective_requires_new_actions_and_a_new_check(self, kit: CapaKit) -> None:
        """T-9.3.2: a not-effective check blocks closure until a new action is done and checked effective."""
        kit.disposition()
        kit.investigate()
        kit.complete(kit.action())
        kit.check("not_effective")
        with pytest.raises(Conflict, match="found the CAPA not effective"):
            kit.close()
        with pytest.raises(Conflict, match="add a new action, complete it, then check again"):
            kit.check("effective")
        second = kit.action(kind="preventive")
        assert second.round == 1
        with pytest.raises(Conflict, match="still open"):
            kit.check("effective")
        kit.complete(second)
        assert kit.check("effective").round == 2
        assert kit.close().status == Deviation.Status.CLOSED

    def test_an_action_added_after_an_effective_check_needs_a_new_check(self, kit: CapaKit) -> None:
        kit.ready()
        kit.complete(kit.action(kind="preventive"))
        with pytest.raises(Conflict, match="added after the last effectiveness check"):
            kit.close()

    def test_only_qa_closes(self, kit: CapaKit) -> None:
        """T-6.4-f: closure sign-off by QA only."""
        kit.ready()
        with pytest.raises(NotAllowed, match=r"Only quality assurance closes a deviation \(T-6.4-f\)"):
            kit.close("operator_chen")
        assert kit.refresh().status == Deviation.Status.DISPOSITIONED

    def test_a_wrong_password_writes_nothing(self, kit: CapaKit) -> None:
        """X-4: the password is typed again at signing."""
        kit.ready()
        with pytest.raises(AuthenticationRequired):
            kit.close(password="wrong")
        assert kit.refresh().status == Deviation.Status.DISPOSITIONED and not signatures_of(kit.deviation)

    def test_signer_must_be_the_actor(self, kit: CapaKit) -> None:
        kit.ready()
        with pytest.raises(ValidationFailed, match="signs it"):
            services.deviation_close(actor=kit.qa, deviation=kit.refresh(), signer=kit.signer("qa_guo"))

    def test_nothing_more_is_recorded_on_a_closed_deviation(self, kit: CapaKit) -> None:
        kit.ready()
        kit.close()
        with pytest.raises(Conflict, match="is closed"):
            kit.action()
        with pytest.raises(Conflict, match="closed"):
            kit.close()

    def test_another_organisation_cannot_work_the_deviation(self, kit: CapaKit, world: Any) -> None:
        # a hospital coordinator has capa.complete_action but not this organisation's deviation
        action = kit.action(owner="operator_chen")
        with pytest.raises(NotAllowed, match="another organisation"):
            services.capa_action_complete(actor=world["coordinator_zhou"], action=action, note="x")


class TestInvestigationRecord:
    def test_every_part_is_required_and_the_investigator_is_a_colleague(
        self, kit: CapaKit, world: Any
    ) -> None:
        """T-6.4-f: root cause, category, impact assessment, investigator."""
        base = {
            "actor": kit.qa,
            "deviation": kit.deviation,
            "investigator": world["qa_guo"],
            "category": "equipment",
            "root_cause": "drift",
            "impact_assessment": "none",
        }
        for field, bad in (("root_cause", " "), ("impact_assessment", ""), ("category", "weather")):
            with pytest.raises(ValidationFailed) as error:
                services.investigation_record(**{**base, field: bad})
            assert error.value.field == field
        with pytest.raises(ValidationFailed, match="active user of your organisation") as error:
            services.investigation_record(**{**base, "investigator": world["physician_wang"]})
        assert error.value.field == "investigator"
        assert not Investigation.objects.exists()

    def test_a_revision_needs_a_reason_and_keeps_the_old_text_in_the_ledger(self, kit: CapaKit) -> None:
        kit.investigate()
        with pytest.raises(ValidationFailed, match="reason for revising"):
            kit.investigate()
        services.investigation_record(
            actor=kit.qa,
            deviation=kit.deviation,
            investigator=kit.qa,
            category="method",
            root_cause="SOP unclear on CO2 alarm response",
            impact_assessment="none",
            reason="root cause revised after interviews",
        )
        found = Investigation.objects.get(deviation=kit.deviation)
        assert found.category == "method"
        assert _events(found) == ["deviation:investigate", "deviation:investigate"]

    def test_only_qa_investigates(self, kit: CapaKit) -> None:
        with pytest.raises(NotAllowed, match="Only quality assurance records the investigation"):
            services.investigation_record(
                actor=kit.operator,
                deviation=kit.deviation,
                investigator=kit.operator,
                category="people",
                root_cause="x",
                impact_assessment="y",
            )


class TestCapaAction:
    def test_owner_due_date_and_kind_are_checked(self, kit: CapaKit, world: Any) -> None:
        """T-9.3.2: every action has an owner of the organisation and a due date not in the past."""
        with pytest.raises(ValidationFailed) as error:
            services.capa_action_add(
                actor=kit.qa,
                deviation=kit.deviation,
                kind="corrective",
                description="x",
                owner=kit.operator,
                due_on=TODAY - dt.timedelta(days=1),
            )
        assert error.value.field == "due_on"
        with pytest.raises(ValidationFailed) as error:
            services.capa_action_add(
                actor=kit.qa,
                deviation=kit.deviation,
                kind="corrective",
                description="x",
                owner=world["nurse_wang"],
                due_on=TODAY,
            )
        assert error.value.field == "owner"
        with pytest.raises(ValidationFailed) as error:
            kit.action(kind="curative")
        assert error.value.field == "kind"
        assert not CapaAction.objects.exists()

    def test_only_the_owner_or_qa_completes_and_evidence_is_required(self, kit: CapaKit) -> None:
        action = kit.action(owner="operator_chen")
        with pytest.raises(NotAllowed, match="owner or quality assurance"):
            kit.complete(action, who="operator_wu")
        with pytest.raises(ValidationFailed) as error:
            services.capa_action_complete(actor=kit.operator, action=action, note="  ")
        assert error.value.field == "note"
        done = kit.complete(action)
        assert (done.status, done.completed_by, done.completion_note) == (
            "done",
            kit.operator,
            "done, record QF-77",
        )
        with pytest.raises(Conflict, match="CA-1 is already done"):
            kit.complete(action, who="qa_li")

    def test_only_qa_plans_actions(self, kit: CapaKit) -> None:
        with pytest.raises(NotAllowed, match="Only quality assurance plans the CAPA"):
            services.capa_action_add(
                actor=kit.operator,
                deviation=kit.deviation,
                kind="corrective",
                description="x",
                owner=kit.operator,
                due_on=TODAY,
            )

    def test_overdue_list_holds_open_actions_past_due_oldest_first(self, kit: CapaKit, world: Any) -> None:
        """T-9.3.2 "timely": the overdue list."""
        late = kit.action(due=1)
        later = kit.action(due=3)
        done_late = kit.action(due=2)
        kit.action(due=30)
        kit.complete(done_late)
        rows = list(selectors.overdue_actions(world["qa_li"], TODAY + dt.timedelta(days=5)))
        assert [a.pk for a in rows] == [late.pk, later.pk]
        assert list(selectors.overdue_actions(world["physician_wang"], TODAY + dt.timedelta(days=5))) == []
        (row,) = selectors.deviations_in_capa(world["qa_li"], TODAY + dt.timedelta(days=5))
        assert (row.actions_total, row.actions_open, row.actions_overdue) == (4, 3, 2)


class TestEffectivenessCheck:
    def test_only_qa_checks_and_the_result_is_a_choice(self, kit: CapaKit) -> None:
        kit.complete(kit.action())
        with pytest.raises(NotAllowed):
            services.effectiveness_check_record(
                actor=kit.operator, deviation=kit.deviation, result="effective", evidence="x"
            )
        with pytest.raises(ValidationFailed) as error:
            kit.check("maybe")
        assert error.value.field == "result"

    def test_refused_before_any_action(self, kit: CapaKit) -> None:
        with pytest.raises(Conflict, match=r"Add at least one CAPA action before checking.*\(T-9.3.2\)"):
            kit.check()


class TestChangeControl:
    def test_full_path_with_a_qa_signature_at_approval(self, world: Any, version: Any) -> None:
        """REGULATORY item 61 (11.10(k), Annex 11 §10), P-1-a: raise -> assess -> approve (signed) -> implement
        -> verify -> close, linked to the affected product version."""
        change = raise_change(world, version)
        assert change.number == "CR-SHENGHE-2026-0001" and change.status == ChangeState.RAISED
        assert list(change.affected_versions.all()) == [version]
        qa, guo = world["qa_li"], world["qa_guo"]
        services.change_assess(
            actor=qa, change=change, impact_assessment="Revalidate expansion; update SOP-EXP."
        )
        from cellchain.signatures.services import SignerCredentials
        from conftest import PERSONA_PASSWORD

        approved = services.change_approve(
            actor=qa, change=change, signer=SignerCredentials(qa, PERSONA_PASSWORD)
        )
        assert approved.status == "approved" and approved.approved_by == qa
        (signature,) = signatures_of(approved)
        assert signature.meaning == "approved" and _events(signature) == ["capa.changerequest:sign"]
        services.change_implement(
            actor=world["operator_chen"], change=change, note="Medium switched, lot TX-1."
        )
        services.change_verify(actor=guo, change=change, note="Three runs comparable.")
        closed = services.change_close(actor=qa, change=change)
        assert closed.status == "closed"
        assert _events(closed) == [
            "change:raise:process",
            "change:assess",
            "change:approve",
            "change:implement",
            "change:verify",
            "change:close",
        ]
        assert _events(ChangeAffectedVersion.objects.get(change=change)) == ["change:affects"]

    def test_steps_out_of_order_are_refused_naming_the_rule(self, world: Any, version: Any) -> None:
        from cellchain.signatures.services import SignerCredentials
        from conftest import PERSONA_PASSWORD

        qa = world["qa_li"]
        change = raise_change(world, version)
        with pytest.raises(
            Conflict, match=r"is raised: approve needs an impact assessment first.*REGULATORY item 61"
        ):
            services.change_approve(actor=qa, change=change, signer=SignerCredentials(qa, PERSONA_PASSWORD))
        with pytest.raises(Conflict, match="implement needs QA's approval"):
            services.change_implement(actor=world["operator_chen"], change=change, note="x")
        with pytest.raises(Conflict, match="verify needs the implementation"):
            services.change_verify(actor=qa, change=change, note="x")
        with pytest.raises(Conflict, match="close needs the verification"):
            services.change_close(actor=qa, change=change)
        assert not signatures_of(change)
        assert ChangeRequest.objects.get(pk=change.pk).status == "raised"

    def test_only_qa_assesses_approves_verifies_and_closes(self, world: Any, version: Any) -> None:
        from cellchain.signatures.services import SignerCredentials
        from conftest import PERSONA_PASSWORD

        operator = world["operator_chen"]
        change = raise_change(world, version)
        with pytest.raises(NotAllowed):
            services.change_assess(actor=operator, change=change, impact_assessment="x")
        services.change_assess(actor=world["qa_li"], change=change, impact_assessment="x")
        with pytest.raises(
            NotAllowed, match=r"Only quality assurance approves a change \(REGULATORY item 61\)"
        ):
            services.change_approve(
                actor=operator, change=change, signer=SignerCredentials(operator, PERSONA_PASSWORD)
            )
        with pytest.raises(NotAllowed):
            raise_change(world, None, kind="document", affected_items="SOP-1", actor=world["nurse_wang"])

    def test_the_implementer_does_not_verify(self, world: Any, version: Any) -> None:
        from cellchain.signatures.services import SignerCredentials
        from conftest import PERSONA_PASSWORD

        qa = world["qa_li"]
        change = raise_change(world, version)
        services.change_assess(actor=qa, change=change, impact_assessment="x")
        services.change_approve(actor=qa, change=change, signer=SignerCredentials(qa, PERSONA_PASSWORD))
        services.change_implement(actor=qa, change=change, note="done")
        with pytest.raises(NotAllowed, match="cannot verify their own change"):
            services.change_verify(actor=qa, change=change, note="ok")

    def test_raise_checks_kind_risk_and_affected_items(self, world: Any, version: Any) -> None:
        """P-1-a: a process or specification change names the product versions it affects."""
        cases = [
            ({"affected_versions": []}, "affected_versions", "names the product versions it affects"),
            (
                {"kind": "document", "affected_versions": []},
                "affected_items",
                "Name the equipment or document",
            ),
            ({"kind": "plant"}, "kind", "Choose what the change is to"),
            ({"risk_level": "tiny"}, "risk_level", "risk level"),
            ({"risk_assessment": " "}, "risk_assessment", "risk assessment is required"),
            ({"reason": ""}, "reason", "reason for the change is required"),
        ]
        for changes, field, text in cases:
            with pytest.raises(ValidationFailed, match=text) as error:
                raise_change(world, version, **changes)
            assert error.value.field == field
        document = raise_change(world, None, kind="document", affected_items="SOP-QA-012 v3")
        assert document.affected_items == "SOP-QA-012 v3"
        assert ChangeRequest.objects.count() == 1 and ChangeAffectedVersion.objects.count() == 0

    def test_reject_before_approval_only(self, world: Any, version: Any) -> None:
        qa = world["qa_li"]
        change = raise_change(world, version)
        with pytest.raises(ValidationFailed):
            services.change_reject(actor=qa, change=change, note="")
        rejected = services.change_reject(
            actor=qa, change=change, note="Not needed: supplier extended supply."
        )
        assert rejected.status == "rejected"
        with pytest.raises(Conflict):
            services.change_assess(actor=qa, change=change, impact_assessment="x")

    def test_a_capa_action_links_a_change(self, kit: CapaKit, world: Any, version: Any) -> None:
        """T-10.15: CAPA may link a document or system change."""
        change = raise_change(world, version)
        action = services.capa_action_add(
            actor=kit.qa,
            deviation=kit.deviation,
            kind="preventive",
            description="Change the medium",
            owner=kit.qa,
            due_on=TODAY,
            change_request=change,
        )
        assert list(change.capa_actions.all()) == [action]


def test_change_states_match_the_model_choices() -> None:
    assert set(ChangeRequest.Status.values) == {s.value for s in ChangeState}


def test_quality_has_no_other_way_to_close_a_deviation() -> None:
    """Issue 13 item 4: deviation_close is reached only through the CAPA path."""
    assert not hasattr(quality, "deviation_close")
