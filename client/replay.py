"""Client-side replay: say a transcript's client lines to a live server, and check that it
answers what the transcript says.

This is how smtprig checks its fake Gmail against the conversations recorded with the real
one, and how a user checks any server against a recording::

    result = replay(read("37_swaks.txt"), "localhost", 2587, credentials=Credentials(...))
    assert result.passed, result.mismatch

What is sent for a line the recording could not keep (see ``client.transcript.normalise``):

- ``<redacted>`` answers to a 334 become the real SASL response for the prompt
  (``Username:``, ``Password:``, or the whole PLAIN / XOAUTH2 blob after an empty 334), and
  ``AUTH <mech> <redacted>`` gets the real initial response, all from ``credentials``;
- ``EHLO <client>`` gets ``client.example``; an address placeholder such as
  ``RCPT TO:<redacted>`` gets a real address;
- a message stand-in (``<message ...>``) becomes a short real message, ended with ``.``
  unless the transcript's next client line is the dot; ``<N bytes ...>`` after ``BDAT N``
  becomes N octets.

Server lines are not sent: each group of them is read as that many replies. A TLS event (``# ---
TLS handshake ... ---``, including the corpus's free-form spellings) is a handshake after
STARTTLS. Comparison uses :func:`client.transcript.compare.compare` with its normalisers (session
id, timestamps, client ip...) and a ``Matching`` (``client.transcript.matching``: the masks, for
what else may differ in the answers). Recorded secrets are redacted, so a mismatch never shows
one.
"""

from __future__ import annotations

import base64
import contextlib
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from client.errors import ConnectionLostError
from client.smtp_client import SMTPClient
from client.tls_mode import TLSMode
from client.transcript.compare import ReplayResult, compare
from client.transcript.facts import is_handshake, transcript_tls
from client.transcript.matching import Matching
from client.transcript.model import Direction, Entry, Event, Line, Transcript
from client.transcript.normalise import (
    NORMALISERS,
    Normaliser,
    Placeholder,
    placeholder,
    split_line,
)
from client.transcript.recorder import Recorder

__all__ = ["DEFAULT_MESSAGE", "Credentials", "replay", "transcript_tls"]

DEFAULT_MESSAGE = (
    b"From: smtprig replay <replay@example.org>\r\n"
    b"To: someone@example.org\r\n"
    b"Subject: smtprig replay\r\n"
    b"\r\n"
    b"A message sent in place of one the recording did not keep.\r\n"
)
"""What a message stand-in in a transcript is replaced with."""

