"""Browser tests: Playwright driving Debian's chromium against the live test server (never a downloaded browser)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("CELLCHAIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium (make test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def e2e_world(ledger_transactional_db: None) -> Any:
    """The persona world in a database the live server can see."""
    from cellchain.accounts.world import build_world
    from conftest import PERSONA_PASSWORD

    return build_world(password=PERSONA_PASSWORD)


@pytest.fixture
def page(browser: Any, live_server: Any, e2e_world: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", viewport={"width": 1180, "height": 820})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.base_url = live_server.url  # type: ignore[attr-defined]
    blocked: list[str] = []  # the browser reports what the Content-Security-Policy refused (issue 15)
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert blocked == [], "the Content-Security-Policy blocked: " + "; ".join(blocked)


@pytest.fixture
def sign_in(page: Any) -> Callable[[str], Any]:
    """Sign the page in as a persona, in English."""
    from conftest import PERSONA_PASSWORD

    def do(username: str) -> Any:
        page.goto(f"{page.base_url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PERSONA_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{page.base_url}/")
        if page.locator("html").get_attribute("lang") != "en":
            with page.expect_navigation():
                page.select_option("select[name=language]", "en")
        return page

    return do
