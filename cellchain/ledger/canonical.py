"""RFC 8785 (JSON Canonicalization Scheme) bytes of ledger entries (issue 3 item 1).

`rfc8785.dumps` is the reference, but it is written in pure Python and costs several times an append's own
work. For JSON made only of strings, integers within ±2**53, booleans, null, lists and objects with ASCII keys,
the standard library's encoder with sorted keys and no whitespace writes exactly the RFC 8785 bytes: the same
escapes (the two mandatory ones, \\b \\t \\n \\f \\r, and lowercase \\u00xx for other controls; nothing else),
the same integer form, and ASCII keys sort the same by code point as by UTF-16 unit. Anything else (floats,
large integers, non-ASCII keys, foreign types) goes to `rfc8785.dumps`. A property test holds the two equal.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_SAFE_INTEGER = 2**53 - 1
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _plain(value: Any) -> bool:
    """True when the standard encoder provably writes the RFC 8785 form of `value`."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    if kind is dict:
        return all(type(key) is str and key.isascii() and _plain(item) for key, item in value.items())
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return False


def canonical_bytes(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value."""
    if _plain(value):
        try:
            return _ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let the reference implementation refuse it with its own message
    return rfc8785.dumps(value)
