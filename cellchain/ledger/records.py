"""The only way to write a regulated record: validate, save and append its entry in one transaction (issue 15 item 1).

`record_create`, `record_amend` and `record_void` are what every service calls. Each runs `full_clean()` (field
rules; uniqueness and constraints are the database's, checked at save without another query), saves the row
under the write guard's permit for that one instance, and appends the ledger entry, in one
`transaction.atomic()` (validation first, no savepoint): a save that fails leaves no entry, an entry that fails
leaves no row (X-3, REGULATORY items 46-47). A direct `save()`, `delete()` or bulk write of a regulated model raises `UnledgeredWrite`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cellchain.core.errors import ValidationFailed
from cellchain.ledger import guard
from cellchain.ledger.models import LedgerEntry, RegulatedModel
from cellchain.ledger.services import ledger_append

Action = LedgerEntry.Action
# Plain strings, not the enum members: the canonical encoder's fast path takes only exact `str` (canonical.py).
CREATE, AMEND, SIGN, VOID = (str(a.value) for a in (Action.CREATE, Action.AMEND, Action.SIGN, Action.VOID))


def _loaded_relations(instance: RegulatedModel) -> list[str]:
    """Foreign keys whose object the service already holds: checking they exist again would cost a query each."""
    return [
        f.name
        for f in instance._meta.concrete_fields
        if f.is_relation
        and f.is_cached(instance)
        and getattr(instance, f.name) is not None
        and getattr(instance, f.name).pk is not None
    ]


def _left_at_default(instance: RegulatedModel) -> set[str]:
    """Fields holding the model's own default (an empty list of reasons) or a NULL the column allows.

    `blank=False` on a field with `default=list`, or on a nullable "sent by" that a system job leaves empty,
    would otherwise refuse a value the model itself declares valid.
    """
    return {
        f.name
        for f in instance._meta.concrete_fields
        if (f.has_default() and getattr(instance, f.attname) == f.get_default())
        or (f.null and getattr(instance, f.attname) is None)
    }


def record_clean(instance: RegulatedModel, fields: Iterable[str] | None = None) -> None:
    """`full_clean()` mapped to the one error shape, the field named where Django names one.

    With `fields`, only those fields are checked (an amend that changes two columns does not re-judge the rest).
    """
    exclude = set(_loaded_relations(instance)) | _left_at_default(instance)
    if fields is not None:
        exclude |= {f.name for f in instance._meta.concrete_fields} - set(fields)
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise _refusal(instance, exc) from None


def _refusal(instance: RegulatedModel, exc: ValidationError) -> ValidationFailed:
    """The first field Django names, with its label, so the message says where (STYLE habit 5)."""
    if not hasattr(exc, "message_dict"):
        return ValidationFailed(" ".join(str(m) for m in exc.messages))
    field, messages = next(iter(exc.message_dict.items()))
    try:
        label = str(instance._meta.get_field(field).verbose_name)
    except FieldDoesNotExist:  # NON_FIELD_ERRORS has no field
        return ValidationFailed(" ".join(messages), field=None)
    return ValidationFailed(f"{label[:1].upper()}{label[1:]}: {' '.join(messages)}", field=field)


def _needs_reason(reason: str, message: str) -> None:
    if not reason.strip():
        raise ValidationFailed(message, field="reason")


# The write joins the caller's transaction (or opens one) without a savepoint of its own: a failure of the
# INSERT/UPDATE or the append fails the whole service, as it must, and a write does not pay a SAVEPOINT and
# RELEASE round trip. Validation comes before it, so a refused input leaves the caller's transaction usable.
@transaction.atomic(savepoint=False)
def _write(record: RegulatedModel, save_kwargs: dict[str, Any], **entry: Any) -> None:
    with guard.permit(record):
        record.save(**save_kwargs)
    ledger_append(record=record, **entry)


def record_create[R: RegulatedModel](
    *,
    actor: Any | None,
    record: R,
    event: str,
    extra: dict[str, Any] | None = None,
    action: str = CREATE,
    reason: str = "",
) -> R:
    """Validate, insert and append the `create` entry for a new regulated record (`sign`: a new signature)."""
    if action not in (CREATE, SIGN):
        raise ValueError(f"record_create appends create or sign, not {action!r}")
    record_clean(record)
    _write(record, {}, actor=actor, action=action, event=event, reason=reason, extra=extra)
    return record


def record_amend[R: RegulatedModel](
    *,
    actor: Any | None,
    record: R,
    event: str,
    reason: str,
    fields: Iterable[str] | None = None,
    extra: dict[str, Any] | None = None,
    action: str = AMEND,
) -> R:
    """Validate, update and append an `amend` entry (or `sign`, for a signature's effect on its record).

    `fields` limits the UPDATE (and the validation) to the columns the service changed; the entry still
    holds the whole state, which is what `ledger verify` compares with the row.
    """
    if action not in (AMEND, SIGN):
        raise ValueError(f"record_amend appends amend or sign, not {action!r}")
    _needs_reason(reason, _("Give the reason for the change."))
    columns = list(fields) if fields is not None else None
    record_clean(record, columns)
    _write(
        record,
        {"update_fields": columns},
        actor=actor,
        action=action,
        event=event,
        reason=reason,
        extra=extra,
    )
    return record


def record_void[R: RegulatedModel](
    *,
    actor: Any | None,
    record: R,
    event: str,
    reason: str,
    at: Any,
    fields: Iterable[str] = (),
    extra: dict[str, Any] | None = None,
) -> R:
    """Void a record with its reason (X-3: nothing is deleted) and append the `void` entry.

    `fields` names other columns the service changed together with the void (e.g. who voided it).
    """
    _needs_reason(reason, _("Give the reason for voiding."))
    record.voided_at, record.void_reason = at, reason
    save_kwargs = {"update_fields": ["voided_at", "void_reason", *fields]}
    _write(record, save_kwargs, actor=actor, action=VOID, event=event, reason=reason, extra=extra)
    return record
