"""The archive checklist of a journey (issue 13 item 9; T-10.16, T-6.4-g, T-5.2.9, X-4)."""

from __future__ import annotations

from typing import Any

import pytest

from cellchain.core.errors import AuthenticationRequired, Conflict, NotAllowed, ValidationFailed
from cellchain.domain.retention import ARCHIVE_ITEMS, ArchiveItem
from cellchain.ledger.models import LedgerEntry
from cellchain.records import selectors, services
from cellchain.records.models import ArchiveChecklist, ArchiveTick
from cellchain.signatures.models import Signature
from cellchain.signatures.services import SignerCredentials
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def checklist(world: Any, infusion: Any) -> ArchiveChecklist:
    return services.archive_open(actor=world["coordinator_zhou"], coi=infusion.course.coi)


def _signer(world: Any, who: str = "physician_wang", password: str = PERSONA_PASSWORD) -> SignerCredentials:
    return SignerCredentials(world[who], password)


def _tick_all_missing(world: Any, checklist: ArchiveChecklist) -> None:
    for row in selectors.checklist_rows(checklist):
        if not row.present:
            services.archive_tick(
                actor=world["coordinator_zhou"],
                checklist=checklist,
                item=row.item.value,
                evidence=f"{row.item}: file",
            )


def test_t10_16_open_refuses_a_journey_no_record_names(world: Any, infusion: Any) -> None:
    with pytest.raises(ValidationFailed, match=r"T-10.16") as refused:
        services.archive_open(actor=world["coordinator_zhou"], coi="CHW999926999999")
    assert refused.value.field == "coi"


def test_t10_16_open_is_ledgered_and_once_per_journey(world: Any, checklist: ArchiveChecklist) -> None:
    assert LedgerEntry.objects.filter(event="archive:open", record_id=str(checklist.pk)).count() == 1
    with pytest.raises(Conflict):
        services.archive_open(actor=world["nurse_wang"], coi=checklist.coi)


def test_t10_16_system_answers_items_from_its_own_records(checklist: ArchiveChecklist) -> None:
    """T-10.16: the clinic's thaw and infusion are found; what this installation does not hold is missing."""
    rows = {r.item: r for r in selectors.checklist_rows(checklist)}
    assert [r.item for r in rows.values()] == list(ARCHIVE_ITEMS)
    assert rows[ArchiveItem.THAW].found and rows[ArchiveItem.INFUSION].found
    assert rows[ArchiveItem.THAW].found[0].startswith("clinic.thaw:")
    assert not rows[ArchiveItem.BATCH_RECORD].present and not rows[ArchiveItem.FOLLOW_UP].present


def test_t10_16_close_refused_naming_every_missing_item(world: Any, checklist: ArchiveChecklist) -> None:
    """T-10.16: the journey's archive cannot close while an item is missing; nothing is written."""
    before = LedgerEntry.objects.count()
    with pytest.raises(Conflict, match=r"T-10.16") as refused:
        services.archive_close(
            actor=world["physician_wang"],
            checklist=checklist,
            signer=_signer(world),
            archive_location="Room 3",
        )
    assert "'follow_up'" in refused.value.message and "'batch_record'" in refused.value.message
    assert "'infusion'" not in refused.value.message
    assert LedgerEntry.objects.count() == before
    assert ArchiveChecklist.objects.get(pk=checklist.pk).status == ArchiveChecklist.Status.OPEN


