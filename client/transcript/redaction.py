"""Redaction of AUTH secrets in client lines, fragment by fragment.

Everything that decides what a secret is lives here, so that the recorder, ``redact`` and the
display of mismatches agree: ``SecretRedactor`` follows one stream of client lines as they are
written, and ``redact`` runs one over a whole transcript. Only two things are secret (RFC 4954 §4):

- the initial response of ``AUTH <mechanism> <initial-response>``;
- a SASL response: the client line that answers a ``334`` challenge, except the ``*`` that
  cancels the exchange (it carries nothing).

Both are replaced by the placeholder ``<redacted>``; the line's terminator is kept. A payload that
is already a ``<redacted ...>`` placeholder is left alone, so redacting is idempotent.

Clients may write one line in several pieces (a partial write, a fault that splits a write). The
redactor sees the pieces in order and never lets a piece of a secret through: the first piece that
reaches the secret writes ``<redacted>`` and later pieces keep only the terminator.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "SecretRedactor", "is_redacted_placeholder"]

REDACTED = b"<redacted>"

# RFC 5321 §2.4: verbs are case-insensitive. RFC 4954 §4: "AUTH" SP mechanism [SP initial-response].
_AUTH_WITH_RESPONSE = re.compile(rb"AUTH +\S+ +(?=\S)", re.IGNORECASE)
_PLACEHOLDER = re.compile(rb"<redacted[^<>]*>")
_CANCEL = b"*"


def is_redacted_placeholder(payload: bytes) -> bool:
    """Tell whether ``payload`` is already a ``<redacted ...>`` placeholder.

    Args:
        payload: a line body or an AUTH initial response, without terminator.

    Returns:
        True for ``<redacted>``, ``<redacted base64 username>`` and the like.
    """
    return _PLACEHOLDER.fullmatch(payload) is not None


def _body_length(data: bytes) -> int:
    """Length of ``data`` without its line terminator (CRLF, bare LF, or a CR awaiting its LF)."""
    if data.endswith(b"\r\n"):
        return len(data) - 2
    if data.endswith((b"\n", b"\r")):
        return len(data) - 1
    return len(data)


def _secret_start(body: bytes, *, sasl_response: bool) -> int | None:
    """Where the secret begins in a (possibly incomplete) line body, or None if it has none."""
    if sasl_response:
        if body in (b"", _CANCEL) or is_redacted_placeholder(body):
            return None
        return 0
    match = _AUTH_WITH_RESPONSE.match(body)
    if match is None or is_redacted_placeholder(body[match.end() :]):
        return None
    return match.end()


class SecretRedactor:
    """Redacts the client lines of one connection, written whole or in pieces.

    Not thread-safe: one redactor per connection, fed in wire order.
    """

    __slots__ = ("_emitted", "_pending", "_sasl_response", "_secret_from")

    def __init__(self) -> None:
        self._pending = b""
        self._sasl_response = False
        self._secret_from: int | None = None
        self._emitted = False

    @property
    def between_lines(self) -> bool:
        """Whether the last write ended a line, so that nothing earlier affects the next."""
        return not self._pending

    def client_line(self, data: bytes, *, sasl_response: bool = False) -> bytes:
        """Return what may be stored of one client write.

        Args:
            data: the bytes written, usually one whole line with its terminator, possibly a
                piece of one (no terminator yet, or the rest of an earlier piece).
            sasl_response: the line answers a 334 challenge.

        Returns:
            ``data`` with any secret replaced by ``<redacted>``.
        """
        if (
            not sasl_response
            and not self._pending
            and data.endswith(b"\n")
            and data[:4].upper() != b"AUTH"
        ):
            return data  # a whole line that is not AUTH holds no secret (nearly every line)
        start = len(self._pending)
        full = self._pending + data
        self._sasl_response = self._sasl_response or sasl_response
        body_end = _body_length(full)
        if self._secret_from is None:
            found = _secret_start(full[:body_end], sasl_response=self._sasl_response)
            if found is not None and found < body_end:
                self._secret_from = found
        kept_end = body_end if self._secret_from is None else min(body_end, self._secret_from)
        out = full[start:kept_end] if start < kept_end else b""
        if (
            self._secret_from is not None
            and not self._emitted
            and body_end > max(start, self._secret_from)
        ):
            out += REDACTED
            self._emitted = True
        out += full[max(start, body_end) :]
        if full.endswith(b"\n"):
            self._reset()
        else:
            self._pending = full
        return out

    def _reset(self) -> None:
        self._pending = b""
        self._sasl_response = False
        self._secret_from = None
        self._emitted = False
