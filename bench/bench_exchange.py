"""Bench: exchange throughput and delivery delay between two installations (issue 12, Performance).

Two installations on this machine, as `make demo-network` and the network tests run them (cellchain/core/
network.py): a manufacturer and a hospital, each a gunicorn process with its own SQLite database, ledger key
and log id, registered as each other's partners through the exchange CLI. They run the network tests'
settings (tests/network/settings.py), which add the test-only kind `test.network.note` (tests/network/
kinds.py): a small body, validated on both sides, whose receive applies nothing beyond the ledgered inbox row,
so the figures are the exchange's own cost.

- ours (network): --events messages are enqueued at the manufacturer, each in its own transaction
  (`message_enqueue`: validate, identity check, sign, outbox row, ledger entry), while its delivery worker
  (`exchange_run`, a process of its own, polling every 0.05 s) POSTs them over HTTP to the hospital's inbox,
  which authenticates, verifies the signature, checks, applies once and ledgers them, issues its signed head and
  countersigns the sender's (decision 0017 witnessing; the sender then countersigns the hospital's head and
  sends that back as an `exchange.countersignature` message, which the worker also delivers). Events/s =
  events / (last applied at the hospital - first enqueued at the manufacturer); delay of one event =
  applied at the hospital (`InboxMessage.received_at`) - enqueued (`OutboxMessage.created_at`); p50/p95/max.
  A burst: everything is enqueued at once, so the delay includes the wait in the queue.
- paced: once the queue is empty again (the burst's countersignature messages delivered), --paced events
  enqueued at a third of the burst's rate (each event also starts a countersignature message), for the delay
  when the worker keeps up.
- baseline (local): the same number of events written at the manufacturer alone, each in one transaction:
  `message_enqueue` and then the receiver's work without transport (signature check, body validation, the
  kind's receive, the ledgered inbox row).

Prints both rates, the ratio baseline / ours, and the delays, then runs `ledger verify` on both. Uses a
temporary folder; 1-2 minutes, most of it migrating the first database (the second is a copy).

Run: .venv/bin/python bench/bench_exchange.py [--events N] [--paced N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cellchain.core import network  # noqa: E402 — after the repository is on the path

SETTINGS = "tests.network.settings"
KIND = "test.network.note"

# In the manufacturer: N events written locally; prints the seconds it took. They go to a partner of their own
# ("local-sink", registered for this and deactivated after it, so the worker never sends them).
LOCAL = """
import json, time
from django.db import transaction
from cellchain.exchange import kinds
from cellchain.exchange.envelope import content_sha256, signature_verifies
from cellchain.exchange.inbox import _apply
from cellchain.exchange.models import Partner
from cellchain.exchange.services import message_enqueue, partner_deactivate, partner_register
from cellchain.ledger.signing_keys import active_signer
from cellchain.verifier.signing import public_key_bytes
kind = kinds.get(KIND)
_key, private = active_signer()
public = public_key_bytes(private.public_key())
sink, _token = partner_register(actor=None, name="Local sink (bench)", role="hospital",
                                base_url="http://127.0.0.1:9", log_id="local-sink", public_key=public)
began = time.perf_counter()
for n in range(COUNT):
    with transaction.atomic():
        sent = message_enqueue(actor=None, partner=sink, kind=KIND, body={"n": n, "text": f"local note {n}"},
                               event_id=f"local/{n}")
        envelope = sent.envelope
        assert signature_verifies(envelope, public) and not kind.validate(envelope["body"])
        _apply(sink, kind, envelope, content_sha256(envelope))
seconds = time.perf_counter() - began
partner_deactivate(actor=None, partner=sink, reason="bench: the local baseline is written; nothing is sent")
print(json.dumps({"seconds": seconds}))
"""

# In the manufacturer: enqueue N events under PREFIX, each in its own transaction, PAUSE seconds apart.
ENQUEUE = """
import json, time
from django.db import transaction
from cellchain.exchange.models import Partner
from cellchain.exchange.services import message_enqueue
partner = Partner.objects.get(log_id=RECIPIENT)
began = time.perf_counter()
for n in range(COUNT):
    if PAUSE:
        time.sleep(max(0.0, began + n * PAUSE - time.perf_counter()))
    with transaction.atomic():
        message_enqueue(actor=None, partner=partner, kind=KIND, body={"n": n, "text": f"{PREFIX} note {n}"},
                        event_id=f"{PREFIX}/{n}")
