"""Shared test fixtures: the persona world, signed-in clients, and ledger triggers around transactional tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any, request: pytest.FixtureRequest) -> None:
    """argon2 is slow by design; tests that check hashing itself use the `argon2` marker to keep it."""
    if request.node.get_closest_marker("argon2") is None:
        settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _english_by_default(settings: Any) -> Iterator[None]:
    """Tests read messages in English; the product's default language stays zh-Hans (the switch is tested)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _isolated_ledger_key(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings.CELLCHAIN_LEDGER_KEY_PATH = tmp_path_factory.getbasetemp() / "ledger-test-ed25519.key"
    # Dossier exports (issue 14 item 6) go under the test run's temporary directory, never into var/.
    settings.CELLCHAIN_EXPORT_DIR = tmp_path_factory.getbasetemp() / "exports"


@pytest.fixture
def world(db: None) -> Any:
    """The demo organisations, sites and personas (qa_li, nurse_wang, physician_wang, ...)."""
    from cellchain.accounts.world import build_world

    return build_world(password=PERSONA_PASSWORD)


PERSONA_PASSWORD = "persona-password-2026"


@pytest.fixture
def client_for(world: Any) -> Callable[[str], Client]:
    """Return a Django test client signed in as the named persona."""

    def make(username: str) -> Client:
        client = Client()
        client.force_login(world[username])
        return client

    return make


@pytest.fixture
def ledger_transactional_db(transactional_db: None, django_db_blocker: Any) -> Iterator[None]:
    """A transactional database whose append-only triggers are lifted only for the flush after the test."""
    from django.db import connection

    from cellchain.ledger import triggers

    triggers.install(connection)
    yield
    triggers.uninstall(connection)


@pytest.fixture(autouse=True)
def _ledger_triggers_present(request: pytest.FixtureRequest, django_db_blocker: Any) -> None:
    """Put the triggers back after a transactional test flushed the tables (one cheap query)."""
    uses_db = {"db", "transactional_db", "world"} & set(request.fixturenames)
    if not uses_db and request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("django_db_setup")
    from django.db import connection

    from cellchain.ledger import triggers

    with django_db_blocker.unblock():
        if not triggers.installed(connection):
            triggers.install(connection)


@pytest.fixture(autouse=True)
def _api_responses_match_the_openapi_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every JSON response under /api/ a test client receives is validated against the OpenAPI document.

    A mismatch fails the test at the request, naming the operation and the field (issue 15 item 3).
    """
    from cellchain.core.tests.openapi_responses import validate_response

    original = Client.request

    def request(self: Client, **kwargs: Any) -> Any:
        response = original(self, **kwargs)
        validate_response(response)
        return response

    monkeypatch.setattr(Client, "request", request)
