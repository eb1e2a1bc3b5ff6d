"""Bedside-check load bench (issue 7): two scans to verdict under concurrent load, against trivial endpoints.

Starts the real app under gunicorn on loopback with a fresh database, then drives it with a Python load driver
(threads, one keep-alive connection each). The same number of concurrent clients and requests is sent to:

* ``POST /api/clinic/courses/<id>/bedside-scan`` - wristband + unit scan to a verdict: unit lookup, domain
  verdict, the bedside-check row and its ledger entry written in one transaction (token-authenticated);
* ``GET /health/`` and ``GET /api/accounts/me`` - trivial endpoints of the same app (the latter with the same
  token authentication).

Prints p50/p95 of each and the p95 ratios (target: bedside p95 <= 3 x the trivial endpoint's p95).

    .venv/bin/python bench/bench_bedside.py                       # SQLite, 8 clients x 40 requests
    .venv/bin/python bench/bench_bedside.py --database postgres --clients 16 --requests 50
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-2026"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_DB = "cellchain_bench_bedside"


def _env(var_dir: str, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CELLCHAIN_VAR_DIR": var_dir,
            "CELLCHAIN_DEBUG": "false",
            "SECRET_KEY": "bench-only-" + "x" * 40,
            "CELLCHAIN_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CELLCHAIN_LOG_LEVEL": "WARNING",
            "CELLCHAIN_SSL_REDIRECT": "false",
            "CELLCHAIN_DB_CONN_MAX_AGE": "60",
            "DJANGO_SETTINGS_MODULE": "cellchain.project.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


SETUP = r"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from cellchain.accounts.services import api_token_create
from cellchain.accounts.world import build_world
from cellchain.clinic import samples, services
from cellchain.core import clock
import datetime as dt
world = build_world(password=%(password)r)
doctor, site = world["physician_wang"], world.sites["xiehe-main"]
product = samples.product(doctor, world.organisations["shenghe"], usable_after_thaw_min=600)
samples.site_ready(doctor, site, product, %(password)r)
course = samples.course(world["coordinator_zhou"], site, product, 1, physician=doctor)
unit = samples.unit(world["pharmacist_liu"], course, 1)
now = clock.now()
services.thaw_record(actor=world["nurse_wang"], unit=unit, started_at=now - dt.timedelta(minutes=8),
                     ended_at=now - dt.timedelta(minutes=1), temperature_c=37.0, method="water_bath", area="A",
                     device="D", appearance_normal=True, no_shaking_confirmed=True, precautions_acknowledged=True)
_token, raw = api_token_create(actor=world["nurse_wang"], name="bench")
print(json.dumps({"course": course.pk, "wristband": course.patient_wristband_id,
                  "unit": samples.din_barcode(1), "token": raw}))
"""


def _setup(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-c", SETUP % {"password": PASSWORD}],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"setup failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "cellchain.project.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--log-level",
        "warning",
        "--keep-alive",
        "30",
    ]
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("gunicorn did not start")


def _client(
    port: int,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    count: int,
    times: list[float],
    errors: list[str],
    start: threading.Event,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start.wait()
    for _ in range(count):
        began = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - began)
        if response.status != 200:
            errors.append(f"{method} {path}: {response.status}")
    conn.close()


def _load(
    port: int,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    clients: int,
    requests: int,
) -> tuple[list[float], list[str], float]:
    times: list[float] = []
    errors: list[str] = []
    start = threading.Event()
    workers = [
        threading.Thread(
            target=_client, args=(port, method, path, body, headers, requests, times, errors, start)
        )
        for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    start.set()
    for worker in workers:
        worker.join()
    return times, errors, time.perf_counter() - began


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def _report(name: str, times: list[float], errors: list[str], wall: float) -> float:
    if errors:
        sys.exit(f"{name}: {len(errors)} failed requests, first: {errors[0]}")
    p50, p95 = _pct(times, 0.50), _pct(times, 0.95)
    print(
        f"{name:<34} n={len(times):>4}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
        f"mean {statistics.fmean(times) * 1000:7.1f} ms  {len(times) / wall:6.1f} req/s"
    )
    return p95


def _postgres_url() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=int(os.environ.get("BENCH_CLIENTS", 8)))
    parser.add_argument(
        "--requests",
        type=int,
        default=int(os.environ.get("BENCH_REQUESTS", 40)),
        help="requests per client per endpoint",
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cellchain-bench-bedside-") as var_dir:
        Path(var_dir, "static").mkdir()
        env = _env(var_dir, _postgres_url() if args.database == "postgres" else "")
        data = _setup(env)
        port = _free_port()
        server = _serve(env, port, args.workers, args.threads)
        try:
            return _run(args, port, data)
        finally:
            server.terminate()
            server.wait(timeout=20)


def _run(args: argparse.Namespace, port: int, data: dict[str, str]) -> int:
    auth = {"Authorization": f"Bearer {data['token']}", "Host": "127.0.0.1"}
    scan = json.dumps({"wristband": data["wristband"], "unit": data["unit"]}).encode()
    scan_path = f"/api/clinic/courses/{data['course']}/bedside-scan"
    endpoints = {
        "GET /health/ (trivial)": ("GET", "/health/", None, {"Host": "127.0.0.1"}),
        "GET /api/accounts/me (trivial+auth)": ("GET", "/api/accounts/me", None, auth),
        "POST bedside-scan (2 scans->verdict)": (
            "POST",
            scan_path,
            scan,
            {**auth, "Content-Type": "application/json"},
        ),
    }
    for method, path, body, headers in endpoints.values():  # warm up every worker and connection
        _load(port, method, path, body, headers, args.clients, 3)
    print(
        f"database {args.database}; gunicorn {args.workers} workers x {args.threads} threads; "
        f"{args.clients} concurrent clients x {args.requests} requests per endpoint, in {args.rounds} "
        "interleaved rounds (loopback)"
    )
    results: dict[str, tuple[list[float], list[str], float]] = {name: ([], [], 0.0) for name in endpoints}
    per_round = max(1, args.requests // args.rounds)
    for _ in range(args.rounds):  # interleaved, so drifting background load hits every endpoint alike
        for name, (method, path, body, headers) in endpoints.items():
            times, errors, wall = _load(port, method, path, body, headers, args.clients, per_round)
            total = results[name]
            results[name] = (total[0] + times, total[1] + errors, total[2] + wall)
    p95 = {name: _report(name, *result) for name, result in results.items()}
    health, me, bedside = p95.values()
    print(
        f"p95 ratio bedside / health: {bedside / health:5.2f}   bedside / me: {bedside / me:5.2f}   (target <= 3)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
