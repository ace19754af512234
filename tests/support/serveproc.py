"""Runs ``fakeserver serve`` (or another verb: ``record``, ``replay``) as a child process, as a
user would, and reads its output with a bound on every wait."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

WAIT_S = 15.0

EPHEMERAL = ("--smtps-port", "0", "--submission-port", "0")
"""Both SMTP ports on free ones, for tests that run in parallel."""


class ServeProcess:
    """``python -m fakeserver VERB ARGS`` in ``cwd``, with its stdout read line by line."""

    def __init__(self, *args: str, cwd: Path, verb: str = "serve") -> None:
        if verb == "serve" and not {"--http", "--no-http"} & set(args):
            args = (*args, "--http", "127.0.0.1:0")  # 8025 may be taken; tests run in parallel
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fakeserver", verb, *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def expect(self, pattern: str, timeout_s: float = WAIT_S) -> re.Match[str]:
        """Reads lines until one matches ``pattern``; fails with all the output otherwise."""
        compiled = re.compile(pattern)
        while True:
            try:
                line = self._lines.get(timeout=timeout_s)
            except queue.Empty:
                message = f"no line matched {pattern!r} in {timeout_s} s:\n{self.text}"
                raise AssertionError(message) from None
            if line is None:
                raise AssertionError(f"the server exited before {pattern!r}:\n{self.text}")
            self.output.append(line)
            match = compiled.search(line)
            if match is not None:
                return match

    @property
    def text(self) -> str:
        return "".join(self.output)

    def stop(self) -> int:
        """Sends SIGTERM and returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait("did not stop on SIGTERM")

    def wait(self, problem: str = "did not exit by itself") -> int:
        """Waits (bounded) for the process to exit, reads the rest of its output, and returns
        its exit status."""
        try:
            status = self.process.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(WAIT_S)
            raise AssertionError(f"fakeserver {problem}:\n{self.text}") from None
        self._reader.join(WAIT_S)
        while (line := self._lines.get_nowait() if not self._lines.empty() else None) is not None:
            self.output.append(line)
        return status

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
