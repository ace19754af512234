"""The client's own conversation as a transcript: one entry per wire line, secrets redacted."""

from __future__ import annotations

import base64
import ssl

from client import SMTPClient
from client.transcript import Direction, Event, Line, Recorder, dump, load
from tests.support.client_testkit import (
    PASSWORD,
    USERNAME,
    WAIT_S,
    AiosmtpdServer,
    Peer,
    ScriptedServer,
)


def login_over_starttls(
    server: AiosmtpdServer, context: ssl.SSLContext, recorder: Recorder
) -> None:
    with SMTPClient.connect(
        "127.0.0.1", server.port, ssl_context=context, recorder=recorder, timeout_s=WAIT_S
    ) as client:
        client.ehlo()
        client.starttls()
        client.auth_login(USERNAME, PASSWORD)


def test_a_recorded_conversation_in_the_text_format(
    starttls_server: AiosmtpdServer, client_context: ssl.SSLContext
) -> None:
    recorder = Recorder()
    login_over_starttls(starttls_server, client_context, recorder)
    transcript = recorder.transcript()
    text = dump(transcript)
    assert load(text) == transcript
    rows = text.splitlines()
    assert rows[1].startswith("S: 220 aiosmtpd.test")
    starttls = rows.index("C: STARTTLS")
    assert rows[starttls + 1] == "S: 220 Ready to start TLS"
    assert rows[starttls + 2].startswith("# --- TLS handshake TLSv1.")
    assert rows[starttls + 3] == "C: EHLO [127.0.0.1]"
    auth = rows.index("C: AUTH LOGIN")
    assert rows[auth : auth + 5] == [
        "C: AUTH LOGIN",
        "S: 334 VXNlciBOYW1lAA==",
        "C: <redacted>",
        "S: 334 UGFzc3dvcmQA",
        "C: <redacted>",
    ]
    assert rows[-3:] == ["C: QUIT", "S: 221 Bye", "# --- closed ---"]
    assert isinstance(transcript.entries[-1], Event)


def test_secrets_are_kept_only_when_asked(
    starttls_server: AiosmtpdServer, client_context: ssl.SSLContext
) -> None:
    recorder = Recorder(redact_secrets=False)
    login_over_starttls(starttls_server, client_context, recorder)
    sent = [line.data for line in recorder.transcript().lines]
    assert base64.b64encode(PASSWORD.encode()) + b"\r\n" in sent


def test_one_entry_per_physical_line_however_the_bytes_came() -> None:
    reply = b"250-first\r\n250-second\n250 third\r\n"

    def script(peer: Peer) -> None:
        peer.drip(b"220 hi\r\n")
        peer.expect(b"EHLO [127.0.0.1]\r\n")
        peer.drip(reply)
        peer.expect(b"QUIT\r\n")
        peer.send(b"221 bye\r\n")

    recorder = Recorder()
    with (
        ScriptedServer(script) as server,
        SMTPClient.connect("127.0.0.1", server.port, recorder=recorder, timeout_s=WAIT_S) as client,
    ):
        client.ehlo()
    server_lines = [
        line.data for line in recorder.transcript().lines if line.direction is Direction.SERVER
    ]
    assert server_lines == [
        b"220 hi\r\n",
        b"250-first\r\n",
        b"250-second\n",
        b"250 third\r\n",
        b"221 bye\r\n",
    ]
    assert "S~ 250-second\\n" in dump(recorder.transcript())


def test_raw_mode_redacts_answers_to_challenges() -> None:
    def script(peer: Peer) -> None:
        peer.send(b"220 hi\r\n")
        peer.expect(b"AUTH LOGIN\r\n")
        peer.send(b"334 VXNlcm5hbWU6\r\n")
        peer.read_line()
        peer.send(b"334 UGFzc3dvcmQ6\r\n")
        peer.read_line()
        peer.send(b"235 2.7.0 Accepted\r\n")

    recorder = Recorder()
    with (
        ScriptedServer(script) as server,
        SMTPClient.connect(
            "127.0.0.1", server.port, recorder=recorder, timeout_s=WAIT_S, read_greeting=False
        ) as client,
    ):
        client.read_reply()
        for line in (b"AUTH LOGIN\r\n", b"YWxpY2U=\r\n", b"c2VjcmV0\r\n"):
            client.send_bytes(line)
            client.read_reply()
    client_lines = [
        line for line in recorder.transcript().lines if line.direction is Direction.CLIENT
    ]
    assert client_lines == [
        Line(Direction.CLIENT, b"AUTH LOGIN\r\n"),
        Line(Direction.CLIENT, b"<redacted>\r\n"),
        Line(Direction.CLIENT, b"<redacted>\r\n"),
    ]
