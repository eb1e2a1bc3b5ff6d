"""The write guard: a regulated row is saved only by the ledger's record functions (issue 15 item 1).

`RegulatedModel.save()` asks `permitted(self)`; only `records.record_create/amend/void` open a permit, for the
one instance they are about to save and ledger. A permit
names an instance, not a model or a thread-wide switch, so a save of any other row inside the same service
still raises. Data migrations use historical models, which do not inherit this `save()`, and keep their own
path (decision 0010).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_permit: ContextVar[int | None] = ContextVar("cellchain_ledger_write_permit", default=None)


class UnledgeredWrite(RuntimeError):
    """A regulated row was written without its ledger entry: a programming error (issue 15 item 1)."""


@contextmanager
def permit(instance: object) -> Iterator[None]:
    """Allow exactly `instance` to be saved while the block runs."""
    token = _permit.set(id(instance))
    try:
        yield
    finally:
        _permit.reset(token)


def permitted(instance: object) -> bool:
    return _permit.get() == id(instance)


def refuse(what: str, model: type) -> UnledgeredWrite:
    """The error for a bypass: what was tried, on which model, and the way to do it instead."""
    return UnledgeredWrite(
        f"{what} on {model._meta.label} would change a regulated record without its ledger entry; "  # type: ignore[attr-defined]
        "use cellchain.ledger.records.record_create / record_amend / record_void"
    )
