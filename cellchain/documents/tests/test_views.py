"""The controlled-document pages: register, draft, three signatures, training, overdue list (htmx), refusals on
the form, the worklist lines (issue 13 item 1; T-6.1, T-6.4, T-6.5-a..f, T-5.3.5.2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.core.worklist import WorkDay, worklist_for
from cellchain.documents.models import ControlledDocument, DocumentVersion, TrainingRecord
from cellchain.documents.tests.conftest import NOW, TODAY, DocumentKit
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db

Clients = Callable[[str], Any]


def _page(client: Any, url: str, **headers: Any) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


class TestDocumentPages:
    def test_register_draft_sign_three_times_and_train_through_the_pages_t_6_1(
        self, world: Any, client_for: Clients
    ) -> None:
        """T-6.1: the whole path clicked through: register, draft, author/reviewer/approver sign, training."""
        coordinator = client_for("coordinator_zhou")
        response = coordinator.post(
            "/documents/new/",
            {"code": "SOP-INF", "title": "Infusion", "kind": "sop", "step": "infusion", "site": ""},
        )
        assert response.status_code == 302
        document = ControlledDocument.objects.get(code="SOP-INF")
        nurse = client_for("nurse_wang")
        response = nurse.post(
            f"/documents/{document.pk}/versions/new/",
            {
                "label": "1",
                "effective_from": TODAY.isoformat(),
                "review_interval_months": 12,
                "text": "Check wristband and unit; infuse over 30 min.",
            },
        )
        assert response.status_code == 302
        version = DocumentVersion.objects.get(document=document)
        url = f"/documents/versions/{version.pk}/"
        assert nurse.post(f"{url}submit/", {"password": PERSONA_PASSWORD}).status_code == 302
        refused = nurse.post(f"{url}review/", {"password": PERSONA_PASSWORD})
        assert (
            refused.status_code == 200 and "The author cannot review or approve" in refused.content.decode()
        )
        assert (
            client_for("pharmacist_liu").post(f"{url}review/", {"password": PERSONA_PASSWORD}).status_code
            == 302
        )
        assert (
            client_for("physician_wang").post(f"{url}approve/", {"password": PERSONA_PASSWORD}).status_code
            == 302
        )
        page = _page(client_for("nurse_zhou"), url)
        assert "Effective" in page and "刘药师 Pharmacist Liu Yang" in page and "acknowledge-form" in page
        done = client_for("nurse_zhou").post(f"{url}acknowledge/", {"password": PERSONA_PASSWORD})
        assert done.status_code == 302
        assert TrainingRecord.objects.filter(version=version, person=world["nurse_zhou"]).exists()
        assert "You signed the training on this version." in _page(client_for("nurse_zhou"), url)

    def test_overdue_filter_swaps_the_register_by_htmx_t_6_4(self, world: Any, client_for: Clients) -> None:
        """T-6.4: overdue reviews are listed."""
        kit = DocumentKit(world)
        kit.approved(kit.register())
        kit.approved(
            kit.register(step="infusion", code="SOP-INF"),
        )
        client = client_for("auditor_xiehe")
        with clock.frozen(NOW + dt.timedelta(days=400)):
            swapped = _page(client, "/documents/?overdue=1", HTTP_HX_REQUEST="true")
        assert 'id="register"' in swapped and "<html" not in swapped
        assert "SOP-THAW" in swapped and "overdue" in swapped
        today = _page(client, "/documents/?overdue=1", HTTP_HX_REQUEST="true")
        assert "SOP-THAW" not in today and "No document is overdue for review." in today

    def test_pages_in_chinese(self, world: Any, client_for: Clients, settings: Any) -> None:
        kit = DocumentKit(world)
        version = kit.approved(kit.register())
        client = client_for("nurse_zhou")
        client.cookies["django_language"] = "zh-hans"
        assert _page(client, f"/documents/versions/{version.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert _page(client, "/documents/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    def test_other_organisation_sees_nothing(self, world: Any, client_for: Clients) -> None:
        kit = DocumentKit(world)
        version = kit.approved(kit.register())
        assert client_for("nurse_li").get(f"/documents/versions/{version.pk}/").status_code == 404
        assert "SOP-THAW" not in _page(client_for("nurse_li"), "/documents/")


class TestWorklist:
    def test_training_due_and_overdue_review_on_the_worklist_t_6_1_t_6_4(self, world: Any) -> None:
        """T-6.1: the SOP in force not yet read shows on the user's worklist (late: the step is refused);
        T-6.4: the register keeper sees reviews due."""
        kit = DocumentKit(world)
        version = kit.approved(kit.register())
        nurse = world["nurse_zhou"]
        day = WorkDay(NOW, TODAY, "Asia/Shanghai")
        line = {i.key: i for i in worklist_for(nurse, day)}["documents.my_training"]
        assert (line.count, line.overdue, line.clause) == (1, 1, "T-6.1")
        kit.train(version, "nurse_zhou")
        assert "documents.my_training" not in {i.key for i in worklist_for(nurse, day)}
        later = WorkDay(NOW + dt.timedelta(days=400), TODAY + dt.timedelta(days=400), "Asia/Shanghai")
        line = {i.key: i for i in worklist_for(world["coordinator_zhou"], later)}["documents.reviews_due"]
        assert (line.count, line.overdue, line.clause) == (1, 1, "T-6.4")
