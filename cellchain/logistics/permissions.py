"""Role grants of the logistics context (see cellchain/core/permissions.py)."""

GRANTS: dict[str, set[str]] = {}
