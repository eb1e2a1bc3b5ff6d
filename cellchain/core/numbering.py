"""Record numbers drawn from a locked counter per prefix, so concurrent requests never collide (T-10.6).

Counting the rows that already carry a prefix gives two concurrent requests the same number, and the second one
then fails on the unique constraint. The counter row is locked for the rest of the caller's transaction instead.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from cellchain.core.models import RecordNumberSequence


def number_next(prefix: str, *, issued_before: Callable[[], int]) -> int:
    """The next number under `prefix`, drawn inside the calling service's transaction.

    `issued_before` counts the numbers issued before the counter existed (rows made by an earlier release); it is
    asked once, when the counter for the prefix is first created, so numbering goes on from there.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record numbers are drawn inside the service's transaction")
    if not RecordNumberSequence.objects.filter(prefix=prefix).exists():
        RecordNumberSequence.objects.get_or_create(prefix=prefix, defaults={"last_number": issued_before()})
    sequence = RecordNumberSequence.objects.select_for_update().get(prefix=prefix)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number
