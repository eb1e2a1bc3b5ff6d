"""Queries on people."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from cellchain.accounts.models import ApiToken, Qualification, RoleAssignment, User


def people_list(viewer: User) -> QuerySet[User]:
    """People of the viewer's organisation with roles and qualifications, in a constant number of queries."""
    return (
        User.objects.filter(organisation_id=viewer.organisation_id)
        .select_related("site", "organisation")
        .prefetch_related(
            Prefetch("role_assignments", queryset=RoleAssignment.objects.filter(revoked_at__isnull=True)),
            Prefetch("qualifications", queryset=Qualification.objects.filter(revoked_at__isnull=True)),
        )
        .order_by("site__code", "username")
    )


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")
