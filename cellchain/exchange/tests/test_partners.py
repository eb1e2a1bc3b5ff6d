"""The partner register: pinned key, tokens, ledgered changes; the CLI (issue 12 item 1)."""

from __future__ import annotations

import base64
import json
import os
from io import StringIO
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.exchange import credentials
from cellchain.exchange.models import Partner
from cellchain.exchange.services import partner_deactivate, partner_register, partner_update
from cellchain.exchange.tests.conftest import INBOUND, OUTBOUND, PARTNER_LOG
from cellchain.ledger.models import LedgerEntry
from cellchain.verifier.signing import key_fingerprint, public_key_bytes

pytestmark = pytest.mark.django_db


def _b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(public_key_bytes(key)).decode()


def _register(**changes: Any) -> tuple[Partner, str | None]:
    values: dict[str, Any] = {
        "actor": None,
        "name": "Maker B",
        "role": "manufacturer",
        "base_url": "https://maker-b.example/",
        "log_id": "maker-b",
        "public_key": _b64(Ed25519PrivateKey.generate()),
    }
    values.update(changes)
    return partner_register(**values)


class TestRegister:
    def test_the_partner_is_pinned_and_ledgered_and_the_token_kept_outside_the_database(
        self, partner: Partner, other_key: Ed25519PrivateKey, exchange_dir: Any
    ) -> None:
        assert bytes(partner.public_key) == public_key_bytes(other_key)
        assert partner.key_fingerprint == key_fingerprint(public_key_bytes(other_key))
        assert partner.inbound_token_sha256 == credentials.token_sha256(INBOUND)
        path = exchange_dir / f"{PARTNER_LOG}.token"
        assert path.read_text() == OUTBOUND and (os.stat(path).st_mode & 0o777) == 0o600
        entry = LedgerEntry.objects.get(record_type="exchange.partner", record_id=str(partner.pk))
        assert entry.event == "exchange_partner:register"
        canonical = bytes(entry.canonical).decode()
        assert OUTBOUND not in canonical and INBOUND not in canonical

    def test_a_token_is_made_when_none_is_given(self, exchange_dir: Any) -> None:
        partner, made = _register()
        assert (
            made
            and made.startswith("ccx_")
            and partner.inbound_token_sha256 == credentials.token_sha256(made)
        )
        assert partner.base_url == "https://maker-b.example"
        assert credentials.token_read("maker-b") is None  # no outbound token given yet

    @pytest.mark.parametrize(
        ("url", "ok"),
        [
            ("http://127.0.0.1:8101", True),
            ("http://localhost:8101/", True),
            ("https://h.example:8443/cc", True),
            ("http://h.example", False),
            ("ftp://h.example", False),
            ("https://user:pw@h.example", False),
            ("https://h.example/?x=1", False),
            ("h.example", False),
        ],
    )
    def test_https_is_required_except_to_this_machine(self, url: str, ok: bool, exchange_dir: Any) -> None:
        if ok:
            _register(base_url=url)
        else:
            with pytest.raises(ValidationFailed, match="Base URL") as refused:
                _register(base_url=url)
            assert refused.value.field == "base_url"
        assert Partner.objects.count() == (1 if ok else 0)

    def test_the_published_fingerprint_must_match_the_key(self, exchange_dir: Any) -> None:
        key = Ed25519PrivateKey.generate()
        with pytest.raises(ValidationFailed, match="Fingerprint"):
            _register(public_key=_b64(key), fingerprint="00" * 32)
        partner, _ = _register(
            public_key=_b64(key), fingerprint=key_fingerprint(public_key_bytes(key)).upper()
        )
        assert partner.key_fingerprint == key_fingerprint(public_key_bytes(key))

    @pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"short").decode()])
    def test_a_bad_key_is_refused(self, key: str, exchange_dir: Any) -> None:
        with pytest.raises(ValidationFailed, match="Public key"):
            _register(public_key=key)

    def test_our_own_log_and_a_second_registration_are_refused(self, partner: Partner, settings: Any) -> None:
        with pytest.raises(ValidationFailed, match="own log"):
            _register(log_id=settings.CELLCHAIN_LEDGER_LOG_ID)
        with pytest.raises(Conflict, match="already registered"):
            _register(log_id=PARTNER_LOG)
        with pytest.raises(Conflict, match="another partner"):
            _register(inbound_token=INBOUND)
        with pytest.raises(ValidationFailed, match="Log id"):
            _register(log_id="../etc")


class TestUpdate:
    def test_a_key_change_needs_a_reason_and_is_ledgered(self, partner: Partner) -> None:
        new = Ed25519PrivateKey.generate()
        with pytest.raises(ValidationFailed, match="reason"):
            partner_update(actor=None, partner=partner, reason=" ", public_key=_b64(new))
        old_fingerprint = partner.key_fingerprint
        updated, _ = partner_update(
            actor=None, partner=partner, reason="key rotated on 2026-12-07", public_key=_b64(new)
        )
        assert bytes(updated.public_key) == public_key_bytes(new)
        entry = LedgerEntry.objects.filter(
            record_type="exchange.partner", event="exchange_partner:update"
        ).get()
        document = json.loads(bytes(entry.canonical))
        assert document["reason"] == "key rotated on 2026-12-07"
        assert document["extra"]["key_changed"] == {"from": old_fingerprint, "to": updated.key_fingerprint}

    def test_the_outbound_token_is_replaced_in_its_file(self, partner: Partner) -> None:
        partner_update(
            actor=None, partner=partner, reason="new token", outbound_token="ccx_replacement-token-0123456789"
        )
        assert credentials.token_read(PARTNER_LOG) == "ccx_replacement-token-0123456789"

    def test_nothing_to_change_is_refused(self, partner: Partner) -> None:
        with pytest.raises(ValidationFailed, match="Nothing to change"):
            partner_update(actor=None, partner=partner, reason="x", name=partner.name)

    def test_deactivate(self, partner: Partner) -> None:
        partner_deactivate(actor=None, partner=partner, reason="contract ended")
        partner.refresh_from_db()
        assert not partner.active
        with pytest.raises(Conflict, match="already inactive"):
            partner_deactivate(actor=None, partner=partner, reason="again")


