"""The dossier pages: role-gated, in Chinese and English, the request returns at once and the page polls the
progress, the download is for the requesting organisation only (issue 14 item 6)."""

from __future__ import annotations

from typing import Any

import pytest

from cellchain.dossiers import jobs
from cellchain.dossiers.models import DossierExport

pytestmark = pytest.mark.django_db


class TestPages:
    @pytest.mark.parametrize("persona", ["qa_li", "auditor_shenghe", "auditor_xiehe"])
    def test_qa_and_auditors_open_the_page(self, client_for: Any, persona: str) -> None:
        response = client_for(persona).get("/dossiers/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        assert 'id="dossier-request"' in response.content.decode()

    @pytest.mark.parametrize("persona", ["nurse_wang", "operator_chen", "qc_zhang", "admin_shenghe"])
    def test_other_roles_are_refused(self, client_for: Any, persona: str) -> None:
        client = client_for(persona)
        assert client.get("/dossiers/").status_code == 403
        assert client.post("/dossiers/request/", {"kind": "audit_trail"}).status_code == 403

    def test_the_page_renders_in_chinese(self, client_for: Any) -> None:
        client = client_for("qa_li")
        client.cookies["django_language"] = "zh-hans"
        text = client.get("/dossiers/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert '<html lang="zh-hans">' in text
        assert "检查档案" in text and "生成导出" in text and "整个审计追踪" in text

    def test_the_request_form_is_prefilled_from_the_link(self, client_for: Any) -> None:
        text = client_for("qa_li").get("/dossiers/?kind=batch&subject=B-1").content.decode()
        assert 'value="B-1"' in text and '<option value="batch" selected>' in text


class TestRequestAndProgress:
    def test_the_request_queues_and_the_page_polls_until_done(self, client_for: Any, world: Any) -> None:
        client = client_for("auditor_shenghe")
        response = client.post(
            "/dossiers/request/", {"kind": "audit_trail"}, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
        )
        export = DossierExport.objects.get()
        text = response.content.decode()
        assert response.status_code == 200 and "<html" not in text
        assert export.status == "queued" and export.requested_by == world["auditor_shenghe"]
        assert (
            f'hx-get="/dossiers/{export.pk}/"' in text and "every 1s" in text and "Waiting to start." in text
        )
        jobs.dossier_export_execute(export.pk)
        polled = client.get(f"/dossiers/{export.pk}/", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
        text = polled.content.decode()
        assert "The export is ready." in text and "hx-get" not in text
        export.refresh_from_db()
        assert export.file_sha256 in text and f"/dossiers/{export.pk}/download/" in text

    def test_without_htmx_the_request_redirects_to_the_export(self, client_for: Any) -> None:
        response = client_for("qa_li").post("/dossiers/request/", {"kind": "audit_trail"})
        export = DossierExport.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/dossiers/{export.pk}/"

    def test_a_refused_request_says_why_and_records_nothing(self, client_for: Any) -> None:
        client = client_for("auditor_xiehe")
        response = client.post("/dossiers/request/", {"kind": "batch", "subject": "B-404"}, follow=True)
        assert "No batch &#x27;B-404&#x27;." in response.content.decode()
        assert not DossierExport.objects.exists()

    def test_the_download_is_the_file_and_for_the_organisation_only(self, client_for: Any) -> None:
        client = client_for("qa_li")
        client.post("/dossiers/request/", {"kind": "audit_trail"})
        export = DossierExport.objects.get()
        assert client.get(f"/dossiers/{export.pk}/download/").status_code == 404  # not built yet
        jobs.dossier_export_execute(export.pk)
        export.refresh_from_db()
        response = client.get(f"/dossiers/{export.pk}/download/")
        body = b"".join(response.streaming_content)
        assert response.status_code == 200 and body.startswith(b"PK")
        assert response["X-Content-SHA256"] == export.file_sha256
        assert export.file_name in response["Content-Disposition"]
        assert client_for("auditor_shenghe").get(f"/dossiers/{export.pk}/download/").status_code == 200
        assert client_for("auditor_xiehe").get(f"/dossiers/{export.pk}/download/").status_code == 404
        assert client_for("auditor_xiehe").get(f"/dossiers/{export.pk}/").status_code == 404

    def test_the_list_shows_the_organisations_exports_only(self, client_for: Any) -> None:
        client_for("qa_li").post("/dossiers/request/", {"kind": "audit_trail"})
        assert "whole audit trail" in client_for("auditor_shenghe").get("/dossiers/").content.decode()
        assert "No exports yet." in client_for("auditor_xiehe").get("/dossiers/").content.decode()

    @pytest.mark.parametrize("count", [1, 12])
    def test_the_list_query_count_does_not_grow(
        self, client_for: Any, world: Any, count: int, django_assert_max_num_queries: Any
    ) -> None:
        from cellchain.core import clock
        from cellchain.dossiers.models import DossierExport as Export
        from cellchain.ledger.records import record_create

        for number in range(count):
            record_create(
                actor=world["qa_li"],
                record=Export(
                    kind="journey",
                    subject_id=f"C{number}",
                    subject_label=f"C{number}",
                    requested_at=clock.now(),
                    requested_by=world["qa_li"],
                ),
                event="dossier:request:journey",
            )
        client = client_for("qa_li")
        client.get("/dossiers/")
        with django_assert_max_num_queries(8):
            assert client.get("/dossiers/").status_code == 200

    def test_the_thread_runner_starts_after_commit(
        self, client_for: Any, settings: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        from unittest import mock

        settings.CELLCHAIN_DOSSIER_RUNNER = "thread"
        with mock.patch.object(jobs, "start_thread") as start:
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                client_for("qa_li").post("/dossiers/request/", {"kind": "audit_trail"})
            start.assert_not_called()
            for callback in callbacks:
                callback()
        (export_id,), _ = start.call_args
        assert DossierExport.objects.get(pk=export_id).status == "queued"


class TestLinksFromTheRecords:
    def test_the_batch_page_links_to_its_dossier_for_qa_only(
        self, client_for: Any, released_batch: Any
    ) -> None:
        link = f"/dossiers/?kind=batch&amp;subject={released_batch.number}"
        assert (
            link in client_for("qa_li").get(f"/manufacturing/batches/{released_batch.pk}/").content.decode()
        )
        page = (
            client_for("operator_chen").get(f"/manufacturing/batches/{released_batch.pk}/").content.decode()
        )
        assert "data-dossier-link" not in page

    def test_the_journey_page_links_to_its_dossier(self, client_for: Any, journey_of: Any) -> None:
        page = client_for("auditor_xiehe").get(f"/journeys/{journey_of.coi}/").content.decode()
        assert f"/dossiers/?kind=journey&amp;subject={journey_of.coi}" in page


@pytest.mark.django_db(transaction=True)
def test_the_thread_runner_builds_the_export_after_the_commit(
    ledger_transactional_db: None, settings: Any
) -> None:
    """The real thread, with its own connection, builds the export the request recorded (issue 14 item 6)."""
    import threading

    from cellchain.accounts.world import build_world
    from cellchain.dossiers.services import dossier_export_request
    from conftest import PERSONA_PASSWORD

    world = build_world(password=PERSONA_PASSWORD)
    settings.CELLCHAIN_DOSSIER_RUNNER = "thread"
    export = dossier_export_request(actor=world["auditor_shenghe"], kind="audit_trail")
    for thread in threading.enumerate():
        if thread.name == f"dossier-{export.pk}":
            thread.join(timeout=120)
    export.refresh_from_db()
    assert export.status == "done", export.error
    assert jobs.export_path(export).is_file()
