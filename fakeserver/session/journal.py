"""Where a session reports what happened, as it happens: the lines, events, messages and the
close, for the server's shared state and its observers."""

from __future__ import annotations

from typing import Protocol

from client.transcript.model import Line
from fakeserver.session.records import CapturedMessage, SessionRecord, SessionView

__all__ = ["Journal"]


class Journal(Protocol):
    """Where a session reports what happened (the server's shared state implements it).

    ``store`` may raise, once it has reported the error for the test: the session then answers
    ``server_error`` instead of the 250.
    """

    @property
    def watching_lines(self) -> bool: ...

    @property
    def watching_message_data(self) -> bool: ...

    def opened(self, session: SessionView) -> None: ...

    def line(self, session: SessionView, line: Line) -> None: ...

    def event(self, session: SessionView, kind: str, detail: str) -> None: ...

    def store(self, session: SessionView, message: CapturedMessage) -> CapturedMessage: ...

    def unrecognized(self, session: SessionView, line: bytes) -> None: ...

    def closed(self, session: SessionView, record: SessionRecord) -> None: ...
