"""The exchange between two installations as separate processes and databases, under failure (issue 12 item 5;
decision 0017): the receiver down for a while and then up (nothing lost, nothing duplicated, the back-off
visible in the attempts), a replayed message not applied twice, forged messages refused with a clear reason
and kept in the receiver's quarantine, both ledgers cosigning each other's heads after an exchange, and
`ledger verify` passing on both sides afterwards (X-3 audit trail; T-6.4 records exchanged between parties).

The installations are started once for the module (`linked` in conftest.py) and carry the test-only kind
`test.network.note` (tests/network/kinds.py), whose receive logs every committed application to a file: that
count does not rely on the inbox's own unique constraint. Every test uses its own event ids, so each asserts
on its own messages whatever ran before it; the last test verifies both ledgers after all of them.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cellchain.core import network
from cellchain.core.network import Installation
from cellchain.exchange.envelope import envelope_build
from tests.network.kinds import APPLIED_LOG, TEST_KIND

# Enqueue COUNT notes to RECIPIENT, each in its own transaction (as a regulated change would).
ENQUEUE = """
import json
from django.db import transaction
from cellchain.exchange.models import Partner
from cellchain.exchange.services import message_enqueue
partner = Partner.objects.get(log_id=RECIPIENT)
for n in range(COUNT):
    with transaction.atomic():
        message_enqueue(actor=None, partner=partner, kind=KIND, body={"n": n, "text": f"{PREFIX} note {n}"},
                        event_id=f"{PREFIX}/{n}")
print(json.dumps({"enqueued": COUNT}))
"""

# What one installation holds about the messages whose event id starts with PREFIX + "/", and its witnessing
# of the OTHER installation.
STATE = """
import json
from pathlib import Path
from django.conf import settings
from cellchain.exchange.models import InboxMessage, OutboxMessage
from cellchain.exchange.selectors import quarantine_list
from cellchain.ledger.models import HeadCountersignature, LedgerEntry, LedgerHead, WitnessedHead

def entries(model, pks, event):
    return list(LedgerEntry.objects.filter(record_type=model._meta.label_lower, record_id__in=[str(p) for p in pks],
                                           event=event).values_list("seq", flat=True))

outbox = []
for row in OutboxMessage.objects.filter(event_id__startswith=PREFIX + "/").order_by("pk"):
    outbox.append({
        "event_id": row.event_id, "status": row.status, "attempts": row.attempts, "envelope": row.envelope,
        "created_at": row.created_at.timestamp(),
        "tries": [{"number": a.number, "at": a.at.timestamp(), "outcome": a.outcome,
                   "http_status": a.http_status, "detail": a.detail} for a in row.attempt_log.order_by("number")],
        "enqueue_seqs": entries(OutboxMessage, [row.pk], "exchange:enqueue"),
        "deliver_seqs": entries(OutboxMessage, [row.pk], "exchange:deliver"),
    })
inbox = list(InboxMessage.objects.filter(event_id__startswith=PREFIX + "/").order_by("pk"))
log = Path(settings.VAR_DIR) / APPLIED_LOG
applied = [line for line in (log.read_text().splitlines() if log.exists() else []) if line.startswith(PREFIX + "/")]
countersigned_by_other = HeadCountersignature.objects.filter(witness_id=OTHER).order_by("-head__size").first()
witnessed_of_other = WitnessedHead.objects.filter(log_id=OTHER).order_by("-size").first()
print(json.dumps({
    "outbox": outbox,
    "queued": OutboxMessage.objects.filter(status="queued").count(),
    "inbox": [row.event_id for row in inbox],
    "receive_seqs": entries(InboxMessage, [row.pk for row in inbox], "exchange:receive"),
    "applied": applied,
    "quarantine": [{"code": q.code, "reason": q.reason, "event_id": q.event_id, "sender": q.sender_claimed,
                    "partner": q.partner.log_id if q.partner else None}
                   for q in quarantine_list(pending_only=True).filter(event_id__startswith=PREFIX + "/")],
    "our_head_countersigned_by_other": countersigned_by_other.head.size if countersigned_by_other else 0,
    "other_head_we_countersigned": witnessed_of_other.size if witnessed_of_other else 0,
    "ledger_size": LedgerHead.objects.get(pk=1).size,
}))
"""

# Envelopes signed with this installation's own ledger key but never put in its outbox (what a sender that
# misbehaves, or a test, can post straight to the partner's inbox).
SIGNED = """
import json
from cellchain.core import clock
from cellchain.exchange.envelope import envelope_build
from cellchain.exchange.services import our_log_id
from cellchain.ledger.signing_keys import active_signer
_key, private = active_signer()
print(json.dumps([envelope_build(private_key=private, sender=our_log_id(), recipient=RECIPIENT, kind=kind,
                                 event_id=event_id, sent_at=clock.now(), body=body)
                  for kind, event_id, body in MESSAGES]))
