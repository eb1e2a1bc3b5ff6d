"""Exchange pages: list, detail, add, deactivate; who may open them (issue 12 item 1)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.exchange import credentials
from cellchain.exchange.models import Partner
from cellchain.verifier.signing import key_fingerprint, public_key_bytes

pytestmark = pytest.mark.django_db


def test_the_list_and_detail_show_the_pinned_key(partner: Partner, client_for: Any) -> None:
    page = client_for("admin_shenghe").get("/exchange/partners/")
    assert (
        page.status_code == 200
        and b"Hospital A" in page.content
        and partner.key_fingerprint[:16].encode() in page.content
    )
    detail = client_for("auditor_xiehe").get(f"/exchange/partners/{partner.pk}/")
    assert detail.status_code == 200 and partner.key_fingerprint.encode() in detail.content
    assert b"Deactivate" not in detail.content  # an auditor reads only


def test_the_site_administrator_registers_a_partner_and_sees_its_token_once(
    world: Any, client_for: Any, exchange_dir: Any
) -> None:
    key = Ed25519PrivateKey.generate()
    response = client_for("admin_shenghe").post(
        "/exchange/partners/new/",
        {
            "name": "Maker D",
            "role": "manufacturer",
            "base_url": "https://maker-d.example",
            "log_id": "maker-d",
            "public_key": base64.b64encode(public_key_bytes(key)).decode(),
            "fingerprint": key_fingerprint(public_key_bytes(key)),
            "outbound_token": "ccx_from-maker-d-0123456789abcdef",
        },
    )
    assert response.status_code == 200 and b"ccx_" in response.content
    partner = Partner.objects.get(log_id="maker-d")
    shown = response.content.decode().split("<code>")[1].split("</code>")[0]
    assert partner.inbound_token_sha256 == credentials.token_sha256(shown)
    assert credentials.token_read("maker-d") == "ccx_from-maker-d-0123456789abcdef"


def test_a_refused_registration_says_why_on_the_form(world: Any, client_for: Any, exchange_dir: Any) -> None:
    response = client_for("admin_shenghe").post(
        "/exchange/partners/new/",
        {
            "name": "X",
            "role": "hospital",
            "base_url": "http://x.example",
            "log_id": "x",
            "public_key": "AAAA",
        },
    )
    assert response.status_code == 200 and b"plain http" in response.content
    assert not Partner.objects.exists()


def test_deactivate_needs_a_reason(partner: Partner, client_for: Any) -> None:
    client = client_for("admin_shenghe")
    client.post(f"/exchange/partners/{partner.pk}/deactivate/", {"reason": ""})
    partner.refresh_from_db()
    assert partner.active
    client.post(f"/exchange/partners/{partner.pk}/deactivate/", {"reason": "contract ended"})
    partner.refresh_from_db()
    assert not partner.active


@pytest.mark.parametrize(("username", "status"), [("qa_li", 403), ("nurse_wang", 403)])
def test_only_the_site_administrator_registers(
    username: str, status: int, world: Any, client_for: Any
) -> None:
    assert client_for(username).get("/exchange/partners/new/").status_code == status
