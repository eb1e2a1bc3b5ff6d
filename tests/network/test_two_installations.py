"""Two installations, two processes, two databases (issue 12 item 4): each answers on its own port, keeps its own
ledger (log id and signing key), and the manufacturer's database holds none of the hospital's patient
identifiers (X-7)."""

from __future__ import annotations

import json
import sqlite3
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

from cellchain.core import network
from cellchain.core.network import Installation

# Issues a signed tree head and prints it with an API token of the installation's auditor (read-only).
HEAD_AND_TOKEN = """
import json
from cellchain.accounts.models import User
from cellchain.accounts.services import api_token_create
from cellchain.ledger.heads import head_issue
head_issue()
auditor = User.objects.filter(username__startswith="auditor_", site__code=SITE).get()
_token, raw = api_token_create(actor=auditor, name="network test")
print(json.dumps({"token": raw}))
"""

# The hospital's patient identifiers: the enrolled patients' identities and the clinic's wristband ids.
IDENTITIES = """
import json
from cellchain.clinic.models import TreatmentCourse
from cellchain.journeys.models import PatientIdentity
rows = PatientIdentity.objects.values_list("name", "birth_date", "hospital_record_number", "wristband_id")
found = {"identities": [[str(value) for value in row] for row in rows]}
found["wristbands"] = list(TreatmentCourse.objects.values_list("patient_wristband_id", flat=True))
print(json.dumps(found, ensure_ascii=False))
"""


def _shell_json(installation: Installation, code: str) -> Any:
    """Run Python in the installation's `shell`; the JSON its last printed line holds."""
    output = network.run_command(installation, "shell", "--no-imports", "-c", code)
    return json.loads(output.strip().splitlines()[-1])


def _each(installations: list[Installation], job: Callable[[Installation], Any]) -> dict[str, Any]:
    """Run job on every installation at once (each costs a process start)."""
    results: dict[str, Any] = {}
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i.name, job(i))) for i in installations
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) == {i.name for i in installations}, "a command failed: see the output above"
    return results


def _get_json(installation: Installation, path: str, token: str) -> Any:
    request = urllib.request.Request(  # noqa: S310 — http://127.0.0.1
        installation.url + path, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 — http://127.0.0.1
        return json.loads(response.read())


def _stored_bytes(installation: Installation) -> bytes:
    """Everything the installation's database holds: the SQLite files' raw bytes, or on PostgreSQL every
    text, binary and date column of every table, concatenated."""
    if not installation.database_url:
        files = [installation.sqlite_path, installation.sqlite_path.with_name("cellchain.sqlite3-wal")]
        # The WAL may hold pages not yet copied into the main file: read both, as they are on disk.
        sqlite3.connect(installation.sqlite_path).close()
        return b"".join(path.read_bytes() for path in files if path.exists())
    import psycopg
    from psycopg import sql

    chunks: list[bytes] = []
    with psycopg.connect(installation.database_url.replace("postgres://", "postgresql://", 1)) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'bytea', 'jsonb', 'json', 'date')"
        ).fetchall()
        for table, column in columns:
            query = sql.SQL("SELECT {}::text FROM {}").format(sql.Identifier(column), sql.Identifier(table))
            chunks += [value.encode() for (value,) in conn.execute(query) if value is not None]
            query = sql.SQL("SELECT {} FROM {}").format(sql.Identifier(column), sql.Identifier(table))
            chunks += [bytes(v) for (v,) in conn.execute(query) if isinstance(v, bytes | memoryview)]
    return b"\n".join(chunks)


def test_both_installations_answer_on_their_own_ports(installations: dict[str, Installation]) -> None:
    for installation in installations.values():
        assert network.answers(installation) == 200, installation.name
    assert installations["manufacturer"].port != installations["hospital"].port


def test_each_keeps_its_own_ledger(installations: dict[str, Installation]) -> None:
    sites = {"manufacturer": "shenghe-prod", "hospital": "xiehe-main"}
    pair = list(installations.values())
    tokens = _each(
        pair,
        lambda i: _shell_json(i, f"SITE = {sites[i.role]!r}\n" + HEAD_AND_TOKEN)["token"],
    )
    heads = {i.name: _get_json(i, "/api/ledger/heads/latest", tokens[i.name]) for i in pair}
    keys = {i.name: _get_json(i, "/api/ledger/keys", tokens[i.name]) for i in pair}

    assert {name: head["log_id"] for name, head in heads.items()} == {
        "manufacturer": "manufacturer",
        "hospital": "hospital",
    }
    assert heads["manufacturer"]["public_key"] != heads["hospital"]["public_key"]
    assert heads["manufacturer"]["root"] != heads["hospital"]["root"]
    assert {k["public_key"] for k in keys["manufacturer"]}.isdisjoint(
        k["public_key"] for k in keys["hospital"]
    )
    key_files = [(i.var_dir / "ledger-ed25519.key").read_bytes() for i in pair]
    assert key_files[0] != key_files[1]


def test_the_manufacturer_database_holds_none_of_the_hospitals_patient_identifiers(
    installations: dict[str, Installation],
) -> None:
    from cellchain.accounts.world import PEOPLE

    hospital, manufacturer = installations["hospital"], installations["manufacturer"]
    found = _shell_json(hospital, IDENTITIES)
    assert len(found["identities"]) >= 2, "the hospital's demo enrols its patients"
    assert len(found["wristbands"]) >= 10, "the clinic's demo plans its patients' treatment"
    staff = " ".join(printed for _u, printed, *_rest in PEOPLE)
    # A patient named like a member of staff (the demo's patient 李娜 and QA's 李娜 Li Na) cannot be told apart
    # by a byte scan; that patient's birth date, record number and wristband are still looked for.
    identifiers = {value for row in found["identities"] for value in row if value not in staff}
    identifiers |= set(found["wristbands"])
    assert {"张伟", "1968-04-12", "MRN-0001", "DEMO-WB-0001", "DEMO-WB-0002"} <= identifiers

    in_hospital = _stored_bytes(hospital)
    assert all(value.encode() in in_hospital for value in identifiers)  # the scan finds what is there
    in_manufacturer = _stored_bytes(manufacturer)
    assert b"shenghe" in in_manufacturer  # the scan reads the manufacturer's data
    leaked = sorted(value for value in identifiers if value.encode() in in_manufacturer)
    assert leaked == []
