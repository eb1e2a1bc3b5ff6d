"""Reads of the CAPA and change-control context, scoped to the viewer's organisation (issue 13 item 4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from cellchain.capa.models import (
    CapaAction,
    ChangeAffectedVersion,
    ChangeRequest,
    EffectivenessCheck,
    Investigation,
)
from cellchain.domain import capa as rules
from cellchain.manufacturing.models import ProductVersion
from cellchain.quality.models import Deviation


def deviation_facts(deviation: Deviation) -> rules.DeviationFacts:
    """The deviation as the closure and check rules see it (three queries)."""
    investigation = Investigation.objects.filter(deviation=deviation, voided_at__isnull=True).first()
    actions = CapaAction.objects.filter(deviation=deviation, voided_at__isnull=True).order_by("number")
    checks = EffectivenessCheck.objects.filter(deviation=deviation, voided_at__isnull=True).order_by("round")
    return rules.DeviationFacts(
        dispositioned=deviation.status == Deviation.Status.DISPOSITIONED,
        closed=deviation.status == Deviation.Status.CLOSED,
        investigation_missing=(
            investigation if investigation is not None else Investigation(deviation=deviation)
        ).missing(),
        actions=tuple(_action_facts(a) for a in actions),
        checks=tuple(
            rules.CheckFacts(effective=c.result == EffectivenessCheck.Result.EFFECTIVE) for c in checks
        ),
    )


def _action_facts(action: CapaAction) -> rules.ActionFacts:
    return rules.ActionFacts(
        label=f"{action.label} {action.description[:40]}",
        done=action.status == CapaAction.Status.DONE,
        round=action.round,
        due=action.due_on,
    )


def deviation_capa(viewer: Any, deviation_id: int) -> Deviation:
    """One deviation of the viewer's organisation with its investigation, actions and checks prefetched."""
    return (
        Deviation.objects.filter(site__organisation_id=viewer.organisation_id)
        .select_related("site", "opened_by", "dispositioned_by", "closed_by")
        .prefetch_related(
            Prefetch(
                "capa_actions",
                CapaAction.objects.filter(voided_at__isnull=True).select_related(
                    "owner", "completed_by", "change_request"
                ),
            ),
            Prefetch(
                "effectiveness_checks",
                EffectivenessCheck.objects.filter(voided_at__isnull=True).select_related("checked_by"),
            ),
        )
        .get(pk=deviation_id)
    )


def investigation_of(deviation: Deviation) -> Investigation | None:
    return (
        Investigation.objects.filter(deviation=deviation, voided_at__isnull=True)
        .select_related("investigator", "recorded_by")
        .first()
    )


def deviations_in_capa(viewer: Any, today: dt.date, state: str = "") -> QuerySet[Deviation]:
    """The organisation's deviations not closed (or `state`: open / dispositioned / closed), with counts of
    open and overdue actions, in one query (T-9.3.2)."""
    rows = Deviation.objects.filter(site__organisation_id=viewer.organisation_id, voided_at__isnull=True)
    rows = rows.filter(status=state) if state else rows.exclude(status=Deviation.Status.CLOSED)
    live = Q(capa_actions__voided_at__isnull=True)
    open_ = live & Q(capa_actions__status=CapaAction.Status.OPEN)
    return (
        rows.select_related("site", "capa_investigation")
        .annotate(
            actions_total=Count("capa_actions", filter=live, distinct=True),
            actions_open=Count("capa_actions", filter=open_, distinct=True),
            actions_overdue=Count(
                "capa_actions", filter=open_ & Q(capa_actions__due_on__lt=today), distinct=True
            ),
        )
        .order_by("-opened_at")
    )


def overdue_actions(viewer: Any, today: dt.date) -> QuerySet[CapaAction]:
    """Open CAPA actions of the organisation past their due date, oldest due first (T-9.3.2 "timely")."""
    return (
        CapaAction.objects.filter(
            deviation__site__organisation_id=viewer.organisation_id,
            voided_at__isnull=True,
            status=CapaAction.Status.OPEN,
            due_on__lt=today,
        )
        .select_related("deviation", "owner")
        .order_by("due_on", "pk")
    )


def changes_visible_to(viewer: Any, state: str = "") -> QuerySet[ChangeRequest]:
    """The organisation's change requests, newest first, with their affected product versions (2 queries)."""
    rows = ChangeRequest.objects.filter(organisation_id=viewer.organisation_id, voided_at__isnull=True)
    if state:
        rows = rows.filter(status=state)
    return rows.select_related("raised_by", "site").prefetch_related(
        Prefetch(
            "affected",
            ChangeAffectedVersion.objects.filter(voided_at__isnull=True).select_related(
                "product_version__product"
            ),
        )
    )


def change_get(viewer: Any, pk: int) -> ChangeRequest:
    return (
        changes_visible_to(viewer)
        .select_related("assessed_by", "approved_by", "implemented_by", "verified_by", "closed_by")
        .prefetch_related(Prefetch("capa_actions", CapaAction.objects.select_related("deviation")))
        .get(pk=pk)
    )


def colleagues(viewer: Any) -> QuerySet[Any]:
    """Active people of the viewer's organisation (investigators, action owners)."""
    from cellchain.accounts.models import User

    return User.objects.filter(organisation_id=viewer.organisation_id, is_active=True).order_by("username")


def versions_for(viewer: Any) -> QuerySet[ProductVersion]:
    """Product versions of the viewer's organisation, for the affected-versions choice (P-1-a)."""
    return ProductVersion.objects.filter(
        product__site__organisation_id=viewer.organisation_id, voided_at__isnull=True
    ).select_related("product")


def changes_open_for(viewer: Any) -> QuerySet[ChangeRequest]:
    """Change requests not closed or rejected, which a CAPA action may link (T-10.15)."""
    return ChangeRequest.objects.filter(
        organisation_id=viewer.organisation_id, voided_at__isnull=True
    ).exclude(status__in=[ChangeRequest.Status.CLOSED, ChangeRequest.Status.REJECTED])
