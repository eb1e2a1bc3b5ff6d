"""JSON API of CAPA and change control, read-only, as quality exposes its deviations (issue 13 item 4).

Commands go through the pages (their signatures need the password typed again); the API lists what is open,
overdue and still blocking closure, for dashboards and the partner's QA.
"""

import datetime as dt

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from cellchain.capa import selectors
from cellchain.capa.models import CapaAction, ChangeRequest
from cellchain.core import clock
from cellchain.core.permissions import requires
from cellchain.domain import capa as rules
from cellchain.quality.models import Deviation

router = Router(tags=["capa"])


class ActionOut(Schema):
    id: int
    label: str
    kind: str
    description: str
    owner: str
    due_on: dt.date
    status: str
    completion_note: str


class CheckOut(Schema):
    round: int
    result: str
    evidence: str
    checked_at: dt.datetime


class DeviationCapaOut(Schema):
    id: int
    number: str
    status: str
    actions: list[ActionOut]
    checks: list[CheckOut]
    closure_blocked_by: list[str]


class OverdueOut(Schema):
    id: int
    deviation: str
    label: str
    owner: str
    due_on: dt.date


class ChangeOut(Schema):
    id: int
    number: str
    kind: str
    status: str
    title: str
    risk_level: str
    affected_versions: list[str]
    affected_items: str


def _action(a: CapaAction) -> ActionOut:
    return ActionOut(
        id=a.pk,
        label=a.label,
        kind=a.kind,
        description=a.description,
        owner=a.owner.printed_name,
        due_on=a.due_on,
        status=a.status,
        completion_note=a.completion_note,
    )


@router.get("/deviations/{deviation_id}", response=DeviationCapaOut)
@requires("capa.view")
def deviation_capa(request: HttpRequest, deviation_id: int) -> DeviationCapaOut:
    """The CAPA of one deviation and what still blocks its closure (T-6.4-f, T-9.3.2)."""
    try:
        found = selectors.deviation_capa(request.user, deviation_id)
    except Deviation.DoesNotExist:
        raise Http404(deviation_id) from None
    gate = rules.closure_gate(selectors.deviation_facts(found))
    return DeviationCapaOut(
        id=found.pk,
        number=found.number,
        status=found.status,
        actions=[_action(a) for a in found.capa_actions.all()],
        checks=[
            CheckOut(round=c.round, result=c.result, evidence=c.evidence, checked_at=c.checked_at)
            for c in found.effectiveness_checks.all()
        ],
        closure_blocked_by=[f.message for f in gate.findings],
    )


@router.get("/actions/overdue", response=list[OverdueOut])
@requires("capa.view")
def actions_overdue(request: HttpRequest) -> list[OverdueOut]:
    """Open actions past their due date, oldest first (T-9.3.2)."""
    today = clock.today(request.user.site.time_zone)  # type: ignore[union-attr]
    return [
        OverdueOut(
            id=a.pk, deviation=a.deviation.number, label=a.label, owner=a.owner.printed_name, due_on=a.due_on
        )
        for a in selectors.overdue_actions(request.user, today)[:500]
    ]


@router.get("/changes", response=list[ChangeOut])
@requires("capa.view_changes")
def change_list(request: HttpRequest, status: str | None = None) -> list[ChangeOut]:
    """The organisation's change requests with their affected product versions (REGULATORY item 61)."""
    rows: list[ChangeRequest] = list(selectors.changes_visible_to(request.user, status or "")[:500])
    return [
        ChangeOut(
            id=c.pk,
            number=c.number,
            kind=c.kind,
            status=c.status,
            title=c.title,
            risk_level=c.risk_level,
            affected_versions=[str(a.product_version) for a in c.affected.all()],
            affected_items=c.affected_items,
        )
        for c in rows
    ]
