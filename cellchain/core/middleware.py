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


PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "camera", "microphone", "geolocation", "payment", "usb", "serial", "bluetooth", "hid",
        "display-capture", "interest-cohort",
    )
)  # fmt: skip
"""Browser features no CellChain page uses; scanners are keyboard wedges, not cameras (issue 15)."""


class PrivateResponseMiddleware:
    """Mark every dynamic response ``Cache-Control: no-store`` and send the Permissions-Policy (issue 15).

    Pages and API answers can carry patient identity (hospital side, T-4) or regulated records: no browser,
    proxy or back-button cache may keep a copy on a shared ward terminal. Static files are served by
    WhiteNoise before this middleware runs and keep their long cache headers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Cache-Control"] = "no-store"
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class UploadSizeLimitMiddleware:
    """Refuse a request body over CELLCHAIN_MAX_UPLOAD_BYTES with 413 before anything reads it (issue 15).

    Django bounds only the non-file part of a form (DATA_UPLOAD_MAX_MEMORY_SIZE); without this a 50 MB CSV
    was read, parsed and held a worker for 20 s. Kinds with a tighter limit (logger files) check it in their
    service. Placed before the CSRF middleware, which reads the body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        limit = settings.CELLCHAIN_MAX_UPLOAD_BYTES
        if size > limit:
            from cellchain.core.views import upload_too_large

            return upload_too_large(request, size, limit)
        return self.get_response(request)
