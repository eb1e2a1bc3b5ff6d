"""Backup, restore and moving the database to another engine, each checked by a ledger verify (issue 15 item 3).

* `backup_database`: a consistent online copy. SQLite: `VACUUM INTO` on the live connection (a snapshot even
  under WAL with writers going on). PostgreSQL: `pg_dump --format=custom` reading the snapshot of a
  REPEATABLE READ transaction of ours, so the manifest's ledger size and root are those of the dump.
* `restore_database`: the copy back into an EMPTY database (or over one with `force`), then `verify_ledger`.
* `move_database`: every row of every table, typed values read with the source connection and written with
  the target's (never JSON: `dumpdata` cuts datetimes to milliseconds and the replay then fails, decision 0011).

The ledger is written by the application only; these functions copy it verbatim and never append to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url
from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import ConnectionHandler
from django.utils.translation import gettext as _

from cellchain.core.errors import ServiceError
from cellchain.domain import merkle
from cellchain.ledger.models import LedgerEntry, LedgerHead, LedgerNode
from cellchain.ledger.state import utc_time
from cellchain.ledger.triggers import APPEND_ONLY_TABLES
from cellchain.ledger.verify import LedgerReport, verify_ledger

MANIFEST_FORMAT = "cellchain-backup/1"
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
COPY_CHUNK = 2000


class OperationRefused(ServiceError):
    """A backup, restore or move was refused before anything was written (what, where, why)."""

    code = "operation_refused"


@dataclass(frozen=True)
class LedgerPosition:
    """The ledger's tree size and RFC 9162 root at one moment: what a backup holds and a restore must show."""

    size: int
    root: bytes

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "root": self.root.hex()}


@dataclass
class RestoreResult:
    """The verification of the restored database, and whether its ledger is the one the manifest names."""

    report: LedgerReport
    manifest: dict[str, Any] | None
    position: LedgerPosition
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok and not self.problems


@dataclass
class MoveResult:
    """Rows copied per table, and the ledger verify run on the target (its exit status and its report)."""

    rows: dict[str, int]
    verify_ok: bool
    verify_output: str
    mismatched: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verify_ok and not self.mismatched


# --- shared -------------------------------------------------------------------------------------------------


def manifest_path(path: Path) -> Path:
    """The manifest written beside a backup file: `<file>.manifest.json`."""
    return path.with_name(path.name + ".manifest.json")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _position_from(read_size: Any, read_node: Any) -> LedgerPosition:
    """The size from `read_size()` and the root from `read_node(level, index)` (leaves are level 0)."""
    size = read_size()
    return LedgerPosition(size, merkle.root(size, read_node))


def _current_position() -> LedgerPosition:
    from cellchain.ledger.heads import current_size, tree_root

    size = current_size()
    return LedgerPosition(size, tree_root(size))


def _sqlite_file_position(path: Path) -> LedgerPosition:
    """The ledger position inside a SQLite file, read with a read-only connection of its own."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:

        def size() -> int:
            row = db.execute(f"SELECT size FROM {LedgerHead._meta.db_table} WHERE id = 1").fetchone()  # noqa: S608
            return int(row[0]) if row else 0

        def node(level: int, index: int) -> bytes:
            if level == 0:
                sql = f"SELECT leaf_hash FROM {LedgerEntry._meta.db_table} WHERE seq = ?"  # noqa: S608
                row = db.execute(sql, [index]).fetchone()
            else:
                sql = f'SELECT hash FROM {LedgerNode._meta.db_table} WHERE level = ? AND "index" = ?'  # noqa: S608
                row = db.execute(sql, [level, index]).fetchone()
            if row is None:
                raise OperationRefused(
                    _("%(path)s: the ledger tree node (level %(level)s, index %(index)s) is missing")
                    % {"path": path, "level": level, "index": index}
                )
            return bytes(row[0])

        return _position_from(size, node)
    finally:
        db.close()


def _pg_env(config: dict[str, Any]) -> dict[str, str]:
    """libpq's environment for a Django PostgreSQL configuration: the password never goes into argv."""
    env = dict(os.environ)
    pairs = {
        "PGHOST": config.get("HOST"),
        "PGPORT": config.get("PORT"),
        "PGUSER": config.get("USER"),
        "PGPASSWORD": config.get("PASSWORD"),
        "PGDATABASE": config.get("NAME"),
    }
    options = config.get("OPTIONS") or {}
    for option in ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "passfile"):
        if options.get(option):
            pairs[f"PG{option.upper()}"] = options[option]
    env.update({name: str(value) for name, value in pairs.items() if value not in (None, "")})
    return env


