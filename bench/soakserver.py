"""``fakeserver serve --json`` in a child process for the soak (bench/soak.py) and the idle
crowd (bench/crowd.py), the JSON events it prints, and the clients that log in to it.

The server runs as a user runs it: ports 0, HTTP on a free port, its own certs dir and
Maildir in a temporary folder; a thread reads its JSON events as they come.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from client import SMTPClient

USER, PASSWORD = "tester@gmail.com", "app-password"
BODY = (b"x" * 68 + b"\r\n") * 13  # with the headers, about 1 KB
WAIT_S = 60.0


@dataclass
class Server:
    """``fakeserver serve`` in a child process, and the JSON events it printed."""

    process: subprocess.Popen[str]
    ready: dict[str, object]
    maildir: Path
    events: list[dict[str, object]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def address(self, listener: str) -> tuple[str, int]:
        where = self.ready[listener]
        assert isinstance(where, dict)
        return str(where["host"]), int(where["port"])

    @property
    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ready["cafile"]))

    def read_events(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.events.append(json.loads(line))
                self.changed.notify_all()

    def wait_for_closed(self, count: int) -> None:
        """Waits (bounded) until the server has reported ``count`` closed connections."""
        deadline = time.monotonic() + WAIT_S
        with self.changed:
            while self.count("closed") < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self.count('closed')} of {count} connections closed")
                self.changed.wait(remaining)

    def count(self, kind: str) -> int:
        return sum(1 for event in self.events if event["event"] == kind)

    def peak_rss_mb(self) -> float | None:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None  # not Linux
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None


@contextmanager
def served(scenario: Path | None = None) -> Iterator[Server]:
    """``fakeserver serve`` in a child process, serving ``scenario``'s faults if given."""
    with tempfile.TemporaryDirectory(prefix="smtprig-soak-") as folder:
        maildir = Path(folder) / "mail"
        command = [
            sys.executable, "-m", "fakeserver", "serve", "--json", "--smtps-port", "0",
            "--submission-port", "0", "--certs-dir", folder, "--maildir", str(maildir),
            "--http", "127.0.0.1:0",  # 8025 may be taken, by a make serve for one
        ]  # fmt: skip
        if scenario is not None:
            command += ["--scenario", str(scenario)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            server = Server(process, json.loads(process.stdout.readline()), maildir)
            threading.Thread(target=server.read_events, daemon=True).start()
            yield server
        finally:
            process.terminate()
            process.wait(10)
            if process.stdout is not None:
                process.stdout.close()


def connect(server: Server, index: int) -> SMTPClient:
    """A logged-in client: implicit TLS for even ``index``, STARTTLS for odd."""
    implicit = index % 2 == 0
    host, port = server.address("smtps" if implicit else "submission")
    client = SMTPClient.connect(
        host, port, implicit_tls=implicit, ssl_context=server.context, tls_hostname="localhost",
        timeout_s=30.0, local_hostname="soak.example",
    )  # fmt: skip
    try:
        client.ehlo()
        if not implicit:
            client.starttls()
        client.auth_plain(USER, PASSWORD)
    except BaseException:
        client.close()
        raise
    return client


def message(subject: str) -> bytes:
    """A message of about 1 KB with this ``Subject``."""
    return f"From: {USER}\r\nTo: friend@example.org\r\nSubject: {subject}\r\n\r\n".encode() + BODY