_TOKEN = re.compile(r"<[^<>]*>")
_BYTES = re.compile(r"<(\d+) bytes\b")
_HELLO = re.compile(r"(EHLO|HELO)\s+<[^<>]*>\s*$", re.IGNORECASE)
_AUTH = re.compile(r"AUTH\s+(\S+)\s+<[^<>]*>\s*$", re.IGNORECASE)
_BDAT = re.compile(rb"BDAT\s+(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What stands in for the secrets a transcript redacted."""

    username: str
    password: str
    oauth_token: str = ""

    def initial_response(self, mechanism: str) -> bytes:
        """The base64 initial response (or first SASL response) for ``mechanism``."""
        mechanism = mechanism.upper()
        if mechanism == "LOGIN":
            raw = self.username.encode()
        elif mechanism in {"XOAUTH2", "OAUTHBEARER"}:
            raw = f"user={self.username}\x01auth=Bearer {self.oauth_token}\x01\x01".encode()
            if mechanism == "OAUTHBEARER":
                raw = f"n,a={self.username},\x01auth=Bearer {self.oauth_token}\x01\x01".encode()
        else:
            raw = f"\0{self.username}\0{self.password}".encode()
        return base64.b64encode(raw)


def replay(
    transcript: Transcript,
    host: str,
    port: int,
    *,
    credentials: Credentials,
    ssl_context: ssl.SSLContext | None = None,
    tls: TLSMode | None = None,
    tls_hostname: str | None = None,
    timeout_s: float = 10.0,
    normalisers: Mapping[str, Normaliser] = NORMALISERS,
    message: bytes = DEFAULT_MESSAGE,
    matching: Matching | None = None,
) -> ReplayResult:
    """Replays the client side of ``transcript`` against ``host:port``.

    Args:
        transcript: the recording; placeholders allowed.
        host: the server to talk to.
        port: its port.
        credentials: what replaces redacted AUTH payloads.
        ssl_context: for TLS; certificates and names are verified as usual.
        tls: how to use TLS; by default what the transcript did (``transcript_tls``).
        tls_hostname: the name the server's certificate must carry; ``host`` by default.
        timeout_s: the limit for each read, write and handshake.
        normalisers: what may differ (see ``client.transcript.normalise``).
        message: sent where the transcript has a message stand-in.
        matching: how messages are compared (the ones sent are the transcript's own), and the
            masks applied to every line; ``Matching()`` by default.

    Returns:
        The conversation as it happened (``transcript``), and its first mismatch.
    """
    mode = tls or transcript_tls(transcript)
    recorder = Recorder()
    client = SMTPClient.connect(
        host,
        port,
        implicit_tls=mode is TLSMode.IMPLICIT,
        ssl_context=ssl_context,
        tls_hostname=tls_hostname,
        timeout_s=timeout_s,
        recorder=recorder,
        read_greeting=False,
    )
    with contextlib.closing(client):
        _Speaker(client, credentials, message).speak(transcript)
    actual = recorder.transcript()
    expected_lines = transcript.lines
    actual_lines = actual.lines
    if expected_lines and expected_lines[0].direction is Direction.CLIENT:
        # The recording starts after the greeting (its recorder missed it): so do we.
        actual_lines = _after_greeting(actual_lines)
    mismatch = compare(expected_lines, actual_lines, normalisers=normalisers, matching=matching)
    return ReplayResult(transcript=actual, mismatch=mismatch)


class _Speaker:
    """Walks the transcript, sending its client lines and reading as many replies."""

    def __init__(self, client: SMTPClient, credentials: Credentials, message: bytes) -> None:
        self._client = client
        self._credentials = credentials
        self._message = message
        self._last_reply = ""
        self._mechanism = "PLAIN"
        self._in_data = False
        self._bdat_size = 0

    def speak(self, transcript: Transcript) -> None:
        entries = list(transcript.entries)
        lines = transcript.lines
        if lines and lines[0].direction is Direction.CLIENT:
            self._read_replies(1)  # the greeting, which the recording does not show
        index = 0
        while index < len(entries):
            entry = entries[index]
            if is_handshake(entry):
                self._client.handshake_tls()
            elif isinstance(entry, Event) and entry.kind == "closed":
                return
            elif isinstance(entry, Line) and entry.direction is Direction.SERVER:
                group = _server_group(entries, index)
                if not self._read_replies(_count_replies(group)):
                    return
                index += len(group)
                continue
            elif isinstance(entry, Line):
                following = _next_line(entries, index)
                self._client.send_bytes(self._client_bytes(entry, following))
            index += 1

    def _read_replies(self, count: int) -> bool:
        for _ in range(count):
            try:
                reply = self._client.read_reply()
            except ConnectionLostError:
                return False
            self._last_reply = b"".join(reply.wire).decode("utf-8", "replace")
            self._in_data = reply.code == 354
        return True

    def _client_bytes(self, line: Line, following: Line | None) -> bytes:
        kind = placeholder(line, in_data=self._in_data)
        text, ending = split_line(line.data)
        if kind is Placeholder.MESSAGE:
            self._in_data = False
            return self._stand_in_message(text, following)
        if self._in_data:
            if line.data in {b".\r\n", b".\n"}:
                self._in_data = False
            return line.data
        bdat = _BDAT.match(line.data)
        if bdat:
            self._bdat_size = int(bdat[1])
            self._in_data = True
        auth = _AUTH.match(text)
        if auth:
            self._mechanism = auth[1].upper()
            return (
                f"AUTH {auth[1]} ".encode() + self._credentials.initial_response(auth[1]) + ending
            )
        if text.upper().startswith("AUTH "):
            self._mechanism = [*text.split(), "PLAIN"][1].upper()
        if kind is Placeholder.VALUE:
            return self._filled(text).encode("utf-8") + (ending or b"\r\n")
        return line.data

    def _filled(self, text: str) -> str:
        if _TOKEN.fullmatch(text.strip()):
            return self._sasl_response().decode()
        if _HELLO.match(text):
            return _TOKEN.sub("client.example", text)
        address = "someone@example.org"
        if text.upper().startswith("MAIL"):
            address = self._credentials.username
        return _TOKEN.sub(lambda token: _address(token[0], address), text)

    def _sasl_response(self) -> bytes:
        prompt = self._last_reply.strip()
        if prompt == "334 VXNlcm5hbWU6":
            return base64.b64encode(self._credentials.username.encode())
        if prompt == "334 UGFzc3dvcmQ6":
            return base64.b64encode(self._credentials.password.encode())
        if prompt == "334":
            return self._credentials.initial_response(self._mechanism)
        return b""  # after an error challenge, the answer is an empty line

    def _stand_in_message(self, text: str, following: Line | None) -> bytes:
        size = _BYTES.match(text)
        if size:
            return b"x" * int(size[1]) if self._bdat_size else self._message
        terminated = following is None or following.direction is Direction.SERVER
        return self._message + (b".\r\n" if terminated else b"")


def _address(token: str, address: str) -> str:
    inner = token[1:-1]
    return token if "@" in inner and not inner.startswith("redacted") else f"<{address}>"


def _next_line(entries: list[Entry], index: int) -> Line | None:
    return next((e for e in entries[index + 1 :] if isinstance(e, Line)), None)


def _server_group(entries: list[Entry], start: int) -> list[Line]:
    group = []
    for entry in entries[start:]:
        if not isinstance(entry, Line) or entry.direction is not Direction.SERVER:
            break
        group.append(entry)
    return group


def _count_replies(group: list[Line]) -> int:
    count = 0
    for line in group:
        kind = placeholder(line)
        if kind is Placeholder.NO_REPLY:
            continue
        if kind is Placeholder.UNPRINTED_REPLY or line.data[3:4] != b"-":
            count += 1
    return count


def _after_greeting(lines: tuple[Line, ...]) -> tuple[Line, ...]:
    for index, line in enumerate(lines):
        if line.direction is Direction.CLIENT:
            return lines[index:]
    return ()