def _run(
    argv: list[str], env: dict[str, str], what: str, **kwargs: Any
) -> subprocess.CompletedProcess[bytes]:
    """Run a tool; a failure is refused with the tool's own last lines (never the environment)."""
    try:
        done = subprocess.run(argv, env=env, capture_output="stdout" not in kwargs, check=False, **kwargs)  # noqa: S603
    except FileNotFoundError:
        raise OperationRefused(
            _("%(tool)s is not installed on this machine (needed to %(what)s)")
            % {"tool": argv[0], "what": what}
        ) from None
    if done.returncode != 0:
        tail = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-8:]
        raise OperationRefused(
            _("%(tool)s failed to %(what)s (exit %(code)s): %(error)s")
            % {"tool": argv[0], "what": what, "code": done.returncode, "error": " / ".join(tail)}
        )
    return done


def _exists(path: Path) -> OperationRefused:
    return OperationRefused(
        _("%(path)s already exists: a backup never overwrites a file; choose a new name") % {"path": path}
    )


def _table_names(conn: BaseDatabaseWrapper) -> list[str]:
    """Every table in the database behind `conn` (an empty list: a new, empty database)."""
    with conn.cursor() as cursor:
        return sorted(conn.introspection.table_names(cursor))


def _refuse_inside_transaction(conn: BaseDatabaseWrapper, what: str) -> None:
    """VACUUM, the backup API and our snapshot transaction each need the connection outside any transaction."""
    if conn.in_atomic_block:
        raise OperationRefused(
            _("cannot %(what)s inside a transaction: run it as its own command") % {"what": what}
        )


# --- backup -------------------------------------------------------------------------------------------------


def backup_database(path: Path) -> dict[str, Any]:
    """Write a consistent copy of the default database to `path` and its manifest; refuse to overwrite."""
    path = Path(path)
    manifest_file = manifest_path(path)
    for existing in (path, manifest_file):
        if existing.exists():
            raise _exists(existing)
    if not path.parent.is_dir():
        raise OperationRefused(_("%(path)s: no such directory") % {"path": path.parent})
    try:
        if connection.vendor == "sqlite":
            position = _backup_sqlite(path)
        elif connection.vendor == "postgresql":
            position = _backup_postgresql(path)
        else:
            raise OperationRefused(
                _("no backup for database engine %(vendor)s") % {"vendor": connection.vendor}
            )
    except FileExistsError:
        # Created by someone else since the check above: theirs, so it stays.
        raise _exists(path) from None
    except BaseException:
        path.unlink(missing_ok=True)  # a partial copy must not look like a backup
        raise
    manifest = {
        "format": MANIFEST_FORMAT,
        "engine": connection.vendor,
        "file": path.name,
        "sha256": _sha256_file(path),
        "bytes": path.stat().st_size,
        "created_at": utc_time(dt.datetime.now(dt.UTC)),
        "log_id": settings.CELLCHAIN_LEDGER_LOG_ID,
        "ledger": position.to_json(),
    }
    with manifest_file.open("x", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
        handle.write("\n")
    return manifest


def _backup_sqlite(path: Path) -> LedgerPosition:
    """VACUUM INTO: one read transaction, so the file is a snapshot even while others write (WAL)."""
    _refuse_inside_transaction(connection, _("back up SQLite"))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(path)])
    # The position is read from the copy itself, so it is exactly what the copy holds.
    return _sqlite_file_position(path)


def _backup_postgresql(path: Path) -> LedgerPosition:
    """pg_dump of the snapshot our REPEATABLE READ transaction exported, after reading the ledger in it."""
    _refuse_inside_transaction(connection, _("back up PostgreSQL"))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        position = _current_position()
        env = _pg_env(connection.settings_dict)
        with path.open("xb") as handle:
            argv = ["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-password"]
            _run(argv, env, _("back up the database"), stdout=handle, stderr=subprocess.PIPE)
    return position


# --- restore ------------------------------------------------------------------------------------------------


