"""A manufacturer and a hospital installation as separate processes, for one test module (issue 12 item 4).

Each gets its own data directory under the run's temporary directory (SQLite there, or its own PostgreSQL
database next to DATABASE_URL's, made and dropped here), its own key and ledger log id; both are started once
per module and stopped (process groups) at its end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cellchain.core import network

SETTINGS = "tests.network.settings"


@pytest.fixture(scope="module")
def installations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, network.Installation]]:
    """{"manufacturer": ..., "hospital": ...}, migrated, with their role's demo data, serving on free ports."""
    base = tmp_path_factory.mktemp("network")
    database_url = os.environ.get("DATABASE_URL", "")
    postgres = database_url.startswith(("postgres://", "postgresql://"))
    made = [
        network.Installation(
            name,
            role,
            network.free_port(),
            base,
            database_url=network.postgres_url_for(database_url, f"net_{name}") if postgres else "",
            settings_module=SETTINGS,
            organisation=organisation,
        )
        for name, role, organisation in (
            ("manufacturer", "manufacturer", "shenghe"),
            ("hospital", "hospital", "xiehe"),
        )
    ]
    try:
        if postgres:
            network.postgres_database_create(made[0].database_url)
        network.prepare(made, clone_schema=True)
        for installation in made:
            network.start(installation)
        yield {installation.role: installation for installation in made}
    finally:
        for installation in made:
            network.stop(installation)
        if postgres:
            for installation in made:
                network.postgres_database_drop(installation.database_url)
