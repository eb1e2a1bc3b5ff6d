"""The registry of message kinds the exchange carries (issue 12 item 2).

An app registers each kind it sends or receives from its `AppConfig.ready()`:

    from cellchain.exchange.kinds import register
    register("epcis.event", validate=epcis_reasons, receive=epcis_receive)

`validate(body) -> list[str]` returns human-readable reasons (empty: valid); it runs on enqueue (our own
message) and on receipt (theirs). `receive(actor, partner, body, event_id)` applies a received message inside
the receiving transaction: raise a `ServiceError` to refuse it (the message is then quarantined with that
reason and nothing it wrote is kept).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Validate = Callable[[dict[str, Any]], list[str]]
Receive = Callable[..., Any]


@dataclass(frozen=True)
class Kind:
    """One message kind: its name, its body validator and what receiving it does."""

    name: str
    validate: Validate
    receive: Receive


_KINDS: dict[str, Kind] = {}


def register(kind: str, *, validate: Validate, receive: Receive) -> Kind:
    """Register a message kind; registering the same functions again is harmless, other ones are refused."""
    if not kind or len(kind) > 100 or kind != kind.strip():
        raise ValueError(
            f"a message kind is a name of 1 to 100 characters without spaces around; got {kind!r}"
        )
    entry = Kind(kind, validate, receive)
    existing = _KINDS.get(kind)
    if existing is not None and existing != entry:
        raise RuntimeError(f"message kind {kind!r} is already registered by {existing.receive.__module__}")
    _KINDS[kind] = entry
    return entry


def unregister(kind: str) -> None:
    """Forget a kind (tests that register their own)."""
    _KINDS.pop(kind, None)


def get(kind: str) -> Kind | None:
    """The registered kind of that name, or None."""
    return _KINDS.get(kind)


def names() -> list[str]:
    """The registered kinds, sorted."""
    return sorted(_KINDS)
