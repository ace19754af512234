"""Cassettes that survive real applications' messages.

Each test records one message through a cassette against stock aiosmtpd (a real SMTP server,
running in the test, STARTTLS and AUTH), then replays the cassette twice with the same client:
every run has the client's own Date, Message-ID and MIME boundaries, and the replays pass. That
the runs really differ is shown each time by a third replay at the ``bytes`` level, which fails.
The negative twins change one thing in the message and fail, naming what changed.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from client import TLSMode
from client.transcript import Matching, TranscriptMismatch
from fakeserver.recordreplay.cassette import Cassette, Upstream
from fakeserver.transport.tls import client_context, default_certificates
from tests.recordreplay.conftest import PASSWORD, USER, WAIT_S, Aiosmtpd
from tests.recordreplay.real_clients import (
    ClientFailed,
    Mail,
    compile_jakarta,
    email_message,
    missing_jakarta,
    missing_nodemailer,
    send_aiosmtplib,
    send_jakarta,
    send_nodemailer,
    send_smtplib,
    send_swaks,
)

Send = Callable[[tuple[str, int], Mail], None]
REFUSED = (smtplib.SMTPException, aiosmtplib.SMTPException, ClientFailed)
"""How each client reports the replay server's 554 at the point where it differs."""


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """Stock aiosmtpd with STARTTLS and AUTH, to record against."""
    with Aiosmtpd("starttls") as server:
        yield Upstream(server.address, TLSMode.STARTTLS, client_context(default_certificates()))


@pytest.fixture
def cafile(tmp_path: Path) -> Path:
    """The test CA as a PEM file, for the clients that are not Python."""
    path = tmp_path / "ca.pem"
    path.write_bytes(default_certificates().ca_pem)
    return path


@pytest.fixture(scope="module")
def jakarta_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Jakarta Mail client, compiled once for the module (only if a test uses it)."""
    return compile_jakarta(tmp_path_factory.mktemp("jakarta"))


@pytest.fixture
def senders(cafile: Path, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Send]:
    context = client_context(default_certificates())

    def jakarta(address: tuple[str, int], mail: Mail) -> None:
        classes: Path = request.getfixturevalue("jakarta_classes")
        send_jakarta(address, cafile, mail, tmp_path, classes)

    return {
        "smtplib": lambda address, mail: send_smtplib(address, context, mail),
        "aiosmtplib": lambda address, mail: send_aiosmtplib(address, context, mail),
        "swaks": lambda address, mail: send_swaks(address, cafile, mail, tmp_path),
        "nodemailer": lambda address, mail: send_nodemailer(address, cafile, mail),
        "jakarta": jakarta,
    }


def record(path: Path, upstream: Upstream, send: Send, mail: Mail, match: Matching) -> None:
    cassette = Cassette(path, "once", upstream=upstream, match=match).start()
    try:
        send(cassette.address, mail)
    finally:
        cassette.check()


def replay(path: Path, send: Send, mail: Mail, match: Matching) -> None:
    cassette = Cassette(path, "none", match=match).start()
    try:
        send(cassette.address, mail)
    finally:
        cassette.check()


def replay_fails(path: Path, send: Send, mail: Mail, match: Matching) -> str:
    """Replays and expects the client to be refused; returns the cassette's mismatch."""
    cassette = Cassette(path, "none", match=match).start()
    with pytest.raises(REFUSED):
        send(cassette.address, mail)
    with pytest.raises(TranscriptMismatch) as failure:
        cassette.check()
    return str(failure.value)


CLIENT_NAMES = [
    "smtplib",
    "aiosmtplib",
    "swaks",
    pytest.param("nodemailer", marks=pytest.mark.skipif(
        missing_nodemailer() is not None, reason=str(missing_nodemailer()))),
    pytest.param("jakarta", marks=pytest.mark.skipif(
        missing_jakarta() is not None, reason=str(missing_jakarta()))),
]  # fmt: skip


@pytest.mark.parametrize("client", CLIENT_NAMES)
def test_a_multipart_message_recorded_once_replays_twice(
    client: str, senders: dict[str, Send], upstream: Upstream, tmp_path: Path
) -> None:
    send, mail, path = senders[client], Mail(), tmp_path / "cassette"
    record(path, upstream, send, mail, Matching())
    recorded = (path / "connection-01.txt").read_text()
    assert "invoice.pdf" in recorded, "the whole message is in the cassette"
    assert "<redacted>" in recorded, "AUTH was recorded, redacted"

    replay(path, send, mail, Matching())
    replay(path, send, mail, Matching())

    # The runs differ: compared byte for byte, as before, the same client fails.
    mismatch = replay_fails(path, send, mail, Matching("bytes"))
    assert "matcher 'text' failed" in mismatch


