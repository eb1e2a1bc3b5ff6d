"""The ledger's view of a user account: Django's auth user is not a RegulatedModel, so a proxy states it."""

from __future__ import annotations

from typing import Any

from cellchain.accounts.models import User
from cellchain.ledger.state import row_state

# Columns of the user that the ledger records; the password hash and login times stay out of it.
USER_LEDGER_FIELDS = ("id", "username", "printed_name", "email", "organisation_id", "site_id", "is_active")


class UserRecord:
    """Adapter giving `ledger_append` the record type, id and state of a user."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.pk = user.pk

    @classmethod
    def of(cls, user: User) -> UserRecord:
        return cls(user)

    @staticmethod
    def ledger_record_type() -> str:
        return "accounts.user"

    def ledger_state(self) -> dict[str, Any]:
        state = row_state(self.user)
        return {key: state[key] for key in USER_LEDGER_FIELDS}
