"""Showing a conversation as it happens, the way the seed did: one ``C:``/``S:`` line per
wire line, in the transcript format, AUTH secrets redacted."""

from __future__ import annotations

from typing import TextIO

from client.transcript.model import Direction, Line
from client.transcript.recorder import Recorder
from client.transcript.redaction import SecretRedactor
from client.transcript.text import format_line

__all__ = ["ConsoleLog"]


class ConsoleLog:
    """A transcript sink that prints each line as it is said and also records it.

    Give it to ``SMTPClient.connect(recorder=...)``. Secrets are redacted both in what is
    printed and in ``recorder`` (its transcript is what ``--transcript FILE`` writes).

    Args:
        out: where to print.
        quiet: record without printing.
    """

    def __init__(self, out: TextIO, *, quiet: bool = False) -> None:
        self._out = out
        self._quiet = quiet
        self._redactor = SecretRedactor()
        self.recorder = Recorder()

    def line(self, direction: Direction, data: bytes, *, sasl_response: bool = False) -> None:
        self.recorder.line(direction, data, sasl_response=sasl_response)
        if direction is Direction.CLIENT:
            data = self._redactor.client_line(data, sasl_response=sasl_response)
        if not self._quiet:
            print(format_line(Line(direction, data)), file=self._out, flush=True)

    def event(self, kind: str, detail: str = "") -> None:
        self.recorder.event(kind, detail)
        if not self._quiet:
            body = f"TLS handshake {detail}" if kind == "tls" else kind
            print(f"# --- {body.strip()} ---", file=self._out, flush=True)
