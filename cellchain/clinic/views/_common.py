"""Helpers shared by the clinic pages: the site's day and zone, found-or-404, unit values, people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest

from cellchain.accounts.models import User
from cellchain.clinic import services
from cellchain.core import clock
from cellchain.core.errors import NotFound
from cellchain.core.pages import run_service


def _today(request: HttpRequest) -> Any:
    return clock.now().astimezone(_site_tz(request)).date()


def _site_tz(request: HttpRequest) -> Any:
    from zoneinfo import ZoneInfo

    site = getattr(request.user, "site", None)
    return ZoneInfo(site.time_zone if site else "Asia/Shanghai")


def _found(select: Callable[..., Any], viewer: Any, pk: int) -> Any:
    """Look a record up after the permission check; not visible to this viewer = 404."""
    try:
        return select(viewer, pk)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _unit_values(request: HttpRequest, unit: Any) -> Any:
    """The product values the checks apply to this unit: its batch's version when that is not the adopted one
    (when that version cannot be read, the page says why and shows the adopted values)."""
    values = run_service(request, lambda: services.unit_profile(unit), None)
    return values if values is not None else unit.course.product


def _people(request: HttpRequest) -> Any:
    return User.objects.filter(site=request.user.site, is_active=True).order_by("printed_name")  # type: ignore[attr-defined]
