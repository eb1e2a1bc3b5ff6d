"""Helpers for ledger tests: raw SQL behind the application's back, with the append-only triggers lifted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection

from cellchain.ledger import triggers


@contextmanager
def behind_the_back() -> Iterator[Any]:
    """A cursor with the ledger's triggers dropped, as an attacker with the owner's password could do.

    Inside a test transaction the DROP is rolled back with everything else; the triggers are put back anyway.
    """
    triggers.uninstall(connection)
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        triggers.install(connection)


@pytest.fixture
def tamper() -> Any:
    return behind_the_back
