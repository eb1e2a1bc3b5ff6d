"""Show times in the signed-in user's site time zone (issue 2 item 8); storage stays UTC."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class SiteTimezoneMiddleware:
    """Activate the site's zone (default Asia/Shanghai) for rendering."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = settings.CELLCHAIN_DEFAULT_SITE_TIMEZONE
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.site_id:
            name = user.site.time_zone
        try:
            timezone.activate(zoneinfo.ZoneInfo(name))
        except zoneinfo.ZoneInfoNotFoundError:
            timezone.activate(zoneinfo.ZoneInfo(settings.CELLCHAIN_DEFAULT_SITE_TIMEZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