def test_a_per_run_token_in_the_body_is_masked_by_the_tests_normaliser(
    senders: dict[str, Send], upstream: Upstream, tmp_path: Path
) -> None:
    def reset_mail() -> Mail:
        link = f"https://app.example/reset?token={uuid.uuid4()}"
        # A long HTML line is sent quoted-printable, which splits the token across lines.
        html = f'<p>{"Someone asked to reset your password. " * 3}<a href="{link}">Reset</a></p>'
        text = f"Reset it: {link}\n"
        return Mail(subject="Reset your password", text=text, html=html, attachment=None)

    send, path = senders["smtplib"], tmp_path / "cassette"
    match = Matching(masks=[r"token=([0-9a-f-]+)"])
    record(path, upstream, send, reset_mail(), match)
    assert "=\n" in (path / "connection-01.txt").read_text().replace("\r", ""), "a soft break"
    replay(path, send, reset_mail(), match)
    replay(path, send, reset_mail(), match)

    mismatch = replay_fails(path, send, reset_mail(), Matching())
    assert "in part 1 (text/plain), line 1 of the decoded body differs" in mismatch
    assert "expected: Reset it: https://app.example/reset?token=" in mismatch


TWINS = [
    pytest.param(
        {"recipient": "someone.else@example.org"},
        [
            "*matcher 'text' failed: the lines differ",
            "*expected: C: rcpt TO:<friend@example.org>",
            "*actual:   C: rcpt TO:<someone.else@example.org>",
        ],
        id="recipient",
    ),
    pytest.param(
        {"subject": "Your receipt"},
        [
            "*matcher 'message' failed: in the message, header Subject differs",
            "*expected: Your invoice",
            "*actual:   Your receipt",
        ],
        id="subject",
    ),
    pytest.param(
        {"attachment": None},
        [
            "*the MIME tree differs: part 2 (application/pdf) is missing",
            '*expected: application/pdf; base64; attachment; filename="invoice.pdf"',
            "*actual:   (nothing)",
            "*actual MIME tree:",
            "*message: multipart/alternative; 2 parts",
        ],
        id="attachment",
    ),
    pytest.param(
        {"text": "Hello Ann,\nyour receipt is attached.\nThanks!\n"},
        [
            "*failed: in part 1.1 (text/plain), line 2 of the decoded body differs",
            "*expected: your invoice is attached.",
            "*actual:   your receipt is attached.",
            "*^ first difference, column 6",
        ],
        id="body-line",
    ),
]


@pytest.mark.parametrize(("change", "shown"), TWINS)
def test_a_message_that_differs_fails_naming_what_changed(
    change: dict[str, object],
    shown: list[str],
    senders: dict[str, Send],
    upstream: Upstream,
    tmp_path: Path,
) -> None:
    send, path = senders["smtplib"], tmp_path / "cassette"
    record(path, upstream, send, Mail(), Matching())
    replay(path, send, Mail(), Matching())  # the twin's twin passes
    mismatch = replay_fails(path, send, Mail().but(**change), Matching())
    pytest.LineMatcher(mismatch.splitlines()).fnmatch_lines(shown)


@pytest.mark.parametrize(
    ("level", "passes", "fails", "named"),
    [
        ("headers", {"text": "Changed body.\n"}, {"subject": "Other"}, "header Subject"),
        ("envelope", {"subject": "Other"}, {"recipient": "x@example.org"}, "rcpt TO:<x@"),
    ],
)
def test_looser_levels_ignore_what_they_do_not_compare(
    level: str,
    passes: dict[str, object],
    fails: dict[str, object],
    named: str,
    senders: dict[str, Send],
    upstream: Upstream,
    tmp_path: Path,
) -> None:
    send, path = senders["smtplib"], tmp_path / "cassette"
    record(path, upstream, send, Mail(), Matching(level))
    replay(path, send, Mail().but(**passes), Matching(level))
    assert named in replay_fails(path, send, Mail().but(**fails), Matching(level))


def test_before_record_keeps_a_header_off_the_disk_and_out_of_the_comparison(
    upstream: Upstream, tmp_path: Path
) -> None:
    context = client_context(default_certificates())
    path = tmp_path / "cassette"

    def send(address: tuple[str, int], mail: Mail) -> None:
        with smtplib.SMTP(*address, timeout=WAIT_S) as client:
            client.starttls(context=context)
            client.login(USER, PASSWORD)
            message = email_message(mail)
            message["X-Customer-Id"] = str(uuid.uuid4())
            client.send_message(message)

    def blank_customer(message: EmailMessage) -> None:
        del message["X-Customer-Id"]

    match = Matching(before_record=blank_customer)
    record(path, upstream, send, Mail(), match)
    recorded = (path / "connection-01.txt").read_text()
    assert "X-Customer-Id" not in recorded
    assert "invoice.pdf" in recorded, "the rest of the message is kept"
    replay(path, send, Mail(), match)
    mismatch = replay_fails(path, send, Mail(), Matching())
    assert "in the message, header X-Customer-Id was not expected" in mismatch
