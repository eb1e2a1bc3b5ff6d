"""The outbox: written in the caller's transaction, refused with reasons; the worker delivers with retries
and back-off against a local HTTP server, nothing lost, nothing duplicated (issue 12 item 2)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.exchange import worker
from cellchain.exchange.envelope import content_sha256, signature_verifies
from cellchain.exchange.models import DeliveryAttempt, OutboxMessage, Partner
from cellchain.exchange.services import message_enqueue, partner_deactivate, partner_update
from cellchain.exchange.tests.conftest import OUTBOUND, PARTNER_LOG, TEST_KIND, Applied
from cellchain.ledger.keys import public_key_bytes
from cellchain.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db


def _enqueue(partner: Partner, event_id: str = "ours-1", body: dict | None = None) -> OutboxMessage:
    with transaction.atomic():
        return message_enqueue(
            actor=None,
            partner=partner,
            kind=TEST_KIND,
            body=body or {"text": "batch released"},
            event_id=event_id,
        )


class TestEnqueue:
    def test_the_message_is_signed_and_ledgered(self, partner: Partner, settings: Any) -> None:
        message = _enqueue(partner)
        envelope = message.envelope
        assert (envelope["sender"], envelope["recipient"]) == (settings.CELLCHAIN_LEDGER_LOG_ID, PARTNER_LOG)
        assert signature_verifies(envelope, public_key_bytes())
        assert message.status == "queued" and message.attempts == 0
        entry = LedgerEntry.objects.get(record_type="exchange.outboxmessage", record_id=str(message.pk))
        assert entry.event == "exchange:enqueue"
        assert json.loads(bytes(entry.canonical))["extra"]["sha256"] == content_sha256(envelope)

    def test_it_rolls_back_with_the_callers_transaction(self, partner: Partner) -> None:
        entries = LedgerEntry.objects.count()
        with pytest.raises(RuntimeError, match="the change failed"), transaction.atomic():
            message_enqueue(actor=None, partner=partner, kind=TEST_KIND, body={"text": "x"}, event_id="e")
            raise RuntimeError("the change failed")
        assert not OutboxMessage.objects.exists() and LedgerEntry.objects.count() == entries

    def test_outside_a_transaction_is_a_programming_error(self, partner: Partner, monkeypatch: Any) -> None:
        from django.db import connections

        monkeypatch.setattr(
            connections["default"], "in_atomic_block", False
        )  # as outside the test's own transaction
        with pytest.raises(RuntimeError, match="inside the transaction"):
            message_enqueue(actor=None, partner=partner, kind=TEST_KIND, body={"text": "x"}, event_id="e")

    def test_an_invalid_body_is_refused_with_the_kinds_reasons(self, partner: Partner) -> None:
        with pytest.raises(ValidationFailed, match="text: missing") as refused:
            _enqueue(partner, body={"txt": "typo"})
        assert refused.value.detail["reasons"] == [
            "text: missing or not a non-empty string",
            "unknown fields: txt",
        ]
        assert not OutboxMessage.objects.exists()

    def test_patient_identity_is_never_enqueued(self, partner: Partner) -> None:
        with pytest.raises(ValidationFailed, match="patient identity") as refused:
            _enqueue(partner, body={"text": "AE", "extra": {"patient": {"mrn": "MRN-77"}}})
        assert refused.value.detail["findings"] == [
            "extra.patient.mrn: the field 'mrn' may identify a patient and is never sent"
        ]
        assert not OutboxMessage.objects.exists()

    def test_unknown_kind_duplicate_event_and_inactive_partner_are_refused(self, partner: Partner) -> None:
        with pytest.raises(ValidationFailed, match="not a registered message kind"), transaction.atomic():
            message_enqueue(actor=None, partner=partner, kind="nope", body={}, event_id="e")
        _enqueue(partner, "e1")
        with pytest.raises(Conflict, match="already sent"):
            _enqueue(partner, "e1")
        partner_deactivate(actor=None, partner=partner, reason="ended")
        with pytest.raises(NotAllowed, match="inactive"):
            _enqueue(partner, "e2")


class Partnerside:
    """A partner's inbox on 127.0.0.1: answers `plan` statuses in turn (then 200) and records each request."""

    def __init__(self, plan: list[int], answer: dict | None = None) -> None:
        self.plan, self.requests, self.answer = list(plan), [], answer
        side = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                side.requests.append(
                    (self.path, self.headers["Authorization"], json.loads(self.rfile.read(length)))
                )
                status = side.plan.pop(0) if side.plan else 200
                if status == 200:
                    payload = side.answer or {
                        "status": "received",
                        "event_id": side.requests[-1][2]["event_id"],
                    }
                else:
                    payload = {"message": f"Refused: test status {status}.", "code": "test", "detail": {}}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fast_retries(settings: Any) -> None:
    settings.CELLCHAIN_EXCHANGE_RETRY_FIRST_SECONDS = 0.001
    settings.CELLCHAIN_EXCHANGE_RETRY_MAX_SECONDS = 0.002
    settings.CELLCHAIN_EXCHANGE_TIMEOUT_SECONDS = 5


def _point_at(partner: Partner, url: str) -> None:
    partner_update(actor=None, partner=partner, reason="test server", base_url=url)


