"""``make screenshot``: the inbox with three messages, as a person sees it, for the README.

Starts an in-process fake with HTTP, sends three messages over implicit TLS, opens the inbox
in Debian's chromium (through Playwright), selects the first message and writes the page to
the PNG named on the command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.http.httpkit import CHROMIUM, CHROMIUM_ARGS, mail, send, served

MESSAGES = [
    (
        "Welcome to Example!",
        "new.user@example.org",
        "<h1>Welcome!</h1><p>Thanks for signing up. <a href='https://example.org/confirm'>"
        "Confirm your address</a>.</p>",
    ),
    ("Your receipt #1042", "buyer@example.org", "<p>Total: <b>€12.00</b></p>"),
    ("Password reset", "someone@example.org", None),
]


def main(out: Path) -> None:
    with served() as (gmail, api), sync_playwright() as playwright:
        for subject, to, html in MESSAGES:
            send(gmail, mail(subject, to=to, html=html))
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 800})
        page.goto(api.url + "/#/messages/1")
        page.get_by_role("row", name="Password reset").wait_for()
        page.get_by_role("heading", name="Welcome to Example!").wait_for()
        page.frame_locator("iframe").get_by_role("heading", name="Welcome!").wait_for()
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "examples/http/inbox.png"))
