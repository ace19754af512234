"""Fixtures of the HTTP tests: a fake serving HTTP, and a real browser (Debian's chromium,
driven by Playwright; ``.ci/run`` installs it, and a missing browser fails these tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from fakeserver.server.fake import FakeGmail
from tests.http.httpkit import CHROMIUM, CHROMIUM_ARGS, Api, served


@pytest.fixture
def fake() -> Iterator[tuple[FakeGmail, Api]]:
    """A fake serving HTTP on loopback port 0; its check() runs at teardown."""
    with served() as pair:
        yield pair


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: Playwright's sync API keeps an asyncio loop running in this
    # thread while it is open, and other modules' tests call asyncio.run() here.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; an uncaught error in the inbox's own script fails the test."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, errors
