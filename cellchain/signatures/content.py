"""What a signature covers: the canonical JSON of the record's state, minus signature bookkeeping."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

# Columns that change when a record is signed or voided, not when its content changes.
NOT_SIGNED_CONTENT = frozenset({"voided_at", "void_reason"})


def content_of(record: Any) -> dict[str, Any]:
    state = record.ledger_state()
    return {key: value for key, value in state.items() if key not in NOT_SIGNED_CONTENT}


def content_hash(record: Any) -> str:
    """Return the SHA-256 (hex) of the RFC 8785 bytes of the record's signed content."""
    return hashlib.sha256(rfc8785.dumps(content_of(record))).hexdigest()
