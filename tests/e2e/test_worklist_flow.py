"""A nurse signs in to what is due for her, follows a line to its page, and renews what made it due (issue 14
item 1; T-5.2.11)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _grant(world: Any, code: str, valid_until: dt.date) -> None:
    from cellchain.accounts import services as accounts
    from cellchain.core import clock

    today = clock.today("Asia/Shanghai")
    accounts.qualification_grant(
        actor=world["admin_xiehe"],
        user=world["nurse_wang"],
        code=code,
        title=f"{code} course",
        valid_from=min(today, valid_until) - dt.timedelta(days=300),
        valid_until=valid_until,
    )


def test_the_worklist_shows_what_is_due_links_to_it_and_empties_when_done(
    page: Any, sign_in: Any, e2e_world: Any
) -> None:
    from cellchain.core import clock

    today = clock.today("Asia/Shanghai")
    sign_in("nurse_wang")
    assert page.locator("tr[data-key='accounts.my_qualifications']").count() == 0

    _grant(e2e_world, "acls", today - dt.timedelta(days=2))  # expired: overdue
    _grant(e2e_world, "bls", today + dt.timedelta(days=20))  # expiring: due
    page.goto(f"{page.base_url}/")
    line = page.locator("tr[data-key='accounts.my_qualifications']")
    assert line.locator("td").nth(1).inner_text() == "2"
    assert line.locator("td").nth(2).inner_text() == "1"
    assert "overdue" in (line.get_attribute("class") or "")
    assert (
        page.locator(".worklist-table tbody tr").first.get_attribute("data-key")
        == "accounts.my_qualifications"
    )

    line.locator("a").click()
    page.wait_for_load_state()
    assert "acls" in page.content() and "bls" in page.content()

    _grant(e2e_world, "acls", today + dt.timedelta(days=700))
    _grant(e2e_world, "bls", today + dt.timedelta(days=700))
    page.goto(f"{page.base_url}/")
    assert page.locator("tr[data-key='accounts.my_qualifications']").count() == 0