print(json.dumps({"seconds": time.perf_counter() - began}))
"""

# Times of the messages under PREFIX: enqueued (sender) or applied (receiver), as UNIX seconds by event id.
TIMES = """
import json
from cellchain.exchange.models import InboxMessage, OutboxMessage
sent = OutboxMessage.objects.filter(event_id__startswith=PREFIX + "/")
got = InboxMessage.objects.filter(event_id__startswith=PREFIX + "/")
print(json.dumps({
    "enqueued": {m.event_id: m.created_at.timestamp() for m in sent},
    "delivered": sent.filter(status="delivered").count(),
    "queued": OutboxMessage.objects.filter(status="queued", partner__active=True).count(),
    "countersignatures_delivered": OutboxMessage.objects.filter(kind="exchange.countersignature",
                                                                status="delivered").count(),
    "applied": {m.event_id: m.received_at.timestamp() for m in got},
}))
"""


def shell_json(installation: network.Installation, code: str, **names: Any) -> Any:
    preamble = "".join(f"{name} = {value!r}\n" for name, value in names.items())
    output = network.run_command(installation, "shell", "--no-imports", "-c", preamble + code)
    return json.loads(output.strip().splitlines()[-1])


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))]


def over_the_network(
    sender: network.Installation, receiver: network.Installation, prefix: str, count: int, pause: float
) -> dict[str, Any]:
    """Enqueue `count` events at the sender (the worker running) and wait until the receiver applied them."""
    shell_json(sender, ENQUEUE, RECIPIENT=receiver.name, COUNT=count, KIND=KIND, PREFIX=prefix, PAUSE=pause)
    deadline = time.monotonic() + 120
    while True:
        applied = shell_json(receiver, TIMES, PREFIX=prefix)["applied"]
        if len(applied) >= count:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(applied)} of {count} {prefix} events arrived within 120 s")
        time.sleep(0.5)
    deadline = time.monotonic() + 120
    while (sent := shell_json(sender, TIMES, PREFIX=prefix))["queued"]:
        if time.monotonic() > deadline:
            raise SystemExit(f"{sent['queued']} messages still queued at the sender after 120 s")
        time.sleep(0.5)  # the countersignature messages the events started
    drained = time.time() - min(sent["enqueued"].values())
    assert sent["delivered"] == count and set(applied) == set(sent["enqueued"]), "lost or extra messages"
    delays = [applied[event] - sent["enqueued"][event] for event in applied]
    span = max(applied.values()) - min(sent["enqueued"].values())
    return {
        "rate": count / span,
        "span": span,
        "p50": statistics.median(delays),
        "p95": percentile(delays, 0.95),
        "max": max(delays),
        "countersignatures": sent["countersignatures_delivered"],
        "drained": drained,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EXCHANGE_EVENTS", 100)))
    parser.add_argument("--paced", type=int, default=int(os.environ.get("BENCH_EXCHANGE_PACED", 20)))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cellchain-bench-exchange-") as folder:
        made = [
            network.Installation(name, role, network.free_port(), Path(folder), settings_module=SETTINGS)
            for name, role in (("manufacturer", "manufacturer"), ("hospital", "hospital"))
        ]
        manufacturer, hospital = made
        try:
            began = time.perf_counter()
            network.prepare(made, demo=False, clone_schema=True)
            for installation in made:
                network.start(installation)
            network.link_partners(made)
            print(f"Exchange bench: two installations (SQLite each, gunicorn 1 worker x 8 threads), "
                  f"ready in {time.perf_counter() - began:.1f} s")  # fmt: skip

            local_s = shell_json(manufacturer, LOCAL, COUNT=args.events, KIND=KIND)["seconds"]
            local_rate = args.events / local_s

            network.start_worker(manufacturer, interval=0.2, poll=0.05)
            burst = over_the_network(manufacturer, hospital, "burst", args.events, 0.0)
            paced = over_the_network(manufacturer, hospital, "paced", args.paced, 3.0 / burst["rate"])
            network.stop_worker(manufacturer)
            for installation in made:
                network.run_command(installation, "ledger", "verify", "--no-progress")
        finally:
            for installation in made:
                network.stop(installation)

    print(f"  {args.events} events of {KIND}, each in its own transaction")
    print(
        f"  baseline: enqueue + apply locally (no transport)   {local_rate:10,.1f} events/s ({local_s:.2f} s)"
    )
    print(f"  ours: delivered over HTTP to the other installation {burst['rate']:10,.1f} events/s "
          f"({burst['span']:.2f} s)")  # fmt: skip
    print(f"    queue empty again after {burst['drained']:.1f} s (the {burst['countersignatures']} countersignature "
          "messages of the witnessing delivered too)")  # fmt: skip
    print(f"  ratio baseline / ours = {local_rate / burst['rate']:.2f}")
    print(f"  delivery delay (enqueued -> applied at the receiver), burst of {args.events}: "
          f"p50 {burst['p50'] * 1000:,.0f} ms, p95 {burst['p95'] * 1000:,.0f} ms, max {burst['max'] * 1000:,.0f} ms")  # fmt: skip
    print(f"  delivery delay, {args.paced} events paced at a third of that rate ({burst['rate'] / 3:,.1f}/s): "
          f"p50 {paced['p50'] * 1000:,.0f} ms, p95 {paced['p95'] * 1000:,.0f} ms, max {paced['max'] * 1000:,.0f} ms")  # fmt: skip
    print("  ledger verify: OK on both installations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
