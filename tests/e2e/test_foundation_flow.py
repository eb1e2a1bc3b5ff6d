"""A new user signs in, switches language, opens the reference list and signs out (issue 2 item 8)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_sign_in_switch_language_and_sign_out(page: Any, sign_in: Any) -> None:
    sign_in("qa_li")
    assert "Welcome" in page.content()
    page.click("text=Approved products")
    assert page.locator("h1").inner_text() == "Approved CAR-T products"
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.click("button:has-text('退出登录')")
    page.wait_for_url("**/accounts/login/")


def test_wrong_password_shows_a_clear_message(page: Any) -> None:
    page.goto(f"{page.base_url}/accounts/login/")
    page.fill("input[name=username]", "qa_li")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "username or password is wrong" in page.content()
