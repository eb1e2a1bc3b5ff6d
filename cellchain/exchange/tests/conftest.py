"""Fixtures of the exchange tests: a second installation ("hospital-a") with its own Ed25519 key, registered
as our partner, and a test-only message kind."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.test import Client

from cellchain.core.errors import Conflict
from cellchain.domain import merkle
from cellchain.domain.treehead import TreeHead, key_id, tree_head_bytes, tree_head_to_json
from cellchain.exchange import kinds
from cellchain.exchange.envelope import envelope_build
from cellchain.exchange.models import Partner
from cellchain.exchange.services import partner_register
from cellchain.ledger.witness import HEAD_FORMAT
from cellchain.verifier.signing import public_key_bytes

TEST_KIND = "test.note"
PARTNER_LOG = "hospital-a"
INBOUND = "ccx_inbound-token-of-hospital-a-0123456789"
OUTBOUND = "ccx_outbound-token-we-present-0123456789"


@dataclass
class Applied:
    """What the test kind's receive did (and may be told to refuse)."""

    notes: list[tuple[str, str]] = field(default_factory=list)
    refuse: str = ""


def _validate(body: dict[str, Any]) -> list[str]:
    reasons = []
    if not isinstance(body.get("text"), str) or not body["text"]:
        reasons.append("text: missing or not a non-empty string")
    if set(body) - {"text", "extra"}:
        reasons.append(f"unknown fields: {', '.join(sorted(set(body) - {'text', 'extra'}))}")
    return reasons


@pytest.fixture
def applied() -> Iterator[Applied]:
    state = Applied()

    def receive(actor: Any, partner: Partner, body: dict[str, Any], event_id: str) -> None:
        if state.refuse:
            raise Conflict(state.refuse)
        state.notes.append((partner.log_id, body["text"]))

    kinds.register(TEST_KIND, validate=_validate, receive=receive)
    yield state
    kinds.unregister(TEST_KIND)


@pytest.fixture
def exchange_dir(settings: Any, tmp_path: Any) -> Any:
    settings.CELLCHAIN_EXCHANGE_DIR = tmp_path / "exchange"
    return settings.CELLCHAIN_EXCHANGE_DIR


@pytest.fixture
def other_key() -> Ed25519PrivateKey:
    """The partner installation's ledger key."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def partner(db: None, exchange_dir: Any, other_key: Ed25519PrivateKey, applied: Applied) -> Partner:
    registered, _made = partner_register(
        actor=None,
        name="Hospital A",
        role="hospital",
        base_url="http://127.0.0.1:9",
        log_id=PARTNER_LOG,
        public_key=base64.b64encode(public_key_bytes(other_key)).decode(),
        outbound_token=OUTBOUND,
        inbound_token=INBOUND,
    )
    return registered


def their_envelope(
    key: Ed25519PrivateKey,
    *,
    event_id: str = "evt-1",
    body: dict[str, Any] | None = None,
    kind: str = TEST_KIND,
    sender: str = PARTNER_LOG,
    recipient: str | None = None,
) -> dict[str, Any]:
    """An envelope the partner installation signed."""
    return envelope_build(
        private_key=key,
        sender=sender,
        recipient=recipient or settings.CELLCHAIN_LEDGER_LOG_ID,
        kind=kind,
        event_id=event_id,
        sent_at=dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC),
        body=body if body is not None else {"text": "hello"},
    )


def deliver(envelope: Any, *, token: str = INBOUND, raw: bytes | None = None) -> Any:
    """POST to our inbox as the partner would."""
    data = raw if raw is not None else json.dumps(envelope).encode()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().post("/api/exchange/inbox", data=data, content_type="application/json", **headers)


def their_head(key: Ed25519PrivateKey, *, log_id: str = PARTNER_LOG, size: int = 1) -> dict[str, Any]:
    """A head document of the partner's log (a one-leaf tree), signed with `key`."""
    head = TreeHead(
        log_id=log_id, size=size, root=merkle.leaf_hash(b"their first entry"), time="2026-12-07T12:00:00Z"
    )
    public = public_key_bytes(key)
    return {
        "format": HEAD_FORMAT,
        **tree_head_to_json(head),
        "key_id": key_id(public),
        "signature": base64.b64encode(key.sign(tree_head_bytes(head))).decode(),
        "public_key": base64.b64encode(public).decode(),
    }
