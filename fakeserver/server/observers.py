"""Who watches a fake server's conversations: the live log, the JSON event stream, transcript
files, an experiment's connection counter, the HTTP API's events.

Observers are called in the server's event-loop thread, with lines already redacted, and see
each connection as a read-only :class:`~fakeserver.session.records.SessionView`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from client.transcript.model import Line
from fakeserver.session.records import CapturedMessage, SessionRecord, SessionView

__all__ = ["BaseObserver", "Observer", "hooks"]


class Observer(Protocol):
    """Watches conversations; called in the server's event-loop thread, so keep it quick.

    Lines arrive already redacted. An observer that raises is reported in
    ``ServerState.errors`` and never breaks the connection.
    """

    def on_open(self, session: SessionView) -> None: ...

    def on_line(self, session: SessionView, line: Line) -> None: ...

    def on_event(self, session: SessionView, kind: str, detail: str) -> None: ...

    def on_message(self, session: SessionView, message: CapturedMessage) -> None: ...

    def on_close(self, session: SessionView, record: SessionRecord) -> None: ...


class BaseObserver:
    """An :class:`Observer` that ignores everything: subclass it and override only what
    you watch."""

    watches_lines = False
    """Whether ``on_line`` is overridden: when no observer watches lines (and no transcript is
    kept), sessions skip reporting them."""

    watches_message_data = True
    """Whether ``on_line`` wants the lines of message data (after DATA's 354, and BDAT chunks)
    too. An observer that hides message bodies says False; when none wants them, sessions skip
    reporting those lines (the 354 and the final dot are still reported)."""

    def __init_subclass__(cls) -> None:
        cls.watches_lines = cls.on_line is not BaseObserver.on_line

    def on_open(self, session: SessionView) -> None:
        pass

    def on_line(self, session: SessionView, line: Line) -> None:
        pass

    def on_event(self, session: SessionView, kind: str, detail: str) -> None:
        pass

    def on_message(self, session: SessionView, message: CapturedMessage) -> None:
        pass

    def on_close(self, session: SessionView, record: SessionRecord) -> None:
        pass


def hooks(observers: Sequence[Observer], name: str) -> list[Callable[..., None]]:
    """The ``name`` methods (``"on_line"``, ...) of ``observers`` that do something, bound:
    :class:`BaseObserver`'s own do nothing, and they would be called for every line. (An
    observer without the method is left out too.)"""
    idle = getattr(BaseObserver, name)
    found = ((each, getattr(each, name, None)) for each in observers)
    return [
        method
        for each, method in found
        if method is not None and getattr(type(each), name, None) is not idle
    ]
