"""Sign-in, lockout, sessions, hashing, second factor and tokens (issue 2 item 6; REGULATORY items 17-31)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

import pyotp
import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import Client

from cellchain.accounts import services
from cellchain.accounts.models import LoginEvent, User
from cellchain.core import clock
from cellchain.core.errors import AuthenticationRequired, Conflict, NotAllowed, ValidationFailed
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def _without_tokens(response: Any, username: str) -> str:
    return re.sub(
        r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', "", response.content.decode()
    ).replace(username, "")


def _sign_in(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


class TestSignIn:
    def test_correct_password_signs_in_with_a_new_session(self, world: Any) -> None:
        client = Client()
        client.get("/accounts/login/")
        before = client.session.session_key
        response = _sign_in(client, "nurse_wang", PERSONA_PASSWORD)
        assert response.status_code == 302
        assert client.session.session_key != before
        assert LoginEvent.objects.filter(user=world["nurse_wang"], outcome="success").count() == 1

    def test_wrong_password_and_unknown_user_get_the_same_answer(self, world: Any) -> None:
        wrong = _sign_in(Client(), "nurse_wang", "not-the-password")
        unknown = _sign_in(Client(), "nobody_here", "not-the-password")
        assert wrong.status_code == unknown.status_code == 401
        assert _without_tokens(wrong, "nurse_wang") == _without_tokens(unknown, "nobody_here")

    def test_five_failures_lock_the_account_for_fifteen_minutes(self, world: Any) -> None:
        start = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
        with clock.frozen(start):
            for _ in range(5):
                with pytest.raises(AuthenticationRequired):
                    services.sign_in_check(username="nurse_wang", password="wrong")
            with pytest.raises(AuthenticationRequired):
                services.sign_in_check(username="nurse_wang", password=PERSONA_PASSWORD)
            assert LoginEvent.objects.filter(username="nurse_wang", outcome="lockout").count() == 1
            assert LoginEvent.objects.filter(username="nurse_wang", outcome="locked").count() == 1
        with clock.frozen(start + dt.timedelta(minutes=16)):
            assert (
                services.sign_in_check(username="nurse_wang", password=PERSONA_PASSWORD)
                == world["nurse_wang"]
            )

    def test_failures_from_one_source_do_not_lock_the_user_out_elsewhere(self, world: Any) -> None:
        """Lockout counts per account and source: an attacker cannot lock out the nurse (issue 15)."""
        start = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
        with clock.frozen(start):
            for _ in range(5):
                with pytest.raises(AuthenticationRequired):
                    services.sign_in_check(username="nurse_wang", password="wrong", ip="203.0.113.9")
            with pytest.raises(AuthenticationRequired):  # the attacking address is locked out ...
                services.sign_in_check(username="nurse_wang", password=PERSONA_PASSWORD, ip="203.0.113.9")
            # ... while the nurse at her workstation signs in.
            user = services.sign_in_check(username="nurse_wang", password=PERSONA_PASSWORD, ip="10.1.2.3")
            assert user == world["nurse_wang"]
            assert services.lockout_until(user, "203.0.113.9") is not None
            assert services.lockout_until(user, "10.1.2.3") is None

    def test_an_api_token_keeps_working_while_sign_in_is_locked(self, world: Any) -> None:
        _token, raw = services.api_token_create(actor=world["qa_li"], name="LIMS")
        for _ in range(5):
            with pytest.raises(AuthenticationRequired):
                services.sign_in_check(username="qa_li", password="wrong", ip="198.51.100.7")
        assert services.lockout_until(world["qa_li"], "198.51.100.7") is not None
        me = Client().get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert me.status_code == 200 and me.json()["username"] == "qa_li"

    def test_wrong_passwords_at_signing_lock_signing(self, world: Any) -> None:
        user = world["qa_li"]
        for _ in range(5):
            with pytest.raises(AuthenticationRequired):
                services.reauthenticate(user, "wrong")
        with pytest.raises(AuthenticationRequired, match="locked"):
            services.reauthenticate(user, PERSONA_PASSWORD)

    def test_deactivated_user_cannot_sign_in(self, world: Any) -> None:
        services.user_deactivate(
            actor=world["admin_xiehe"], user=world["nurse_zhou"], reason="left the hospital"
        )
        with pytest.raises(AuthenticationRequired):
            services.sign_in_check(username="nurse_zhou", password=PERSONA_PASSWORD)

    def test_deactivation_ends_open_sessions(self, world: Any, client_for: Any) -> None:
        client = client_for("nurse_zhou")
        assert client.get("/").status_code == 200
        services.user_deactivate(actor=world["admin_xiehe"], user=world["nurse_zhou"], reason="left")
        assert client.get("/").status_code == 302


class TestSessionTimeout:
    def test_idle_session_ends_after_the_timeout(self, client_for: Any, settings: Any) -> None:
        client = client_for("physician_wang")
        assert client.get("/").status_code == 200
        session = client.session
        session["cellchain_last_seen"] = (
            session["cellchain_last_seen"] - settings.CELLCHAIN_IDLE_TIMEOUT_SECONDS - 1
        )
        session.save()
        response = client.get("/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_active_session_continues(self, client_for: Any) -> None:
        client = client_for("physician_wang")
        assert client.get("/").status_code == 200
        assert client.get("/").status_code == 200

    def test_an_active_session_still_ends_at_the_absolute_limit(self, client_for: Any, settings: Any) -> None:
        """The 12 h cap counts from sign-in, not from the last request (issue 15; REGULATORY item 28)."""
        client = client_for("physician_wang")
        assert client.get("/").status_code == 200
        session = client.session
        session["cellchain_signed_in_at"] -= settings.SESSION_COOKIE_AGE + 1
        session.save()  # the user was active a moment ago: only the absolute limit can end it
        response = client.get("/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert LoginEvent.objects.filter(username="physician_wang", outcome="timeout").count() == 1

    def test_requests_do_not_move_the_cookie_expiry(self, world: Any, settings: Any) -> None:
        client = Client()
        assert _sign_in(client, "nurse_wang", PERSONA_PASSWORD).status_code == 302
        expiry = client.session.get_expiry_date()
        signed_in = client.session["cellchain_signed_in_at"]
        assert abs(expiry.timestamp() - (signed_in + settings.SESSION_COOKIE_AGE)) < 1
        for _ in range(3):
            assert client.get("/").status_code == 200
        assert client.session.get_expiry_date() == expiry

    def test_a_session_without_a_sign_in_stamp_is_ended(self, client_for: Any) -> None:
        client = client_for("physician_wang")
        session = client.session
        del session["cellchain_signed_in_at"]
        session.save()
        assert client.get("/").status_code == 302


class TestPasswords:
    @pytest.mark.argon2
    def test_passwords_are_hashed_with_argon2id(self, world: Any) -> None:
        user = services.user_create(
            actor=None,
            username="new_nurse",
            printed_name="New Nurse",
            site=world.sites["xiehe-main"],
            password="a-long-enough-pass-9",
        )
        assert user.password.startswith("argon2$argon2id$")
        assert identify_hasher(user.password).algorithm == "argon2"

    def test_short_and_common_passwords_are_refused(self, world: Any) -> None:
        for password in ("short", "password1234", "12345678901234"):
            with pytest.raises(ValidationFailed):
                services.user_create(
                    actor=None,
                    username=f"u{len(password)}",
                    printed_name="X",
                    site=world.sites["xiehe-main"],
                    password=password,
                )
        assert not User.objects.filter(username__startswith="u1").exists()

    def test_password_longer_than_64_is_refused(self, world: Any) -> None:
        with pytest.raises(ValidationFailed, match="too long"):
            services.user_create(
                actor=None,
                username="longpw",
                printed_name="X",
                site=world.sites["xiehe-main"],
                password="x" * 65,
            )

    def test_a_former_username_cannot_be_registered_again(self, world: Any) -> None:
        services.user_deactivate(actor=world["admin_xiehe"], user=world["nurse_zhou"], reason="left")
        with pytest.raises(Conflict):
            services.user_create(
                actor=None,
                username="NURSE_ZHOU",
                printed_name="Another",
                password="x" * 20,
                site=world.sites["xiehe-main"],
            )


class TestRoles:
    def test_hospital_role_cannot_go_to_a_manufacturer_user(self, world: Any) -> None:
        with pytest.raises(NotAllowed):
            services.role_grant(actor=world["admin_shenghe"], user=world["qa_li"], role="nurse")

    def test_admin_and_auditor_are_never_one_account(self, world: Any) -> None:
        with pytest.raises(NotAllowed):
            services.role_grant(actor=world["admin_shenghe"], user=world["admin_shenghe"], role="auditor")


class TestQualification:
    def test_valid_qualification_is_returned(self, world: Any) -> None:
        assert services.require_qualification(world["nurse_wang"], "infusion").code == "infusion"

    def test_missing_qualification_blocks_with_its_name(self, world: Any) -> None:
        with pytest.raises(NotAllowed, match="no qualification 'infusion'"):
            services.require_qualification(world["pharmacist_liu"], "infusion")

    def test_expired_qualification_blocks_with_the_expiry_date(self, world: Any) -> None:
        later = clock.now().date() + dt.timedelta(days=365 * 3)
        with pytest.raises(NotAllowed, match="expired on"):
            services.require_qualification(world["nurse_wang"], "infusion", on=later)


class TestTotp:
    def test_user_with_totp_needs_the_code_to_sign_in(self, world: Any) -> None:
        user = world["qa_li"]
        uri = services.totp_begin(actor=user)
        secret = pyotp.parse_uri(uri).secret
        services.totp_confirm(actor=user, code=pyotp.TOTP(secret).now())
        client = Client()
        response = _sign_in(client, "qa_li", PERSONA_PASSWORD)
        assert response.status_code == 302 and "/mfa/" in response["Location"]
        assert client.get("/").status_code == 302  # not signed in yet
        assert client.post("/accounts/login/mfa/", {"code": "000000"}).status_code == 401
        user.totp.refresh_from_db()
        step = user.totp.last_used_step
        code = pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
        if step >= int(dt.datetime.now(dt.UTC).timestamp()) // 30 + 1:
            pytest.fail("time step already used")
        assert client.post("/accounts/login/mfa/", {"code": code}).status_code == 302
        assert client.get("/").status_code == 200

    def test_totp_enrolment_is_ledgered_and_replays(self, world: Any) -> None:
        from cellchain.ledger.verify import verify_ledger

        user = world["qa_guo"]
        services.totp_begin(actor=user)
        services.totp_begin(actor=user)  # restarted before confirming
        report = verify_ledger()
        assert report.ok, report


class TestApiTokens:
    def test_token_is_stored_as_a_digest_and_works_until_revoked(self, world: Any) -> None:
        token, raw = services.api_token_create(actor=world["qa_li"], name="LIMS")
        assert raw.split("_", 2)[2] not in token.digest
        client = Client()
        me = client.get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert me.status_code == 200 and me.json()["username"] == "qa_li"
        services.api_token_revoke(actor=world["qa_li"], token=token)
        assert client.get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401

    def test_a_prefix_collision_is_retried_with_a_fresh_prefix(self, world: Any, monkeypatch: Any) -> None:
        first, _raw = services.api_token_create(actor=world["qa_li"], name="LIMS")
        assert len(first.prefix) == 16  # 64 bits (issue 15)
        prefixes = iter([first.prefix, "0123456789abcdef"])
        monkeypatch.setattr(services, "token_prefix_new", lambda: next(prefixes))
        second, raw = services.api_token_create(actor=world["qa_li"], name="MES")
        assert second.prefix == "0123456789abcdef" and raw.startswith("cc_0123456789abcdef_")
        me = Client().get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert me.status_code == 200

    def test_forged_token_is_refused_with_a_clear_message(self, world: Any) -> None:
        response = Client().get("/api/accounts/me", HTTP_AUTHORIZATION="Bearer cc_deadbeef_forged")
        assert response.status_code == 401
        assert "API token" in response.json()["message"]

    def test_tokens_and_passwords_never_reach_the_logs(self, world: Any, caplog: Any) -> None:
        caplog.set_level(logging.DEBUG)
        _token, raw = services.api_token_create(actor=world["qa_li"], name="LIMS")
        client = Client()
        client.get("/api/accounts/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.get("/api/nope/unknown", HTTP_AUTHORIZATION=f"Bearer {raw}")
        _sign_in(Client(), "qa_li", "Wrong-Secret-Password-77")
        logging.getLogger("cellchain.test").warning("token=%s password=%s", raw, "Wrong-Secret-Password-77")
        text = "\n".join(r.getMessage() for r in caplog.records)
        formatted = "\n".join(logging.Formatter().format(r) for r in caplog.records)
        from cellchain.core.logging import redact

        assert raw.split("_", 2)[2] not in redact(text)
        assert "Wrong-Secret-Password-77" not in redact(formatted)


class TestBadInput:
    def test_forged_csrf_is_refused_with_a_friendly_page(self, world: Any) -> None:
        client = Client(enforce_csrf_checks=True)
        response = client.post("/accounts/login/", {"username": "qa_li", "password": PERSONA_PASSWORD})
        assert response.status_code == 403
        assert b"Reload the page" in response.content or "重新".encode() in response.content
        assert b"Traceback" not in response.content

    def test_malformed_json_gets_a_clear_json_error(self, client_for: Any) -> None:
        response = client_for("qa_li").post(
            "/api/accounts/tokens", data="{not json", content_type="application/json"
        )
        assert response.status_code in (400, 422)
        assert "message" in response.json()

    def test_unknown_id_is_a_json_404(self, client_for: Any) -> None:
        response = client_for("qa_li").post("/api/accounts/tokens/424242/revoke")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    def test_unknown_page_is_friendly_and_leaks_nothing(self, client_for: Any, settings: Any) -> None:
        settings.DEBUG = False
        response = client_for("qa_li").get("/no/such/page/")
        assert response.status_code == 404
        assert b"Traceback" not in response.content and b"urlpatterns" not in response.content

    def test_failed_service_writes_nothing(self, world: Any) -> None:
        from cellchain.ledger.models import LedgerEntry

        before = (User.objects.count(), LedgerEntry.objects.count())
        with pytest.raises(ValidationFailed):
            services.user_create(
                actor=None,
                username="half",
                printed_name="Half",
                site=world.sites["xiehe-main"],
                password="x" * 20,
                roles=("no-such-role",),
            )
        assert (User.objects.count(), LedgerEntry.objects.count()) == before


def test_json_error_shape_is_the_same_everywhere(client_for: Any) -> None:
    response = client_for("nurse_wang").post(
        "/api/quality/deviations/1/disposition", data=json.dumps({}), content_type="application/json"
    )
    assert response.status_code == 403
    assert set(response.json()) == {"message", "code", "detail"}


class TestAccountPages:
    """The own-account page, token and second-factor forms: each outcome said once (items 5-6)."""

    def test_token_is_shown_once_and_revoked_with_a_message(self, world: Any) -> None:
        client = Client()
        client.force_login(world["qa_li"])
        page = client.post("/accounts/me/", {"action": "token_create", "name": "LIMS"})
        token = world["qa_li"].api_tokens.get()
        assert page.status_code == 200 and page.context["new_token"].startswith("cc_")
        assert page.context["new_token"] in page.content.decode()
        assert client.get("/accounts/me/").context.get("new_token") is None
        revoked = client.post(f"/accounts/me/tokens/{token.pk}/revoke/", follow=True)
        assert "The token was revoked." in revoked.content.decode()
        token.refresh_from_db()
        assert token.revoked_at is not None

    def test_token_without_a_name_names_the_field(self, world: Any) -> None:
        client = Client()
        client.force_login(world["qa_li"])
        page = client.post("/accounts/me/", {"action": "token_create", "name": ""})
        assert page.context["token_form"].errors == {"name": ["This field is required."]}
        assert "new_token" not in page.context
        assert not world["qa_li"].api_tokens.exists()

    def test_second_factor_set_up_refuses_a_wrong_code_on_its_field(self, world: Any, settings: Any) -> None:
        settings.LANGUAGE_CODE = "en"
        user = world["qa_guo"]
        client = Client()
        client.force_login(user)
        page = client.get("/accounts/me/totp/")
        secret = pyotp.parse_uri(page.context["uri"]).secret
        wrong = client.post(
            "/accounts/me/totp/", {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"}
        )
        assert wrong.status_code == 200 and wrong.context["uri"] is None
        assert wrong.context["form"].errors == {
            "code": ["The code does not match; check the time on your device and try again."]
        }
        right = client.post("/accounts/me/totp/", {"code": pyotp.TOTP(secret).now()}, follow=True)
        assert right.redirect_chain[-1][0].endswith("/accounts/me/")
        assert "The second factor is set up." in right.content.decode()
        user.totp.refresh_from_db()
        assert user.totp.confirmed_at is not None

    def test_an_unreadable_code_keeps_the_secret_the_app_scanned(self, world: Any, settings: Any) -> None:
        """An empty code says what is wrong and does not start over: the scanned secret still confirms."""
        settings.LANGUAGE_CODE = "en"
        user = world["qa_guo"]
        client = Client()
        client.force_login(user)
        secret = pyotp.parse_uri(client.get("/accounts/me/totp/").context["uri"]).secret
        empty = client.post("/accounts/me/totp/", {"code": ""})
        assert empty.status_code == 200 and empty.context["uri"] is None
        assert "code" in empty.context["form"].errors
        client.post("/accounts/me/totp/", {"code": pyotp.TOTP(secret).now()})
        user.totp.refresh_from_db()
        assert user.totp.confirmed_at is not None
