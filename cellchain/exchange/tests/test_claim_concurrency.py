"""Two workers never take the same message: a row another transaction holds is skipped (issue 12 item 2).

PostgreSQL only: there the claim is `SELECT ... FOR UPDATE SKIP LOCKED`; SQLite has no row locks and
serialises every write transaction (BEGIN IMMEDIATE), so two workers cannot claim concurrently there at all.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection, connections, transaction

from cellchain.exchange import worker
from cellchain.exchange.models import OutboxMessage
from cellchain.exchange.services import message_enqueue, partner_register
from cellchain.exchange.tests.conftest import TEST_KIND
from cellchain.verifier.signing import public_key_bytes


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite serialises writers"
)
def test_a_row_locked_by_another_worker_is_skipped(
    ledger_transactional_db: None, exchange_dir: Any, applied: Any
) -> None:
    partner, _ = partner_register(
        actor=None,
        name="Hospital A",
        role="hospital",
        base_url="http://127.0.0.1:9",
        log_id="hospital-a",
        public_key=base64.b64encode(public_key_bytes(Ed25519PrivateKey.generate())).decode(),
        inbound_token="ccx_inbound-token-of-hospital-a-0123456789",
    )
    with transaction.atomic():
        first = message_enqueue(
            actor=None, partner=partner, kind=TEST_KIND, body={"text": "1"}, event_id="m1"
        )
        second = message_enqueue(
            actor=None, partner=partner, kind=TEST_KIND, body={"text": "2"}, event_id="m2"
        )
    locked, release, taken = threading.Event(), threading.Event(), []

    def other_worker() -> None:
        try:
            with transaction.atomic():
                list(OutboxMessage.objects.select_for_update().filter(pk=first.pk))
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        taken = worker.claim()
    finally:
        release.set()
        thread.join(10)
    assert [message.pk for message in taken] == [second.pk]
