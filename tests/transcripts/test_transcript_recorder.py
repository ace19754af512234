"""The Recorder: what it stores, and that secrets never get into a transcript."""

from __future__ import annotations

import sys
import threading

import pytest

from client.transcript import (
    FORMAT_VERSION,
    VERSION_HEADER,
    Comment,
    Direction,
    Event,
    Line,
    Recorder,
)
from client.transcript.redaction import SecretRedactor

C = Direction.CLIENT
S = Direction.SERVER


class FakeClock:
    """A clock that advances only when told to."""

    def __init__(self, start_s: float = 100.0) -> None:
        self.now_s = start_s

    def __call__(self) -> float:
        return self.now_s


def test_recorder_starts_with_the_version_header_then_the_callers_headers() -> None:
    recorder = Recorder(headers=[("port", "587"), (VERSION_HEADER, "ignored")])
    transcript = recorder.transcript()
    assert transcript.headers == ((VERSION_HEADER, str(FORMAT_VERSION)), ("port", "587"))
    assert transcript.entries == ()


def test_recorder_keeps_lines_events_and_comments_in_order_without_timing() -> None:
    recorder = Recorder()
    recorder.line(S, b"220 smtp.gmail.com ESMTP x - gsmtp\r\n")
    recorder.line(C, b"STARTTLS\r\n")
    recorder.event("tls", "TLSv1.3 TLS_AES_256_GCM_SHA384")
    recorder.comment("after the handshake")
    recorder.line(C, b"EHL")
    recorder.event("closed")
    assert recorder.transcript().entries == (
        Line(S, b"220 smtp.gmail.com ESMTP x - gsmtp\r\n"),
        Line(C, b"STARTTLS\r\n"),
        Event("tls", "TLSv1.3 TLS_AES_256_GCM_SHA384"),
        Comment("after the handshake"),
        Line(C, b"EHL"),
        Event("closed"),
    )


def test_recorder_times_entries_from_its_creation_when_given_a_clock() -> None:
    clock = FakeClock()
    recorder = Recorder(clock=clock)
    clock.now_s = 100.25
    recorder.line(S, b"220 hi\r\n")
    clock.now_s = 101.0000004
    recorder.event("closed")
    assert recorder.transcript().entries == (
        Line(S, b"220 hi\r\n", 0.25),
        Event("closed", "", 1.0),
    )


@pytest.mark.parametrize(
    ("data", "sasl_response", "stored"),
    [
        # RFC 4954 §4: the initial response is a secret; the mechanism is not.
        (b"AUTH PLAIN AHVzZXIAcGFzcw==\r\n", False, b"AUTH PLAIN <redacted>\r\n"),
        (b"auth xoauth2 dXNlcj1h\n", False, b"auth xoauth2 <redacted>\n"),
        (b"AUTH LOGIN\r\n", False, b"AUTH LOGIN\r\n"),
        (b"AUTH XOAUTH2 \r\n", False, b"AUTH XOAUTH2 \r\n"),
        (b"AUTH PLAIN <redacted>\r\n", False, b"AUTH PLAIN <redacted>\r\n"),
        # A SASL response is a secret, except the "*" that cancels (RFC 4954 §4).
        (b"dXNlcg==\r\n", True, b"<redacted>\r\n"),
        (b"*\r\n", True, b"*\r\n"),
        (b"\r\n", True, b"\r\n"),
        (b"<redacted base64 username>\r\n", True, b"<redacted base64 username>\r\n"),
        (b"MAIL FROM:<a@b.example>\r\n", False, b"MAIL FROM:<a@b.example>\r\n"),
    ],
)
def test_recorder_redacts_auth_payloads(data: bytes, sasl_response: bool, stored: bytes) -> None:
    recorder = Recorder()
    recorder.line(C, data, sasl_response=sasl_response)
    assert recorder.transcript().entries == (Line(C, stored),)