def _read_manifest(path: Path) -> dict[str, Any] | None:
    file = manifest_path(path)
    if not file.exists():
        return None
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise OperationRefused(
            _("%(path)s: not a readable manifest (%(error)s)") % {"path": file, "error": error}
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise OperationRefused(_("%(path)s: not a CellChain backup manifest") % {"path": file})
    return manifest


def _backup_engine(path: Path) -> str:
    with path.open("rb") as handle:
        magic = handle.read(len(SQLITE_MAGIC))
    if magic.startswith(SQLITE_MAGIC):
        return "sqlite"
    if magic.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise OperationRefused(
        _("%(path)s is neither a SQLite database nor a pg_dump custom-format archive") % {"path": path}
    )


def restore_database(path: Path, *, force: bool = False) -> RestoreResult:
    """Restore a backup into the default database (empty, or replaced with `force`), then verify the ledger."""
    path = Path(path)
    if not path.is_file():
        raise OperationRefused(_("%(path)s: no such backup file") % {"path": path})
    manifest = _read_manifest(path)
    problems: list[str] = []
    if manifest is not None and manifest.get("sha256") != _sha256_file(path):
        raise OperationRefused(
            _("%(path)s does not match the SHA-256 in its manifest: the file is damaged or not this backup")
            % {"path": path}
        )
    engine = _backup_engine(path)
    if engine != connection.vendor:
        raise OperationRefused(
            _(
                "%(path)s is a %(engine)s backup but this installation runs on %(vendor)s: restore it into "
                "%(engine)s, then use `cellchain move-database --to ...`"
            )
            % {"path": path, "engine": engine, "vendor": connection.vendor}
        )
    tables = _table_names(connection)
    if tables and not force:
        raise OperationRefused(
            _(
                "the target database is not empty (%(count)s tables, e.g. %(example)s): restore into a new "
                "empty database, or pass --force to replace its contents"
            )
            % {"count": len(tables), "example": tables[0]}
        )
    _refuse_inside_transaction(connection, _("restore"))
    if engine == "sqlite":
        _restore_sqlite(path)
    else:
        _restore_postgresql(path, clean=bool(tables))
    position = _current_position()
    if manifest is not None and manifest.get("ledger") != position.to_json():
        problems.append(
            _("the restored ledger is at size %(size)s root %(root)s, the manifest says %(expected)s")
            % {"size": position.size, "root": position.root.hex(), "expected": manifest.get("ledger")}
        )
    return RestoreResult(verify_ledger(), manifest, position, problems)


def _restore_sqlite(path: Path) -> None:
    """SQLite's online backup API, page by page from the file into the open connection (replaces all)."""
    connection.ensure_connection()
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        source.backup(connection.connection)
    finally:
        source.close()


def _restore_postgresql(path: Path, *, clean: bool) -> None:
    """pg_restore in one transaction, stopping at the first error; `clean` drops what the dump recreates."""
    config = connection.settings_dict
    connection.close()
    argv = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    argv += ["--no-password", f"--dbname={config['NAME']}"]
    if clean:
        argv += ["--clean", "--if-exists"]
    _run([*argv, str(path)], _pg_env(config), _("restore the database"))


# --- move ---------------------------------------------------------------------------------------------------


def _target_config(url: str) -> dict[str, Any]:
    try:
        config = dict(dj_database_url.parse(url))
    except ValueError as error:
        raise OperationRefused(_("--to is not a database URL: %(error)s") % {"error": error}) from None
    if config.get("ENGINE") == "django.db.backends.sqlite3":
        options = config.setdefault("OPTIONS", {})
        options.update({key: value for key, value in settings.SQLITE_OPTIONS.items() if key not in options})
    return config


@contextmanager
def _target_connection(config: dict[str, Any]) -> Iterator[BaseDatabaseWrapper]:
    """A connection of its own to the target, outside Django's `connections` (nothing else may use it)."""
    # Django insists on a "default" alias; the empty one is its dummy backend and is never opened.
    handler = ConnectionHandler({"default": {}, "move_target": config})
    target = handler["move_target"]
    try:
        yield target
    finally:
        target.close()


def _same_database(config: dict[str, Any]) -> bool:
    source = connection.settings_dict
    keys = ("ENGINE", "NAME", "HOST", "PORT")
    return all(str(source.get(key) or "") == str(config.get(key) or "") for key in keys)


def _cli(args: list[str], url: str) -> subprocess.CompletedProcess[bytes]:
    """Run `cellchain ARGS` against the database at `url` (a process of its own: its own settings)."""
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "cellchain.cli", *args], env=env, capture_output=True, check=False
    )


