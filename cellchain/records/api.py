"""JSON API of the records context, read-only (issue 13 item 9; X-6, T-10.3, T-10.16).

Ticks, closure (signed) and scans go through the pages; the API answers the retention date of any ledgered
record and the state of a journey's archive checklist, for an archival or clean-up job and the partner's QA.
"""

import datetime as dt

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from cellchain.core.permissions import requires
from cellchain.domain import retention as rules
from cellchain.records import selectors
from cellchain.records.models import ArchiveChecklist

router = Router(tags=["records"])


class RecordsRetentionOut(Schema):
    record_type: str
    record_id: str
    coi: str | None
    retained_until: dt.date | None
    basis: str | None
    provisional: bool


class RecordsArchiveItemOut(Schema):
    item: str
    present: bool
    found: list[str]
    ticked_evidence: str | None


class RecordsChecklistOut(Schema):
    id: int
    coi: str
    status: str
    archive_location: str
    items: list[RecordsArchiveItemOut]
    closure_blocked_by: list[str]


@router.get("/retention", response=RecordsRetentionOut)
@requires("records.view")
def record_retention(request: HttpRequest, record_type: str, record_id: str) -> RecordsRetentionOut:
    """The retention date of a ledgered record by its ledger subject; no date = kept (X-6, T-10.3)."""
    found = selectors.record_retention(record_type.strip().lower(), record_id.strip())
    r = found.retention
    return RecordsRetentionOut(
        record_type=found.record_type,
        record_id=found.record_id,
        coi=found.coi,
        retained_until=r.until,
        basis=str(r.basis) if r.basis else None,
        provisional=r.provisional,
    )


@router.get("/archive/{checklist_id}", response=RecordsChecklistOut)
@requires("records.view")
def archive_checklist(request: HttpRequest, checklist_id: int) -> RecordsChecklistOut:
    """A journey's archive checklist: each item, present or not, and what blocks closure (T-10.16)."""
    try:
        found = selectors.checklist_get_for(request.user, checklist_id)
    except ArchiveChecklist.DoesNotExist:
        raise Http404(checklist_id) from None
    rows = selectors.checklist_rows(found)
    gate = rules.archive_close_gate(
        [rules.ItemState(r.item, r.found, r.tick is not None) for r in rows], coi=found.coi
    )
    return RecordsChecklistOut(
        id=found.pk,
        coi=found.coi,
        status=found.status,
        archive_location=found.archive_location,
        items=[
            RecordsArchiveItemOut(
                item=r.item.value,
                present=r.present,
                found=list(r.found),
                ticked_evidence=r.tick.evidence if r.tick else None,
            )
            for r in rows
        ],
        closure_blocked_by=[f.message for f in gate.findings],
    )
