"""Which fields the signatures written before `Signature.content_fields` existed covered (migration 0002; 11.70).

Source, in order:

1. **The signed record's ledger**: the record's last entry *before* the signature's own `sign` entry holds the
   record's full state as it stood when it was signed (every change to a regulated row appends its state, and
   signing refuses unsaved content). Its keys, minus the void bookkeeping, are the fields the signer saw. It is
   accepted only when the SHA-256 of that state's content is exactly the signature's `content_hash`, which
   proves both the field set and that this was the content signed.
   The signature's own `sign` entry is not usable as the source: its state is the Signature row and its
   `extra` carries only `content_sha256`, not the content.
2. **The record as it is now** (today's behaviour), when the ledger cannot show it: no `sign` entry, no entry
   of the record before it, or a state whose hash is not the one signed. If the current content still hashes
   to the signed value this is provably right; otherwise the signature stays not current, as it was.
3. Nothing (NULL, the whole current content is checked) when the record no longer exists.

Each changed Signature row is ledgered with `ledger_migration_append` (decision 0010), so `ledger verify`
stays clean without a re-baseline. A Signature row that already differs from its own last ledger entry is
left untouched and not appended: appending its state would vouch for a change made behind the application's
back; `ledger verify` goes on reporting it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cellchain.ledger.canonical import canonical_bytes
from cellchain.ledger.rebaseline import ledger_migration_append
from cellchain.ledger.replay import entry_state, entry_state_bytes, record_state
from cellchain.signatures.content import content_fields_of, content_from_state, hash_of

MIGRATION = "signatures.0002_signature_content_fields"
SIGNATURE = "signatures.signature"


@dataclass(frozen=True)
class CoveredFields:
    """The fields a signature covered, and where that came from (`ledger`, `record` or `unknown`)."""

    fields: list[str] | None
    source: str
    seq: int | None = None
    """The signed record's ledger entry the fields were read from (source `ledger`)."""


def _last_state(
    entries: Any, record_type: str, record_id: str, before: int | None = None
) -> tuple[int, bytes] | None:
    query = entries.filter(record_type=record_type, record_id=record_id)
    if before is not None:
        query = query.filter(seq__lt=before)
    found = query.order_by("-seq").values_list("seq", "canonical").first()
    return None if found is None else (found[0], bytes(found[1]))


def signed_fields(apps: Any, signature: Any) -> CoveredFields:
    """Return the fields `signature` covered when it was signed (module docstring: ledger, else the record)."""
    entries = apps.get_model("ledger", "LedgerEntry")._base_manager
    sign_seq = (
        entries.filter(record_type=SIGNATURE, record_id=str(signature.pk), action="sign")
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    if sign_seq is not None:
        last = _last_state(entries, signature.record_type, signature.record_id, before=sign_seq)
        state = None if last is None else entry_state(last[1])
        if last is not None and isinstance(state, dict):
            content = content_from_state(state)
            if hash_of(content) == signature.content_hash:
                return CoveredFields(content_fields_of(content), "ledger", last[0])
    try:
        model = apps.get_model(signature.record_type)
    except (LookupError, ValueError):
        return CoveredFields(None, "unknown")
    row = model._base_manager.filter(pk=signature.record_id).first()
    if row is None:
        return CoveredFields(None, "unknown")
    return CoveredFields(
        content_fields_of(content_from_state(record_state(signature.record_type, row))), "record"
    )


def _vouched(apps: Any, signature: Any) -> bool:
    """True when the Signature row, apart from the new column, is exactly its own last ledger state."""
    entries = apps.get_model("ledger", "LedgerEntry")._base_manager
    last = _last_state(entries, SIGNATURE, str(signature.pk))
    if last is None:
        return False
    state = {
        name: value for name, value in record_state(SIGNATURE, signature).items() if name != "content_fields"
    }
    return entry_state_bytes(*last) == canonical_bytes(state)


_REASONS = {
    "ledger": "fields covered by the signature recorded: from the signed record's ledger entry at signing",
    "record": "fields covered by the signature recorded: from the record's current fields "
    "(the ledger could not show the content signed)",
    "unknown": "fields covered by the signature not recorded: the signed record does not exist",
}


def backfill_content_fields(apps: Any, schema_editor: Any = None) -> dict[str, int]:
    """Fill `content_fields` of every signature that has none and ledger each row (migration 0002's RunPython).

    Returns how many signatures took their fields from each source (`unknown`: left NULL), and how many were
    left untouched because their row no longer matches their ledger (`unvouched`).
    """
    model = apps.get_model("signatures", "Signature")
    counts: dict[str, int] = {"ledger": 0, "record": 0, "unknown": 0, "unvouched": 0}
    for signature in model._base_manager.filter(content_fields__isnull=True).order_by("pk").iterator():
        if not _vouched(apps, signature):
            counts["unvouched"] += 1
            continue
        covered = signed_fields(apps, signature)
        counts[covered.source] += 1
        signature.content_fields = covered.fields
        signature.save(update_fields=["content_fields"])
        # Appended for every row, also one left NULL: its state gained the column either way.
        ledger_migration_append(
            row=signature,
            migration=MIGRATION,
            event="signature:content_fields",
            reason=_REASONS[covered.source],
            extra={"content_fields": {"source": covered.source, "seq": covered.seq}},
        )
    return counts
