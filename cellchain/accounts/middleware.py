"""Idle and absolute session timeouts (issue 2 item 6; REGULATORY item 28)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

LAST_SEEN = "cellchain_last_seen"


class SessionTimeoutMiddleware:
    """End a session idle longer than CELLCHAIN_IDLE_TIMEOUT_SECONDS (the absolute limit is the cookie age)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_SEEN)
            if not user.is_active or (
                last is not None and now - last > settings.CELLCHAIN_IDLE_TIMEOUT_SECONDS
            ):
                from cellchain.accounts.services import sign_in_record

                sign_in_record(user, user.username, "timeout", None)
                logout(request)
                messages.info(
                    request, _("Your session ended after a period of inactivity. Please sign in again.")
                )
            else:
                request.session[LAST_SEEN] = now
        return self.get_response(request)
