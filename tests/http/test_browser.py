"""The inbox in a real browser: Debian's chromium, driven by Playwright, against a real fake.

Mail goes in over implicit TLS with smtplib; the page is the one the package ships.
"""

from __future__ import annotations

import smtplib
import ssl

import pytest
from playwright.sync_api import Dialog, Frame, Page, Request, expect

from fakeserver.server.fake import FakeGmail
from tests.http.httpkit import Api, mail, send

HOSTILE_HTML = """<html><head>
<meta http-equiv="refresh" content="0;url=/healthz?meta-refresh-ran">
</head><body>
<h1>Hostile mail</h1>
<script>
  fetch('/api/v1/messages', {method: 'DELETE'});
  document.body.setAttribute('data-ran', 'script');
  alert('script ran');
</script>
<img src="x" onerror="fetch('/api/v1/messages', {method: 'DELETE'});
  document.body.setAttribute('data-ran', 'onerror')">
<a id="js-link" href="javascript:fetch('/api/v1/messages', {method: 'DELETE'})">click me</a>
</body></html>"""
HOSTILE_SUBJECT = "<img src=x onerror=alert(1)> hostile"


def _open_inbox(page: Page, api: Api, fragment: str = "") -> None:
    page.goto(f"{api.url}/{fragment}")
    expect(page.locator("#live")).to_have_text("live")  # the event stream is connected


def _html_frame(page: Page) -> Frame:
    frame = next(frame for frame in page.frames if frame.url.endswith("/html"))
    frame.wait_for_load_state("load")  # after the image failed: onerror had its chance
    return frame


def test_the_list_updates_when_a_mail_arrives(page: Page, fake: tuple[FakeGmail, Api]) -> None:
    gmail, api = fake
    _open_inbox(page, api)
    expect(page.locator("#messages tbody tr")).to_have_count(0)

    send(gmail, mail("Arrived while watching"))

    expect(page.get_by_role("row", name="Arrived while watching")).to_be_visible()


def test_the_html_view_shows_the_mail_and_runs_none_of_its_scripts(
    page: Page, fake: tuple[FakeGmail, Api]
) -> None:
    gmail, api = fake
    send(gmail, mail(HOSTILE_SUBJECT, html=HOSTILE_HTML))
    send(gmail, mail("Innocent bystander"))
    requests: list[Request] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request))

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    _open_inbox(page, api, "#/messages/1")
    expect(page.get_by_role("row", name=HOSTILE_SUBJECT)).to_be_visible()  # shown as text
    frame = _html_frame(page)
    expect(frame.get_by_role("heading", name="Hostile mail")).to_be_visible()
    frame.locator("#js-link").click()
    assert frame.locator("body").get_attribute("data-ran") is None
    assert page.locator("iframe").get_attribute("sandbox") == (
        "allow-popups allow-popups-to-escape-sandbox"
    )

    # The page itself at the /html URL: its CSP sandboxes it just the same.
    page.goto(f"{api.url}/api/v1/messages/1/html")
    expect(page.get_by_role("heading", name="Hostile mail")).to_be_visible()
    page.wait_for_load_state("load")
    page.locator("#js-link").click()
    assert page.locator("body").get_attribute("data-ran") is None

    assert dialogs == []
    assert not [request.url for request in requests if request.method != "GET"]
    assert not [request.url for request in requests if "meta-refresh-ran" in request.url]
    assert [item["id"] for item in api.get("/api/v1/messages").json["items"]] == [1, 2]


def test_the_conversation_view_shows_the_session(page: Page, fake: tuple[FakeGmail, Api]) -> None:
    gmail, api = fake
    send(gmail, mail("Carried by session one"))
    _open_inbox(page, api, "#/messages/1")

    page.get_by_role("tab", name="Conversation").click()

    conversation = page.get_by_role("list", name="SMTP conversation")
    expect(conversation).to_contain_text("C: AUTH PLAIN <redacted>")
    expect(conversation).to_contain_text("S: 235 2.7.0 Accepted")
    expect(conversation).to_contain_text("tls TLSv1.3")
    expect(conversation).to_contain_text("lines of message data")
    assert gmail.credentials[1] not in page.content()


def test_a_failed_connection_appears_on_the_sessions_page(
    page: Page, fake: tuple[FakeGmail, Api]
) -> None:
    gmail, api = fake
    _open_inbox(page, api, "#/sessions")

    with pytest.raises(smtplib.SMTPAuthenticationError):
        send(gmail, mail("Never sent"), password="wrong-password")

    failed = page.get_by_role("row").filter(has_text="(failed)")
    expect(failed).to_contain_text("535")
    expect(failed).to_contain_text("quit (failed)")
    failed.click()
    expect(page.get_by_role("list", name="SMTP conversation")).to_contain_text("S: 535-5.7.8")


def test_a_failed_tls_handshake_appears_on_the_sessions_page_with_why(
    page: Page, fake: tuple[FakeGmail, Api]
) -> None:
    gmail, api = fake
    _open_inbox(page, api, "#/sessions")

    with pytest.raises(ssl.SSLCertVerificationError):  # an app that does not trust the CA
        smtplib.SMTP_SSL(*gmail.smtps, context=ssl.create_default_context(), timeout=10)

    failed = page.get_by_role("row").filter(has_text="(failed)")
    expect(failed).to_contain_text("TLS failed: the client does not trust the CA")
    failed.click()
    conversation = page.get_by_role("list", name="SMTP conversation")
    expect(conversation).to_contain_text("tls-failed the client does not trust the CA")


def test_dark_mode_follows_the_system(page: Page, fake: tuple[FakeGmail, Api]) -> None:
    _, api = fake
    page.emulate_media(color_scheme="light")
    _open_inbox(page, api)
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")

    page.emulate_media(color_scheme="dark")

    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (light, dark) == ("rgb(255, 255, 255)", "rgb(21, 25, 30)")


def test_keyboard_moves_through_the_list(page: Page, fake: tuple[FakeGmail, Api]) -> None:
    gmail, api = fake
    for subject in ("First", "Second"):
        send(gmail, mail(subject))
    _open_inbox(page, api)
    expect(page.locator("#messages tbody tr")).to_have_count(2)

    page.keyboard.press("j")
    page.keyboard.press("j")

    expect(page.get_by_role("heading", name="Second")).to_be_visible()
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search")).to_be_focused()


def test_a_rule_added_on_the_script_page_fires_and_counts(
    page: Page, fake: tuple[FakeGmail, Api]
) -> None:
    gmail, api = fake
    _open_inbox(page, api, "#/script")
    page.get_by_label("New rule").fill('{"on": "rcpt", "nth": 2, "reply": "451 4.3.0 Later"}')
    page.get_by_role("button", name="Add rule").click()
    rule = page.get_by_role("row").filter(has_text='"nth":2')
    expect(rule).to_contain_text("yes")  # unmet until it fires

    send(gmail, mail("Two recipients"), recipients=["a@example.org", "b@example.org"])

    expect(rule.get_by_role("cell").nth(3)).to_have_text("1")  # used once, live
    expect(rule).to_contain_text("no")
    assert gmail.outbox.wait_for(1)[0].recipients == ("a@example.org",)
    page.get_by_label("New rule").fill('{"on": "rcpt", "times": 0, "reply": "451 4.3.0 x"}')
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("alert")).to_have_text("times counts from 1, not 0 (at /times)")
