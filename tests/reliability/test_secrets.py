"""AUTH payloads never appear in logs, transcripts or the live view, on either side.

Every way a client may carry a secret (an initial response, a SASL response, a wrong password,
a bearer token; whole, pipelined, or one byte per write) goes through one server that has every
sink switched on: in-memory transcripts, transcript files, the human live log with message
bodies shown, the JSON event stream, and Python logging at DEBUG for every logger (aiosmtpd's
``mail.log`` included). Then no form of any secret may be found in any of them.
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

import pytest

from client import PermanentReplyError, SMTPClient
from client.transcript import Recorder, dump
from fakeserver.cli.live import HumanLog, JsonLog, LiveOutput
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.server.observers import Observer
from tests.support.rawsmtp import RawSMTP
from tests.support.wire import Stage, open_at, stop_and_check

PASSWORD = b"app-password"
WRONG = b"wrong-secret-42"
TOKEN = b"ya29.smtprig-test-token"
WRONG_TOKEN = b"ya29.stolen-token-77"


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def plain(password: bytes) -> bytes:
    return b64(b"\0tester@gmail.com\0" + password)


def xoauth2(token: bytes) -> bytes:
    return b64(b"user=tester@gmail.com\x01auth=Bearer " + token + b"\x01\x01")


def oauthbearer(token: bytes) -> bytes:
    return b64(b"n,a=tester@gmail.com,\x01auth=Bearer " + token + b"\x01\x01")


SECRETS = [
    PASSWORD, b64(PASSWORD), plain(PASSWORD), WRONG, b64(WRONG), plain(WRONG), TOKEN,
    xoauth2(TOKEN), oauthbearer(TOKEN), WRONG_TOKEN, xoauth2(WRONG_TOKEN),
]  # fmt: skip
USER = b64(b"tester@gmail.com")

# (what the client writes, one element per write; how many replies it then reads)
CONVERSATIONS = {
    "plain-initial-response": ([b"AUTH PLAIN " + plain(PASSWORD) + b"\r\n"], 1),
    "plain-after-the-challenge": ([b"AUTH PLAIN\r\n", plain(PASSWORD) + b"\r\n"], 2),
    "plain-lower-case": ([b"auth plain " + plain(PASSWORD) + b"\r\n"], 1),
    "plain-wrong-password": ([b"AUTH PLAIN " + plain(WRONG) + b"\r\n"], 1),
    "plain-one-byte-per-write": ([bytes([c]) for c in b"AUTH PLAIN " + plain(PASSWORD)], 0),
    "plain-response-in-two-writes": (
        [b"AUTH PLAIN\r\n", plain(PASSWORD)[:9], plain(PASSWORD)[9:] + b"\r\n"],
        2,
    ),
    "login-three-steps": ([b"AUTH LOGIN\r\n", USER + b"\r\n", b64(PASSWORD) + b"\r\n"], 3),
    "login-initial-response": ([b"AUTH LOGIN " + USER + b"\r\n", b64(WRONG) + b"\r\n"], 2),
    "login-pipelined-whole": ([b"AUTH LOGIN\r\n" + USER + b"\r\n" + b64(PASSWORD) + b"\r\n"], 3),
    "login-password-not-base64": ([b"AUTH LOGIN\r\n", USER + b"\r\n", PASSWORD + b"\r\n"], 3),
    "xoauth2-initial-response": ([b"AUTH XOAUTH2 " + xoauth2(TOKEN) + b"\r\n"], 1),
    "xoauth2-after-the-challenge": ([b"AUTH XOAUTH2\r\n", xoauth2(TOKEN) + b"\r\n"], 2),
    "xoauth2-wrong-token": ([b"AUTH XOAUTH2 " + xoauth2(WRONG_TOKEN) + b"\r\n", b"\r\n"], 2),
    "oauthbearer-initial-response": ([b"AUTH OAUTHBEARER " + oauthbearer(TOKEN) + b"\r\n"], 1),
}


class Sinks:
    """Everything a secret could end up in, gathered as text."""

    def __init__(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        self.live = io.StringIO()
        self.json = io.StringIO()
        self.record_dir = tmp_path / "transcripts"
        self.caplog = caplog
        self._outputs = LiveOutput(self.live), LiveOutput(self.json)
        human, stream = self._outputs
        human.open("")
        stream.open("")
        self.observers: list[Observer] = [HumanLog(human, show_bodies=True), JsonLog(stream)]

    def gathered(self, gmail: FakeGmail) -> dict[str, str]:
        for output in self._outputs:  # the lines the stopped loop had not written yet
            output.close()
        files = sorted(self.record_dir.glob("*")) if self.record_dir.exists() else []
        return {
            "transcripts": "".join(dump(transcript) for transcript in gmail.transcripts),
            "transcript files": "".join(path.read_text() for path in files),
            "live log": self.live.getvalue(),
            "json events": self.json.getvalue(),
            "python logging": self.caplog.text,
            "server errors": repr(gmail.errors),
        }


@pytest.fixture
def sinks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Sinks:
    caplog.set_level(logging.DEBUG)
    return Sinks(tmp_path, caplog)


def assert_no_secret(texts: dict[str, str]) -> None:
    assert any(texts.values()), "the sinks recorded nothing at all"
    for sink in ("transcripts", "live log", "json events"):  # every conversation reaches these
        assert texts.get(sink, "present"), f"the {sink} recorded nothing"
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret.decode() not in text, f"{secret!r} appears in the {where}"


def _converse(raw: RawSMTP, writes: list[bytes], replies: int) -> None:
    for data in writes:
        raw.send(data)
    if replies == 0:  # written in pieces without a line end: finish the line, read its reply
        raw.send(b"\r\n")
        replies = 1
    for _ in range(replies):
        assert raw.reply(), "the server answered"


@pytest.mark.parametrize("conversation", CONVERSATIONS)
def test_no_auth_payload_reaches_any_server_sink(sinks: Sinks, conversation: str) -> None:
    options = ServerOptions(record_dir=sinks.record_dir, strict=False, seed=8)
    with FakeGmail(options, observers=sinks.observers) as gmail:
        with open_at(gmail, Stage.EHLO) as raw:
            _converse(raw, *CONVERSATIONS[conversation])
            raw.command("QUIT")
        gmail.wait_for_transcripts(1)
        stop_and_check(gmail)
        texts = sinks.gathered(gmail)
    assert "<redacted>" in texts["transcripts"]
    assert_no_secret(texts)


def test_a_secret_pipelined_after_a_refused_auth_is_not_recorded(sinks: Sinks) -> None:
    options = ServerOptions(record_dir=sinks.record_dir, strict=False, seed=8)
    with FakeGmail(options, observers=sinks.observers) as gmail:
        with open_at(gmail, Stage.SUBMISSION_EHLO) as raw:
            raw.send(b"AUTH LOGIN\r\n" + USER + b"\r\n" + b64(PASSWORD) + b"\r\nQUIT\r\n")
            for _ in range(4):
                assert raw.reply()
        gmail.wait_for_transcripts(1)
        stop_and_check(gmail)
        assert_no_secret(sinks.gathered(gmail))


def test_no_auth_payload_reaches_the_clients_transcript_or_log(
    gmail: FakeGmail, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder()

    def connect() -> SMTPClient:
        client = SMTPClient.connect(
            *gmail.smtps, implicit_tls=True, ssl_context=gmail.client_context(),
            tls_hostname="localhost", recorder=recorder, timeout_s=10.0,
        )  # fmt: skip
        client.ehlo()
        return client

    with connect() as client:
        with pytest.raises(PermanentReplyError):
            client.auth_login("tester@gmail.com", WRONG.decode())
        with pytest.raises(PermanentReplyError):
            client.auth_xoauth2("tester@gmail.com", WRONG_TOKEN.decode())
        client.auth_plain("tester@gmail.com", PASSWORD.decode(), send_initial_response=False)
    with connect() as client:
        client.auth_xoauth2("tester@gmail.com", TOKEN.decode())
    texts = {"client transcript": dump(recorder.transcript()), "python logging": caplog.text}
    assert "<redacted>" in texts["client transcript"]
    assert_no_secret(texts)
