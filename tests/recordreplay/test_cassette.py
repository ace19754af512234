"""SMTP cassettes in pytest: record once against an upstream, replay with none, and each
record mode; tested as users meet them, in inner pytest runs."""

from __future__ import annotations

import base64
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest

from fakeserver.errors import ConfigurationError
from fakeserver.recordreplay.cassette import Cassette

pytest_plugins = ["pytester"]

RECORDING_CONFTEST = """
import pytest
from client import TLSMode
from fakeserver import FakeGmail
from fakeserver.recordreplay.cassette import Upstream

@pytest.fixture(scope="session")
def upstream_gmail():
    with FakeGmail() as gmail:
        yield gmail

@pytest.fixture
def smtp_cassette_upstream(upstream_gmail):
    return Upstream(upstream_gmail.smtps, TLSMode.IMPLICIT, upstream_gmail.client_context())
"""

# Replaying needs no upstream at all.
REPLAYING_CONFTEST = "# no smtp_cassette_upstream: replay must not need one\n"

TEST = """
import smtplib

def send(cassette, recipient):
    context = cassette.client_context()
    with smtplib.SMTP_SSL(*cassette.address, context=context, timeout=5) as smtp:
        smtp.login("tester@gmail.com", "app-password")
        smtp.sendmail("tester@gmail.com", [recipient], MESSAGE)

MESSAGE = b"Subject: cassette\\r\\n\\r\\nhi\\r\\n"

def test_welcome(smtp_cassette):
    for recipient in RECIPIENTS:
        send(smtp_cassette, recipient)
"""


def write_test(pytester: pytest.Pytester, *recipients: str) -> None:
    pytester.makepyfile(test_mail=f"RECIPIENTS = {list(recipients)!r}\n" + TEST)


def run(pytester: pytest.Pytester, *arguments: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *arguments)


def cassette(pytester: pytest.Pytester) -> Path:
    return pytester.path / "cassettes" / "test_mail" / "test_welcome"


def test_record_once_then_replay_with_no_upstream(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDING_CONFTEST)
    write_test(pytester, "friend@example.org")
    run(pytester, "--smtp-record-mode=once").assert_outcomes(passed=1)
    [recorded] = sorted(cassette(pytester).iterdir())
    assert recorded.name == "connection-01.txt"
    text = recorded.read_text()
    assert "C: rcpt TO:<friend@example.org>" in text  # smtplib's spelling, kept as sent
    assert "AUTH PLAIN <redacted>" in text
    for secret in ("app-password", base64.b64encode(b"\0tester@gmail.com\0app-password").decode()):
        assert secret not in text, "a cassette never holds a secret"

    pytester.makeconftest(REPLAYING_CONFTEST)
    run(pytester).assert_outcomes(passed=1)  # the default mode, none: replay only

    write_test(pytester, "someone.else@example.org")
    result = run(pytester)
    # The client gets a 554 where it differs (so the test fails), and teardown says why.
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*TranscriptMismatch*matcher 'text' failed*",
            "*expected: C: rcpt TO:<friend@example.org>*",
            "*actual:   C: rcpt TO:<someone.else@example.org>*",
        ]
    )


def test_none_without_a_cassette_says_how_to_record(pytester: pytest.Pytester) -> None:
    write_test(pytester, "friend@example.org")
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no cassette here and the record mode is 'none'*"])


def test_recording_without_an_upstream_says_what_to_override(pytester: pytest.Pytester) -> None:
    write_test(pytester, "friend@example.org")
    result = run(pytester, "--smtp-record-mode=once")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*override the smtp_cassette_upstream fixture*"])


def test_new_records_the_connections_past_the_recorded_ones(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDING_CONFTEST)
    write_test(pytester, "one@example.org")
    run(pytester, "--smtp-record-mode=once").assert_outcomes(passed=1)
    write_test(pytester, "one@example.org", "two@example.org")
    run(pytester, "--smtp-record-mode=new").assert_outcomes(passed=1)
    files = sorted(path.name for path in cassette(pytester).iterdir())
    assert files == ["connection-01.txt", "connection-02.txt"]
    assert "two@example.org" in (cassette(pytester) / "connection-02.txt").read_text()
    pytester.makeconftest(REPLAYING_CONFTEST)
    run(pytester).assert_outcomes(passed=1)