"""


def _shell_json(installation: Installation, code: str, **names: Any) -> Any:
    """Run Python in the installation's `shell` with `names` bound; the JSON its last printed line holds."""
    preamble = "".join(f"{name} = {value!r}\n" for name, value in names.items())
    output = network.run_command(installation, "shell", "--no-imports", "-c", preamble + code)
    return json.loads(output.strip().splitlines()[-1])


def _state(installation: Installation, other: Installation, prefix: str) -> dict[str, Any]:
    return _shell_json(installation, STATE, PREFIX=prefix, OTHER=other.name, APPLIED_LOG=APPLIED_LOG)


def _enqueue(sender: Installation, recipient: Installation, prefix: str, count: int) -> None:
    done = _shell_json(sender, ENQUEUE, RECIPIENT=recipient.name, COUNT=count, KIND=TEST_KIND, PREFIX=prefix)
    assert done == {"enqueued": count}


def _wait(what: str, check: Callable[[], Any], timeout: float = 60, pause: float = 0.5) -> Any:
    """Call check until it returns something true; that value, or fail naming what did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(pause)


def _token(sender: Installation, recipient: Installation) -> str:
    """The pair's token as the sender keeps it (network.link_partners)."""
    return (sender.var_dir / "exchange" / f"pair-{recipient.name}.token").read_text().strip()


