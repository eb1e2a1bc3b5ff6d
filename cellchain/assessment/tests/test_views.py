"""Self-assessment pages: the checklist, an item with its form, evidence download, roles, zh-Hans, JSON API
(issue 14 item 2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cellchain.assessment.models import AssessmentAnswer
from cellchain.assessment.tests.factories import answer, today
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%%EOF\n"


def post_answer(client: Any, site: Any, code: str, **fields: Any) -> Any:
    data = {
        "answer": "yes",
        "note": "",
        "evidence_link": "",
        "evidence_reference": "",
        "next_review": (today(site) + dt.timedelta(days=365)).isoformat(),
        "password": PERSONA_PASSWORD,
        "totp_code": "",
        **fields,
    }
    return client.post(f"/assessment/{site.code}/{code}/", data)


class TestChecklistPage:
    def test_own_site_opens_with_every_item_and_its_state(self, world: Any, client_for: Any) -> None:
        answer(world, "coordinator_zhou", "xiehe-main", "T-5.2.1", evidence_reference="三甲证书 2024-118")
        client = client_for("coordinator_zhou")
        response = client.get("/assessment/", follow=True)
        assert response.redirect_chain[-1][0] == "/assessment/xiehe-main/"
        body = response.content.decode()
        assert body.count('class="check-item"') == 28
        assert 'data-item="T-5.2.1"' in body and 'data-state="yes"' in body and "三甲证书 2024-118" in body
        assert body.count('data-state="unanswered"') == 27

    def test_state_filter_swaps_the_list_with_htmx(self, world: Any, client_for: Any) -> None:
        answer(world, "coordinator_zhou", "xiehe-main", "T-5.2.1", "no", note="grade pending")
        client = client_for("physician_wang")
        partial = client.get("/assessment/xiehe-main/?state=no", HTTP_HX_REQUEST="true").content.decode()
        assert partial.startswith('\n<ol id="checklist"') or partial.lstrip().startswith('<ol id="checklist"')
        assert "<html" not in partial and partial.count('class="check-item"') == 1

    def test_overdue_review_is_shown_as_overdue(self, world: Any, client_for: Any) -> None:
        from cellchain.core import clock

        site = world.sites["xiehe-main"]
        answer(
            world, "coordinator_zhou", "xiehe-main", "T-5.2.9", next_review=today(site) + dt.timedelta(days=5)
        )
        with clock.frozen(clock.now() + dt.timedelta(days=10)):
            body = (
                client_for("coordinator_zhou").get("/assessment/xiehe-main/?state=overdue").content.decode()
            )
        assert 'data-item="T-5.2.9"' in body and 'data-state="overdue"' in body

    def test_roles_without_the_grant_are_refused_and_other_organisations_not_found(
        self, world: Any, client_for: Any
    ) -> None:
        assert client_for("nurse_wang").get("/assessment/xiehe-main/").status_code == 403
        assert client_for("operator_chen").get("/assessment/").status_code == 403
        assert client_for("qa_li").get("/assessment/xiehe-main/").status_code == 404
        assert client_for("auditor_xiehe").get("/assessment/xiehe-main/").status_code == 200

    def test_the_page_renders_in_chinese(self, world: Any, client_for: Any) -> None:
        client = client_for("qa_li")
        body = client.get("/assessment/shenghe-prod/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "现场自评" in body and "未回答" in body
        assert "应具有满足国家相关要求的能力和评估流程的制备资质、条件。" in body
        english = client.get("/assessment/shenghe-prod/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Preparation qualification and conditions" in english


class TestItemPage:
    def test_answer_with_file_is_signed_and_the_file_downloads(self, world: Any, client_for: Any) -> None:
        site, client = world.sites["shenghe-prod"], client_for("qa_li")
        response = post_answer(client, site, "G-1", evidence_file=SimpleUploadedFile("gmp.pdf", PDF))
        assert response.status_code == 302
        row = AssessmentAnswer.objects.get(site=site, item_code="G-1")
        page = client.get(response["Location"]).content.decode()
        assert "gmp.pdf" in page and "Reviewed" in page and "李娜 Li Na" in page
        download = client.get(f"/assessment/evidence/{row.evidence_file_id}/")
        assert download.status_code == 200 and download.content == PDF
        assert (
            download["Content-Type"] == "application/pdf" and download["X-Content-Type-Options"] == "nosniff"
        )
        assert client_for("qa_guo").get(f"/assessment/evidence/{row.evidence_file_id}/").status_code == 200
        assert (
            client_for("coordinator_zhou").get(f"/assessment/evidence/{row.evidence_file_id}/").status_code
            == 404
        )

    def test_refusal_is_shown_on_the_form_and_nothing_is_written(self, world: Any, client_for: Any) -> None:
        site, client = world.sites["shenghe-prod"], client_for("qa_li")
        body = post_answer(client, site, "T-5.1.4-d", answer="na").content.decode()
        assert "needs a note" in body and not AssessmentAnswer.objects.exists()
        body = post_answer(
            client, site, "G-1", evidence_reference="GMP-2026", password="wrong"
        ).content.decode()
        assert "password" in body.lower() and not AssessmentAnswer.objects.exists()

    def test_a_review_asks_for_the_reason(self, world: Any, client_for: Any) -> None:
        site, client = world.sites["shenghe-prod"], client_for("qa_li")
        answer(world, "qa_li", "shenghe-prod", "T-5.1.5", evidence_reference="HVAC drawings v2")
        page = client.get("/assessment/shenghe-prod/T-5.1.5/").content.decode()
        assert 'name="reason"' in page and "HVAC drawings v2" in page
        body = post_answer(client, site, "T-5.1.5", evidence_reference="HVAC drawings v3").content.decode()
        assert "This field is required" in body
        assert (
            post_answer(client, site, "T-5.1.5", evidence_reference="v3", reason="annual").status_code == 302
        )
        assert AssessmentAnswer.objects.get().evidence_reference == "v3"

    def test_a_reader_sees_the_item_but_cannot_answer(self, world: Any, client_for: Any) -> None:
        client, site = client_for("physician_wang"), world.sites["xiehe-main"]
        page = client.get("/assessment/xiehe-main/T-8.2.2-h/").content.decode()
        assert "From CellChain's records" in page and 'id="answer-form"' not in page
        post_answer(client, site, "T-8.2.2-h", evidence_reference="AGR-1")
        assert not AssessmentAnswer.objects.exists()

    def test_unknown_item_or_item_of_the_other_kind_is_not_found(self, world: Any, client_for: Any) -> None:
        client = client_for("qa_li")
        assert client.get("/assessment/shenghe-prod/T-5.2.1/").status_code == 404
        assert client.get("/assessment/shenghe-prod/none/").status_code == 404


class TestApi:
    def test_checklist_lists_every_item_with_state_and_suggestion(self, world: Any, client_for: Any) -> None:
        answer(world, "qa_li", "shenghe-prod", "T-5.1.1", evidence_reference="许可证")
        data = client_for("auditor_shenghe").get("/api/assessment/sites/shenghe-prod/items").json()
        assert data["kind"] == "manufacturer" and len(data["items"]) == 15
        by_code = {item["code"]: item for item in data["items"]}
        assert by_code["T-5.1.1"]["state"] == "yes" and by_code["T-5.1.1"]["reviewer"] == "李娜 Li Na"
        assert by_code["T-5.1.1"]["evidence"]["reference"] == "许可证"
        assert by_code["G-6-a"]["suggestion"]["answer"] == "no"
        assert data["summary"]["yes"] == 1 and data["summary"]["unanswered"] == 14

    def test_answer_through_the_api_and_refusals_in_the_error_shape(
        self, world: Any, client_for: Any
    ) -> None:
        client, site = client_for("coordinator_zhou"), world.sites["xiehe-main"]
        url = "/api/assessment/sites/xiehe-main/items/T-5.2.10/answer"
        body = {
            "answer": "yes",
            "next_review": (today(site) + dt.timedelta(days=365)).isoformat(),
            "evidence_reference": "等保三级 备案 11010813001-20001",
            "password": PERSONA_PASSWORD,
        }
        created = client.post(url, body, content_type="application/json")
        assert created.status_code == 200 and created.json()["state"] == "yes"
        again = client.post(url, {**body, "answer": "no", "note": "expired"}, content_type="application/json")
        assert again.status_code == 400 and again.json()["detail"]["field"] == "reason"
        denied = client_for("physician_wang").post(url, body, content_type="application/json")
        assert denied.status_code == 403
        missing = client.get("/api/assessment/sites/xiehe-main/items/T-5.1.1")
        assert missing.status_code == 404