def test_all_records_again_and_fewer_connections_are_a_mismatch(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(RECORDING_CONFTEST)
    write_test(pytester, "one@example.org", "two@example.org")
    run(pytester, "--smtp-record-mode=once").assert_outcomes(passed=1)
    assert len(list(cassette(pytester).iterdir())) == 2

    write_test(pytester, "three@example.org")
    result = run(pytester)
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(["*TranscriptMismatch*"])

    run(pytester, "--smtp-record-mode=all").assert_outcomes(passed=1)
    [only] = sorted(cassette(pytester).iterdir())
    assert "three@example.org" in only.read_text()
    pytester.makeconftest(REPLAYING_CONFTEST)
    run(pytester).assert_outcomes(passed=1)


LEGACY = Path(__file__).resolve().parents[1] / "data" / "cassettes" / "before-matching-levels"
"""A cassette that smtprig wrote before matching levels existed (commit 9525655)."""


@pytest.mark.parametrize("level", ["structure", "bytes"])
def test_a_cassette_recorded_before_matching_levels_still_replays(level: str) -> None:
    message = EmailMessage()
    message["From"] = "tester@gmail.com"
    message["To"] = "friend@example.org"
    message["Subject"] = "Welcome"
    message["Date"] = formatdate()
    message["Message-ID"] = make_msgid(domain="app.example")
    message.set_content("Welcome aboard.\nSee you soon.\n")
    cassette = Cassette(LEGACY, "none", match=level).start()
    try:
        context = cassette.client_context()
        with smtplib.SMTP_SSL(*cassette.address, context=context, timeout=5) as client:
            client.login("tester@gmail.com", "app-password")
            client.send_message(message)
    finally:
        cassette.check()


MULTIPART_CONFTEST = (
    RECORDING_CONFTEST
    + """
from client.transcript import Matching

@pytest.fixture
def smtp_cassette_match():
    return Matching(masks=[r"order (\\d+)"])
"""
)

MULTIPART_TEST = """
import smtplib, uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

def test_invoice(smtp_cassette):
    message = EmailMessage()
    message["From"] = "tester@gmail.com"
    message["To"] = "friend@example.org"
    message["Subject"] = SUBJECT
    message["Date"] = formatdate()
    message["Message-ID"] = make_msgid()
    order = uuid.uuid4().int % 10**8
    message.set_content(f"Your order {order} is on its way.\\n")
    message.add_alternative(f"<p>Your order {order} is on its way.</p>\\n", subtype="html")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="i.pdf")
    context = smtp_cassette.client_context()
    with smtplib.SMTP_SSL(*smtp_cassette.address, context=context, timeout=5) as smtp:
        smtp.login("tester@gmail.com", "app-password")
        smtp.send_message(message)
"""


def test_a_multipart_message_replays_with_the_tests_matching(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(MULTIPART_CONFTEST)
    pytester.makepyfile(test_mail="SUBJECT = 'Your invoice'\n" + MULTIPART_TEST)
    run(pytester, "--smtp-record-mode=once").assert_outcomes(passed=1)
    run(pytester).assert_outcomes(passed=1)
    run(pytester).assert_outcomes(passed=1)

    pytester.makepyfile(test_mail="SUBJECT = 'Your receipt'\n" + MULTIPART_TEST)
    result = run(pytester)
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*TranscriptMismatch*matcher 'message' failed: in the message, header Subject differs",
            "*expected: Your invoice",
            "*actual:   Your receipt",
        ]
    )


def test_a_match_that_names_no_level_says_which_there_are(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Cassette(tmp_path, "none", match="exact")
    assert str(refused.value) == (
        "smtp_cassette_match: match level 'exact' is not one of bytes, structure, headers, envelope"
    )
