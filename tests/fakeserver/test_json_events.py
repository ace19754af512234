"""JSON for other programs (``fakeserver serve --json``, the HTTP API, reports) is valid UTF-8
whatever a client sent: a byte that is not UTF-8 is written ``\\xNN``, never as a lone
surrogate, which RFC 8259 §8.2 leaves to each parser (strict ones refuse it)."""

from __future__ import annotations

import io
import json
import smtplib
import ssl
from pathlib import Path
from typing import cast

import pytest

from fakeserver.cli.live import JsonLog, LiveOutput
from fakeserver.jsontext import json_text
from fakeserver.personas.model import Listener
from fakeserver.session.records import CapturedMessage, Envelope, SessionInfo, SessionView
from tests.support.rawsmtp import RawSMTP
from tests.support.serveproc import EPHEMERAL, ServeProcess
from tests.support.strictjson import strictly
from tests.support.wire import PLAIN_BLOB


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("j\udcf6rg", "j\\xf6rg"),  # a Latin-1 byte, as surrogateescape decodes it
        ("\udcff\udcfe", "\\xff\\xfe"),
        ("x\ud800y", "x\\ud800y"),  # a lone surrogate from elsewhere (JSON input)
        ("\udc7f", "\\udc7f"),  # below the surrogateescape range: not a byte
    ],
)
def test_a_lone_surrogate_is_written_out_and_the_json_is_strict(value: str, shown: str) -> None:
    text = json_text({"key\udcff": [value, {"inner": value}]}, indent=2)
    assert strictly(text.encode("ascii")) == {"key\\xff": [shown, {"inner": shown}]}


@pytest.mark.parametrize(
    "value",
    [
        {"plain": "text", "number": 1.5, "none": None, "flag": True},
        ["é", "😀", "\\udcff as typed", {"nested": ["a", 2]}],  # no surrogate: untouched
    ],
)
def test_text_without_a_lone_surrogate_is_what_json_dumps_writes(value: object) -> None:
    assert json_text(value) == json.dumps(value)
    assert json_text(value, indent=2) == json.dumps(value, indent=2)


def test_default_is_applied_and_escaped_too() -> None:
    class Odd:
        def __str__(self) -> str:
            return "odd\udce9"

    assert json.loads(json_text({"odd": Odd()}, default=str)) == {"odd": "odd\\xe9"}
    with pytest.raises(TypeError):
        json_text({"odd": Odd()})


def test_the_json_log_escapes_what_is_not_utf8() -> None:
    # Envelopes are refused before they can hold such bytes; the log does not rely on it.
    stream = io.StringIO()
    output = LiveOutput(stream)
    output.open("")
    info = SessionInfo(
        1, Listener.SMTPS, ("127.0.0.1", 5000), "id", "caf\udce9", None, None, None, None, 0.0
    )
    envelope = Envelope("j\udcf6rg@example.org", ("friend@example.org",), ())
    message = CapturedMessage(envelope, b"Subject: hi\r\n\r\nbody\r\n", info, 1.0, id=1)
    JsonLog(output).on_message(cast(SessionView, _View()), message)  # it reads .number only
    event = strictly(stream.getvalue().encode("utf-8"))
    assert event["mail_from"] == "j\\xf6rg@example.org"


class _View:
    number = 1


def test_serve_json_events_are_strict_when_a_client_sends_latin1(tmp_path: Path) -> None:
    with ServeProcess(*EPHEMERAL, "--json", "--certs-dir", "certs", cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        address = (ready["smtps"]["host"], ready["smtps"]["port"])
        context = ssl.create_default_context(cafile=ready["cafile"])
        with RawSMTP(address, context=context) as raw:
            raw.reply()
            raw.command(b"EHLO caf\xe9\r\n")
            raw.command(b"AUTH PLAIN " + PLAIN_BLOB + b"\r\n")
            assert raw.text(b"MAIL FROM:<j\xf6rg@example.org>\r\n").startswith("553-5.1.7")
            assert raw.text("MAIL FROM:<tester@gmail.com>").startswith("250")
            assert raw.text(b"RCPT TO:<\xff@example.org>\r\n").startswith("553-5.1.3")
            assert raw.text("RCPT TO:<friend@example.org>").startswith("250")
            raw.command("DATA")
            assert raw.text(b"Subject: caf\xe9\r\n\r\nna\xefve\r\n.\r\n").startswith("250")
            raw.command("QUIT")
        lines = [server.expect(r"^\{").string for _ in range(2)]
        assert server.stop() == 0
    message, closed = (strictly(line.encode("utf-8")) for line in lines)
    assert (message["event"], closed["event"]) == ("message", "closed")
    assert message["mail_from"] == "tester@gmail.com"
    assert message["recipients"] == ["friend@example.org"]


def test_serve_json_says_why_a_tls_handshake_failed(tmp_path: Path) -> None:
    with ServeProcess(*EPHEMERAL, "--json", "--certs-dir", "certs", cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        address = (ready["smtps"]["host"], ready["smtps"]["port"])
        with pytest.raises(ssl.SSLCertVerificationError):  # the system's CAs, not the fake's
            smtplib.SMTP_SSL(*address, context=ssl.create_default_context(), timeout=5)
        lines = [server.expect(r"^\{").string for _ in range(2)]
        assert server.stop() == 0
    failed, closed = (strictly(line.encode("utf-8")) for line in lines)
    assert failed == {
        "event": "tls-failed",
        "connection": 1,
        "detail": "the client does not trust the CA (give it the fake's ca.pem) "
        "[TLSV1_ALERT_UNKNOWN_CA]",
    }
    assert (closed["event"], closed["ended"]) == ("closed", "TLS failed")
