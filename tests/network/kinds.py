"""A test-only message kind for the network tests and the exchange bench (issue 12 items 4-5).

`test.network.note` carries `{"n": int, "text": str}`. Its `receive` applies nothing to the records; after the
receiving transaction commits it appends `<event id>` as one line to `<CELLCHAIN_VAR_DIR>/applied.log`, so a
test counts how often a message was really applied at the receiver independently of the inbox's own rows
(whose unique constraint would hide a second application). Registered by `NetworkTestKindsConfig.ready()`,
installed only by `tests/network/settings.py`: the product never knows this kind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.apps import AppConfig

TEST_KIND = "test.network.note"
APPLIED_LOG = "applied.log"


def note_validate(body: dict[str, Any]) -> list[str]:
    reasons = []
    if not isinstance(body.get("n"), int) or isinstance(body.get("n"), bool):
        reasons.append("n: missing or not an integer")
    if not isinstance(body.get("text"), str) or not body["text"]:
        reasons.append("text: missing or not a non-empty string")
    if set(body) - {"n", "text"}:
        reasons.append(f"unknown fields: {', '.join(sorted(set(body) - {'n', 'text'}))}")
    return reasons


def applied_log_path() -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / APPLIED_LOG


def note_receive(actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> None:
    from django.db import transaction

    def written() -> None:
        with applied_log_path().open("a", encoding="utf-8") as log:  # O_APPEND: one line per write
            log.write(event_id + "\n")

    transaction.on_commit(written)


class NetworkTestKindsConfig(AppConfig):
    name = "tests.network"
    label = "network_tests"
    verbose_name = "Network tests' message kind"

    def ready(self) -> None:
        from cellchain.exchange import kinds

        kinds.register(TEST_KIND, validate=note_validate, receive=note_receive)
