"""Backup, restore and the move to another database keep the ledger verifiable (issue 15 item 3)."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cellchain.accounts import services as accounts
from cellchain.accounts.models import Organisation
from cellchain.ledger.heads import current_size, head_issue, tree_root
from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.operations import copied_models, manifest_path

PG_HOST = os.environ.get("CELLCHAIN_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CELLCHAIN_PG_PORT", "5432"))
PG_USER = os.environ.get("CELLCHAIN_PG_USER", "postgres")

on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backup path (VACUUM INTO)")
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the PostgreSQL backup path (pg_dump) runs on PostgreSQL only"
)


def _cellchain(args: list[str], url: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    """`cellchain ARGS` as an operator runs it, against the database at `url`."""
    env = {**os.environ, "DATABASE_URL": url, "CELLCHAIN_VAR_DIR": str(var_dir)}
    return subprocess.run(
        [sys.executable, "-m", "cellchain.cli", *args], env=env, capture_output=True, text=True, check=False
    )


def _row_counts() -> dict[str, int]:
    return {model._meta.db_table: model._base_manager.count() for model in copied_models()}


def _sqlite_row_counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        return {table: db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in _row_counts()}
    finally:
        db.close()


def _ledgered(code: str) -> Organisation:
    return accounts.organisation_create(actor=None, code=code, name=f"{code} GmbH", kind="manufacturer")


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (dropped afterwards); skipped when no server answers."""
    psycopg = pytest.importorskip("psycopg")
    name = f"cc_ops_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} as {PG_USER}: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class TestBackup:
    def test_refuses_to_overwrite_a_file(self, tmp_path, db):
        target = tmp_path / "backup.sqlite3"
        target.write_bytes(b"precious")
        with pytest.raises(CommandError, match="already exists"):
            call_command("backup", str(target), stdout=io.StringIO())
        assert target.read_bytes() == b"precious"
        assert not manifest_path(target).exists()

    def test_refuses_when_the_manifest_exists(self, tmp_path, db):
        target = tmp_path / "backup.sqlite3"
        manifest_path(target).write_text("{}")
        with pytest.raises(CommandError, match="already exists"):
            call_command("backup", str(target), stdout=io.StringIO())
        assert not target.exists()

    @on_sqlite
    def test_refused_inside_a_transaction_with_a_clear_message(self, tmp_path, world):
        # pytest's `db` runs the test in a transaction, as an atomic block in a caller would; VACUUM cannot.
        with pytest.raises(CommandError, match="inside a transaction"):
            call_command("backup", str(tmp_path / "b.sqlite3"), stdout=io.StringIO())
        assert not (tmp_path / "b.sqlite3").exists()


