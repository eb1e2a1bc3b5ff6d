"""JSON API of the core: the signed-in user's worklist (issue 14 item 1)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from cellchain.core.permissions import SIGNED_IN, requires
from cellchain.core.worklist import work_day, worklist_for

router = Router(tags=["worklist"])


class WorkItemOut(Schema):
    key: str
    label: str
    count: int
    overdue: int
    url: str
    clause: str


class WorklistOut(Schema):
    generated_at: dt.datetime
    site_date: dt.date
    items: list[WorkItemOut]


@router.get("/worklist", response=WorklistOut, summary="What is due or overdue for me")
@requires(SIGNED_IN)
def worklist(request: HttpRequest) -> dict[str, object]:
    """The same lines as the home page, overdue first (issue 14 item 1)."""
    day = work_day(request.user)
    return {"generated_at": day.now, "site_date": day.today, "items": worklist_for(request.user, day)}
