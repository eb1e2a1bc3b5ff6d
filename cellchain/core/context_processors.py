"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from cellchain.core.navigation import menu_for


def cellchain(request: HttpRequest) -> dict[str, Any]:
    from cellchain.core.permissions import has_permission

    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "cellchain_menu": menu_for(user) if signed_in else [],
        # Batch and journey pages link to their inspection dossier for those who may request one (issue 14 item 6).
        "cellchain_can_request_dossier": signed_in and has_permission(user, "dossiers.request"),
        "cellchain_idle_timeout": settings.CELLCHAIN_IDLE_TIMEOUT_SECONDS,
        "cellchain_demo": settings.DEBUG,
    }
