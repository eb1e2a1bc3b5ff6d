"""Idle and absolute session timeouts, both counted from sign-in (issue 2 item 6, issue 15; REGULATORY item 28)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

LAST_SEEN = "cellchain_last_seen"
SIGNED_IN_AT = "cellchain_signed_in_at"


@receiver(user_logged_in, dispatch_uid="cellchain_session_start")
def session_start(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Stamp the sign-in moment and pin the cookie's expiry to it, so activity never extends the lifetime.

    Without a fixed expiry Django re-computes it from "now" at every save of a modified session, and the
    idle timer below modifies the session on each request: the absolute cap would slide (issue 15).
    """
    if request is None or not hasattr(request, "session"):
        return
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN] = now
    request.session.set_expiry(dt.datetime.fromtimestamp(now + settings.SESSION_COOKIE_AGE, tz=dt.UTC))


def session_ended(session: Any, now: float) -> str | None:
    """Return why a signed-in session must end now ('idle' or 'absolute'), or None while it is valid."""
    signed_in = session.get(SIGNED_IN_AT)
    if signed_in is None or now - signed_in > settings.SESSION_COOKIE_AGE:
        return "absolute"  # a session without a sign-in stamp predates the rule: sign in again
    last = session.get(LAST_SEEN)
    if last is not None and now - last > settings.CELLCHAIN_IDLE_TIMEOUT_SECONDS:
        return "idle"
    return None


class SessionTimeoutMiddleware:
    """End a session idle longer than CELLCHAIN_IDLE_TIMEOUT_SECONDS or older than SESSION_COOKIE_AGE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            why = "deactivated" if not user.is_active else session_ended(request.session, now)
            if why is not None:
                from cellchain.accounts.services import sign_in_record

                sign_in_record(user, user.username, "timeout", None)
                logout(request)
                if why == "absolute":
                    messages.info(
                        request, _("Your session reached its maximum length. Please sign in again.")
                    )
                else:
                    messages.info(
                        request, _("Your session ended after a period of inactivity. Please sign in again.")
                    )
            else:
                request.session[LAST_SEEN] = now
        return self.get_response(request)