def test_recorder_keeps_secrets_when_asked_to() -> None:
    recorder = Recorder(redact_secrets=False)
    recorder.line(C, b"AUTH PLAIN AHVzZXIAcGFzcw==\r\n")
    recorder.line(C, b"dXNlcg==\r\n", sasl_response=True)
    assert [line.data for line in recorder.transcript().lines] == [
        b"AUTH PLAIN AHVzZXIAcGFzcw==\r\n",
        b"dXNlcg==\r\n",
    ]


def test_recorder_never_redacts_server_lines() -> None:
    recorder = Recorder()
    recorder.line(S, b"334 VXNlcm5hbWU6\r\n", sasl_response=True)
    assert recorder.transcript().lines == (Line(S, b"334 VXNlcm5hbWU6\r\n"),)


@pytest.mark.parametrize(
    ("pieces", "stored"),
    [
        (
            [(b"AUTH PL", False), (b"AIN AHVz", False), (b"ZXIAcGFzcw==\r\n", False)],
            [b"AUTH PL", b"AIN <redacted>", b"\r\n"],
        ),
        (
            [(b"AUTH PLAIN", False), (b" AHVz", False), (b"ZXI\r", False), (b"\n", False)],
            [b"AUTH PLAIN", b" <redacted>", b"\r", b"\n"],
        ),
        ([(b"dXN", True), (b"lcg==\r\n", True)], [b"<redacted>", b"\r\n"]),
        # A flag that arrives late cannot take back what was stored; the rest is hidden.
        ([(b"dXN", False), (b"lcg==\r\n", True)], [b"dXN", b"<redacted>\r\n"]),
    ],
)
def test_redactor_never_lets_a_piece_of_a_secret_through(
    pieces: list[tuple[bytes, bool]], stored: list[bytes]
) -> None:
    redactor = SecretRedactor()
    assert [redactor.client_line(data, sasl_response=flag) for data, flag in pieces] == stored


def test_redactor_starts_afresh_after_each_terminated_line() -> None:
    redactor = SecretRedactor()
    assert redactor.client_line(b"c2VjcmV0\r\n", sasl_response=True) == b"<redacted>\r\n"
    assert redactor.client_line(b"QUIT\r\n") == b"QUIT\r\n"


@pytest.mark.parametrize(
    ("kind", "detail"),
    [("TLS", ""), ("", ""), ("closed now", ""), ("tls", "two\nlines"), ("tls", "tab\there")],
)
def test_event_rejects_what_the_format_cannot_hold(kind: str, detail: str) -> None:
    with pytest.raises(ValueError, match="event"):
        Event(kind, detail)


def test_comment_must_be_one_printable_line() -> None:
    with pytest.raises(ValueError, match="comment"):
        Comment("two\nlines")


def test_a_transcript_read_while_recording_goes_on_loses_nothing() -> None:
    # The fake's API and tests read open connections' transcripts from other threads.
    recorder = Recorder()
    stop = threading.Event()

    def keep_reading() -> None:
        while not stop.is_set():
            recorder.transcript()

    reader = threading.Thread(target=keep_reading)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    reader.start()
    try:
        for number in range(3000):
            recorder.line(C, b"MAIL FROM:<a@example.org>\r\n")
            recorder.run(C, b"line %d\r\nline two\r\n" % number)
    finally:
        stop.set()
        reader.join(timeout=10)
        sys.setswitchinterval(interval)
    lines = recorder.transcript().lines
    assert len(lines) == 3000 * 3
    assert lines[-2].data == b"line 2999\r\n"


def test_runs_are_cut_into_lines_alike_on_every_read() -> None:
    recorder = Recorder()
    recorder.run(C, b"one\r\ntwo\r\n")
    first = recorder.transcript()
    recorder.line(S, b"250 OK\r\n")
    second = recorder.transcript()
    assert [line.data for line in first.lines] == [b"one\r\n", b"two\r\n"]
    assert second.entries[:2] == first.entries
    assert second.lines[-1] == Line(S, b"250 OK\r\n")