def _deliver_until_done(rounds: int = 10) -> None:
    for _ in range(rounds):
        worker.run_once()
        if not OutboxMessage.objects.filter(status="queued").exists():
            return
        time.sleep(0.01)


@pytest.fixture
def side() -> Iterator[Any]:
    made: list[Partnerside] = []

    def make(plan: list[int], answer: dict | None = None) -> Partnerside:
        made.append(Partnerside(plan, answer))
        return made[-1]

    yield make
    for server in made:
        server.close()


class TestWorker:
    def test_a_partner_down_for_a_while_gets_every_message_once(
        self, partner: Partner, side: Any, fast_retries: None
    ) -> None:
        server = side([503, 502, 503])
        _point_at(partner, server.url)
        first, second = _enqueue(partner, "m1"), _enqueue(partner, "m2")
        _deliver_until_done()
        for message in (first, second):
            message.refresh_from_db()
            assert message.status == "delivered" and message.delivered_at is not None
        posted = [request[2]["event_id"] for request in server.requests]
        assert sorted(set(posted)) == ["m1", "m2"] and len(posted) == 5  # 3 refused tries, then each once
        assert all(
            path == "/api/exchange/inbox" and auth == f"Bearer {OUTBOUND}"
            for path, auth, _ in server.requests
        )
        # Every try of one message carried the same signed content.
        contents = {content_sha256(body) for _, _, body in server.requests if body["event_id"] == "m1"}
        assert len(contents) == 1
        outcomes = list(
            DeliveryAttempt.objects.order_by("at", "pk").values_list(
                "message__event_id", "outcome", "http_status"
            )
        )
        assert outcomes.count(("m1", "delivered", 200)) == 1 and outcomes.count(("m2", "delivered", 200)) == 1
        assert sum(1 for _, outcome, _ in outcomes if outcome == "retry") == 3
        delivered = LedgerEntry.objects.filter(record_type="exchange.outboxmessage", event="exchange:deliver")
        assert delivered.count() == 2
        # A second run sends nothing again.
        worker.run_once()
        assert len(server.requests) == 5

    def test_a_refusal_is_a_permanent_failure_with_the_reason(
        self, partner: Partner, side: Any, fast_retries: None
    ) -> None:
        server = side([422])
        _point_at(partner, server.url)
        message = _enqueue(partner)
        _deliver_until_done()
        message.refresh_from_db()
        assert message.status == "failed-permanently" and message.attempts == 1
        assert "HTTP 422" in message.last_error and "test status 422" in message.last_error
        entry = LedgerEntry.objects.get(record_type="exchange.outboxmessage", event="exchange:fail")
        assert "test status 422" in json.loads(bytes(entry.canonical))["reason"]
        assert len(server.requests) == 1

    def test_network_errors_back_off_then_give_up(self, partner: Partner, settings: Any) -> None:
        settings.CELLCHAIN_EXCHANGE_MAX_ATTEMPTS = 2
        settings.CELLCHAIN_EXCHANGE_RETRY_JITTER = 0
        message = _enqueue(partner)  # the partner's base URL is http://127.0.0.1:9 (discard): nothing listens
        before = message.next_attempt_at
        counts = worker.run_once()
        message.refresh_from_db()
        assert counts["retry"] == 1 and message.status == "queued" and message.attempts == 1
        assert "network" in message.last_error
        assert (message.next_attempt_at - before).total_seconds() >= 5  # the first back-off (5 s default)
        assert worker.run_once()["retry"] == 0  # not due yet
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=before)
        worker.run_once()
        message.refresh_from_db()
        assert message.status == "failed-permanently" and "gave up after 2 attempts" in message.last_error

    def test_a_claimed_message_is_not_claimed_again_while_leased(self, partner: Partner) -> None:
        _enqueue(partner)
        assert len(worker.claim()) == 1
        assert worker.claim() == []  # another worker finds nothing to take

    def test_the_retry_delay_grows_with_jitter_under_the_cap(self, settings: Any) -> None:
        import datetime as dt

        from cellchain.exchange.services import retry_at

        settings.CELLCHAIN_EXCHANGE_RETRY_FIRST_SECONDS = 10
        settings.CELLCHAIN_EXCHANGE_RETRY_MAX_SECONDS = 60
        settings.CELLCHAIN_EXCHANGE_RETRY_JITTER = 0.25
        now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
        for attempts, top in ((1, 10), (2, 20), (3, 40), (4, 60), (9, 60)):
            seconds = (retry_at(attempts, now=now) - now).total_seconds()
            assert top * 0.75 <= seconds <= top

    def test_exchange_run_once(self, partner: Partner, side: Any, fast_retries: None, capsys: Any) -> None:
        server = side([])
        _point_at(partner, server.url)
        _enqueue(partner)
        call_command("exchange_run", "--once")
        assert "delivered 1" in capsys.readouterr().out
        assert len(server.requests) == 1

    def test_no_token_keeps_the_message_queued(
        self, partner: Partner, exchange_dir: Any, applied: Applied
    ) -> None:
        (exchange_dir / f"{PARTNER_LOG}.token").unlink()
        message = _enqueue(partner)
        worker.run_once()
        message.refresh_from_db()
        assert message.status == "queued" and "no token" in message.last_error
