"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from cellchain.core.navigation import menu_for


def cellchain(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "cellchain_menu": menu_for(user) if user is not None and user.is_authenticated else [],
        "cellchain_idle_timeout": settings.CELLCHAIN_IDLE_TIMEOUT_SECONDS,
        "cellchain_demo": settings.DEBUG,
    }
