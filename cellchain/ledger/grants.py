"""PostgreSQL privileges for the application's database role (issue 3 item 7; REGULATORY item 56).

Migrations run as the role that owns the tables; the application connects as another role that may read and
write the regulated tables but may only INSERT and SELECT on the ledger tables, so neither a bug nor a stolen
application password can rewrite history (the triggers of `triggers.py` stop the owner too, unless it drops
them, which `ledger verify` would then show as changed entries). The head row is the one ledger table the
application updates: it holds the tree size and is the row each append locks (`SELECT ... FOR UPDATE` needs
UPDATE in PostgreSQL); `ledger verify` checks its size against the entries.
"""

from __future__ import annotations

import re

from cellchain.ledger.models import LedgerHead
from cellchain.ledger.triggers import APPEND_ONLY_TABLES

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _identifier(role: str) -> str:
    if not _ROLE.fullmatch(role):
        raise ValueError(f"role {role!r} must be a plain lower-case PostgreSQL identifier (a-z, 0-9, _)")
    return role


def grant_statements(role: str, schema: str = "public") -> list[str]:
    """The GRANT/REVOKE statements giving `role` DML on the regulated tables and INSERT/SELECT on the ledger."""
    role, schema = _identifier(role), _identifier(schema)
    ledger = ", ".join(APPEND_ONLY_TABLES)
    head = LedgerHead._meta.db_table
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        # The ledger: append and read only (REGULATORY item 56).
        f"REVOKE UPDATE, DELETE ON {ledger} FROM {role}",
        # The head row: moved on by every append, never deleted.
        f"REVOKE DELETE ON {head} FROM {role}",
    ]
