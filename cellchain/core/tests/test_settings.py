"""Settings read from the environment (issue 15: a sqlite:// DATABASE_URL keeps WAL and BEGIN IMMEDIATE)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.utils import ConnectionHandler

from cellchain.project import settings as project_settings


def test_a_sqlite_database_url_keeps_wal_and_begin_immediate(
    monkeypatch: Any, tmp_path: Path, django_db_blocker: Any
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'moved.sqlite3'}")
    config = project_settings._database()
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"  # type: ignore[index]
    handler = ConnectionHandler({"default": config})
    connection = handler["default"]
    with django_db_blocker.unblock():
        try:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode")
                assert cursor.fetchone()[0] == "wal"
                cursor.execute("PRAGMA foreign_keys")
                assert cursor.fetchone()[0] == 1
        finally:
            connection.close()


def test_options_given_in_the_url_win(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}?timeout=5")
    options = project_settings._database()["OPTIONS"]
    assert options["timeout"] in (5, "5")  # type: ignore[index]
    assert options["transaction_mode"] == "IMMEDIATE"  # type: ignore[index]


def test_a_postgres_url_gets_no_sqlite_options(monkeypatch: Any) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://cellchain@db.example.org:5432/cellchain")
    config = project_settings._database()
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert "transaction_mode" not in config["OPTIONS"]  # type: ignore[operator]


def test_a_refused_page_logs_one_line_without_a_traceback(client_for: Any, caplog: Any) -> None:
    """Issue 15: every 403 used to log the PermissionDenied traceback."""
    from django.urls import reverse

    with caplog.at_level("WARNING", logger="django.request"):
        response = client_for("logistics_zhao").get(reverse("logistics:storage"))
    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    assert records[0].exc_info is None and records[0].exc_text is None
    assert records[0].getMessage() == "Forbidden: GET /logistics/storage/ (user logistics_zhao)"


def test_the_installation_role_must_be_one_of_the_three(monkeypatch: Any) -> None:
    """Issue 12 item 1: a mistyped role stops the start with the variable and the choices named."""
    import pytest

    from cellchain.project.env import ConfigurationError, envchoice

    choices = ("manufacturer", "hospital", "both")
    monkeypatch.setenv("CELLCHAIN_INSTALLATION_ROLE", "hospitl")
    with pytest.raises(
        ConfigurationError, match=r"CELLCHAIN_INSTALLATION_ROLE='hospitl'.*manufacturer, hospital, both"
    ):
        envchoice("CELLCHAIN_INSTALLATION_ROLE", "both", choices)
    monkeypatch.setenv("CELLCHAIN_INSTALLATION_ROLE", "hospital")
    assert envchoice("CELLCHAIN_INSTALLATION_ROLE", "both", choices) == "hospital"
    monkeypatch.delenv("CELLCHAIN_INSTALLATION_ROLE")
    assert envchoice("CELLCHAIN_INSTALLATION_ROLE", "both", choices) == "both"


def test_the_installation_answers_from_the_setting(settings: Any) -> None:
    from cellchain.core import installation

    settings.CELLCHAIN_INSTALLATION_ROLE = "hospital"
    assert installation.is_hospital() and not installation.is_manufacturer()
    settings.CELLCHAIN_INSTALLATION_ROLE = "both"
    assert installation.is_hospital() and installation.is_manufacturer()
