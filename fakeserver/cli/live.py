"""The live view of ``fakeserver serve``: a readable log, or one JSON object per line.

Both are :class:`~fakeserver.server.state.Observer` s, so they only ever see lines that were already
redacted. They write through one lock, because the server thread writes while the main
thread prints the ready line; nothing is written before :meth:`LiveOutput.open` (so the
ready line always comes first).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TextIO

from client.transcript import Line, Transcript
from fakeserver.server.outbox import CapturedMessage
from fakeserver.server.state import BaseObserver, Connection

__all__ = ["HumanLog", "JsonLog", "LiveOutput"]


class LiveOutput:
    """Serialises writes to a text stream, holding them back until :meth:`open`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._held: list[str] | None = []

    def write(self, text: str) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append(text)
                return
            self._stream.write(text)
            self._stream.flush()

    def open(self, first: str) -> None:
        """Writes ``first``, then everything held back, then lets writes through."""
        with self._lock:
            held, self._held = self._held or [], None
            self._stream.write(first + "".join(held))
            self._stream.flush()


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

    def __init__(self, output: LiveOutput, *, show_bodies: bool = False) -> None:
        self._write: Callable[[str], None] = output.write
        self._show_bodies = show_bodies
        self._in_body: set[int] = set()

    def on_open(self, connection: Connection) -> None:
        host, port = connection.peer
        self._write(
            f"[{connection.id}] connected from {host} port {port} ({connection.listener})\n"
        )

    def on_line(self, connection: Connection, line: Line) -> None:
        text = _printable(line.data)
        if line.direction.value == "S" and text.startswith("354"):
            self._in_body.add(connection.id)
        elif connection.id in self._in_body:
            if line.data == b".\r\n":
                self._in_body.discard(connection.id)
            elif not self._show_bodies:
                return
        self._write(f"[{connection.id}] {line.direction.value}: {text}\n")

    def on_event(self, connection: Connection, kind: str, detail: str) -> None:
        self._write(f"[{connection.id}] --- {kind} {detail}".rstrip() + " ---\n")

    def on_message(self, connection: Connection, message: CapturedMessage) -> None:
        self._in_body.discard(connection.id)
        subject = _subject(message)
        recipients = ", ".join(f"<{address}>" for address in message.recipients)
        self._write(
            f"[{connection.id}] accepted {len(message.raw)} bytes from <{message.mail_from}> "
            f"to {recipients}; Subject: {subject}\n"
        )

    def on_close(self, connection: Connection, transcript: Transcript | None) -> None:
        self._in_body.discard(connection.id)
        self._write(f"[{connection.id}] closed\n")


class JsonLog(BaseObserver):
    """One JSON object per accepted message, injected fault and closed connection, for other
    programs. A fault comes after the message whose reply it changes, so a program can tell
    a message stored without a 250 reaching the client (a scripted lost 250) from a bug."""

    def __init__(self, output: LiveOutput) -> None:
        self._write = output.write

    def on_event(self, connection: Connection, kind: str, detail: str) -> None:
        if kind == "fault":
            self._emit({"event": "fault", "connection": connection.id, "detail": detail})

    def on_message(self, connection: Connection, message: CapturedMessage) -> None:
        session = message.session
        self._emit(
            {
                "event": "message",
                "connection": connection.id,
                "session_id": session.session_id,
                "listener": session.listener.value,
                "user": session.user,
                "auth_mechanism": session.auth_mechanism,
                "tls_version": session.tls_version,
                "mail_from": message.mail_from,
                "recipients": list(message.recipients),
                "size": len(message.raw),
                "subject": _subject(message),
                "received_at": message.received_at,
            }
        )

    def on_close(self, connection: Connection, transcript: Transcript | None) -> None:
        self._emit(
            {
                "event": "closed",
                "connection": connection.id,
                "session_id": connection.session_id,
                "listener": connection.listener.value,
                "peer": {"host": connection.peer[0], "port": connection.peer[1]},
                "user": connection.conversation.user,
                "messages": connection.conversation.messages_accepted,
            }
        )

    def _emit(self, event: dict[str, object]) -> None:
        self._write(json.dumps(event, default=str) + "\n")


def _subject(message: CapturedMessage) -> str:
    try:
        return str(message.message.get("Subject", ""))
    except Exception:  # a malformed header must not cost the log line
        return "(unreadable Subject)"
