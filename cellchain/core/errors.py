"""The one error hierarchy of CellChain services (STYLE habit 5).

Pages show `message` on the form; the API returns `{"message": ..., "detail": ...}` with `status`.
A message says what went wrong, where (field) and what to do; it never carries a traceback or a secret.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A command was refused; nothing was written."""

    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, field: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = dict(detail or {})
        if field:
            self.detail.setdefault("field", field)

    def as_json(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code, "detail": self.detail}


class ValidationFailed(ServiceError):
    """Input broke a rule (range, format, missing field)."""

    code = "validation_failed"


class TooLarge(ServiceError):
    """An upload is larger than this installation accepts for its kind (issue 15)."""

    status = 413
    code = "too_large"


class NotAllowed(ServiceError):
    """The actor lacks the role, site or qualification for this command."""

    status = 403
    code = "not_allowed"


class NotFound(ServiceError):
    """The record does not exist or is not visible to the actor."""

    status = 404
    code = "not_found"


class Conflict(ServiceError):
    """The record is not in a state that allows this command (sequence, quarantine, already signed)."""

    status = 409
    code = "conflict"


class IdentityMismatch(Conflict):
    """A scanned identifier does not match what the step expects (G-4, REGULATORY item 37)."""

    code = "identity_mismatch"


class AuthenticationRequired(ServiceError):
    """Re-authentication failed or is missing (signatures, 21 CFR 11.200)."""

    status = 401
    code = "authentication_failed"