class TestCommands:
    def test_the_organisation_it_stands_for_routes_messages_to_it(self, exchange_dir: Any) -> None:
        from cellchain.accounts.services import organisation_create
        from cellchain.exchange.selectors import partner_for_log, partner_for_organisation

        maker = organisation_create(actor=None, code="maker-b", name="Maker B", kind="manufacturer")
        partner, _token = _register(organisation="maker-b")
        assert partner_for_organisation(maker) == partner
        assert partner_for_log("maker-b") == partner
        with pytest.raises(ValidationFailed, match="no organisation has the code 'nobody'"):
            _register(log_id="maker-c", organisation="nobody")
        with pytest.raises(Conflict, match="already represented"):
            _register(log_id="maker-c", organisation="maker-b")
        assert Partner.objects.count() == 1

    def test_identity_names_the_installation_organisation(self, db: None, settings: Any) -> None:
        settings.CELLCHAIN_INSTALLATION_ORGANISATION = "xiehe"
        out = StringIO()
        call_command("exchange_identity", stdout=out)
        assert json.loads(out.getvalue())["organisation"] == "xiehe"

    def test_identity_prints_what_a_partner_registers(self, db: None, settings: Any) -> None:
        out = StringIO()
        call_command("exchange_identity", stdout=out)
        document = json.loads(out.getvalue())
        assert document["log_id"] == settings.CELLCHAIN_LEDGER_LOG_ID
        assert document["role"] == "both" and document["format"] == "cellchain-exchange-identity/1"
        assert key_fingerprint(base64.b64decode(document["public_key"])) == document["fingerprint"]

    def test_partner_add_from_an_identity_file_then_list(self, exchange_dir: Any, tmp_path: Any) -> None:
        key = Ed25519PrivateKey.generate()
        identity = tmp_path / "id.json"
        identity.write_text(
            json.dumps(
                {
                    "name": "Maker C",
                    "role": "manufacturer",
                    "log_id": "maker-c",
                    "public_key": _b64(key),
                    "fingerprint": key_fingerprint(public_key_bytes(key)),
                }
            )
        )
        token = tmp_path / "token.txt"
        token.write_text("ccx_given-to-us-by-maker-c-0123456789\n")
        out = StringIO()
        call_command(
            "exchange_partner_add",
            "--identity",
            str(identity),
            "--base-url",
            "http://127.0.0.1:8100",
            "--outbound-token-file",
            str(token),
            "--json",
            stdout=out,
        )
        result = json.loads(out.getvalue())
        assert result["log_id"] == "maker-c" and result["inbound_token"].startswith("ccx_")
        assert credentials.token_read("maker-c") == "ccx_given-to-us-by-maker-c-0123456789"
        out = StringIO()
        call_command("exchange_partner_list", "--json", stdout=out)
        rows = json.loads(out.getvalue())
        assert [(r["log_id"], r["outbound_token_set"], r["queued"]) for r in rows] == [("maker-c", True, 0)]

    def test_partner_add_says_what_is_wrong(self, exchange_dir: Any) -> None:
        with pytest.raises(CommandError, match="missing --name"):
            call_command("exchange_partner_add", "--base-url", "https://x.example")
        with pytest.raises(CommandError, match="plain http"):
            call_command(
                "exchange_partner_add",
                "--base-url",
                "http://x.example",
                "--name",
                "X",
                "--role",
                "hospital",
                "--log-id",
                "x",
                "--public-key",
                _b64(Ed25519PrivateKey.generate()),
            )

    def test_partner_update_changes_the_key_with_a_reason_then_deactivates(self, partner: Partner) -> None:
        new = Ed25519PrivateKey.generate()
        out = StringIO()
        call_command(
            "exchange_partner_update",
            "--log-id",
            PARTNER_LOG,
            "--reason",
            "partner rotated its key",
            "--public-key",
            _b64(new),
            "--new-inbound-token",
            stdout=out,
        )
        result = json.loads(out.getvalue())
        partner.refresh_from_db()
        assert result["fingerprint"] == partner.key_fingerprint == key_fingerprint(public_key_bytes(new))
        assert partner.inbound_token_sha256 == credentials.token_sha256(result["inbound_token"])
        call_command(
            "exchange_partner_update",
            "--log-id",
            PARTNER_LOG,
            "--reason",
            "ended",
            "--deactivate",
            stdout=out,
        )
        partner.refresh_from_db()
        assert not partner.active
        with pytest.raises(CommandError, match="no partner"):
            call_command("exchange_partner_update", "--log-id", "nobody", "--reason", "x")

    def test_cellchain_exchange_identity_goes_to_the_command(self, db: None, capsys: Any) -> None:
        from cellchain.cli import main

        main(["exchange", "identity"])
        assert '"log_id"' in capsys.readouterr().out
