"""No AUTH secret reaches the disk: recorded, redacted, written, read back."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from client.transcript import (
    Direction,
    Line,
    Recorder,
    Transcript,
    load,
    read,
    redact,
    write,
)

C = Direction.CLIENT
S = Direction.SERVER

USER = b"alice@gmail.com"
PASSWORD = b"correct horse battery staple"
TOKEN = b"ya29.a0AfH6SMBx-secret-oauth-token"


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


PLAIN_BLOB = b"\0" + USER + b"\0" + PASSWORD
XOAUTH2_BLOB = b"user=" + USER + b"\x01auth=Bearer " + TOKEN + b"\x01\x01"
SECRETS = [PASSWORD, b64(PASSWORD), b64(PLAIN_BLOB), TOKEN, b64(XOAUTH2_BLOB), b64(USER)]


def record_logins(recorder: Recorder) -> None:
    """Feed a recorder the three AUTH conversations a Gmail client may have, as a driver would."""
    server = [
        b"220 smtp.gmail.com ESMTP x - gsmtp\r\n",
        b"250-smtp.gmail.com at your service, [192.0.2.1]\r\n",
        b"250 AUTH LOGIN PLAIN XOAUTH2\r\n",
    ]
    for data in server:
        recorder.line(S, data)
    # AUTH LOGIN: two challenges, two SASL responses (RFC 4954 §4).
    recorder.line(C, b"AUTH LOGIN\r\n")
    recorder.line(S, b"334 VXNlcm5hbWU6\r\n")
    recorder.line(C, b64(USER) + b"\r\n", sasl_response=True)
    recorder.line(S, b"334 UGFzc3dvcmQ6\r\n")
    recorder.line(C, b64(PASSWORD) + b"\r\n", sasl_response=True)
    recorder.line(S, b"535 5.7.8 BadCredentials x - gsmtp\r\n")
    # AUTH PLAIN with an initial response, then without one.
    recorder.line(C, b"AUTH PLAIN " + b64(PLAIN_BLOB) + b"\r\n")
    recorder.line(S, b"535 5.7.8 BadCredentials x - gsmtp\r\n")
    recorder.line(C, b"AUTH PLAIN\r\n")
    recorder.line(S, b"334 \r\n")
    recorder.line(C, b64(PLAIN_BLOB)[:7], sasl_response=True)
    recorder.line(C, b64(PLAIN_BLOB)[7:] + b"\r\n", sasl_response=True)
    recorder.line(S, b"535 5.7.8 BadCredentials x - gsmtp\r\n")
    # XOAUTH2, and the empty line that answers its error challenge.
    recorder.line(C, b"AUTH XOAUTH2 " + b64(XOAUTH2_BLOB) + b"\r\n")
    recorder.line(S, b"334 eyJzdGF0dXMiOiI0MDAifQ==\r\n")
    recorder.line(C, b"\r\n", sasl_response=True)
    recorder.line(S, b"535-5.7.8 Username and Password not accepted.\r\n")
    recorder.line(C, b"QUIT\r\n")
    recorder.event("closed")


def assert_no_secret(data: bytes) -> None:
    for secret in SECRETS:
        assert secret not in data, secret


def test_a_recorded_login_written_to_disk_holds_no_secret(tmp_path: Path) -> None:
    recorder = Recorder()
    record_logins(recorder)
    path = tmp_path / "login.txt"
    write(path, recorder.transcript())
    on_disk = path.read_bytes()
    assert_no_secret(on_disk)
    assert b"C: AUTH PLAIN <redacted>\n" in on_disk
    assert b"C: AUTH XOAUTH2 <redacted>\n" in on_disk
    assert on_disk.count(b"C: <redacted>\n") == 2
    assert b"C: QUIT\n" in on_disk
    assert read(path) == recorder.transcript()


def test_write_redacts_even_what_was_recorded_unredacted(tmp_path: Path) -> None:
    recorder = Recorder(redact_secrets=False)
    record_logins(recorder)
    assert b64(PASSWORD) in b"".join(line.data for line in recorder.transcript().lines)
    path = tmp_path / "login.txt"
    write(path, recorder.transcript())
    assert_no_secret(path.read_bytes())


def test_write_keeps_secrets_only_when_asked(tmp_path: Path) -> None:
    recorder = Recorder(redact_secrets=False)
    record_logins(recorder)
    path = tmp_path / "login.txt"
    write(path, recorder.transcript(), redact_secrets=False)
    assert read(path) == recorder.transcript()


def test_replaying_a_transcript_with_a_secret_records_none(tmp_path: Path) -> None:
    # Someone wrote a real password into a transcript; a replay records what goes over the
    # wire with a fresh Recorder, and that recording is what lands on disk.
    secret_text = (
        "S: 220 hi\n"
        f"C: AUTH PLAIN {b64(PLAIN_BLOB).decode()}\n"
        "S: 235 2.7.0 Accepted\n"
        "C: AUTH LOGIN\n"
        "S: 334 VXNlcm5hbWU6\n"
        f"C: {b64(USER).decode()}\n"
        "S: 334 UGFzc3dvcmQ6\n"
        f"C: {b64(PASSWORD).decode()}\n"
    )
    replayed = Recorder()
    challenged = False
    for line in load(secret_text).lines:
        replayed.line(line.direction, line.data, sasl_response=challenged)
        challenged = line.direction is S and line.data.startswith(b"334 ")
    path = tmp_path / "replay.txt"
    write(path, replayed.transcript())
    assert_no_secret(path.read_bytes())
    # And writing the loaded transcript itself redacts it too.
    write(path, load(secret_text))
    assert_no_secret(path.read_bytes())


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("C: AUTH PLAIN c2VjcmV0\n", "C: AUTH PLAIN <redacted>\n"),
        ("S: 334 \nC: c2VjcmV0\nC: c2VjcmV0\n", "S: 334 \nC: <redacted>\nC: c2VjcmV0\n"),
        ("S: 334 x\nC~ c2Vj\nC: cmV0\n", "S: 334 x\nC~ <redacted>\nC: \n"),
        ("S: 334 x\nC: *\n", "S: 334 x\nC: *\n"),
        ("S: 334 x\nS: 535 no\nC: QUIT\n", "S: 334 x\nS: 535 no\nC: QUIT\n"),
        # Placeholders in the captures stay as they are; redact is idempotent.
        ("S: 334 x\nC: <redacted base64 username>\n", "S: 334 x\nC: <redacted base64 username>\n"),
        ("C: AUTH XOAUTH2 <redacted base64 of x>\n", "C: AUTH XOAUTH2 <redacted base64 of x>\n"),
        # Capture 28: Gmail took this QUIT as the SASL response; write errs on hiding it.
        ("C: AUTH XOAUTH2 \nS: 334 \nC: QUIT\n", "C: AUTH XOAUTH2 \nS: 334 \nC: <redacted>\n"),
    ],
)
def test_redact(before: str, after: str) -> None:
    assert redact(load(before)) == load(after)
    assert redact(load(after)) == load(after)


def test_redact_keeps_headers_events_timing_and_server_lines() -> None:
    transcript = Transcript(
        (("port", "465"),),
        (Line(S, b"334 \r\n", 0.5), Line(C, b"c2VjcmV0\r\n", 0.75)),
    )
    assert redact(transcript) == Transcript(
        (("port", "465"),),
        (Line(S, b"334 \r\n", 0.5), Line(C, b"<redacted>\r\n", 0.75)),
    )
