"""Ledger tables refuse UPDATE, DELETE and TRUNCATE; the application role holds only INSERT and SELECT on them
(issue 3 item 7; REGULATORY items 2, 56)."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from cellchain.accounts import services as accounts
from cellchain.ledger.grants import grant_statements
from cellchain.ledger.heads import head_issue
from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.tests.behind import create_unledgered
from cellchain.ledger.triggers import APPEND_ONLY_TABLES

pytestmark = pytest.mark.django_db


def _refused(sql: str, params: list | None = None) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])
    return str(caught.value)


@pytest.fixture
def filled(world):
    head_issue()
    return LedgerEntry.objects.count()


@pytest.fixture
def every_table_filled(world):
    """A row in each append-only table (the witness rows are made directly: only the triggers are tested)."""
    from cellchain.core import clock
    from cellchain.ledger.models import HeadCountersignature, WitnessedHead

    sth = head_issue()
    now, blank = clock.now(), bytes(32)
    create_unledgered(
        WitnessedHead,
        log_id="partner",
        size=1,
        root=blank,
        time=sth.time,
        signature=bytes(64),
        public_key=blank,
        witness_id="us",
        countersignature=bytes(64),
        countersigned_at=now,
    )
    create_unledgered(
        HeadCountersignature,
        head=sth,
        witness_id="partner",
        public_key=blank,
        signature=bytes(64),
        received_at=now,
    )
    return LedgerEntry.objects.count()


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_update_and_delete_are_refused_on_every_ledger_table(every_table_filled, table):
    if table.startswith("ledger_witnessed") or table.startswith("ledger_headcounter"):
        key = "void_reason = 'x'"
    else:
        key = {
            "ledger_ledgerentry": "event = 'x'",
            "ledger_ledgernode": "hash = hash",
            "ledger_signedtreehead": "time = time",
        }[table]
    assert "append-only" in _refused(f"UPDATE {table} SET {key}")
    assert "append-only" in _refused(f"DELETE FROM {table}")


def test_rows_survive_the_refused_statements(filled):
    _refused("DELETE FROM ledger_ledgerentry")
    _refused("UPDATE ledger_ledgerentry SET canonical = %s", [b"{}"])
    assert LedgerEntry.objects.count() == filled
    from cellchain.ledger.verify import verify_ledger

    assert verify_ledger().ok


@pytest.mark.postgres_only
def test_truncate_is_refused_on_postgresql(filled):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL; SQLite's DELETE trigger covers it there")
    with connection.cursor() as cursor:
        # Inside the test's transaction, deferred foreign-key checks would otherwise block any TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert "append-only" in _refused("TRUNCATE ledger_ledgerentry")


def test_grants_command_prints_insert_select_only_for_ledger_tables():
    out = io.StringIO()
    call_command("ledger", "grants", "--role", "cellchain_app", stdout=out)
    text = out.getvalue()
    assert "REVOKE UPDATE, DELETE ON ledger_ledgerentry, ledger_ledgernode, ledger_signedtreehead" in text
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO cellchain_app;" in text


def test_grants_refuse_a_role_name_that_is_not_an_identifier():
    with pytest.raises(ValueError, match="identifier"):
        grant_statements("app; DROP TABLE x")


@pytest.mark.postgres_only
def test_application_role_can_append_but_not_rewrite(world):
    """REGULATORY item 56: under the application role, appends work and UPDATE/DELETE/TRUNCATE are denied by
    privilege, before any trigger runs."""
    if connection.vendor != "postgresql":
        pytest.skip("database roles and GRANT exist only on PostgreSQL")
    role = f"cellchain_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
    call_command("ledger", "grants", "--role", role, "--apply", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {role}")
    try:
        with transaction.atomic():
            accounts.organisation_create(actor=None, code="under-app-role", name="Role test", kind="hospital")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for sql in (
            "UPDATE ledger_ledgerentry SET event = 'x'",
            "DELETE FROM ledger_ledgernode",
            "TRUNCATE ledger_signedtreehead",
            "DELETE FROM ledger_ledgerhead",
        ):
            assert "permission denied" in _refused(sql)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert LedgerEntry.objects.filter(record_type="accounts.organisation").exists()
