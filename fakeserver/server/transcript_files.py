"""Server-side recording: one transcript file per connection (``fakeserver serve --record``).

Files are named ``<start time>-<connection number>-<session id>.txt`` so that a directory
listing is in the order the connections came. Secrets are redacted twice: once as the
lines are recorded, and again by :func:`client.transcript.write`.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from client.transcript import Transcript, write
from fakeserver.server.state import BaseObserver, Connection

__all__ = ["TranscriptFiles"]


class TranscriptFiles(BaseObserver):
    """An observer that writes each connection's transcript into ``directory`` at close."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def on_close(self, connection: Connection, transcript: Transcript | None) -> None:
        if transcript is None:
            return
        started = datetime.datetime.fromtimestamp(connection.started_at, datetime.UTC)
        name = f"{started:%Y%m%dT%H%M%S}-{connection.id:05d}-{connection.session_id}.txt"
        write(self.directory / name, transcript)
