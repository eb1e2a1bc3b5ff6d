"""Several installations on one machine, each a separate process with its own database and key (issue 12 item 4).

A plain module, no Django imported: `make demo-network` runs it (`python -m cellchain.core.network demo`), and
the network tests import it to start a manufacturer and a hospital as real processes.

    inst = Installation("manufacturer", "manufacturer", 8100, Path("var/network"))
    prepare([inst])                       # migrate + demo_load (in parallel for several)
    start(inst)                           # gunicorn on 127.0.0.1:8100, waits until /accounts/login/ answers
    run_command(inst, "ledger", "head", "--json")   # any management command against that installation
    stop(inst)                            # the whole process group, TERM then KILL

Each installation's environment: CELLCHAIN_VAR_DIR=<base>/<name> (SQLite database, ledger key, media, exports),
CELLCHAIN_INSTALLATION_ROLE/NAME, CELLCHAIN_LEDGER_LOG_ID=<name>, its own SECRET_KEY (kept in
<var>/secret-key so sessions and identity digests survive a restart), its own cookie names (browsers share
cookies between ports), and DATABASE_URL unset (SQLite) or a PostgreSQL database of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[2]
READY_PATH = "/accounts/login/"

# The parent's values of these would make every child share a database, key or directory.
_INHERITED_NOT = (
    "DATABASE_URL",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "CELLCHAIN_VAR_DIR",
    "CELLCHAIN_INSTALLATION_ROLE",
    "CELLCHAIN_INSTALLATION_NAME",
    "CELLCHAIN_LEDGER_LOG_ID",
    "CELLCHAIN_LEDGER_KEY_PATH",
    "CELLCHAIN_EXPORT_DIR",
    "CELLCHAIN_SQLITE_TEST_NAME",
    "CELLCHAIN_SESSION_COOKIE_NAME",
    "CELLCHAIN_CSRF_COOKIE_NAME",
)

DEMO_NETWORK = (
    # name, role, port, display name
    ("manufacturer", "manufacturer", 8100, "Shenghe (manufacturer)"),
    ("hospital-a", "hospital", 8101, "Hospital A"),
    ("hospital-b", "hospital", 8102, "Hospital B"),
)
DEMO_ORGANISATIONS = {"manufacturer": "shenghe", "hospital-a": "xiehe", "hospital-b": "renji"}
"""The organisation (accounts.world code) each demo installation belongs to."""
"""The three installations of `make demo-network` (issue 12 item 4)."""


class NetworkError(RuntimeError):
    """An installation could not be prepared, started or asked: the message names which and why."""


@dataclass
class Installation:
    """One installation: its name (also its ledger log id), role, port and data directory."""

    name: str
    role: str
    port: int
    base_dir: Path
    display_name: str = ""
    host: str = "127.0.0.1"
    organisation: str = ""
    """The code of the organisation it belongs to (CELLCHAIN_INSTALLATION_ORGANISATION); partners route by it."""
    database_url: str = ""
    """Empty for SQLite under the data directory; else this installation's own PostgreSQL database."""
    settings_module: str = "cellchain.project.settings"
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    worker: _Worker | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", self.name):
            raise NetworkError(f"Installation name {self.name!r}: use lower-case letters, digits and '-'.")
        if self.role not in ("manufacturer", "hospital", "both"):
            raise NetworkError(
                f"Installation {self.name}: role {self.role!r} is not manufacturer|hospital|both."
            )
        self.base_dir = Path(self.base_dir)

    @property
    def var_dir(self) -> Path:
        return self.base_dir / self.name

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.var_dir / "server.log"

    @property
    def sqlite_path(self) -> Path:
        """The SQLite database file (settings: CELLCHAIN_VAR_DIR/cellchain.sqlite3)."""
        return self.var_dir / "cellchain.sqlite3"

    def secret_key(self) -> str:
        """This installation's SECRET_KEY, made once and kept in its data directory."""
        path = self.var_dir / "secret-key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(
                path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
            )  # never readable by others
            with os.fdopen(descriptor, "w") as secret:
                secret.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def env(self) -> dict[str, str]:
        """The environment of every process of this installation."""
        env = {k: v for k, v in os.environ.items() if k not in _INHERITED_NOT}
        cookie = re.sub(r"[^a-z0-9]", "_", self.name)
        env.update(
            DJANGO_SETTINGS_MODULE=self.settings_module,
            PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH", "")])]),
            CELLCHAIN_VAR_DIR=str(self.var_dir),
            CELLCHAIN_INSTALLATION_ROLE=self.role,
            CELLCHAIN_INSTALLATION_NAME=self.display_name or self.name,
            CELLCHAIN_LEDGER_LOG_ID=self.name,
            CELLCHAIN_INSTALLATION_ORGANISATION=self.organisation,
            CELLCHAIN_SESSION_COOKIE_NAME=f"cc_{cookie}_session",
            CELLCHAIN_CSRF_COOKIE_NAME=f"cc_{cookie}_csrf",
            SECRET_KEY=self.secret_key(),
            PYTHONUNBUFFERED="1",
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env


def run_command(
    installation: Installation, *args: str, timeout: float = 600, input: str | None = None
) -> str:
    """Run `python -m django <args>` against this installation; its stdout, or NetworkError with stderr."""
    installation.var_dir.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(  # noqa: S603 — our interpreter, arguments from the caller
            [sys.executable, "-m", "django", *args],
            env=installation.env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise NetworkError(
            f"{installation.name}: `{' '.join(args)}` did not finish within {timeout:.0f} s."
        ) from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise NetworkError(
            f"{installation.name}: `{' '.join(args)}` failed (exit {done.returncode}):\n{tail}"
        )
    return done.stdout


_COMMANDS: dict[str, set[str]] = {}


def commands(installation: Installation) -> set[str]:
    """The management commands this installation's code has (to skip what is not merged yet); asked once per
    settings module, since every installation runs the same code."""
    if installation.settings_module not in _COMMANDS:
        listing = run_command(installation, "help", "--commands")
        _COMMANDS[installation.settings_module] = {
            line.strip() for line in listing.splitlines() if line.strip()
        }
    return _COMMANDS[installation.settings_module]


def _parallel(installations: Sequence[Installation], step: str, *args: str) -> None:
    """Run one command against each installation at the same time; raise the first failure."""
    failures: list[BaseException] = []

    def one(installation: Installation) -> None:
        try:
            run_command(installation, *args)
        except BaseException as exc:  # re-raised below, in the caller's thread
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(i,), name=f"{step}-{i.name}") for i in installations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def prepare(
    installations: Sequence[Installation],
    *,
    demo: bool = True,
    clone_schema: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> None:
    """Migrate each installation's database and load its role's demo data (idempotent), in parallel.

    clone_schema: the databases are new; migrate the first only and copy its empty schema to the others
    (SQLite backup, or PostgreSQL's CREATE DATABASE ... TEMPLATE), which saves a migrate run each.
    say: told each step as it finishes (the demo prints them).
    """
    for installation in installations:
        installation.var_dir.mkdir(parents=True, exist_ok=True)
    if clone_schema and len(installations) > 1:
        first, *others = installations
        run_command(first, "migrate", "--noinput", "-v", "0")
        for other in others:
            _clone_schema(first, other)
    else:
        _parallel(installations, "migrate", "migrate", "--noinput", "-v", "0")
    say("  databases migrated")
    if demo:
        _parallel(installations, "demo_load", "demo_load")
        say("  demo data loaded (each role's part)")


def _clone_schema(source: Installation, target: Installation) -> None:
    """Copy the source's freshly migrated database into the target's (both SQLite or both PostgreSQL)."""
    if bool(source.database_url) != bool(target.database_url):
        raise NetworkError(
            f"{source.name} and {target.name}: cannot copy a schema between SQLite and PostgreSQL."
        )
    if source.database_url:
        postgres_database_create(target.database_url, template=source.database_url)
        return
    import sqlite3

    target.sqlite_path.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source.sqlite_path)) as src,
        contextlib.closing(sqlite3.connect(target.sqlite_path)) as dst,
    ):
        src.backup(dst)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def answers(installation: Installation, path: str = READY_PATH, timeout: float = 5) -> int | None:
    """The HTTP status of GET path, or None when nothing answers."""
    try:
        with urllib.request.urlopen(installation.url + path, timeout=timeout) as response:  # noqa: S310 — http://127.0.0.1
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def start(installation: Installation, *, workers: int = 1, threads: int = 8, timeout: float = 90) -> None:
    """Serve the installation with gunicorn in a process group of its own; return once it answers."""
    if installation.process is not None and installation.process.poll() is None:
        return
    if not _port_free(installation.host, installation.port):
        raise NetworkError(
            f"{installation.name}: port {installation.port} on {installation.host} is already in use; "
            "stop what listens there (another `make demo-network`?) and try again."
        )
    installation.var_dir.mkdir(parents=True, exist_ok=True)
    log = installation.log_path.open("ab")
    installation.process = subprocess.Popen(  # noqa: S603 — our interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "cellchain.project.wsgi:application",
            "--bind",
            f"{installation.host}:{installation.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--access-logfile",
            "-",
        ],
        env=installation.env(),
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop() ends the master and its workers together
    )
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if installation.process.poll() is not None:
            raise NetworkError(
                f"{installation.name}: the server exited (code {installation.process.returncode}) before it "
                f"answered; see {installation.log_path}:\n{_tail(installation.log_path)}"
            )
        if answers(installation, timeout=2) == 200:
            return
        time.sleep(0.3)
    stop(installation)
    raise NetworkError(
        f"{installation.name}: no answer on {installation.url}{READY_PATH} within {timeout:.0f} s; "
        f"see {installation.log_path}:\n{_tail(installation.log_path)}"
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop_group(process: subprocess.Popen[bytes] | None, grace: float = 10) -> None:
    """TERM the process group, then KILL what is still there after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


def stop(installation: Installation) -> None:
    """Stop the installation's worker and server (each a process group of its own)."""
    if installation.worker is not None:
        installation.worker.stop()
        installation.worker = None
    _stop_group(installation.process)
    installation.process = None


class _Worker:
    """Keeps `python -m django exchange_run` running: started again when it ends (one pass or a crash)."""

    def __init__(self, installation: Installation, interval: float, poll: float | None = None) -> None:
        self.installation, self.interval, self.poll = installation, interval, poll
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"worker-{installation.name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        log_path = self.installation.var_dir / "worker.log"
        while not self._stopping.is_set():
            with log_path.open("ab") as log:
                self.process = subprocess.Popen(  # noqa: S603 — our interpreter, fixed arguments
                    [
                        sys.executable,
                        "-m",
                        "django",
                        "exchange_run",
                        *(["--interval", str(self.poll)] if self.poll is not None else []),
                    ],
                    env=self.installation.env(),
                    cwd=REPO,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.process.wait()
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        self._stopping.set()
        _stop_group(self.process)
        self._thread.join(timeout=15)


def start_worker(installation: Installation, *, interval: float = 5, poll: float | None = None) -> bool:
    """Run the exchange worker for this installation; False (and nothing started) when it has none yet.

    interval: seconds before the worker is started again after it ended; poll: its `--interval` (seconds
    between polls when nothing is due; the command's default when None).
    """
    if "exchange_run" not in commands(installation):
        return False
    if installation.worker is None:
        installation.worker = _Worker(installation, interval, poll)
    return True


def stop_worker(installation: Installation) -> None:
    """Stop the installation's exchange worker (its server keeps running)."""
    if installation.worker is not None:
        installation.worker.stop()
        installation.worker = None


def identity(installation: Installation) -> dict[str, str]:
    """`exchange_identity`: the installation's name, role, ledger log id and public key (JSON)."""
    text = run_command(installation, "exchange_identity")
    try:
        found = json.loads(text)
    except json.JSONDecodeError:
        raise NetworkError(
            f"{installation.name}: exchange_identity printed no JSON: {text[:200]!r}"
        ) from None
    missing = [key for key in ("name", "role", "log_id", "public_key") if key not in found]
    if missing:
        raise NetworkError(f"{installation.name}: exchange_identity gave no {', '.join(missing)}: {found}")
    return {key: str(value) for key, value in found.items()}


def _partners(installations: Sequence[Installation]) -> Iterator[tuple[Installation, Installation]]:
    """The pairs that exchange: a manufacturer (or "both") with each hospital (or "both"), never hospital-hospital."""
    for i, first in enumerate(installations):
        for second in installations[i + 1 :]:
            if {first.role, second.role} != {"hospital"} and {first.role, second.role} != {"manufacturer"}:
                yield first, second


def link_partners(installations: Sequence[Installation]) -> list[str]:
    """Register each exchanging pair with each other (issue 12 item 4), through the exchange CLI:
    `exchange_identity` on both, then on each side `exchange_partner_add --name N --role R --base-url URL
    --log-id L --public-key B64 --outbound-token-file F --inbound-token-file F` naming the other, with one fresh
    token shared by the pair, kept in a 0600 file under each side's data directory (never on a command line).

    Returns what was done, one line per installation and pair; when an installation's code has no exchange
    commands yet, nothing is registered and the lines say that linking is pending.
    """
    required = {"exchange_identity", "exchange_partner_add"}
    notes: list[str] = []
    pending = [i.name for i in installations if not required <= commands(i)]
    if pending:
        return [
            f"Partner linking pending: {', '.join(pending)} has no exchange_identity/exchange_partner_add "
            "command yet (the exchange app is not merged)."
        ]
    identities = {i.name: identity(i) for i in installations}
    for first, second in _partners(installations):
        token = secrets.token_urlsafe(32)
        for here, there in ((first, second), (second, first)):
            other = identities[there.name]
            token_file = _pair_token_file(here, there, token)
            run_command(
                here,
                "exchange_partner_add",
                "--name",
                other["name"],
                "--role",
                other["role"],
                "--base-url",
                there.url,
                "--log-id",
                other["log_id"],
                "--public-key",
                other["public_key"],
                "--outbound-token-file",
                str(token_file),
                "--inbound-token-file",
                str(token_file),
                *(["--organisation", other["organisation"]] if other.get("organisation") else []),
            )
            notes.append(f"{here.name}: partner {there.name} ({other['role']}, log {other['log_id']}) added")
    return notes


def _pair_token_file(here: Installation, there: Installation, token: str) -> Path:
    """Write the pair's shared API token where only `here` reads it (0600), and return its path."""
    folder = here.var_dir / "exchange"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pair-{there.name}.token"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    return path


# PostgreSQL: one database per installation, made and dropped by the caller (the network tests).


def postgres_url_for(base_url: str, name: str) -> str:
    """The base URL with the database name <base>_<name> (letters, digits and '_')."""
    parts = urlsplit(base_url)
    database = (parts.path.lstrip("/") or "cellchain") + "_" + re.sub(r"[^a-z0-9]", "_", name)
    return urlunsplit(parts._replace(path="/" + database))


def _postgres_admin(url: str) -> tuple[str, object]:
    import psycopg

    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    return database, psycopg.connect(admin, autocommit=True)


def postgres_database_create(url: str, *, template: str = "") -> None:
    """Create the database of this URL, empty or as a copy of the template URL's database (dropped first when a
    previous run left it)."""
    from psycopg import sql

    database, connection = _postgres_admin(url)
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(urlsplit(template).path.lstrip("/")))
    with connection as conn:  # type: ignore[attr-defined]
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        conn.execute(create)


def postgres_database_drop(url: str) -> None:
    """Drop the database of this URL (its connections are closed first)."""
    from psycopg import sql

    database, connection = _postgres_admin(url)
    with connection as conn:  # type: ignore[attr-defined]
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


# `make demo-network`


def demo_network(
    base_dir: Path, specs: Iterable[tuple[str, str, int, str]] = DEMO_NETWORK
) -> list[Installation]:
    """The demo's installations under base_dir (SQLite each)."""
    return [
        Installation(
            name, role, port, base_dir, display_name=shown, organisation=DEMO_ORGANISATIONS.get(name, "")
        )
        for name, role, port, shown in specs
    ]


DEMO_PASSWORD = "cellchain-demo-2026"  # noqa: S105 — the demo world's (accounts.world.DEMO_PASSWORD; a test keeps them equal)
DEMO_SIGN_IN = {
    "manufacturer": ("qa_li", "qc_zhang", "operator_chen", "logistics_zhao", "auditor_shenghe"),
    "hospital": ("physician_wang", "nurse_wang", "pharmacist_liu", "apheresis_sun", "coordinator_zhou"),
    "both": ("qa_li", "physician_wang", "nurse_wang", "logistics_zhao"),
}
"""Demo personas to sign in as on each role's installation (accounts.world.PEOPLE; a test keeps them there)."""


def _demo(base_dir: Path) -> int:
    installations = demo_network(base_dir)
    busy = [i for i in installations if not _port_free(i.host, i.port)]
    if busy:
        print(f"Ports in use: {', '.join(str(i.port) for i in busy)}; stop what listens there first.")
        return 1

    def say(line: str) -> None:
        print(line, flush=True)

    fresh = not any(i.sqlite_path.exists() for i in installations)
    say(f"Preparing {len(installations)} installations under {base_dir}/ (migrate, demo data; minutes) ...")
    prepare(installations, clone_schema=fresh, say=say)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        for installation in installations:
            start(installation, workers=2, threads=4)
            say(f"  {installation.name} serving on {installation.url}/")
        for line in link_partners(installations):
            print(line)
        for installation in installations:
            if not start_worker(installation):
                print(
                    f"{installation.name}: no exchange_run command yet: the exchange worker is not running."
                )
        print()
        for installation in installations:
            print(f"  {installation.name:<13} {installation.role:<13} {installation.url}/")
            print(f"      data {installation.var_dir}/  log {installation.log_path}")
            print(
                f"      sign in as {', '.join(DEMO_SIGN_IN[installation.role])} (password '{DEMO_PASSWORD}')"
            )
        print("\nAll three are running; Ctrl-C stops them.", flush=True)
        while not stopping.is_set():
            for installation in installations:
                if installation.process is not None and installation.process.poll() is not None:
                    print(f"{installation.name} stopped (exit {installation.process.returncode}); "
                          f"see {installation.log_path}")  # fmt: skip
                    stopping.set()
            stopping.wait(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping ...", flush=True)
        for installation in installations:
            stop(installation)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m cellchain.core.network demo [--base var/network]`."""
    parser = argparse.ArgumentParser(prog="python -m cellchain.core.network")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="start the demo network: a manufacturer and two hospitals")
    demo.add_argument("--base", type=Path, default=REPO / "var" / "network")
    options = parser.parse_args(argv)
    try:
        return _demo(options.base.resolve())
    except NetworkError as exc:
        print(f"demo-network: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