def _post(recipient: Installation, envelope: dict[str, Any], token: str | None) -> tuple[int, dict[str, Any]]:
    """POST an envelope to the recipient's inbox as a partner (or anybody) would; (status, JSON answer)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 — http://127.0.0.1
        recipient.url + "/api/exchange/inbox",
        data=json.dumps(envelope).encode(),
        method="POST",
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 — http://127.0.0.1
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def test_receiver_down_then_up_every_message_is_delivered_exactly_once_after_backing_off(
    linked: dict[str, Installation],
) -> None:
    """Issue 12 item 5: the hospital's server is stopped, the manufacturer enqueues meanwhile and its worker
    (`exchange_run`, a process of its own) keeps failing with back-off; once the hospital is up again every
    message is delivered once: counted at the sender (delivered, one `exchange:deliver` entry each) and at the
    receiver (one inbox row, one `exchange:receive` entry, one application each)."""
    manufacturer, hospital = linked["manufacturer"], linked["hospital"]
    count = 12
    network.stop(hospital)
    try:
        _enqueue(manufacturer, hospital, "outage", count)
        assert network.start_worker(manufacturer, interval=0.5, poll=0.3)

        def tried_twice() -> bool:
            rows = _state(manufacturer, hospital, "outage")["outbox"]
            return len(rows) == count and all(row["attempts"] >= 2 for row in rows)

        _wait("two failed attempts of every message while the receiver is down", tried_twice)
        while_down = _state(manufacturer, hospital, "outage")
        assert {row["status"] for row in while_down["outbox"]} == {"queued"}
    finally:
        network.start(hospital)

    def all_delivered() -> dict[str, Any] | None:
        state = _state(manufacturer, hospital, "outage")
        done = all(row["status"] == "delivered" for row in state["outbox"]) and state["queued"] == 0
        return state if done else None

    try:
        sent = _wait("delivery of every message once the receiver is up", all_delivered)
    finally:
        network.stop_worker(manufacturer)
    received = _state(hospital, manufacturer, "outage")

    expected = [f"outage/{n}" for n in range(count)]
    # Sender: each message delivered once, after failed attempts that backed off.
    assert sorted(row["event_id"] for row in sent["outbox"]) == sorted(expected)
    for row in sent["outbox"]:
        tries = row["tries"]
        assert (
            [t["number"] for t in tries]
            == list(range(1, len(tries) + 1))
            == list(range(1, row["attempts"] + 1))
        )
        assert [t["outcome"] for t in tries] == ["retry"] * (len(tries) - 1) + ["delivered"], row["event_id"]
        assert len(tries) >= 3, "two failures while down, then the delivery"
        assert all(t["http_status"] is None and t["detail"].startswith("network:") for t in tries[:-1])
        assert tries[-1]["http_status"] == 200
        # Back-off: the k-th retry waits at least (1 - jitter 0.25) * 1 s * 2**(k-1), capped at 4 s.
        gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(tries)]
        floors = [0.75 * min(2 ** (k - 1), 4) for k in range(1, len(gaps) + 1)]
        assert all(gap >= floor for gap, floor in zip(gaps, floors, strict=True)), (row["event_id"], gaps)
        assert len(row["enqueue_seqs"]) == 1 and len(row["deliver_seqs"]) == 1
    # Receiver: each applied once, nothing lost, nothing extra, nothing quarantined.
    assert sorted(received["inbox"]) == sorted(expected)
    assert sorted(received["applied"]) == sorted(expected)
    assert len(received["receive_seqs"]) == count
    assert received["quarantine"] == []


def test_a_replayed_message_is_answered_already_received_and_not_applied_twice(
    linked: dict[str, Installation],
) -> None:
    """The exact signed envelope posted again (by the worker after a lost answer, or by anyone who recorded
    it) is idempotent by event id: 200 "already received", no second inbox row, ledger entry or application."""
    manufacturer, hospital = linked["manufacturer"], linked["hospital"]
    _enqueue(manufacturer, hospital, "replay", 1)
    network.run_command(manufacturer, "exchange_run", "--once")
    envelope = _state(manufacturer, hospital, "replay")["outbox"][0]["envelope"]

    answers = [_post(hospital, envelope, _token(manufacturer, hospital)) for _ in range(2)]

    assert answers == [(200, answers[0][1])] * 2
    assert answers[0][1]["status"] == "already received"
    assert answers[0][1]["event_id"] == "replay/0"
    received = _state(hospital, manufacturer, "replay")
    assert received["inbox"] == ["replay/0"]
    assert received["applied"] == ["replay/0"]
    assert len(received["receive_seqs"]) == 1
    assert received["quarantine"] == []


def test_forged_messages_are_refused_with_the_reason_and_kept_in_the_receivers_quarantine(
    linked: dict[str, Installation],
) -> None:
    """A message with a bad signature (tampered body, or another key), from an unknown partner (no or a wrong
    token), schema-invalid, or a second different content under an event id already received is refused
    with a 4xx naming the rule and appears in the hospital's quarantine list; none is applied."""
    manufacturer, hospital = linked["manufacturer"], linked["hospital"]
    token = _token(manufacturer, hospital)
    good, invalid, other_content, first = _shell_json(
        manufacturer,
        SIGNED,
        RECIPIENT=hospital.name,
        MESSAGES=[
            (TEST_KIND, "forged/good", {"n": 1, "text": "as signed"}),
            (TEST_KIND, "forged/invalid", {"n": "one", "text": ""}),
            (TEST_KIND, "forged/again", {"n": 2, "text": "second content"}),
            (TEST_KIND, "forged/again", {"n": 2, "text": "first content"}),
        ],
    )
    tampered = {**good, "body": {"n": 1, "text": "changed on the way"}}
    impostor = envelope_build(
        private_key=Ed25519PrivateKey.generate(),
        sender=manufacturer.name,
        recipient=hospital.name,
        kind=TEST_KIND,
        event_id="forged/impostor",
        sent_at=dt.datetime.now(dt.UTC),
        body={"n": 3, "text": "signed with another key"},
    )
    assert _post(hospital, first, token)[0] == 200  # the first content under forged/again is applied

    answers = {
        "tampered body": _post(hospital, tampered, token),
        "another key": _post(hospital, impostor, token),
        "no token": _post(hospital, good, None),
        "unknown token": _post(hospital, good, "ccx_" + base64.urlsafe_b64encode(b"x" * 24).decode()),
        "schema-invalid": _post(hospital, invalid, token),
        "other content, same event": _post(hospital, other_content, token),
    }

    codes = {case: (status, answer["code"]) for case, (status, answer) in answers.items()}
    assert codes == {
        "tampered body": (403, "bad_signature"),
        "another key": (403, "bad_signature"),
        "no token": (401, "unknown_partner"),
        "unknown token": (401, "unknown_partner"),
        "schema-invalid": (422, "invalid_body"),
        "other content, same event": (409, "tampered_duplicate"),
    }
    assert "does not verify with the key pinned for manufacturer" in answers["tampered body"][1]["message"]
    assert "not the token of any registered partner" in answers["unknown token"][1]["message"]
    assert "n: missing or not an integer" in answers["schema-invalid"][1]["message"]
    assert "replay or forgery" in answers["other content, same event"][1]["message"]
    received = _state(hospital, manufacturer, "forged")
    quarantined = sorted((q["code"], q["event_id"], q["sender"]) for q in received["quarantine"])
    assert quarantined == sorted(
        [
            ("bad_signature", "forged/good", "manufacturer"),
            ("bad_signature", "forged/impostor", "manufacturer"),
            ("unknown_partner", "forged/good", "manufacturer"),
            ("unknown_partner", "forged/good", "manufacturer"),
            ("invalid_body", "forged/invalid", "manufacturer"),
            ("tampered_duplicate", "forged/again", "manufacturer"),
        ]
    )
    by_code = {q["code"]: q for q in received["quarantine"]}
    assert by_code["bad_signature"]["partner"] == "manufacturer"  # the token named the partner
    assert by_code["unknown_partner"]["partner"] is None
    assert all(q["reason"] for q in received["quarantine"])
    assert received["inbox"] == ["forged/again"]  # only the genuine first content
    assert received["applied"] == ["forged/again"]


