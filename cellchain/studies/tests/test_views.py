"""The study-record pages: reports drafted and issued, checklists ticked by htmx, the directory for the
hospital only (T-10.9, T-10.10, X-4, X-7)."""

from __future__ import annotations

from typing import Any

import pytest

from cellchain.journeys.models import Journey
from cellchain.studies import selectors, services
from cellchain.studies.models import SourceDocumentTick, StatisticalReport
from cellchain.studies.tests import factories
from cellchain.studies.tests.conftest import SINCE, UNTIL
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def _report(world: Any) -> StatisticalReport:
    return services.report_draft(
        actor=world["coordinator_zhou"],
        title="Interim safety tables",
        site=world.sites["xiehe-main"],
        product=None,
        protocol_ref="",
        since=SINCE,
        until=UNTIL,
        main_operator=world["physician_wang"],
    )


def test_t_10_10_draft_page_opens_a_report(world: Any, client_for: Any) -> None:
    client = client_for("coordinator_zhou")
    assert client.get("/studies/reports/new/").status_code == 200
    response = client.post(
        "/studies/reports/new/",
        {
            "title": "Interim safety tables",
            "site": world.sites["xiehe-main"].pk,
            "since": SINCE.isoformat(),
            "until": UNTIL.isoformat(),
            "main_operator": world["physician_wang"].pk,
        },
    )
    report = StatisticalReport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/studies/reports/{report.pk}/"
    assert report.main_operator == world["physician_wang"]


def test_t_10_10_report_page_lists_sources_and_the_wrong_signer_is_refused(
    world: Any, client_for: Any, subjects: list[Any]
) -> None:
    report = _report(world)
    page = client_for("physician_lin").get(f"/studies/reports/{report.pk}/").content.decode()
    assert "clinic.adverseevent#" in page and "clinic.infusion#" in page
    assert "Sign as reviewed and issue" not in page  # only the main operator gets the form
    refused = client_for("physician_lin").post(
        f"/studies/reports/{report.pk}/issue/", {"password": PERSONA_PASSWORD}
    )
    assert refused.status_code == 200 and "T-10.10" in refused.content.decode()
    report.refresh_from_db()
    assert not report.is_issued


def test_x_4_the_main_operator_issues_and_the_page_shows_the_frozen_state(
    world: Any, client_for: Any, subjects: list[Any]
) -> None:
    report = _report(world)
    client = client_for("physician_wang")
    assert "Sign as reviewed and issue" in client.get(f"/studies/reports/{report.pk}/").content.decode()
    response = client.post(f"/studies/reports/{report.pk}/issue/", {"password": PERSONA_PASSWORD})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.is_issued
    page = client.get(f"/studies/reports/{report.pk}/").content.decode()
    assert report.content_sha256 in page and "The source records are unchanged since issue" in page
    factories.adverse_events(
        subjects[:1], world["physician_wang"], report.issued_at, category="other", grade=2, serious=False
    )
    page = client.get(f"/studies/reports/{report.pk}/").content.decode()
    assert "The source records changed since issue" in page
    printed = client.get(f"/studies/reports/{report.pk}/print.pdf")
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF")
    assert "Interim safety tables" in page and report.content_sha256 in page  # still the frozen report
    assert "changed since issue" in client.get(f"/studies/reports/{report.pk}/").content.decode()


def test_t_10_9_checklist_report_names_what_is_missing_and_htmx_tick(
    world: Any, client_for: Any, subjects: list[Any]
) -> None:
    course = subjects[0]
    client = client_for("nurse_wang")
    page = client.get(f"/studies/checklists/{course.pk}/").content.decode()
    assert "Missing:" in page and "Diary card" in page and "clinic.infusion#" in page
    swapped = client.post(
        f"/studies/checklists/{course.pk}/tick/",
        {"document": "diary_card", "present": "yes", "reason": "binder 3"},
        HTTP_HX_REQUEST="true",
    )
    body = swapped.content.decode()
    assert swapped.status_code == 200 and 'id="checklist-sheet"' in body and "<html" not in body
    assert "Ticked by hand:" in body and "binder 3" in body
    assert SourceDocumentTick.objects.get().present
    listed = client.get("/studies/checklists/?missing=1", HTTP_HX_REQUEST="true").content.decode()
    assert course.journey_ref in listed and "<html" not in listed


def test_a_tick_without_reason_says_so_and_writes_nothing(
    world: Any, client_for: Any, subjects: list[Any]
) -> None:
    response = client_for("nurse_wang").post(
        f"/studies/checklists/{subjects[0].pk}/tick/",
        {"document": "diary_card", "present": "yes", "reason": ""},
    )
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not SourceDocumentTick.objects.exists()


def _study(world: Any, subjects: list[Any]) -> Any:
    factories.identities(list(Journey.objects.filter(coi__in=[c.coi for c in subjects])))
    return selectors.studies_for(world["coordinator_zhou"])[0]


def test_t_10_9_directory_page_pdf_and_archive(world: Any, client_for: Any, subjects: list[Any]) -> None:
    study = _study(world, subjects)
    client = client_for("coordinator_zhou")
    page = client.get(f"/studies/directories/{study.approval.pk}/").content.decode()
    assert "张三" in page and "Never sent to the manufacturer".lower() in page.lower()
    pdf = client.get(f"/studies/directories/{study.approval.pk}/print.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    archived = client.post(
        f"/studies/directories/{study.approval.pk}/archive/", {"archive_ref": "Archive room B"}
    )
    assert archived.status_code == 302
    listing = client.get("/studies/directories/").content.decode()
    assert world["coordinator_zhou"].printed_name in listing


@pytest.mark.parametrize("who", ["qa_li", "logistics_zhao", "auditor_xiehe"])
def test_x_7_roles_that_may_not_see_identity_are_refused_the_directory(
    world: Any, client_for: Any, subjects: list[Any], who: str
) -> None:
    study = _study(world, subjects)
    client = client_for(who)
    for path in ("", f"{study.approval.pk}/", f"{study.approval.pk}/print.pdf"):
        response = client.get(f"/studies/directories/{path}")
        assert response.status_code == 403, (who, path)
        assert "张三" not in response.content.decode(errors="replace")


def test_x_7_another_hospital_does_not_find_the_study(
    world: Any, client_for: Any, subjects: list[Any]
) -> None:
    study = _study(world, subjects)
    client = client_for("coordinator_xu")
    assert client.get(f"/studies/directories/{study.approval.pk}/").status_code == 404
    assert client.get(f"/studies/directories/{study.approval.pk}/print.pdf").status_code == 404


def test_a_manufacturer_user_sees_no_study_page(world: Any, client_for: Any) -> None:
    for path in ("/studies/", "/studies/checklists/", "/studies/reports/new/"):
        assert client_for("qa_li").get(path).status_code == 403
