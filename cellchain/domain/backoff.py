"""Exponential back-off with a cap and optional jitter, shared by every outbox (issue 15; issue 12 item 2).

The e-mail outbox (quality) and the exchange outbox retry a failed delivery after `first * 2**(n-1)` seconds,
at most `cap`. With `jitter` (0..1) the delay is drawn uniformly from `[delay * (1 - jitter), delay]`, so many
messages that failed together (a partner that was down) do not all come back in the same second.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable


def retry_delay_seconds(
    attempts: int,
    *,
    first_seconds: float,
    cap_seconds: float,
    jitter: float = 0.0,
    draw: Callable[[], float] = _random.random,
) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: first, 2x, 4x ... at most `cap_seconds`.

    `draw` returns a number in [0, 1) (injected in tests); it is used only when `jitter` > 0.
    """
    if first_seconds <= 0 or cap_seconds < first_seconds:
        raise ValueError(f"back-off needs 0 < first ({first_seconds}) <= cap ({cap_seconds})")
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter {jitter} is not a fraction between 0 and 1")
    exponent = min(max(0, attempts - 1), 62)  # 2**62 seconds is beyond any cap; avoids huge integers
    delay = min(first_seconds * 2**exponent, cap_seconds)
    if jitter:
        delay *= 1.0 - jitter * draw()
    return float(delay)
