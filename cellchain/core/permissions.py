"""The permission table: which roles may use which command or page (issue 2 item 7; REGULATORY items 23-25).

Each context declares its grants in `<context>/permissions.py` as `GRANTS = {"<context>.<action>": {Role...}}`.
Every view and API handler carries one permission through `@requires(...)`; the role-matrix test walks the URL
conf and the API operations and checks each against this table, so no endpoint can be left out.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied

PUBLIC = "public"  # reachable without signing in (login page, health check, language switch)
SIGNED_IN = "signed_in"  # any signed-in user (home, own profile)

F = TypeVar("F", bound=Callable[..., Any])

# Core's own grant: the approved-products reference list is readable by every role (P-T1).
GRANTS = {
    "core.view_reference": {
        "qa",
        "qc_analyst",
        "production_operator",
        "logistics",
        "physician",
        "nurse",
        "pharmacist",
        "apheresis_operator",
        "coordinator",
        "site_admin",
        "auditor",
    },
}


@functools.cache
def all_grants() -> dict[str, frozenset[str]]:
    """Collect every context's GRANTS into one table (computed once)."""
    table: dict[str, frozenset[str]] = {}
    for app in settings.CELLCHAIN_CONTEXTS:
        try:
            module = importlib.import_module(f"{app}.permissions")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.permissions":
                raise
            continue
        for permission, roles in getattr(module, "GRANTS", {}).items():
            if permission in table:
                raise RuntimeError(f"permission {permission!r} is granted twice ({app})")
            table[permission] = frozenset(str(role) for role in roles)
    return table


def roles_for(permission: str) -> frozenset[str]:
    """Return the roles holding `permission`; an unknown permission is a programming error."""
    try:
        return all_grants()[permission]
    except KeyError:
        raise RuntimeError(f"permission {permission!r} is not in any context's GRANTS") from None


def user_roles(user: Any) -> frozenset[str]:
    """Return the user's current roles (cached on the user object for the request)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return frozenset()
    cached = getattr(user, "_cellchain_roles", None)
    if cached is None:
        cached = frozenset(user.current_roles())
        user._cellchain_roles = cached
    return cached


def has_permission(user: Any, permission: str) -> bool:
    """True when `user` may use `permission`."""
    if permission == PUBLIC:
        return True
    if permission == SIGNED_IN:
        return bool(getattr(user, "is_authenticated", False))
    return bool(user_roles(user) & roles_for(permission))


def require_permission(user: Any, permission: str) -> None:
    """Raise PermissionDenied unless `user` holds `permission` (services use it for defence in depth)."""
    if not has_permission(user, permission):
        raise PermissionDenied(permission)


def requires(permission: str) -> Callable[[F], F]:
    """Mark a view or API handler with its permission and enforce it before the handler runs."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            if permission != PUBLIC and not getattr(request.user, "is_authenticated", False):
                from django.contrib.auth.views import redirect_to_login

                if request.path.startswith("/api/"):
                    raise PermissionDenied("authentication required")
                return redirect_to_login(request.get_full_path())
            if not has_permission(request.user, permission):
                raise PermissionDenied(permission)
            return view(request, *args, **kwargs)

        wrapper.cellchain_permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
