"""The network harness's pure parts (issue 12 item 4): each installation's environment, the pairs that exchange,
PostgreSQL database names, the demo's sign-in hints. Starting processes is tested in tests/network."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellchain.core import network
from cellchain.core.network import Installation, NetworkError


def test_each_installation_gets_its_own_directory_key_log_and_cookies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shared")
    monkeypatch.setenv("CELLCHAIN_LEDGER_KEY_PATH", "/shared/key")
    monkeypatch.setenv("SECRET_KEY", "shared")
    first = Installation("manufacturer", "manufacturer", 8100, tmp_path).env()
    second = Installation("hospital-a", "hospital", 8101, tmp_path).env()

    assert "DATABASE_URL" not in first and "CELLCHAIN_LEDGER_KEY_PATH" not in first  # SQLite, key under var
    assert first["CELLCHAIN_VAR_DIR"] == str(tmp_path / "manufacturer")
    assert (first["CELLCHAIN_INSTALLATION_ROLE"], second["CELLCHAIN_INSTALLATION_ROLE"]) == (
        "manufacturer",
        "hospital",
    )
    assert (first["CELLCHAIN_LEDGER_LOG_ID"], second["CELLCHAIN_LEDGER_LOG_ID"]) == (
        "manufacturer",
        "hospital-a",
    )
    for key in ("SECRET_KEY", "CELLCHAIN_SESSION_COOKIE_NAME", "CELLCHAIN_CSRF_COOKIE_NAME"):
        assert first[key] != second[key] and "shared" not in first[key]
    # The secret is kept: a restarted installation keeps its sessions and identity digests.
    assert (
        Installation("manufacturer", "manufacturer", 8100, tmp_path).env()["SECRET_KEY"]
        == first["SECRET_KEY"]
    )
    pg = Installation("hospital-a", "hospital", 8101, tmp_path, database_url="postgres://h/cc_h").env()
    assert pg["DATABASE_URL"] == "postgres://h/cc_h"


def test_a_bad_name_or_role_is_refused_with_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="role 'clinic'"):
        Installation("hospital-a", "clinic", 8101, tmp_path)
    with pytest.raises(NetworkError, match="'Hospital A'"):
        Installation("Hospital A", "hospital", 8101, tmp_path)


def test_the_manufacturer_exchanges_with_each_hospital_and_hospitals_not_with_each_other(
    tmp_path: Path,
) -> None:
    installations = network.demo_network(tmp_path)
    pairs = {(a.name, b.name) for a, b in network._partners(installations)}
    assert pairs == {("manufacturer", "hospital-a"), ("manufacturer", "hospital-b")}
    assert [i.port for i in installations] == [8100, 8101, 8102]


def test_postgres_database_names_are_per_installation() -> None:
    url = network.postgres_url_for("postgres://postgres@127.0.0.1:5432/cc_main?sslmode=disable", "hospital-a")
    assert url == "postgres://postgres@127.0.0.1:5432/cc_main_hospital_a?sslmode=disable"


def test_the_demo_sign_in_hints_name_people_of_the_demo_world() -> None:
    from cellchain.accounts.world import DEMO_PASSWORD, PEOPLE, SITES

    assert network.DEMO_PASSWORD == DEMO_PASSWORD
    site_org = {code: org for code, org, *_rest in SITES}
    people = {username: site_org[site] for username, _name, site, *_rest in PEOPLE}
    assert {people[u] for u in network.DEMO_SIGN_IN["manufacturer"]} == {"shenghe"}
    assert {people[u] for u in network.DEMO_SIGN_IN["hospital"]} == {"xiehe"}


def test_link_partners_registers_each_pair_on_both_sides_through_the_exchange_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installations = network.demo_network(tmp_path)
    calls: list[tuple[str, tuple[str, ...]]] = []

    def run_command(installation: Installation, *args: str, **_kw: object) -> str:
        calls.append((installation.name, args))
        if args[0] == "exchange_identity":
            return (
                f'{{"name": "{installation.name} shown", "role": "{installation.role}", '
                f'"log_id": "log-{installation.name}", "public_key": "key-{installation.name}"}}'
            )
        return ""

    monkeypatch.setattr(network, "commands", lambda _i: {"exchange_identity", "exchange_partner_add"})
    monkeypatch.setattr(network, "run_command", run_command)
    notes = network.link_partners(installations)

    added = [
        (here, dict(zip(args[1::2], args[2::2], strict=True)))
        for here, args in calls
        if args[0] == "exchange_partner_add"
    ]
    assert sorted((here, options["--name"]) for here, options in added) == [
        ("hospital-a", "manufacturer shown"),
        ("hospital-b", "manufacturer shown"),
        ("manufacturer", "hospital-a shown"),
        ("manufacturer", "hospital-b shown"),
    ]
    on_manufacturer = {o["--log-id"]: o for here, o in added if here == "manufacturer"}
    assert on_manufacturer["log-hospital-a"]["--base-url"] == "http://127.0.0.1:8101"
    assert on_manufacturer["log-hospital-a"]["--public-key"] == "key-hospital-a"
    assert on_manufacturer["log-hospital-a"]["--role"] == "hospital"

    # One token per pair, the same on both sides, different between pairs.
    def token(options: dict[str, str]) -> str:
        assert options["--outbound-token-file"] == options["--inbound-token-file"]
        path = Path(options["--outbound-token-file"])
        assert path.stat().st_mode & 0o077 == 0, "the token file is readable by its owner only"
        return path.read_text()

    back = {here: token(o) for here, o in added if here != "manufacturer"}
    assert back == {h: token(on_manufacturer[f"log-{h}"]) for h in ("hospital-a", "hospital-b")}
    assert len(set(back.values())) == 2
    assert len(notes) == 4


def test_link_partners_says_it_is_pending_without_the_exchange_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(network, "commands", lambda _i: {"migrate", "demo_load"})
    notes = network.link_partners(network.demo_network(tmp_path))
    assert len(notes) == 1 and "pending" in notes[0]
