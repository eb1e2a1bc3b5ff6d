"""Queries on deviations and notifications, scoped to what the viewer's organisation may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Q, QuerySet, When

from cellchain.quality.models import Deviation, EmailNotification, Notification


def deviations_visible_to(viewer: Any) -> QuerySet[Deviation]:
    """Deviations of the viewer's organisation."""
    return Deviation.objects.filter(site__organisation_id=viewer.organisation_id).select_related(
        "site", "opened_by", "dispositioned_by"
    )


def notifications_for(viewer: Any) -> QuerySet[Notification]:
    """Messages to the viewer's organisation, to their site or all sites, to one of their roles or everyone."""
    roles = list(viewer.current_roles())
    return (
        Notification.objects.filter(recipient_organisation_id=viewer.organisation_id)
        .filter(Q(recipient_site__isnull=True) | Q(recipient_site_id=viewer.site_id))
        .filter(Q(recipient_role="") | Q(recipient_role__in=roles))
        .select_related("sent_by", "acknowledged_by")
    )


def unacknowledged_count(viewer: Any) -> int:
    return notifications_for(viewer).filter(acknowledged_at__isnull=True).count()


def email_outbox_for(viewer: Any) -> QuerySet[EmailNotification]:
    """Outbox e-mails of notifications to the viewer's organisation: failed first, then the newest (issue 15)."""
    failed_first = Case(When(status=EmailNotification.Status.FAILED, then=0), default=1)
    return (
        EmailNotification.objects.filter(notification__recipient_organisation_id=viewer.organisation_id)
        .annotate(failed_first=failed_first)
        .order_by("failed_first", "-created_at", "-pk")
    )


def safety_reports_list(*, flagged_only: bool = False) -> Any:
    """Received adverse-event reports, newest first, with sender, journey and deviation (one query)."""
    from cellchain.quality.models import SafetyReport

    rows = SafetyReport.objects.select_related("partner", "journey", "deviation")
    return rows.exclude(flags=[]) if flagged_only else rows
