"""Audit trail pages: search, history with field diff, CSV, status with verification (issue 3 item 9)."""

from __future__ import annotations

import csv
import io

import pytest

from cellchain.accounts import services as accounts
from cellchain.ledger.heads import head_issue
from cellchain.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def amended_site(world):
    from cellchain.signatures.services import record_amend

    site = world.sites["xiehe-main"]
    record_amend(
        actor=world["admin_xiehe"], record=site, changes={"name": "协和医院 新院区"}, reason="campus renamed"
    )
    return site


class TestTrail:
    def test_search_by_user_record_type_and_date(self, world, client_for, amended_site):
        client = client_for("auditor_xiehe")
        page = client.get("/ledger/trail/", {"user": "admin_xiehe", "record_type": "accounts.site"})
        entries = list(page.context["page"])
        assert [e.event for e in entries] == ["accounts.site:amend"]
        today = entries[0].recorded_at.date().isoformat()
        assert list(
            client.get("/ledger/trail/", {"user": "admin_xiehe", "from": today, "to": today}).context["page"]
        )
        assert not list(
            client.get("/ledger/trail/", {"user": "admin_xiehe", "to": "2000-01-01"}).context["page"]
        )

    def test_filters_match_a_full_scan(self, world, client_for, amended_site):
        """REGULATORY item 4: what the filter returns is exactly what a scan of the visible entries finds."""
        auditor = world["auditor_xiehe"]
        response = client_for("auditor_xiehe").get("/ledger/trail/", {"record_type": "accounts.site"})
        shown = {e.seq for e in response.context["page"]}
        scan = {
            e.seq
            for e in LedgerEntry.objects.select_related("actor")
            if e.record_type == "accounts.site"
            and (e.actor is None or e.actor.organisation_id == auditor.organisation_id)
        }
        assert shown == scan

    def test_hospital_auditor_does_not_see_manufacturer_entries(self, world, client_for):
        accounts.organisation_create(actor=world["qa_li"], code="acme", name="Acme", kind="hospital")
        entries = client_for("auditor_xiehe").get("/ledger/trail/", {"user": "qa_li"}).context["page"]
        assert not list(entries)
        assert list(client_for("auditor_shenghe").get("/ledger/trail/", {"user": "qa_li"}).context["page"])

    def test_roles_outside_the_grant_are_refused(self, world, client_for):
        assert client_for("nurse_wang").get("/ledger/trail/").status_code == 403
        assert client_for("operator_chen").get("/ledger/trail.csv").status_code == 403

    def test_trail_page_query_count_is_constant(self, world, client_for, django_assert_max_num_queries):
        client = client_for("auditor_shenghe")
        client.get("/ledger/trail/")
        with django_assert_max_num_queries(12):
            assert client.get("/ledger/trail/").status_code == 200


