"""What a signature covers: the canonical JSON of the record's state, minus signature bookkeeping.

A signature binds the SHA-256 of the content it covered *and* names the fields of that content
(`Signature.content_fields`), so a column added to the record's model later, which the signer never saw, does
not change what is checked, while a change to any covered field still does (21 CFR 11.70).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import rfc8785

# Columns that change when a record is signed or voided, not when its content changes.
NOT_SIGNED_CONTENT = frozenset({"voided_at", "void_reason"})


def content_of(record: Any) -> dict[str, Any]:
    """Return the record's signable content: its ledger state without the void bookkeeping."""
    return content_from_state(record.ledger_state())


def content_from_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """Return the signable content of a ledger state (a live record's or one read back from an entry)."""
    return {key: value for key, value in state.items() if key not in NOT_SIGNED_CONTENT}


def content_fields_of(content: Mapping[str, Any]) -> list[str]:
    """The sorted field names of a content: what a signature records as covered."""
    return sorted(content)


def covered_content(content: Mapping[str, Any], fields: Iterable[str] | None) -> dict[str, Any]:
    """Restrict `content` to the `fields` a signature covered (None: the whole content, as before 0002).

    A covered field missing from `content` is simply absent here, so the hash no longer matches; callers that
    must name it use `missing_fields`.
    """
    if fields is None:
        return dict(content)
    return {name: content[name] for name in fields if name in content}


def missing_fields(content: Mapping[str, Any], fields: Iterable[str] | None) -> list[str]:
    """The covered fields that `content` no longer has (a column removed or taken out of the ledger)."""
    return [] if fields is None else [name for name in fields if name not in content]


def hash_of(content: Mapping[str, Any]) -> str:
    """Return the SHA-256 (hex) of the RFC 8785 bytes of a content."""
    return hashlib.sha256(rfc8785.dumps(dict(content))).hexdigest()


def content_hash(record: Any, fields: Iterable[str] | None = None) -> str:
    """Return the SHA-256 (hex) of the record's signed content, restricted to `fields` when given (11.70)."""
    return hash_of(covered_content(content_of(record), fields))