def test_t10_16_close_with_every_item_present_is_signed(world: Any, checklist: ArchiveChecklist) -> None:
    """T-10.16, X-4, T-5.2.9: ticked with evidence, the archive closes with the closer's e-signature and the
    record set's archive location."""
    _tick_all_missing(world, checklist)
    closed = services.archive_close(
        actor=world["physician_wang"],
        checklist=checklist,
        signer=_signer(world),
        archive_location="Central archive room, cabinet 7",
    )
    assert closed.status == ArchiveChecklist.Status.CLOSED
    assert closed.archive_location == "Central archive room, cabinet 7"
    assert closed.closed_by == world["physician_wang"]
    signature = Signature.objects.get(record_type="records.archivechecklist", record_id=str(closed.pk))
    assert signature.meaning == "approved"
    assert LedgerEntry.objects.filter(event="archive:close", record_id=str(closed.pk)).exists()
    with pytest.raises(Conflict, match="closed"):
        services.archive_tick(
            actor=world["coordinator_zhou"], checklist=closed, item="medical_record", evidence="late"
        )


def test_x4_close_refused_with_a_wrong_password(world: Any, checklist: ArchiveChecklist) -> None:
    _tick_all_missing(world, checklist)
    with pytest.raises(AuthenticationRequired):
        services.archive_close(
            actor=world["physician_wang"],
            checklist=checklist,
            signer=_signer(world, password="wrong"),
            archive_location="Room 3",
        )
    assert ArchiveChecklist.objects.get(pk=checklist.pk).status == ArchiveChecklist.Status.OPEN


def test_t10_16_only_qa_or_physician_closes(world: Any, checklist: ArchiveChecklist) -> None:
    _tick_all_missing(world, checklist)
    with pytest.raises(NotAllowed, match=r"T-10.16"):
        services.archive_close(
            actor=world["coordinator_zhou"],
            checklist=checklist,
            signer=_signer(world, "coordinator_zhou"),
            archive_location="Room 3",
        )


def test_t5_2_9_close_needs_the_archive_location(world: Any, checklist: ArchiveChecklist) -> None:
    _tick_all_missing(world, checklist)
    with pytest.raises(ValidationFailed, match=r"T-5.2.9"):
        services.archive_close(
            actor=world["physician_wang"], checklist=checklist, signer=_signer(world), archive_location=" "
        )


def test_t10_16_tick_needs_evidence_and_is_once_per_item(world: Any, checklist: ArchiveChecklist) -> None:
    actor = world["coordinator_zhou"]
    with pytest.raises(ValidationFailed, match=r"T-10.16") as refused:
        services.archive_tick(actor=actor, checklist=checklist, item="follow_up", evidence="  ")
    assert refused.value.field == "evidence"
    with pytest.raises(ValidationFailed):
        services.archive_tick(actor=actor, checklist=checklist, item="no_such_item", evidence="x")
    services.archive_tick(actor=actor, checklist=checklist, item="follow_up", evidence="FU binder 12")
    with pytest.raises(Conflict, match="X-3"):
        services.archive_tick(actor=actor, checklist=checklist, item="follow_up", evidence="again")


def test_x3_withdrawn_tick_is_voided_and_the_item_missing_again(
    world: Any, checklist: ArchiveChecklist
) -> None:
    actor = world["coordinator_zhou"]
    tick = services.archive_tick(actor=actor, checklist=checklist, item="follow_up", evidence="FU binder 12")
    services.archive_untick(actor=actor, tick=tick, reason="binder is of another patient")
    assert ArchiveTick.objects.get(pk=tick.pk).is_voided
    rows = {r.item: r for r in selectors.checklist_rows(checklist)}
    assert not rows[ArchiveItem.FOLLOW_UP].present
    assert LedgerEntry.objects.filter(event="archive:untick", record_id=str(tick.pk), action="void").exists()


def test_t10_16_another_organisation_cannot_tick(world: Any, checklist: ArchiveChecklist) -> None:
    with pytest.raises(NotAllowed):
        services.archive_tick(actor=world["qa_li"], checklist=checklist, item="follow_up", evidence="x")


def test_t10_16_an_auditor_cannot_tick(world: Any, checklist: ArchiveChecklist) -> None:
    with pytest.raises(NotAllowed):
        services.archive_tick(
            actor=world["auditor_xiehe"], checklist=checklist, item="follow_up", evidence="x"
        )