class TestHistory:
    def test_history_shows_field_diff_who_when_why(self, world, client_for, amended_site):
        response = client_for("auditor_xiehe").get(
            f"/ledger/records/accounts.site/{amended_site.pk}/", HTTP_ACCEPT_LANGUAGE="en"
        )
        history = response.context["history"]
        amend = history[-1]
        assert ("name", "协和医院 细胞治疗中心 / Cell therapy centre", "协和医院 新院区") in amend.changes
        assert amend.document["reason"] == "campus renamed"
        text = response.content.decode()
        assert "campus renamed" in text and "何晓 He Xiao" in text and "Before" in text

    def test_history_page_in_chinese(self, world, client_for, amended_site):
        response = client_for("auditor_xiehe").get(
            f"/ledger/records/accounts.site/{amended_site.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
        text = response.content.decode()
        assert "修改前" in text and "原因" in text

    def test_signatures_show_on_the_history_page(self, world, client_for, amended_site):
        from cellchain.signatures.services import SignerCredentials, record_sign
        from conftest import PERSONA_PASSWORD

        record_sign(
            record=amended_site,
            signer=SignerCredentials(world["admin_xiehe"], PERSONA_PASSWORD),
            meaning="approved",
        )
        text = (
            client_for("auditor_xiehe")
            .get(f"/ledger/records/accounts.site/{amended_site.pk}/", HTTP_ACCEPT_LANGUAGE="en")
            .content.decode()
        )
        assert "Approved" in text and "何晓 He Xiao" in text


class TestCsv:
    def test_csv_export_holds_the_filtered_entries_with_reasons(self, world, client_for, amended_site):
        response = client_for("auditor_xiehe").get("/ledger/trail.csv", {"record_type": "accounts.site"})
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        amend = next(row for row in rows if row["action"] == "amend")
        assert amend["reason"] == "campus renamed" and amend["username"] == "admin_xiehe"
        assert "新院区" in amend["state"]
        assert {row["record_type"] for row in rows} == {"accounts.site"}

    def test_csv_cells_cannot_run_as_formulas(self, world, client_for):
        from cellchain.signatures.services import record_amend

        site = world.sites["xiehe-main"]
        record_amend(actor=world["admin_xiehe"], record=site, changes={"name": "x"}, reason="=HYPERLINK(1)")
        text = b"".join(client_for("auditor_xiehe").get("/ledger/trail.csv").streaming_content).decode(
            "utf-8-sig"
        )
        assert "'=HYPERLINK(1)" in text


class TestStatus:
    def test_status_shows_size_and_head(self, world, client_for):
        sth = head_issue()
        response = client_for("qa_li").get("/ledger/status/", HTTP_ACCEPT_LANGUAGE="en")
        text = response.content.decode()
        assert bytes(sth.root).hex() in text and f"size {sth.size}" in text

    def test_verify_on_demand_with_htmx(self, world, client_for, django_assert_max_num_queries):
        """Issue 15 section 2: the request records a run and returns; it reads no entry of the ledger."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from cellchain.ledger.models import VerifyRun
        from cellchain.ledger.verify_runs import verify_run_execute

        client = client_for("auditor_shenghe")
        client.get("/ledger/status/")  # session and roles loaded, as on the page with the button
        with django_assert_max_num_queries(12), CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/ledger/status/verify/", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
            )
        assert not [q for q in captured.captured_queries if LedgerEntry._meta.db_table in q["sql"]]
        run = VerifyRun.objects.get()
        text = response.content.decode()
        assert response.status_code == 200 and "<html" not in text
        assert run.status == VerifyRun.Status.QUEUED and run.report is None
        assert f'hx-get="/ledger/status/verify/{run.pk}/"' in text and "every 1s" in text
        verify_run_execute(run.pk)
        polled = client.get(
            f"/ledger/status/verify/{run.pk}/", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
        )
        text = polled.content.decode()
        assert "Verified: every check holds." in text and "hx-get" not in text

    def test_progress_shows_while_the_run_runs(self, world, client_for):
        from cellchain.ledger.models import VerifyRun
        from cellchain.ledger.verify_runs import verify_run_execute

        client = client_for("qa_li")
        run = VerifyRun.objects.get(pk=client.post("/ledger/status/verify/").url.rstrip("/").split("/")[-1])
        seen = []

        def watch(phase, done, total):
            seen.append((phase, done, total))
            VerifyRun.objects.filter(pk=run.pk).update(
                status=VerifyRun.Status.RUNNING, phase=phase, done=done, total=total
            )
            if len(seen) == 1:
                text = client.get(
                    f"/ledger/status/verify/{run.pk}/", HTTP_ACCEPT_LANGUAGE="en"
                ).content.decode()
                seen.append(text)

        from unittest import mock

        from cellchain.ledger import verify

        real = verify.verify_ledger
        with mock.patch.object(verify, "verify_ledger", lambda **kw: real(progress=watch)):
            verify_run_execute(run.pk)
        phase, done, total = seen[0]
        assert f"{phase}: {done} of {total}" in seen[1] and "is running" in seen[1]
        run.refresh_from_db()
        assert run.status == VerifyRun.Status.DONE and run.ok is True

    def test_a_second_request_joins_the_unfinished_run(self, world, client_for):
        from cellchain.ledger.models import VerifyRun

        client_for("qa_li").post("/ledger/status/verify/")
        client_for("auditor_shenghe").post("/ledger/status/verify/")
        assert VerifyRun.objects.count() == 1

    def test_a_run_whose_worker_stopped_is_replaced(self, world, client_for):
        import datetime as dt

        from cellchain.ledger.models import VerifyRun

        client_for("qa_li").post("/ledger/status/verify/")
        VerifyRun.objects.update(
            status=VerifyRun.Status.RUNNING, progressed_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        )
        client_for("qa_li").post("/ledger/status/verify/")
        assert list(VerifyRun.objects.order_by("pk").values_list("status", flat=True)) == ["failed", "queued"]

    def test_verify_shows_the_failure_naming_the_record(self, world, client_for, tamper):
        from cellchain.ledger.verify_runs import verify_runs_execute_queued

        user = world["nurse_zhou"]
        with tamper() as cursor:
            cursor.execute("UPDATE accounts_user SET email = 'x@evil' WHERE id = %s", [user.pk])
        client = client_for("qa_li")
        location = client.post("/ledger/status/verify/").url
        assert [run.ok for run in verify_runs_execute_queued()] == [False]
        text = client.get(location, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Verification FAILED." in text and f"accounts.user {user.pk}" in text

    def test_verify_run_command_runs_the_queued_runs(self, world, client_for):
        import io as _io

        from django.core.management import call_command

        client_for("qa_li").post("/ledger/status/verify/")
        out = _io.StringIO()
        call_command("ledger", "verify-run", stdout=out)
        assert out.getvalue().strip().endswith(": OK")

    def test_the_thread_runner_starts_after_commit(
        self, world, client_for, django_capture_on_commit_callbacks
    ):
        from unittest import mock

        from cellchain.ledger import verify_runs

        with mock.patch.object(verify_runs, "_start_thread") as start:
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                client_for("qa_li").post("/ledger/status/verify/")
            start.assert_not_called()
            for callback in callbacks:
                callback()
        (run_id,), _ = start.call_args
        assert verify_runs.VerifyRun.objects.get(pk=run_id).status == "queued"

    def test_issue_head_from_the_page(self, world, client_for):
        response = client_for("qa_li").post("/ledger/status/head/")
        assert response.status_code == 302
        assert client_for("auditor_shenghe").post("/ledger/status/head/").status_code == 403


def _organisations(actor, count: int, prefix: str = "bulk") -> None:
    for number in range(count):
        accounts.organisation_create(
            actor=actor, code=f"{prefix}-{number}", name=f"Bulk {number}", kind="hospital"
        )


class TestTrailPages:
    """Issue 15 section 2: the trail's first page costs the same whatever the size of the ledger."""

    def _first_page_queries(self, client) -> list[str]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get("/ledger/trail/").status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    def test_first_page_queries_do_not_grow_with_the_ledger(self, world, client_for):
        client = client_for("auditor_shenghe")
        client.get("/ledger/trail/")
        _organisations(world["qa_li"], 10)
        small = self._first_page_queries(client)
        _organisations(world["qa_li"], 190, prefix="more")
        large = self._first_page_queries(client)
        assert len(small) == len(large)
        table = LedgerEntry._meta.db_table
        for sql in large:
            upper = sql.upper()
            if table.upper() in upper:
                assert "COUNT(" not in upper and "DISTINCT" not in upper, sql

    def test_older_and_newer_pages_walk_the_whole_trail(self, world, client_for):
        from cellchain.ledger.selectors import entries_visible_to
        from cellchain.ledger.views import PAGE_SIZE

        _organisations(world["qa_li"], PAGE_SIZE + 30)
        client = client_for("auditor_shenghe")
        visible = entries_visible_to(world["auditor_shenghe"])
        expected = list(visible.order_by("-seq").values_list("seq", flat=True))
        seen, pages, params = [], [], {}
        while True:
            page = client.get("/ledger/trail/", params).context["page"]
            pages.append(page)
            seen += [entry.seq for entry in page]
            if page.older is None:
                break
            params = {"before": page.older}
        assert seen == expected and len(pages) >= 2
        assert pages[0].newer is None
        back = client.get("/ledger/trail/", {"after": pages[1].newer}).context["page"]
        assert [entry.seq for entry in back] == [entry.seq for entry in pages[0]]
        assert back.newer is None

    def test_a_bound_that_is_not_a_number_shows_the_first_page(self, world, client_for):
        client = client_for("auditor_shenghe")
        first = [entry.seq for entry in client.get("/ledger/trail/").context["page"]]
        response = client.get("/ledger/trail/", {"before": "abc", "after": "-1"})
        assert response.status_code == 200
        assert [entry.seq for entry in response.context["page"]] == first

    def test_filter_lists_the_record_types_of_the_regulated_tables(self, world, client_for):
        types = client_for("auditor_shenghe").get("/ledger/trail/").context["record_types"]
        assert "accounts.site" in types and "accounts.organisation" in types
        assert set(LedgerEntry.objects.values_list("record_type", flat=True)) <= set(types)
