"""The exchange's settings, each with its default (issue 12 item 2); set them in the environment."""

from __future__ import annotations

from django.conf import settings

DEFAULTS: dict[str, float | int | str] = {
    # Back-off after a failed delivery: first wait, doubled each time, at most the cap; jitter draws the
    # delay from [delay * (1 - jitter), delay].
    "CELLCHAIN_EXCHANGE_RETRY_FIRST_SECONDS": 5.0,
    "CELLCHAIN_EXCHANGE_RETRY_MAX_SECONDS": 900.0,
    "CELLCHAIN_EXCHANGE_RETRY_JITTER": 0.25,
    # A message that failed this many times is failed permanently (a person then looks at it).
    "CELLCHAIN_EXCHANGE_MAX_ATTEMPTS": 25,
    "CELLCHAIN_EXCHANGE_TIMEOUT_SECONDS": 15.0,
    # A worker holds the messages it claimed for this long; a crashed worker's claims expire.
    "CELLCHAIN_EXCHANGE_LEASE_SECONDS": 120.0,
    "CELLCHAIN_EXCHANGE_BATCH": 50,
    # The largest request the inbox accepts.
    "CELLCHAIN_EXCHANGE_MAX_BYTES": 4 * 1024 * 1024,
    # This installation's own base URL, printed by `exchange_identity` for partners (optional).
    "CELLCHAIN_EXCHANGE_BASE_URL": "",
}


def setting(name: str) -> float | int | str:
    """A setting of the exchange, or its default."""
    return getattr(settings, name, DEFAULTS[name])  # type: ignore[no-any-return]


def number(name: str) -> float:
    return float(setting(name))
