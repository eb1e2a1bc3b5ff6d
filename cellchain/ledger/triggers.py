"""Database triggers that refuse UPDATE and DELETE on ledger tables (issue 3 item 7; REGULATORY items 2, 56).

The application never updates or deletes these rows; the triggers stop anyone who tries through SQL with the
application's connection. On PostgreSQL, production also runs the app under a role holding only INSERT and
SELECT on them (README "Production").
"""

from __future__ import annotations

from typing import Any

FIRST_TABLES = ("ledger_ledgerentry", "ledger_ledgernode", "ledger_signedtreehead")
"""The tables migration 0002 protects; later migrations protect the tables they create."""
WITNESS_TABLES = ("ledger_witnessedhead", "ledger_headcountersignature")
APPEND_ONLY_TABLES = FIRST_TABLES + WITNESS_TABLES

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION cellchain_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'cellchain: % on % refused: the record ledger is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _statements(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION cellchain_append_only()",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION cellchain_append_only()",
        ]
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'cellchain: the record ledger is append-only'); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'cellchain: the record ledger is append-only'); END",
        ]
    raise RuntimeError(f"no append-only triggers for database vendor {vendor!r}")


def install(connection: Any, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> None:
    """Create the triggers on `tables` (idempotent)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
        for table in tables:
            for sql in _statements(connection.vendor, table):
                cursor.execute(sql)


def uninstall(connection: Any, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> None:
    """Drop the triggers: only the test suite does this, to empty tables between transactional tests."""
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def installed(connection: Any) -> bool:
    """True when the triggers are present."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = %s", ["ledger_ledgerentry_append_only"]
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name=%s",
                ["ledger_ledgerentry_no_update"],
            )
        return bool(cursor.fetchone()[0])
