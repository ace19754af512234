"""Running a client under test as a child process, and watching the fake's connections.

A client gets its own session (so its own process group): at the case timeout the whole
group gets SIGTERM, then SIGKILL a second later if anything is left, so a client that
started helpers leaves none behind. Its output goes to files, so that a client that prints a
lot can never block on a full pipe.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from fakeserver.server.observers import BaseObserver
from fakeserver.session.records import SessionRecord, SessionView

__all__ = ["ConnectionWatcher", "error_line", "run_client"]

_REPLY_LINE = re.compile(r"[0-9]{3}[ -]")
_TERM_GRACE_S = 1.0


def run_client(
    argv: list[str], directory: Path, environment: Mapping[str, str], timeout_s: float
) -> tuple[int | None, float]:
    """Runs ``argv`` until it exits or ``timeout_s`` passes, output to ``directory``'s
    ``stdout.txt`` and ``stderr.txt``.

    Returns:
        The exit status (None if it had to be killed), and the seconds it ran.
    """
    started = time.monotonic()
    with (
        open(directory / "stdout.txt", "wb") as stdout,
        open(directory / "stderr.txt", "wb") as stderr,
    ):
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                env=dict(environment),
                start_new_session=True,  # its own process group, so a kill reaches children
            )
        except OSError as error:
            stderr.write(f"cannot start {argv[0]!r}: {error.strerror}\n".encode())
            return 127, time.monotonic() - started
        try:
            status: int | None = process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            status = None
            _kill_group(process)
    return status, time.monotonic() - started


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM first, so a client can say what it was doing; then SIGKILL for whatever is
    # left of the group, helpers included, even when the client itself has gone.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(_TERM_GRACE_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def error_line(text: str) -> str:
    """The line of a client's standard error that says what went wrong: the last one that
    is neither indented (a traceback's frames) nor a reply line (a multi-line reply quoted
    after the error); the last line when every line is one of those."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if not line[0].isspace() and not _REPLY_LINE.match(line):
            return line
    return lines[-1].strip() if lines else ""


class ConnectionWatcher(BaseObserver):
    """Counts the fake's open connections, so a run can wait for them to end."""

    def __init__(self) -> None:
        self._open = 0
        self._changed = threading.Condition()

    def wait_until_idle(self, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._open == 0, timeout_s)

    def on_open(self, session: SessionView) -> None:
        with self._changed:
            self._open += 1

    def on_close(self, session: SessionView, record: SessionRecord) -> None:
        with self._changed:
            self._open -= 1
            self._changed.notify_all()
