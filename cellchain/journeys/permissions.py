"""Role grants of the journeys context (see cellchain/core/permissions.py)."""

GRANTS: dict[str, set[str]] = {}
