"""Helpers shared by the clinic services: validation, ledger writes, conversions to the domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cellchain.core.errors import ValidationFailed
from cellchain.domain.bedside import Verifier
from cellchain.domain.clinical_verdict import Reason, Verdict
from cellchain.ledger.models import RegulatedModel
from cellchain.ledger.records import record_amend, record_create


def create(
    actor: Any, record: RegulatedModel, event: str, extra: dict[str, Any] | None = None
) -> RegulatedModel:
    """Validate, save and append the `create` entry in the caller's transaction."""
    return record_create(actor=actor, record=record, event=event, extra=extra)


def amend(
    actor: Any, record: RegulatedModel, event: str, reason: str, extra: dict[str, Any] | None = None
) -> None:
    """Validate, save and append an `amend` entry (status changes too: `ledger verify` replays them)."""
    record_amend(actor=actor, record=record, event=event, reason=reason, extra=extra)


def reasons_json(verdict: Verdict) -> list[dict[str, str]]:
    return [reason_json(reason) for reason in verdict.reasons]


def reason_json(reason: Reason) -> dict[str, str]:
    return {
        "code": reason.code,
        "message": reason.message,
        "value": reason.value,
        "limit": reason.limit,
        "clause": reason.clause,
        "consequence": reason.consequence.value,
    }


def refuse(verdict: Verdict, field: str | None = None) -> None:
    """Raise ValidationFailed naming every blocking reason, or return when the step may go on."""
    if verdict.allowed:
        return
    blocking = [r for r in verdict.reasons if r.consequence.value != "open_deviation"]
    message = "; ".join(_sentence(r) for r in blocking)
    raise ValidationFailed(
        message[:1].upper() + message[1:] + ".",
        field=field,
        detail={"reasons": reasons_json(Verdict(tuple(blocking)))},
    )


def _sentence(reason: Reason) -> str:
    parts = [reason.message]
    if reason.value or reason.limit:
        parts.append(f"(found {reason.value or '—'}, limit {reason.limit or '—'}; {reason.clause})")
    return " ".join(parts)


def verifier_of(user: Any, today: dt.date) -> Verifier:
    """The domain view of a person at the bedside: id, printed name, infusion qualification valid until."""
    valid = [
        q.valid_until
        for q in user.qualifications.filter(code="infusion", revoked_at__isnull=True)
        if q.is_valid_on(today)
    ]
    return Verifier(str(user.pk), user.printed_name, max(valid) if valid else None)
