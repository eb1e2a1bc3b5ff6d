"""Who did it: the attributable actor written into every entry (X-1)."""

from __future__ import annotations

from typing import Any


def actor_json(user: Any | None) -> dict[str, Any]:
    """Return id, printed name, roles, organisation and site of `user`; None means the system itself."""
    if user is None:
        return {"id": None, "name": "system", "roles": [], "organisation": None, "site": None}
    roles = sorted(user.current_roles()) if hasattr(user, "current_roles") else []
    return {
        "id": user.pk,
        "name": getattr(user, "printed_name", "") or user.get_username(),
        "roles": roles,
        "organisation": getattr(getattr(user, "organisation", None), "code", None),
        "site": getattr(getattr(user, "site", None), "code", None),
    }
