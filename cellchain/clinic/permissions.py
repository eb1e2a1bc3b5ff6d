"""Role grants of the clinic context (see cellchain/core/permissions.py)."""

GRANTS: dict[str, set[str]] = {}