def test_both_ledgers_cosign_each_others_head_after_an_exchange(linked: dict[str, Installation]) -> None:
    """Decision 0017 witnessing: after one delivery (and the countersignature message it starts) the hospital
    has countersigned a manufacturer head covering the message's enqueue entry and its countersignature is
    kept at the manufacturer; the manufacturer has countersigned a hospital head covering the receipt and its
    countersignature is kept at the hospital."""
    manufacturer, hospital = linked["manufacturer"], linked["hospital"]
    _enqueue(manufacturer, hospital, "witness", 1)

    network.run_command(manufacturer, "exchange_run", "--once")

    sent = _state(manufacturer, hospital, "witness")
    received = _state(hospital, manufacturer, "witness")
    assert sent["queued"] == 0, "the countersignature message went in the same run"
    [message] = sent["outbox"]
    assert message["status"] == "delivered"
    [enqueued] = message["enqueue_seqs"]
    [receipt] = received["receive_seqs"]
    # Sizes are entry counts and seqs start at 0: a head of size s covers entries 0..s-1.
    assert received["other_head_we_countersigned"] > enqueued
    assert sent["our_head_countersigned_by_other"] > enqueued
    assert sent["other_head_we_countersigned"] > receipt
    assert received["our_head_countersigned_by_other"] > receipt


def test_every_ledger_verifies_after_the_exchanges(linked: dict[str, Installation]) -> None:
    """X-3: after the outage, the replays, the forgeries and the witnessing above, `ledger verify` (leaves,
    tree, heads, replay against the tables) passes on both installations; exit 0 only when all holds."""
    reports: dict[str, Any] = {}

    def verify(installation: Installation) -> None:
        reports[installation.name] = json.loads(
            network.run_command(installation, "ledger", "verify", "--json", "--no-progress")
        )

    threads = [threading.Thread(target=verify, args=(i,)) for i in linked.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(reports) == {"manufacturer", "hospital"}, "a verify failed: see the output above"
    for name, report in reports.items():
        assert report["ok"] is True and report["findings"] == [], (name, report["findings"])
        assert report["entries"] > 0 and report["records"] > 0, name
