"""Archive, scanned-record and retention pages (issue 13 item 9; T-10.16, T-6.4-g, X-6)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cellchain.records import selectors, services
from cellchain.records.models import ArchiveChecklist, ArchiveTick, ScannedDocument
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def checklist(world: Any, infusion: Any) -> ArchiveChecklist:
    return services.archive_open(actor=world["coordinator_zhou"], coi=infusion.course.coi)


def test_t10_16_open_from_the_index_page(client_for: Any, infusion: Any) -> None:
    client = client_for("coordinator_zhou")
    response = client.post(reverse("records:open"), {"coi": infusion.course.coi})
    opened = ArchiveChecklist.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "records:checklist", args=[opened.pk]
    )
    page = client.get(reverse("records:index"))
    assert opened.coi in page.content.decode()


def test_t10_16_open_unknown_coi_shows_the_refusal(client_for: Any, infusion: Any) -> None:
    client = client_for("coordinator_zhou")
    response = client.post(reverse("records:open"), {"coi": "CHW999926999999"}, follow=True)
    assert "T-10.16" in response.content.decode()
    assert not ArchiveChecklist.objects.exists()


def test_t10_16_checklist_page_lists_items_and_what_is_missing(
    client_for: Any, checklist: ArchiveChecklist
) -> None:
    html = (
        client_for("physician_wang").get(reverse("records:checklist", args=[checklist.pk])).content.decode()
    )
    assert 'data-item="infusion" data-present="yes"' in html
    assert 'data-item="follow_up" data-present="no"' in html
    assert "archive item &#x27;follow_up&#x27; is missing" in html
    assert 'id="close-form"' in html and 'id="retained-until"' in html


def test_t10_16_close_with_items_missing_is_refused_on_the_page(
    client_for: Any, checklist: ArchiveChecklist
) -> None:
    response = client_for("physician_wang").post(
        reverse("records:close", args=[checklist.pk]),
        {"password": PERSONA_PASSWORD, "archive_location": "Room 3"},
    )
    assert response.status_code == 200
    assert "T-10.16" in response.content.decode()
    assert ArchiveChecklist.objects.get(pk=checklist.pk).status == "open"


def test_t10_16_tick_then_close_through_the_pages(
    world: Any, client_for: Any, checklist: ArchiveChecklist
) -> None:
    coordinator = client_for("coordinator_zhou")
    for row in selectors.checklist_rows(checklist):
        if not row.present:
            response = coordinator.post(
                reverse("records:tick", args=[checklist.pk]),
                {"item": row.item.value, "evidence": "binder 12"},
            )
            assert response.status_code == 302, response.content.decode()[:500]
    assert ArchiveTick.objects.filter(checklist=checklist).count() > 0
    response = client_for("physician_wang").post(
        reverse("records:close", args=[checklist.pk]),
        {"password": PERSONA_PASSWORD, "archive_location": "Central archive, cabinet 7"},
    )
    assert response.status_code == 302
    assert ArchiveChecklist.objects.get(pk=checklist.pk).status == "closed"


def test_t10_16_htmx_returns_the_items_fragment(client_for: Any, checklist: ArchiveChecklist) -> None:
    html = (
        client_for("nurse_wang")
        .get(reverse("records:checklist", args=[checklist.pk]), HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert 'id="items"' in html and "<html" not in html


def test_x6_scan_filed_through_the_page_and_downloaded(world: Any, client_for: Any, infusion: Any) -> None:
    client = client_for("nurse_wang")
    upload = SimpleUploadedFile("thaw.pdf", b"%PDF-1.4 x", content_type="application/pdf")
    response = client.post(
        reverse("records:scan_new"),
        {
            "record_type": "clinic.thaw",
            "record_id": str(infusion.unit.thaw.pk),
            "title": "Thaw sheet",
            "file": upload,
            "paper_archive": "Central archive room",
            "paper_shelf": "S4",
            "paper_box": "B7",
        },
    )
    assert response.status_code == 302
    scan = ScannedDocument.objects.get()
    listing = client.get(reverse("records:scans"), {"coi": scan.coi}).content.decode()
    assert "Central archive room / S4 / B7" in listing and scan.sha256 in listing
    download = client.get(reverse("records:scan_file", args=[scan.pk]))
    assert download.status_code == 200 and download.content == b"%PDF-1.4 x"


def test_t6_4_g_scan_of_unknown_record_refused_on_the_form(client_for: Any, infusion: Any) -> None:
    upload = SimpleUploadedFile("x.pdf", b"x", content_type="application/pdf")
    response = client_for("nurse_wang").post(
        reverse("records:scan_new"),
        {
            "record_type": "clinic.thaw",
            "record_id": "999999",
            "title": "x",
            "file": upload,
            "paper_archive": "a",
            "paper_shelf": "b",
            "paper_box": "c",
        },
    )
    assert response.status_code == 200 and "T-6.4-g" in response.content.decode()
    assert not ScannedDocument.objects.exists()


def test_x6_retention_page_answers_for_a_ledgered_record(client_for: Any, infusion: Any) -> None:
    html = (
        client_for("auditor_xiehe")
        .get(reverse("records:retention"), {"record_type": "clinic.infusion", "record_id": str(infusion.pk)})
        .content.decode()
    )
    assert selectors.coi_key(infusion.course.coi) in html and "provisional" in html


def test_t10_16_other_organisation_does_not_see_the_checklist(
    client_for: Any, checklist: ArchiveChecklist
) -> None:
    assert client_for("qa_li").get(reverse("records:checklist", args=[checklist.pk])).status_code == 404


def test_x6_api_answers_the_retention_of_a_ledgered_record(client_for: Any, infusion: Any) -> None:
    """X-6, T-10.3: a clean-up job asks the retention of a record by its ledger subject."""
    body = (
        client_for("auditor_xiehe")
        .get("/api/records/retention", {"record_type": "clinic.infusion", "record_id": str(infusion.pk)})
        .json()
    )
    assert body["coi"] == selectors.coi_key(infusion.course.coi)
    assert body["provisional"] is True and body["basis"] == "use+15y"
    assert body["retained_until"].startswith(str(infusion.started_at.year + 15))


def test_t10_16_api_lists_items_and_what_blocks_closure(client_for: Any, checklist: ArchiveChecklist) -> None:
    body = client_for("physician_wang").get(f"/api/records/archive/{checklist.pk}").json()
    items = {i["item"]: i for i in body["items"]}
    assert items["infusion"]["present"] is True and items["follow_up"]["present"] is False
    assert any("T-10.16" in m and "follow_up" in m for m in body["closure_blocked_by"])
    assert client_for("qa_li").get(f"/api/records/archive/{checklist.pk}").status_code == 404
