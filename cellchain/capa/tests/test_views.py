"""The CAPA and change-control pages: the whole path clicked through, refusals shown on the form, role gates,
zh-Hans, and query counts pinned (issue 13 item 4; T-6.4-f, T-9.3.2, T-10.15, REGULATORY item 61)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cellchain.capa.models import CapaAction, ChangeRequest
from cellchain.capa.tests.conftest import TODAY, CapaKit, raise_change
from cellchain.quality.models import Deviation
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db

Clients = Callable[[str], Any]


def _page(client: Any, url: str, **headers: Any) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


class TestDeviationCapaPages:
    def test_qa_walks_a_deviation_to_a_signed_closure(self, kit: CapaKit, client_for: Clients) -> None:
        """T-6.4-f, T-9.3.2, T-10.15: investigation, action, owner reports done (htmx), check, signed closure."""
        kit.disposition()
        qa, url = client_for("qa_li"), f"/capa/deviations/{kit.deviation.pk}/"
        page = _page(qa, url)
        assert "No investigation recorded yet." in page and "The investigation is incomplete" in page
        response = qa.post(
            f"{url}investigation/",
            {
                "investigator": kit.world["qa_guo"].pk,
                "category": "equipment",
                "root_cause": "Sensor drift",
                "impact_assessment": "None on the batch",
            },
        )
        assert response.status_code == 302 and response["Location"] == url
        response = qa.post(
            f"{url}actions/",
            {
                "kind": "corrective",
                "description": "Recalibrate the CO2 sensor",
                "owner": kit.operator.pk,
                "due_on": (TODAY + dt.timedelta(days=7)).isoformat(),
            },
        )
        assert response.status_code == 302
        action = CapaAction.objects.get(deviation=kit.deviation)
        swapped = client_for("operator_chen").post(
            f"/capa/actions/{action.pk}/complete/",
            {"note": "Calibrated, certificate CAL-88"},
            HTTP_HX_REQUEST="true",
        )
        text = swapped.content.decode()
        assert swapped.status_code == 200 and 'id="actions"' in text and "<html" not in text
        assert "The action was reported done." in text and "CAL-88" in text
        assert (
            qa.post(f"{url}effectiveness/", {"result": "effective", "evidence": "No recurrence"}).status_code
            == 302
        )
        wrong = qa.post(f"{url}close/", {"password": "wrong"})
        assert wrong.status_code == 200 and kit.refresh().status == Deviation.Status.DISPOSITIONED
        done = qa.post(f"{url}close/", {"password": PERSONA_PASSWORD})
        assert done.status_code == 302
        assert kit.refresh().status == Deviation.Status.CLOSED
        page = _page(qa, url)
        assert "李娜 Li Na" in page and "Approved" in page and "Close and sign" not in page

    def test_a_refused_closure_is_shown_on_the_form_naming_the_clause(
        self, kit: CapaKit, client_for: Clients
    ) -> None:
        """T-9.3.2: an open action; the message names the rule and the clause, nothing is written."""
        kit.disposition()
        kit.investigate()
        kit.action()
        response = client_for("qa_li").post(
            f"/capa/deviations/{kit.deviation.pk}/close/", {"password": PERSONA_PASSWORD}
        )
        assert response.status_code == 200
        errors = response.context["close_form"].non_field_errors()
        assert errors and "1 CAPA action(s) still open: CA-1" in errors[0] and "(T-9.3.2)" in errors[0]
        assert kit.refresh().status == Deviation.Status.DISPOSITIONED

    def test_an_invalid_action_names_the_field(self, kit: CapaKit, client_for: Clients) -> None:
        response = client_for("qa_li").post(
            f"/capa/deviations/{kit.deviation.pk}/actions/",
            {"kind": "corrective", "description": "x", "owner": kit.operator.pk, "due_on": "2020-01-01"},
        )
        assert response.status_code == 200
        assert response.context["action_form"].errors == {"due_on": ["The due date cannot be in the past."]}
        assert not CapaAction.objects.exists()

    def test_only_qa_investigates_plans_checks_and_closes(self, kit: CapaKit, client_for: Clients) -> None:
        """T-6.4-f: the operator sees the CAPA page but every QA command is refused (403)."""
        operator, url = client_for("operator_chen"), f"/capa/deviations/{kit.deviation.pk}/"
        page = _page(operator, url)
        assert 'id="investigation-form"' not in page and 'id="close-form"' not in page
        for step in ("investigation/", "actions/", "effectiveness/", "close/"):
            assert operator.post(url + step, {}).status_code == 403
        assert client_for("auditor_shenghe").post(url + "close/", {}).status_code == 403

    def test_another_organisation_sees_nothing(self, kit: CapaKit, client_for: Clients) -> None:
        assert client_for("physician_wang").get(f"/capa/deviations/{kit.deviation.pk}/").status_code == 404

    def test_overdue_list_and_state_filter(self, kit: CapaKit, client_for: Clients) -> None:
        """T-9.3.2 "timely": an action past its due date is listed as overdue; htmx swaps the filtered list."""
        from cellchain.core import clock

        kit.action(due=1)
        qa = client_for("qa_li")
        assert "No action is overdue." in _page(qa, "/capa/")
        with clock.frozen(clock.now() + dt.timedelta(days=3)):
            page = _page(qa, "/capa/")
        assert "No action is overdue." not in page and "corrective action" in page
        part = _page(qa, "/capa/?state=closed", HTTP_HX_REQUEST="true")
        assert 'id="capa-deviations"' in part and kit.deviation.number not in part and "<html" not in part

    def test_pages_render_in_chinese(self, kit: CapaKit, client_for: Clients) -> None:
        """zh-Hans + en: the strings already in the catalogue show in Chinese (new ones await makemessages)."""
        kit.action()
        listing = _page(client_for("qa_li"), "/capa/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        detail = _page(
            client_for("qa_li"), f"/capa/deviations/{kit.deviation.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
        assert "偏差" in listing and "逾期" in listing
        assert "调查" in detail and "负责人" in detail


class TestChangePages:
    def test_raise_assess_approve_implement_verify_close(
        self, world: Any, version: Any, client_for: Clients
    ) -> None:
        """REGULATORY item 61, P-1-a: the whole change-control path through the pages, approval signed."""
        operator, qa, guo = client_for("operator_chen"), client_for("qa_li"), client_for("qa_guo")
        response = operator.post(
            "/capa/changes/new/",
            {
                "kind": "specification",
                "title": "VCN limit 5 -> 4 copies/cell",
                "description": "Tighten the VCN limit.",
                "reason": "Agency request.",
                "risk_level": "medium",
                "risk_assessment": "Two past batches would have failed.",
                "affected_versions": [version.pk],
            },
        )
        assert response.status_code == 302
        change = ChangeRequest.objects.get()
        url = f"/capa/changes/{change.pk}/"
        assert response["Location"] == url
        assert operator.post(f"{url}assess/", {"note": "x"}).status_code == 403
        assert qa.post(f"{url}assess/", {"note": "Spec v2, retrain QC"}).status_code == 302
        assert qa.post(f"{url}approve/", {"password": "wrong"}).status_code == 200
        assert qa.post(f"{url}approve/", {"password": PERSONA_PASSWORD}).status_code == 302
        assert operator.post(f"{url}implement/", {"note": "Spec v2 drafted"}).status_code == 302
        assert guo.post(f"{url}verify/", {"note": "Checked"}).status_code == 302
        assert qa.post(f"{url}close/", {"note": ""}).status_code == 302
        change.refresh_from_db()
        assert change.status == "closed"
        page = _page(qa, url)
        assert "CD19 CAR-T v1" in page and "李娜 Li Na" in page
        assert change.number in _page(client_for("auditor_shenghe"), "/capa/changes/")

    def test_a_step_out_of_order_is_refused_on_the_form(
        self, world: Any, version: Any, client_for: Clients
    ) -> None:
        change = raise_change(world, version)
        response = client_for("operator_chen").post(f"/capa/changes/{change.pk}/implement/", {"note": "x"})
        assert response.status_code == 200
        (error,) = response.context["implement_form"].non_field_errors()
        assert "implement needs QA's approval" in error and "REGULATORY item 61" in error

    def test_a_nurse_has_no_change_control(self, client_for: Clients) -> None:
        assert client_for("nurse_wang").get("/capa/changes/").status_code == 403


def _count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", ["/capa/", "/capa/changes/"])
def test_list_pages_cost_the_same_queries_with_more_records(
    kit: CapaKit, world: Any, version: Any, client_for: Clients, url: str
) -> None:
    """STYLE habit 7: the CAPA list and the change list do not grow a query per row."""
    qa, sizes = client_for("qa_li"), []
    for copies in (1, 4):
        for _ in range(copies):
            CapaKit(world).action(due=0)
            raise_change(world, version)
        sizes.append(_count(qa, url))
    assert sizes[0] == sizes[1], sizes
    assert sizes[0] == PINNED[url], sizes


PINNED = {"/capa/": 9, "/capa/changes/": 9}


class TestApi:
    def test_deviation_capa_overdue_and_changes(
        self, kit: CapaKit, world: Any, version: Any, client_for: Clients
    ) -> None:
        """T-9.3.2, REGULATORY item 61: the API tells what blocks closure, what is overdue, which changes exist."""
        from cellchain.core import clock

        kit.action(due=1)
        raise_change(world, version)
        qa = client_for("qa_li")
        body = qa.get(f"/api/capa/deviations/{kit.deviation.pk}").json()
        assert [a["label"] for a in body["actions"]] == ["CA-1"]
        assert any("still open" in m for m in body["closure_blocked_by"])
        with clock.frozen(clock.now() + dt.timedelta(days=3)):
            (late,) = qa.get("/api/capa/actions/overdue").json()
        assert late["label"] == "CA-1"
        (change,) = qa.get("/api/capa/changes").json()
        assert change["affected_versions"] == ["cd19-cart v1"]
        assert client_for("physician_wang").get(f"/api/capa/deviations/{kit.deviation.pk}").status_code == 404
        assert client_for("nurse_wang").get("/api/capa/changes").status_code == 403


def test_the_owner_sees_the_action_on_the_worklist_late_once_past_due(kit: CapaKit, world: Any) -> None:
    """T-9.3.2 "timely": the owner's worklist counts their open actions; late after the due date."""
    from cellchain.core import clock
    from cellchain.core.worklist import work_day, worklist_for

    def line(user: Any) -> Any:
        return next((i for i in worklist_for(user, work_day(user)) if i.key == "capa.my_actions"), None)

    action = kit.action(due=1, owner="operator_chen")
    assert (line(kit.operator).count, line(kit.operator).overdue) == (1, 0)
    with clock.frozen(clock.now() + dt.timedelta(days=3)):
        assert (line(kit.operator).count, line(kit.operator).overdue) == (1, 1)
    kit.complete(action)
    assert line(kit.operator) is None  # a line with nothing due is not shown
    assert line(world["auditor_shenghe"]) is None
