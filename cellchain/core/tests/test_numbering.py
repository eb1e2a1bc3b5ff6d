"""Record numbers come from a locked counter per prefix (T-10.6), not from counting rows."""

from __future__ import annotations

import pytest
from django.db import transaction

from cellchain.core.models import RecordNumberSequence
from cellchain.core.numbering import number_next

pytestmark = pytest.mark.django_db


def test_numbers_follow_on_per_prefix() -> None:
    with transaction.atomic():
        first = number_next("DEV-A-2026-", issued_before=lambda: 0)
        second = number_next("DEV-A-2026-", issued_before=lambda: 0)
        other = number_next("DEV-B-2026-", issued_before=lambda: 0)
    assert (first, second, other) == (1, 2, 1)


def test_a_new_counter_goes_on_after_the_numbers_issued_before_it() -> None:
    """Rows made before the counter existed are counted once, so the first drawn number does not collide."""
    asked: list[int] = []

    def issued_before() -> int:
        asked.append(1)
        return 7

    with transaction.atomic():
        assert number_next("SH-2026-", issued_before=issued_before) == 8
        assert number_next("SH-2026-", issued_before=issued_before) == 9
    assert len(asked) == 1
    assert RecordNumberSequence.objects.get(prefix="SH-2026-").last_number == 9


def test_a_number_drawn_in_a_rolled_back_transaction_is_drawn_again() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        number_next("QR-1-2026-", issued_before=lambda: 0)
        raise RuntimeError("the service failed")
    with transaction.atomic():
        assert number_next("QR-1-2026-", issued_before=lambda: 0) == 1


def test_numbers_are_drawn_only_inside_a_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a transaction the counter's lock would end at once and two requests could draw one number."""
    from types import SimpleNamespace

    from cellchain.core import numbering

    monkeypatch.setattr(
        numbering.transaction, "get_connection", lambda: SimpleNamespace(in_atomic_block=False)
    )
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        number_next("DEV-A-2026-", issued_before=lambda: 0)
