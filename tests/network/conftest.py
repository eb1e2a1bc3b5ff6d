"""Installations as separate processes for one test module at a time (issue 12 item 4).

Each gets its own data directory under the run's temporary directory (SQLite there, or its own PostgreSQL
database next to DATABASE_URL's, made and dropped here), its own key and ledger log id; they are started once
per module and stopped (process groups) at its end.

- `installations`: a manufacturer and a hospital with their role's demo data, not linked.
- `linked`: a manufacturer and a hospital without demo data (faster), registered as each other's partners
  (`network.link_partners`, the exchange CLI), with a short retry back-off (1 s first, 4 s cap) so an outage
  and its recovery fit in seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cellchain.core import network

SETTINGS = "tests.network.settings"
FAST_RETRY = {
    "CELLCHAIN_EXCHANGE_RETRY_FIRST_SECONDS": "1",
    "CELLCHAIN_EXCHANGE_RETRY_MAX_SECONDS": "4",
}


@contextmanager
def _pair(
    base: Path, prefix: str, *, demo: bool, organisations: bool, extra_env: dict[str, str] | None = None
) -> Iterator[dict[str, network.Installation]]:
    database_url = os.environ.get("DATABASE_URL", "")
    postgres = database_url.startswith(("postgres://", "postgresql://"))
    made = [
        network.Installation(
            name,
            role,
            network.free_port(),
            base,
            database_url=network.postgres_url_for(database_url, f"{prefix}_{name}") if postgres else "",
            settings_module=SETTINGS,
            organisation=organisation if organisations else "",
            extra_env=dict(extra_env or {}),
        )
        for name, role, organisation in (
            ("manufacturer", "manufacturer", "shenghe"),
            ("hospital", "hospital", "xiehe"),
        )
    ]
    try:
        if postgres:
            network.postgres_database_create(made[0].database_url)
        network.prepare(made, demo=demo, clone_schema=True)
        for installation in made:
            network.start(installation)
        yield {installation.role: installation for installation in made}
    finally:
        for installation in made:
            network.stop(installation)
        if postgres:
            for installation in made:
                network.postgres_database_drop(installation.database_url)


@pytest.fixture(scope="module")
def installations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, network.Installation]]:
    """{"manufacturer": ..., "hospital": ...}, migrated, with their role's demo data, serving on free ports."""
    with _pair(tmp_path_factory.mktemp("network"), "net", demo=True, organisations=True) as pair:
        yield pair


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, network.Installation]]:
    """{"manufacturer": ..., "hospital": ...}, migrated without demo data, serving, linked as partners."""
    with _pair(
        tmp_path_factory.mktemp("linked"), "netx", demo=False, organisations=False, extra_env=FAST_RETRY
    ) as pair:
        notes = network.link_partners(list(pair.values()))
        assert len(notes) == 2, notes  # each side registered the other
        yield pair
