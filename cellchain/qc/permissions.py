"""Role grants of the qc context (see cellchain/core/permissions.py)."""

GRANTS: dict[str, set[str]] = {}
