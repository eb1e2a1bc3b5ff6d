"""Role grants of the manufacturing context (see cellchain/core/permissions.py)."""

GRANTS: dict[str, set[str]] = {}
