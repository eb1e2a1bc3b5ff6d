"""Statistical reports issued only with the main operator's "reviewed" signature, frozen at issue; checklist
ticks; the subject code directory archived (T-10.9, T-10.10, X-4, X-7)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.core.errors import Conflict, NotAllowed, ServiceError, ValidationFailed
from cellchain.ledger.models import LedgerEntry
from cellchain.signatures.models import Meaning, Signature
from cellchain.signatures.services import SignerCredentials, signature_is_current
from cellchain.studies import selectors, services
from cellchain.studies.models import SourceDocumentTick, StatisticalReport, SubjectCodeDirectory
from cellchain.studies.tests import factories
from cellchain.studies.tests.conftest import INFUSED_AT, SINCE, UNTIL
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def _draft(world: Any, who: str = "coordinator_zhou", operator: str = "physician_wang", **kw: Any) -> Any:
    return services.report_draft(
        actor=world[who],
        title="CRS/ICANS interim tables",
        site=kw.pop("site", world.sites["xiehe-main"]),
        product=None,
        protocol_ref="",
        since=SINCE,
        until=UNTIL,
        main_operator=world[operator],
    )


def _issue(world: Any, report: Any, who: str = "physician_wang", password: str = PERSONA_PASSWORD) -> Any:
    return services.report_issue(
        actor=world[who], report=report, signer=SignerCredentials(world[who], password)
    )


class TestReportContent:
    def test_t_10_10_figures_are_computed_from_clinic_records_with_their_sources(
        self, world: Any, subjects: list[Any]
    ) -> None:
        content = selectors.report_content_live(_draft(world))
        assert content["subjects"]["count"] == 3
        crs = content["adverse_events"]["by_category"]["crs"]
        # two of three subjects had CRS; one at grade 3 (worst grade counted once per subject)
        assert (crs["any_grade"], crs["any_grade_percent"], crs["severe"], crs["severe_percent"]) == (
            2, 66.7, 1, 33.3,
        )  # fmt: skip
        assert [g["subjects"] for g in crs["by_worst_grade"]] == [0, 1, 1, 0, 0]
        assert content["adverse_events"]["serious_subjects"] == 1
        # every figure can be traced: 3 infusions and 4 adverse events, each with model, id and link
        assert len(content["infusions"]["records"]) == 3
        events = content["adverse_events"]["records"]
        assert len(events) == 4 and {r["type"] for r in events} == {"clinic.adverseevent"}
        assert all(r["link"].startswith("/clinic/adverse-event/") for r in events)
        assert content["response"] is None

    def test_infusions_outside_the_period_are_not_counted(self, world: Any, records: Any) -> None:
        factories.infused(records, 2, INFUSED_AT - dt.timedelta(days=60))
        assert selectors.report_content_live(_draft(world))["subjects"]["count"] == 0


class TestReportDraft:
    def test_a_nurse_does_not_draft(self, world: Any) -> None:
        with pytest.raises(NotAllowed):
            _draft(world, "nurse_wang")

    def test_the_main_operator_must_be_a_physician_of_the_hospital(self, world: Any) -> None:
        for operator in ("nurse_wang", "physician_chen"):  # a nurse; another hospital's physician
            with pytest.raises(ValidationFailed) as refused:
                _draft(world, operator=operator)
            assert refused.value.field == "main_operator" and "T-10.10" in refused.value.message
        assert not StatisticalReport.objects.exists()

    def test_a_manufacturer_user_does_not_draft(self, world: Any) -> None:
        with pytest.raises(NotAllowed):
            _draft(world, "qa_li")


class TestReportIssue:
    def test_t_10_10_x_4_issued_with_a_reviewed_signature_over_the_frozen_content(
        self, world: Any, subjects: list[Any]
    ) -> None:
        report = _issue(world, _draft(world))
        assert report.is_issued and report.issued_by == world["physician_wang"]
        assert report.content["subjects"]["count"] == 3
        assert report.content_sha256 == services.content_hash(report.content)
        (signature,) = Signature.objects.filter(
            record_type="studies.statisticalreport", record_id=str(report.pk)
        )
        assert signature.meaning == Meaning.REVIEWED
        assert signature.printed_name == world["physician_wang"].printed_name
        assert signature_is_current(signature, report)
        entry = LedgerEntry.objects.filter(event="statreport:issue").get()
        assert report.content_sha256 in bytes(entry.canonical).decode()

    def test_t_10_10_the_wrong_person_is_refused_naming_the_clause(
        self, world: Any, subjects: list[Any]
    ) -> None:
        report = _draft(world)
        for who in ("physician_lin", "coordinator_zhou"):  # another physician; the drafter
            with pytest.raises(NotAllowed) as refused:
                _issue(world, report, who)
            assert "T-10.10" in refused.value.message
        report.refresh_from_db()
        assert not report.is_issued and report.content is None
        assert not Signature.objects.filter(record_type="studies.statisticalreport").exists()

    def test_x_4_without_the_password_no_signature_and_not_issued(
        self, world: Any, subjects: list[Any]
    ) -> None:
        report = _draft(world)
        with pytest.raises(ServiceError):
            _issue(world, report, password="wrong")
        report.refresh_from_db()
        assert report.state == StatisticalReport.State.DRAFT and report.content is None
        assert not LedgerEntry.objects.filter(event="statreport:issue").exists()

    def test_t_10_10_issued_is_final_and_later_source_changes_do_not_change_it(
        self, world: Any, subjects: list[Any]
    ) -> None:
        report = _issue(world, _draft(world))
        frozen, digest = report.content, report.content_sha256
        assert services.report_sources_changed(report) is False
        factories.adverse_events(subjects[2:], world["physician_wang"], INFUSED_AT, category="crs", grade=4,
                                 serious=True)  # fmt: skip
        report.refresh_from_db()
        assert report.content == frozen and report.content_sha256 == digest
        assert report.content["adverse_events"]["by_category"]["crs"]["severe"] == 1
        assert services.report_sources_changed(report) is True
        with pytest.raises(Conflict):
            _issue(world, report)

    def test_a_draft_has_no_sources_changed_answer(self, world: Any) -> None:
        assert services.report_sources_changed(_draft(world)) is None


class TestSourceDocumentTick:
    def test_t_10_9_tick_and_retick_are_ledgered_with_reason(self, world: Any, subjects: list[Any]) -> None:
        course, nurse = subjects[0], world["nurse_wang"]
        services.source_document_tick(
            actor=nurse, course=course, document="diary_card", present=True, reason="binder 3, page 12"
        )
        services.source_document_tick(
            actor=nurse,
            course=course,
            document="diary_card",
            present=False,
            reason="binder lost, CAPA opened",
        )
        tick = SourceDocumentTick.objects.get()
        assert not tick.present and tick.reason == "binder lost, CAPA opened"
        events = LedgerEntry.objects.filter(event="sourcedocument:tick").order_by("seq")
        assert [e.action for e in events] == ["create", "amend"]

    def test_t_10_9_checklist_derives_from_records_and_ticks(self, world: Any, subjects: list[Any]) -> None:
        course = subjects[0]
        services.source_document_tick(
            actor=world["nurse_wang"], course=course, document="diary_card", present=True, reason="binder 3"
        )
        states = {s.document.value: s for s in selectors.checklists([course])[course.pk]}
        assert states["administration_record"].present and states["administration_record"].basis == "record"
        assert states["sample_collection"].present  # the journey's apheresis collection
        assert states["diary_card"].present and states["diary_card"].basis == "manual"
        assert not states["medical_record"].present  # no EMR reference on the course, no tick
        assert not states["sample_transport"].present  # no hand-over to the courier scanned

    def test_a_tick_needs_a_reason_and_a_known_document(self, world: Any, subjects: list[Any]) -> None:
        with pytest.raises(ValidationFailed) as refused:
            services.source_document_tick(
                actor=world["nurse_wang"], course=subjects[0], document="diary_card", present=True, reason=" "
            )
        assert refused.value.field == "reason"
        with pytest.raises(ValidationFailed):
            services.source_document_tick(
                actor=world["nurse_wang"], course=subjects[0], document="x-ray", present=True, reason="r"
            )
        assert not SourceDocumentTick.objects.exists()

    def test_another_hospital_does_not_tick(self, world: Any, subjects: list[Any]) -> None:
        with pytest.raises(NotAllowed):
            services.source_document_tick(
                actor=world["nurse_li"], course=subjects[0], document="diary_card", present=True, reason="r"
            )


class TestSubjectCodeDirectory:
    def _study(self, world: Any, subjects: list[Any]) -> Any:
        from cellchain.journeys.models import Journey

        factories.identities(list(Journey.objects.filter(coi__in=[c.coi for c in subjects])))
        (study,) = selectors.studies_for(world["coordinator_zhou"])
        return study

    def test_t_10_9_the_directory_links_codes_to_persons(self, world: Any, subjects: list[Any]) -> None:
        study = self._study(world, subjects)
        rows = selectors.directory_rows(world["coordinator_zhou"], study.approval)
        assert len(rows) == 3 and all(r.name and r.name.startswith("张三") for r in rows)

    def test_x_7_a_manufacturer_user_never_reads_it(self, world: Any, subjects: list[Any]) -> None:
        study = self._study(world, subjects)
        assert selectors.studies_for(world["qa_li"]) == []
        with pytest.raises(NotAllowed, match="X-7"):
            selectors.directory_rows(world["qa_li"], study.approval)
        with pytest.raises(NotAllowed):
            selectors.directory_rows(world["coordinator_xu"], study.approval)  # another hospital

    def test_t_10_9_archived_with_date_and_person_ledgered_without_identity(
        self, world: Any, subjects: list[Any]
    ) -> None:
        study = self._study(world, subjects)
        archived = services.directory_archive(
            actor=world["coordinator_zhou"], study=study, archive_ref="Archive room B, cabinet 4"
        )
        assert archived.subjects == 3 and archived.archived_by == world["coordinator_zhou"]
        entry = LedgerEntry.objects.get(event="subjectdirectory:archive")
        assert "张三" not in bytes(entry.canonical).decode()  # the ledger carries no name
        assert "Archive room B" in bytes(entry.canonical).decode()
        with pytest.raises(Conflict):
            services.directory_archive(
                actor=world["coordinator_zhou"], study=selectors.study_get(world["coordinator_zhou"], study.approval.pk),
                archive_ref="again",
            )  # fmt: skip
        assert SubjectCodeDirectory.objects.count() == 1