def copied_models() -> list[type[models.Model]]:
    """Every table-owning model (many-to-many tables included) with its foreign-key targets before it."""
    candidates = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and not model._meta.swapped
    ]
    ordered: list[type[models.Model]] = []
    seen: set[type[models.Model]] = set()

    def visit(model: type[models.Model], path: frozenset[type[models.Model]]) -> None:
        if model in seen or model in path:
            return  # a cycle (or self-reference) is fine: foreign keys are checked at commit (deferred)
        for fk in model._meta.concrete_fields:
            related = fk.related_model if fk.is_relation else None
            if related is not None and related in candidates:
                visit(related, path | {model})
        seen.add(model)
        ordered.append(model)

    for model in sorted(candidates, key=lambda m: m._meta.label):
        visit(model, frozenset())
    return ordered


def _pending_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def move_database(url: str, *, chunk: int = COPY_CHUNK) -> MoveResult:
    """Copy the default database into the empty database at `url`, exact values, then verify the target."""
    config = _target_config(url)
    if _same_database(config):
        raise OperationRefused(_("--to names the database this installation already uses"))
    pending = _pending_migrations()
    if pending:
        raise OperationRefused(
            _("the source database has unapplied migrations (%(names)s): run `cellchain migrate` first")
            % {"names": ", ".join(pending[:5])}
        )
    with _target_connection(config) as target:
        tables = _table_names(target)
        if tables:
            raise OperationRefused(
                _(
                    "the target database is not empty (%(count)s tables, e.g. %(example)s): move into a new empty database"
                )
                % {"count": len(tables), "example": tables[0]}
            )
        target.close()
        # The target gets its schema, triggers and constraints from the migrations, as a new installation does.
        done = _cli(["migrate", "--noinput", "-v", "0"], url)
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-8:]
            raise OperationRefused(_("migrating the target failed: %(error)s") % {"error": " / ".join(tail)})
        rows = _copy_rows(target, chunk)
        mismatched = _count_mismatches(target, rows)
    verify = _cli(["ledger", "verify", "--no-progress"], url)
    output = (verify.stdout + verify.stderr).decode("utf-8", "replace")
    return MoveResult(rows, verify.returncode == 0, output, mismatched)


def _copy_rows(target: BaseDatabaseWrapper, chunk: int) -> dict[str, int]:
    """In one target transaction: empty what migrate seeded (content types ...), insert every source row."""
    ordered = copied_models()
    counts: dict[str, int] = {}
    quote = target.ops.quote_name
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as source_cursor:
        # One snapshot of the source for every table (SQLite's BEGIN IMMEDIATE already holds writers off).
        if connection.vendor == "postgresql" and outermost:
            source_cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        target.set_autocommit(False)
        try:
            with target.cursor() as cursor:
                for model in reversed(ordered):
                    table = model._meta.db_table
                    if table not in APPEND_ONLY_TABLES:
                        cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608
                for model in ordered:
                    counts[model._meta.db_table] = _copy_model(model, cursor, target, chunk)
                for sql in target.ops.sequence_reset_sql(no_style(), ordered):
                    cursor.execute(sql)
            target.commit()
        except BaseException:
            target.rollback()
            raise
        finally:
            target.set_autocommit(True)
    return counts


def _copy_model(model: type[models.Model], cursor: Any, target: BaseDatabaseWrapper, chunk: int) -> int:
    """Read typed values (the source's converters), write them prepared for the target: no text detour."""
    fields = list(model._meta.concrete_fields)
    quote = target.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    values = (
        model._base_manager.using(connection.alias)
        .order_by("pk")
        .values_list(*(f.attname for f in fields))
        .iterator(chunk_size=chunk)
    )
    batch: list[list[Any]] = []
    copied = 0
    for row in values:
        batch.append(
            [f.get_db_prep_save(value, connection=target) for f, value in zip(fields, row, strict=True)]
        )
        if len(batch) >= chunk:
            cursor.executemany(sql, batch)
            copied, batch = copied + len(batch), []
    if batch:
        cursor.executemany(sql, batch)
        copied += len(batch)
    return copied


def _count_mismatches(target: BaseDatabaseWrapper, copied: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Tables whose row count on the target differs from what was copied (source count, target count)."""
    quote = target.ops.quote_name
    mismatched = {}
    with target.cursor() as cursor:
        for table, count in copied.items():
            cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608
            found = cursor.fetchone()[0]
            if found != count:
                mismatched[table] = (count, found)
    return mismatched
