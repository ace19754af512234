"""Server-side recording: one transcript file per connection (``fakeserver serve --record``).

Files are named ``<start time>-<connection number>-<session id>.txt`` so that a directory
listing is in the order the connections came. Secrets are redacted twice: once as the
lines are recorded, and again by :func:`client.transcript.write`.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from client.transcript.text import write
from fakeserver.server.observers import BaseObserver
from fakeserver.session.records import SessionRecord, SessionView

__all__ = ["TranscriptFiles"]


class TranscriptFiles(BaseObserver):
    """An observer that writes each connection's transcript into ``directory`` at close."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def on_close(self, session: SessionView, record: SessionRecord) -> None:
        if record.transcript is None:
            return
        started = datetime.datetime.fromtimestamp(session.started_at, datetime.UTC)
        name = f"{started:%Y%m%dT%H%M%S}-{session.number:05d}-{session.session_id}.txt"
        write(self.directory / name, record.transcript)
