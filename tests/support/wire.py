"""Helpers for the reliability tests: connections brought to a named stage, and the checks
every bad-input case shares (each reply is valid SMTP, nothing leaks, others are unaffected).

Every read is bounded by ``tests.support.rawsmtp.TIMEOUT_S``; nothing here sleeps.
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Iterable

from fakeserver.server.fake import FakeGmail
from tests.support.rawsmtp import RawSMTP

USER = "tester@gmail.com"
PASSWORD = "app-password"
PLAIN_BLOB = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())
SECRETS = (
    PASSWORD.encode(),
    base64.b64encode(PASSWORD.encode()),
    PLAIN_BLOB,
)
"""Forms of the default account's password that must never be stored or shown."""

# RFC 5321 §4.2: a reply line is a code, "-" or " " and text (or the code alone), then CRLF.
_REPLY_LINE = re.compile(rb"[2-5][0-5][0-9](?:[ -][^\r\n]*)?\r\n")
_LEAKS = (b"Traceback", b"Error:", b"Exception", b"aiosmtpd")


class Stage(enum.Enum):
    """How far a connection has got before the bad input is sent."""

    SMTPS = "implicit TLS, greeting read"
    SUBMISSION = "STARTTLS port, clear text, greeting read"
    SUBMISSION_EHLO = "STARTTLS port, clear text, after EHLO"
    EHLO = "implicit TLS, after EHLO, not logged in"
    AUTHED = "implicit TLS, logged in"
    MAIL = "logged in, after MAIL FROM"
    RCPT = "logged in, after MAIL FROM and one RCPT TO"
    DATA = "logged in, inside DATA (after 354)"


def open_at(gmail: FakeGmail, stage: Stage) -> RawSMTP:
    """A connection to ``gmail`` brought to ``stage``; every reply on the way is checked."""
    if stage in (Stage.SUBMISSION, Stage.SUBMISSION_EHLO):
        raw = RawSMTP(gmail.submission)
    else:
        raw = RawSMTP(gmail.smtps, context=gmail.client_context())
    try:
        steps = _STEPS[stage]
        expect(raw.reply(), "220 smtp.gmail.com ESMTP ")
        for command, answer in steps:
            expect(raw.command(command), answer)
    except BaseException:
        raw.close()
        raise
    return raw


_TO_AUTHED = (
    (b"EHLO client.example\r\n", "250-smtp.gmail.com at your service"),
    (b"AUTH PLAIN " + PLAIN_BLOB + b"\r\n", "235 2.7.0 Accepted"),
)
_TO_RCPT = (
    *_TO_AUTHED,
    (b"MAIL FROM:<tester@gmail.com>\r\n", "250 2.1.0 OK "),
    (b"RCPT TO:<friend@example.org>\r\n", "250 2.1.5 OK "),
)
_STEPS: dict[Stage, tuple[tuple[bytes, str], ...]] = {
    Stage.SMTPS: (),
    Stage.SUBMISSION: (),
    Stage.SUBMISSION_EHLO: ((b"EHLO client.example\r\n", "250-smtp.gmail.com"),),
    Stage.EHLO: ((b"EHLO client.example\r\n", "250-smtp.gmail.com"),),
    Stage.AUTHED: _TO_AUTHED,
    Stage.MAIL: _TO_RCPT[:3],
    Stage.RCPT: _TO_RCPT,
    Stage.DATA: (*_TO_RCPT, (b"DATA\r\n", "354 Go ahead ")),
}


def expect(reply: list[bytes], pattern: str) -> None:
    """Asserts that ``reply`` is valid SMTP and that its first line matches ``pattern``."""
    check_lines(reply)
    assert reply, f"no reply where one matching {pattern!r} was due"
    first = reply[0].decode("utf-8", "replace")
    assert re.match(pattern, first), f"{first!r} does not match {pattern!r}"


def check_lines(lines: Iterable[bytes]) -> None:
    """Asserts that every line is a well-formed reply line with nothing of the server's
    insides in it (no traceback, no exception name, no aiosmtpd wording)."""
    codes = set()
    for line in lines:
        assert _REPLY_LINE.fullmatch(line), f"not an SMTP reply line: {line[:120]!r}"
        # RFC 5321 §4.5.3.1.5: a reply line, code and CRLF included, is 512 octets at most.
        assert len(line) <= 512, f"a reply line of {len(line)} octets: {line[:120]!r}..."
        codes.add(line[:3])
        for leak in _LEAKS:
            assert leak not in line, f"{leak!r} on the wire: {line[:120]!r}"
    assert len(codes) <= 1, f"one reply, several codes: {sorted(codes)}"


def still_serves(raw: RawSMTP) -> None:
    """Asserts that the connection goes on: NOOP gets Gmail's 250."""
    expect(raw.command("NOOP"), r"250 2\.0\.0 OK ")


def closed(raw: RawSMTP) -> bool:
    """True once the server has closed its side (nothing more to read but EOF)."""
    return raw.closed_by_server()


def stop_and_check(gmail: FakeGmail) -> None:
    """Stops ``gmail`` (dropping what is still open) and re-raises anything its thread raised,
    so an error from the last moments of a connection is not missed."""
    gmail.stop()
    gmail.check()