@on_sqlite
class TestSqliteBackupAndRestore:
    def test_round_trip_into_a_fresh_file_verifies_with_equal_rows(
        self, tmp_path, world, ledger_transactional_db
    ):
        _ledgered("acme")
        head_issue()
        backup = tmp_path / "cellchain.sqlite3"
        call_command("backup", str(backup), stdout=io.StringIO())
        manifest = json.loads(manifest_path(backup).read_text())
        size = current_size()
        assert manifest["ledger"] == {"size": size, "root": tree_root(size).hex()}
        assert manifest["engine"] == "sqlite"

        fresh = tmp_path / "restored.sqlite3"
        done = _cellchain(["restore", str(backup)], f"sqlite:///{fresh}", tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Result: OK, every check holds." in done.stdout
        assert _sqlite_row_counts(fresh) == _row_counts()

    def test_restore_refuses_a_database_that_is_not_empty(self, tmp_path, world, ledger_transactional_db):
        backup = tmp_path / "cellchain.sqlite3"
        call_command("backup", str(backup), stdout=io.StringIO())
        with pytest.raises(CommandError, match="not empty"):
            call_command("restore", str(backup), stdout=io.StringIO())

    def test_force_replaces_the_contents_and_verifies(self, tmp_path, world, ledger_transactional_db):
        head_issue()
        backup = tmp_path / "cellchain.sqlite3"
        call_command("backup", str(backup), stdout=io.StringIO())
        counts = _row_counts()
        _ledgered("later")
        out = io.StringIO()
        call_command("restore", "--force", str(backup), stdout=out, stderr=io.StringIO())
        assert "Result: OK" in out.getvalue()
        assert not Organisation.objects.filter(code="later").exists()
        assert _row_counts() == counts

    def test_a_damaged_backup_is_refused_by_its_manifest(self, tmp_path, world, ledger_transactional_db):
        backup = tmp_path / "cellchain.sqlite3"
        call_command("backup", str(backup), stdout=io.StringIO())
        with backup.open("ab") as handle:
            handle.write(b"\0")
        fresh = tmp_path / "restored.sqlite3"
        done = _cellchain(["restore", str(backup)], f"sqlite:///{fresh}", tmp_path)
        assert done.returncode != 0
        # The command speaks the installation's language (LANGUAGE_CODE zh-hans), as an operator sees it.
        assert "与其清单中的 SHA-256 不符" in done.stderr


@on_postgresql
def test_postgresql_backup_restores_into_a_new_database(
    tmp_path, world, ledger_transactional_db, scratch_database
):
    _ledgered("acme")
    head_issue()
    backup = tmp_path / "cellchain.dump"
    call_command("backup", str(backup), stdout=io.StringIO())
    assert backup.read_bytes().startswith(b"PGDMP")
    done = _cellchain(["restore", str(backup)], scratch_database, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Result: OK, every check holds." in done.stdout
    again = _cellchain(["restore", str(backup)], scratch_database, tmp_path)
    assert again.returncode != 0 and "目标数据库不为空" in again.stderr


class TestMoveDatabase:
    """SQLite -> PostgreSQL keeps every ledger row hash and the replay holds (dumpdata would cut microseconds)."""

    def test_move_to_postgresql_keeps_every_entry_and_verifies(self, tmp_path, world, scratch_database):
        import psycopg

        _ledgered("acme")
        head_issue()
        person = type(world["qa_li"]).objects.get(pk=world["qa_li"].pk)
        out = io.StringIO()
        call_command("move_database", "--to", scratch_database, stdout=out)
        assert "Result: OK, every check holds." in out.getvalue()

        source = [
            (e.seq, bytes(e.leaf_hash), bytes(e.canonical)) for e in LedgerEntry.objects.order_by("seq")
        ]
        with psycopg.connect(scratch_database) as target:
            rows = target.execute(
                "SELECT seq, leaf_hash, canonical FROM ledger_ledgerentry ORDER BY seq"
            ).fetchall()
            moved = target.execute("SELECT date_joined FROM accounts_user WHERE id = %s", [person.pk])
            date_joined = moved.fetchone()[0]
        assert [(seq, bytes(leaf), bytes(data)) for seq, leaf, data in rows] == source
        assert date_joined == person.date_joined  # to the microsecond, which dumpdata would have cut

        # The target's sequences continue after the copied ids, so the application can write at once.
        done = _cellchain(
            [
                "shell",
                "-c",
                "from cellchain.accounts import services as s; "
                "s.organisation_create(actor=None, code='next', name='Next', kind='manufacturer')",
            ],
            scratch_database,
            tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert _cellchain(["ledger", "verify", "--no-progress"], scratch_database, tmp_path).returncode == 0

    def test_move_to_a_sqlite_file_verifies_with_equal_rows(self, tmp_path, world):
        head_issue()
        target = tmp_path / "moved.sqlite3"
        out = io.StringIO()
        call_command("move_database", "--to", f"sqlite:///{target}", stdout=out)
        assert "Result: OK, every check holds." in out.getvalue()
        assert _sqlite_row_counts(target) == _row_counts()

    def test_refuses_a_target_that_is_not_empty(self, tmp_path, world):
        target = tmp_path / "used.sqlite3"
        sqlite3.connect(target).execute("CREATE TABLE t (x)").connection.close()
        with pytest.raises(CommandError, match="not empty"):
            call_command("move_database", "--to", f"sqlite:///{target}", stdout=io.StringIO())


def test_the_cli_accepts_move_database_with_a_hyphen(monkeypatch):
    from cellchain import cli

    seen: list[list[str]] = []
    monkeypatch.setattr(cli, "_django", seen.append)
    cli.main(["move-database", "--to", "postgres://u@h/db"])
    cli.main(["ledger", "verify"])
    assert seen == [["move_database", "--to", "postgres://u@h/db"], ["ledger", "verify"]]
