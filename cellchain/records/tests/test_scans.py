"""Scanned paper records with the paper original's location (issue 13 item 9; X-6, T-6.4-g, T-10.16)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.ledger.models import LedgerEntry
from cellchain.records import selectors, services
from cellchain.records.models import ScannedDocument

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4 signed thaw sheet"


def _scan(world: Any, infusion: Any, who: str = "nurse_wang", **over: Any) -> ScannedDocument:
    data = {
        "record_type": "clinic.thaw",
        "record_id": str(infusion.unit.thaw.pk),
        "title": "Thaw sheet (paper)",
        "name": "thaw.pdf",
        "media_type": "application/pdf",
        "content": PDF,
        "paper_archive": "Central archive room",
        "paper_shelf": "S4",
        "paper_box": "B2026-07",
    }
    return services.scan_add(actor=world[who], **{**data, **over})


def test_x6_scan_is_bound_by_sha256_to_its_record_with_the_paper_location(world: Any, infusion: Any) -> None:
    """X-6, T-6.4-g: hash, linked record, its journey, and where the paper is; ledgered."""
    scan = _scan(world, infusion)
    assert scan.sha256 == hashlib.sha256(PDF).hexdigest()
    assert scan.coi == selectors.coi_key(infusion.course.coi)
    assert scan.paper_location == "Central archive room / S4 / B2026-07"
    entry = LedgerEntry.objects.get(event="scan:add", record_id=str(scan.pk))
    assert entry.record_type == "records.scanneddocument"
    assert services.scan_content(scan) == PDF


def test_t6_4_g_scan_of_a_record_the_ledger_does_not_know_is_refused(world: Any, infusion: Any) -> None:
    with pytest.raises(ValidationFailed, match=r"T-6.4-g") as refused:
        _scan(world, infusion, record_id="999999")
    assert refused.value.field == "record_id"


def test_x6_scan_needs_the_paper_location(world: Any, infusion: Any) -> None:
    with pytest.raises(ValidationFailed, match="X-6") as refused:
        _scan(world, infusion, paper_shelf="")
    assert refused.value.field == "paper_shelf"


def test_t6_4_g_empty_scan_refused(world: Any, infusion: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _scan(world, infusion, content=b"")
    assert refused.value.field == "file"


def test_t6_4_g_auditor_cannot_file_a_scan(world: Any, infusion: Any) -> None:
    with pytest.raises(NotAllowed):
        _scan(world, infusion, who="auditor_xiehe")


def test_x6_altered_scan_bytes_are_detected(world: Any, infusion: Any) -> None:
    """X-6: the bytes sit outside the ledger (like raw data files) but are checked against the ledgered hash."""
    scan = _scan(world, infusion)
    ScannedDocument.objects.filter(pk=scan.pk).update(content=b"forged")
    with pytest.raises(Conflict, match="SHA-256"):
        services.scan_content(scan)


def test_x6_scan_follows_its_journey_retention(world: Any, infusion: Any) -> None:
    scan = _scan(world, infusion)
    found = selectors.record_retention("records.scanneddocument", str(scan.pk))
    assert found.coi == scan.coi
    assert found.retention == selectors.journey_retention(scan.coi).retention


def test_t10_16_tick_may_cite_a_scan(world: Any, infusion: Any) -> None:
    scan = _scan(world, infusion)
    checklist = services.archive_open(actor=world["coordinator_zhou"], coi=infusion.course.coi)
    tick = services.archive_tick(
        actor=world["coordinator_zhou"],
        checklist=checklist,
        item="medical_record",
        evidence="EMR print, scanned",
        scanned_document=scan,
    )
    assert tick.scanned_document == scan
