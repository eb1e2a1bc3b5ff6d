"""Who did it: the attributable actor written into every entry (X-1)."""

from __future__ import annotations

from typing import Any


def _roles(user: Any) -> list[str]:
    # The permission check of the same request caches the roles it used on the user object; reuse them so
    # the entry names the roles that authorised the action, without a second query.
    cached = getattr(user, "_cellchain_roles", None)
    if cached is not None:
        return sorted(cached)
    return sorted(user.current_roles()) if hasattr(user, "current_roles") else []


def actor_json(user: Any | None) -> dict[str, Any]:
    """Return id, printed name, roles, organisation and site of `user`; None means the system itself."""
    if user is None or getattr(user, "pk", None) is None:
        return {"id": None, "name": "system", "roles": [], "organisation": None, "site": None}
    return {
        "id": user.pk,
        "name": getattr(user, "printed_name", "") or user.get_username(),
        "roles": _roles(user),
        "organisation": getattr(getattr(user, "organisation", None), "code", None),
        "site": getattr(getattr(user, "site", None), "code", None),
    }
