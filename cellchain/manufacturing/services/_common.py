"""Helpers shared by the manufacturing services: gates to errors, roles, activity times."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cellchain.accounts.roles import Role
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.core.permissions import user_roles
from cellchain.domain.findings import Finding, Gate


def findings_text(findings: tuple[Finding, ...] | list[Finding]) -> str:
    """One sentence per finding, as shown on the form."""
    return " ".join(f"{f.message}." if not f.message.endswith(".") else f.message for f in findings)


def findings_detail(findings: tuple[Finding, ...] | list[Finding]) -> dict[str, Any]:
    return {
        "findings": [
            {
                "check": f.check,
                "message": f.message,
                "clause": f.clause,
                "subject": f.subject,
                "value": f.value,
                "limit": f.limit,
            }
            for f in findings
        ]
    }


def refuse_unless(gate: Gate, what: str, error: type[Conflict] | type[ValidationFailed] = Conflict) -> None:
    """Raise a ServiceError listing every finding when the gate does not allow the action."""
    if not gate.allowed:
        raise error(f"{what}: {findings_text(gate.findings)}", detail=findings_detail(gate.findings))


def require_role(actor: Any, *roles: str) -> None:
    if not user_roles(actor) & set(roles):
        names = ", ".join(str(Role(r).label) for r in roles)
        raise NotAllowed(f"Only {names} may do this.")


def activity_time(
    at: dt.datetime | None, *, not_before: dt.datetime | None = None, field: str = "at"
) -> dt.datetime:
    """The time the activity happened: now, or an earlier time the operator gives (X-2: both are kept)."""
    now = clock.now()
    if at is None:
        return now
    if at.tzinfo is None:
        raise ValidationFailed("The time needs a time zone.", field=field)
    if at > now:
        raise ValidationFailed("An activity time cannot be in the future.", field=field)
    if not_before is not None and at < not_before:
        raise ValidationFailed(f"The time cannot be before {not_before.isoformat()}.", field=field)
    return at
