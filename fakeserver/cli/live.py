"""The live view of ``fakeserver serve``: a readable log, or one JSON object per line.

Both are :class:`~fakeserver.server.observers.Observer` s, so they only ever see lines that were
already redacted. They write through one lock, because the server thread writes while the main
thread prints the ready line; nothing is written before :meth:`LiveOutput.open` (so the ready line
always comes first).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from typing import TextIO

from client.transcript.model import Direction, Line
from fakeserver.jsontext import json_text
from fakeserver.server.observers import BaseObserver
from fakeserver.session.records import CapturedMessage, EndReason, SessionRecord, SessionView

__all__ = ["FLUSH_EVERY_S", "HumanLog", "JsonLog", "LiveOutput"]

FLUSH_EVERY_S = 0.02
"""How long a line written from the server's loop may wait to be written with others."""

_SERVER = Direction.SERVER


class LiveOutput:
    """Serialises writes to a text stream, holding them back until :meth:`open`.

    Written from the server's loop thread, lines are gathered and written together at most
    every :data:`FLUSH_EVERY_S`: under load that is one write to the terminal or pipe for
    many messages, where a write per command cost the loop one more turn per line, and a
    person cannot see the delay. Written from any other thread, a line goes out at once.
    :meth:`close` writes what is left. When the reader of the stream goes away, the log
    stops quietly and the server goes on.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._held: list[str] | None = []
        self._pending: list[str] = []
        self._flush_scheduled = False
        self._reader_gone = False

    def write(self, text: str) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append(text)
                return
            self._pending.append(text)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not from a loop: nothing would flush it later
                self._write_pending()
                return
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        loop.call_later(FLUSH_EVERY_S, self._flush)

    def open(self, first: str) -> None:
        """Writes ``first``, then everything held back, then lets writes through."""
        with self._lock:
            held, self._held = self._held or [], None
            self._pending[:0] = [first, *held]
            self._write_pending()

    def close(self) -> None:
        """Writes what is still gathered (call it once the server has stopped, whose loop
        would have)."""
        with self._lock:
            self._flush_scheduled = False  # (a stopped loop never ran it)
            self._write_pending()

    def _flush(self) -> None:
        with self._lock:
            self._flush_scheduled = False
            self._write_pending()

    def _write_pending(self) -> None:
        text, self._pending = "".join(self._pending), []
        if self._reader_gone:
            return
        try:
            if text:
                self._stream.write(text)
            self._stream.flush()
        except BrokenPipeError:
            # Whoever read the log has gone (``serve --json | head -1`` reads only the ready
            # line): the server serves on, without a log and without a traceback.
            self._reader_gone = True
            _write_to_nothing(self._stream)


def _write_to_nothing(stream: TextIO) -> None:
    """Points the file descriptor under ``stream`` at /dev/null, so that what is still in its
    buffer, and anything printed later (Python flushes stdout as it exits), goes nowhere."""
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's StringIO)
        return
    nothing = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(nothing, descriptor)
    finally:
        os.close(nothing)


def _printable(data: bytes) -> str:
    text = data.decode("utf-8", "backslashreplace")
    if text.endswith("\r\n"):
        return text[:-2]
    # Show what is unusual about a line ending; a CRLF line is the norm and shows nothing.
    return text.replace("\r", "\\r").replace("\n", "\\n")


class HumanLog:
    """A conversation log for people: ``[3] C: EHLO x``, ``[3] S: 250-...``.

    Args:
        output: where to write.
        show_bodies: also show the message lines between 354 and the final dot.
    """

    watches_message_data: bool
    """Only with ``show_bodies``: the lines are not even reported otherwise (see
    :class:`~fakeserver.server.observers.BaseObserver`)."""

    def __init__(self, output: LiveOutput, *, show_bodies: bool = False) -> None:
        self._write: Callable[[str], None] = output.write
        self.watches_message_data = show_bodies
        self._in_body: set[int] = set()

    def on_open(self, session: SessionView) -> None:
        host, port = session.peer
        self._write(f"[{session.number}] connected from {host} port {port} ({session.listener})\n")

    def on_line(self, session: SessionView, line: Line) -> None:
        # (Called for every command and reply, so it compares enum members by identity: an
        # enum's .value is a slow property.)
        data, number = line.data, session.number
        if line.direction is _SERVER:
            who = "S"
            if data.startswith(b"354"):
                self._in_body.add(number)
        else:
            who = "C"
            if number in self._in_body:
                if data == b".\r\n":
                    self._in_body.discard(number)
                elif not self.watches_message_data:
                    return
        self._write(f"[{number}] {who}: {_printable(data)}\n")

    def on_event(self, session: SessionView, kind: str, detail: str) -> None:
        self._write(f"[{session.number}] --- {kind} {detail}".rstrip() + " ---\n")

    def on_message(self, session: SessionView, message: CapturedMessage) -> None:
        self._in_body.discard(session.number)
        subject = message.subject
        recipients = ", ".join(f"<{address}>" for address in message.recipients)
        self._write(
            f"[{session.number}] accepted {len(message.raw)} bytes from <{message.mail_from}> "
            f"to {recipients}; Subject: {subject}\n"
        )

    def on_close(self, session: SessionView, record: SessionRecord) -> None:
        self._in_body.discard(session.number)
        # (A failed handshake's reason was printed as its own event line.)
        left = record.ended is EndReason.CLIENT_CLOSED and record.end_detail
        why = f": {record.end_detail}" if left else ""
        self._write(f"[{session.number}] closed{why}\n")


class JsonLog(BaseObserver):
    """One JSON object per accepted message, injected fault, failed TLS handshake and closed
    connection, for other programs. A fault comes after the message whose reply it changes,
    so a program can tell a message stored without a 250 reaching the client (a scripted lost
    250) from a bug."""

    def __init__(self, output: LiveOutput) -> None:
        self._write = output.write

    def on_event(self, session: SessionView, kind: str, detail: str) -> None:
        if kind in ("fault", "tls-failed"):
            self._emit({"event": kind, "connection": session.number, "detail": detail})

    def on_message(self, session: SessionView, message: CapturedMessage) -> None:
        info = message.session
        self._emit(
            {
                "event": "message",
                "connection": session.number,
                "session_id": info.session_id,
                "listener": info.listener.value,
                "user": info.user,
                "auth_mechanism": info.auth_mechanism,
                "tls_version": info.tls_version,
                "mail_from": message.mail_from,
                "recipients": list(message.recipients),
                "size": len(message.raw),
                "subject": message.subject,
                "received_at": message.received_at,
            }
        )

    def on_close(self, session: SessionView, record: SessionRecord) -> None:
        self._emit(
            {
                "event": "closed",
                "connection": session.number,
                "session_id": session.session_id,
                "listener": session.listener.value,
                "peer": {"host": session.peer[0], "port": session.peer[1]},
                "user": session.user,
                "messages": session.messages_accepted,
                "ended": record.ended.value if record.ended is not None else None,
                "end_detail": record.end_detail,
            }
        )

    def _emit(self, event: dict[str, object]) -> None:
        self._write(json_text(event, default=str) + "\n")
