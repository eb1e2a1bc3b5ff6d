"""The clause-by-clause compliance report: states from real answers, gaps first, CSV, PDF with Chinese, roles,
query counts (issue 14 item 3)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from typing import Any

import pypdfium2 as pdfium
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cellchain.assessment import compliance
from cellchain.assessment.models import AssessmentAnswer
from cellchain.assessment.tests.factories import answer, today
from cellchain.domain import compliance as cc
from cellchain.domain import self_assessment as sa
from cellchain.ledger.tests.behind import update_unledgered

pytestmark = pytest.mark.django_db

HOSPITAL = "xiehe-main"
MANUFACTURER = "shenghe-prod"


def rows_of(world: Any, site_code: str) -> dict[str, compliance.ReportRow]:
    site = world.sites[site_code]
    return {row.clause.id: row for row in compliance.report(site, today(site))}


def pdf_text(content: bytes) -> str:
    document = pdfium.PdfDocument(content)
    return "".join(page.get_textpage().get_text_range() for page in document)


class TestStates:
    def test_every_clause_for_the_site_kind_and_only_those(self, world: Any) -> None:
        hospital = rows_of(world, HOSPITAL)
        manufacturer = rows_of(world, MANUFACTURER)
        assert set(hospital) == {c.id for c in cc.clauses_for(sa.SiteKind.HOSPITAL)}
        assert set(manufacturer) == {c.id for c in cc.clauses_for(sa.SiteKind.MANUFACTURER)}
        assert "T-5.2.1" in hospital and "T-5.2.1" not in manufacturer
        assert "T-5.1.7" in manufacturer and "T-5.1.7" not in hospital

    def test_checklist_states_follow_the_signed_answers(self, world: Any) -> None:
        answer(world, "coordinator_zhou", HOSPITAL, "T-5.2.1", evidence_reference="三甲证书 2024-118")
        answer(world, "coordinator_zhou", HOSPITAL, "T-5.2.3", "no", note="department not yet named")
        for code in ("T-5.2.4-a", "T-5.2.4-b"):
            answer(world, "coordinator_zhou", HOSPITAL, code)
        answer(world, "coordinator_zhou", HOSPITAL, "T-5.2.9")
        site = world.sites[HOSPITAL]
        update_unledgered(  # a review date that has passed since, as time would make it
            AssessmentAnswer.objects.filter(site=site, item_code="T-5.2.9"),
            next_review=today(site) - dt.timedelta(days=1),
        )
        rows = rows_of(world, HOSPITAL)
        assert rows["T-5.2.1"].state == cc.ClauseState.MET
        assert "三甲证书 2024-118" in rows["T-5.2.1"].evidence[0].label
        assert rows["T-5.2.3"].state == cc.ClauseState.NOT_MET
        assert rows["T-5.2.4"].state == cc.ClauseState.NOT_ANSWERED  # c (CCU) is still open
        assert [i.item.code for i in rows["T-5.2.4"].items] == ["T-5.2.4-a", "T-5.2.4-b", "T-5.2.4-c"]
        assert rows["T-5.2.9"].state == cc.ClauseState.REVIEW_OVERDUE
        assert rows["T-5.2.10"].state == cc.ClauseState.NOT_ANSWERED

    def test_gaps_come_first_and_other_clauses_never_claim_compliance(self, world: Any) -> None:
        answer(world, "coordinator_zhou", HOSPITAL, "T-5.2.1")
        answer(world, "coordinator_zhou", HOSPITAL, "T-5.2.3", "no")
        site = world.sites[HOSPITAL]
        rows = compliance.report(site, today(site))
        assert rows[0].clause.id == "T-5.2.3"
        gap_flags = [row.gap for row in rows]
        assert gap_flags == sorted(gap_flags, reverse=True)
        others = [row for row in rows if row.clause.type != cc.ClauseType.CHECKLIST]
        assert {row.state for row in others} <= {
            cc.ClauseState.RECORDS_HELD,
            cc.ClauseState.NO_RECORDS,
            cc.ClauseState.NOT_ASSESSED,
        }
        assert all(row.state != cc.ClauseState.MET for row in others)

    def test_records_the_site_holds_are_counted_with_their_page(self, world: Any, client_for: Any) -> None:
        site = world.sites[MANUFACTURER]
        from cellchain.manufacturing.models import Equipment

        held = Equipment.objects.filter(site=site, voided_at__isnull=True).count()
        row = rows_of(world, MANUFACTURER)["T-10.12"]
        assert row.state == (cc.ClauseState.RECORDS_HELD if held else cc.ClauseState.NO_RECORDS)
        assert row.evidence[0].count == held and row.evidence[0].path == "/manufacturing/equipment/"
        assert rows_of(world, MANUFACTURER)["T-5.1.7"].state == cc.ClauseState.NOT_ASSESSED


class TestDownloads:
    def test_csv_has_bom_columns_and_every_clause(self, world: Any, client_for: Any) -> None:
        answer(world, "coordinator_zhou", HOSPITAL, "T-5.2.3", "no", note="科室未指定")
        response = client_for("auditor_xiehe").get(f"/assessment/compliance/{HOSPITAL}/report.csv")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        content = response.content
        assert content.startswith("\ufeff".encode())
        assert response["X-Content-SHA256"] == hashlib.sha256(content).hexdigest()
        table = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
        assert tuple(table[0]) == compliance.CSV_COLUMNS
        assert len(table) == len(cc.clauses_for(sa.SiteKind.HOSPITAL))
        assert table[0]["clause"] == "T-5.2.3" and table[0]["state"] == "not_met" and table[0]["gap"] == "yes"
        assert "科室未指定" in table[0]["evidence"]

    def test_pdf_prints_chinese_header_and_digest(self, world: Any, client_for: Any) -> None:
        answer(world, "coordinator_zhou", HOSPITAL, "T-5.2.1", evidence_reference="三甲证书 2024-118")
        client = client_for("qa_li")
        client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
        response = client.get(f"/assessment/compliance/{MANUFACTURER}/report.pdf")
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        text = pdf_text(response.content)
        site = world.sites[MANUFACTURER]
        assert site.name in text
        assert "合规" in text  # the translated title
        assert "细胞制备区" in text  # a checklist item's own Chinese words (T-5.1.4-a)
        assert response["X-Content-SHA256"] in text.replace("\r", "").replace("\n", "")
        assert "qa_li" in text

    def test_csv_and_pdf_share_the_digest(self, world: Any, client_for: Any) -> None:
        client = client_for("coordinator_zhou")
        one = client.get(f"/assessment/compliance/{HOSPITAL}/report.csv")["X-Content-SHA256"]
        two = client.get(f"/assessment/compliance/{HOSPITAL}/report.pdf")["X-Content-SHA256"]
        assert one == two and len(one) == 64


class TestPage:
    def test_page_lists_gaps_first_and_filters(self, world: Any, client_for: Any) -> None:
        answer(world, "coordinator_zhou", HOSPITAL, "T-5.2.3", "no")
        client = client_for("physician_wang")
        body = client.get("/assessment/compliance/", follow=True).content.decode()
        assert body.index('data-clause="T-5.2.3"') < body.index('data-clause="T-5.2.1"')
        assert body.count('class="check-item clause"') == len(cc.clauses_for(sa.SiteKind.HOSPITAL))
        gaps = client.get(f"/assessment/compliance/{HOSPITAL}/?show=gaps", HTTP_HX_REQUEST="true")
        partial = gaps.content.decode()
        assert partial.lstrip().startswith('<ol id="clauses"')
        assert 'data-state="not_assessed"' not in partial and 'data-clause="T-5.2.3"' in partial
        typed = client.get(f"/assessment/compliance/{HOSPITAL}/?type=REPORT").content.decode()
        assert 'data-clause="T-9.2.7"' in typed and 'data-clause="T-5.2.3"' not in typed

    def test_self_assessment_and_menu_link_to_the_report(self, world: Any, client_for: Any) -> None:
        body = client_for("auditor_xiehe").get(f"/assessment/{HOSPITAL}/").content.decode()
        assert body.count(f'href="/assessment/compliance/{HOSPITAL}/"') == 1
        assert 'href="/assessment/compliance/"' in body  # the menu entry

    def test_page_in_chinese(self, world: Any, client_for: Any) -> None:
        client = client_for("coordinator_zhou")
        client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
        body = client.get(f"/assessment/compliance/{HOSPITAL}/").content.decode()
        assert "合规报告" in body and "系统未评估" in body

    @pytest.mark.parametrize("username", ["nurse_wang", "operator_chen", "admin_xiehe"])
    def test_roles_without_the_grant_are_refused(self, world: Any, client_for: Any, username: str) -> None:
        client = client_for(username)
        for suffix in ("", "report.csv", "report.pdf"):
            assert client.get(f"/assessment/compliance/{HOSPITAL}/{suffix}").status_code == 403

    def test_another_organisations_site_is_not_found(self, world: Any, client_for: Any) -> None:
        assert client_for("qa_li").get(f"/assessment/compliance/{HOSPITAL}/").status_code == 404


def grow(world: Any, factor: int) -> None:
    """Answer every hospital item, re-reviewed `factor` times, and add `factor` ethics approvals' worth of
    register rows (equipment at the manufacturer, answers at the hospital)."""
    for code in [item.code for item in sa.items_for(sa.SiteKind.HOSPITAL)][: 2 * factor]:
        done = AssessmentAnswer.objects.filter(site=world.sites[HOSPITAL], item_code=code).exists()
        answer(world, "coordinator_zhou", HOSPITAL, code, reason="re-review" if done else "")
        for review in range(1, factor):
            answer(world, "coordinator_zhou", HOSPITAL, code, reason=f"review {review}")


def count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("suffix", ["", "report.csv", "report.pdf"])
def test_queries_do_not_grow_with_answers_and_reviews(world: Any, client_for: Any, suffix: str) -> None:
    client = client_for("coordinator_zhou")
    url = f"/assessment/compliance/{HOSPITAL}/{suffix}"
    grow(world, 1)
    small = count(client, url)
    grow(world, 10)
    assert count(client, url) == small
