"""The servers a benchmark compares, each in its own process, started by the benchmark.

- ``fake``: smtprig's fake Gmail, the full persona with the outbox on (as in a test suite:
  no live log, no transcripts kept);
- ``aiosmtpd``: the reference, stock aiosmtpd with implicit TLS, an authenticator that
  accepts everyone, and its ``Sink`` handler.

Both present a certificate from the same throw-away CA, written to a temporary folder.
``python -m bench.servers fake|aiosmtpd CERTS_DIR`` prints one ready line of JSON, then
serves until terminated.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fakeserver.transport.tls import load_or_create, server_context


@dataclass(frozen=True)
class Running:
    name: str
    host: str
    smtps_port: int
    submission_port: int | None
    cafile: str
    pid: int


@contextmanager
def running(name: str, certs_dir: Path) -> Iterator[Running]:
    """Starts server ``name`` in a child process and stops it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.servers", name, str(certs_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        yield Running(
            name,
            ready["host"],
            ready["smtps_port"],
            ready.get("submission_port"),
            ready["cafile"],
            process.pid,
        )
    finally:
        process.terminate()
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def _serve_fake(certs_dir: Path) -> None:
    from fakeserver.server.fake import FakeGmail, ServerOptions

    certificates, where, _ = load_or_create(certs_dir)
    options = ServerOptions(certificates=certificates, record_transcripts=False)
    with FakeGmail(options) as gmail:
        _ready(gmail.smtps.host, gmail.smtps.port, gmail.submission.port, str(where.ca))
        _wait_for_signal()


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def _serve_aiosmtpd(certs_dir: Path) -> None:
    from aiosmtpd.smtp import SMTP, AuthResult

    certificates, where, _ = load_or_create(certs_dir)
    context = server_context(certificates)
    loop = asyncio.new_event_loop()

    def factory() -> SMTP:
        return SMTP(
            _Sink(),
            hostname="localhost",
            authenticator=lambda *args: AuthResult(success=True),
            auth_require_tls=False,  # aiosmtpd counts only STARTTLS as TLS (FIELD-NOTES)
            loop=loop,
        )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    server = loop.run_until_complete(loop.create_server(factory, sock=sock, ssl=context))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    _ready("127.0.0.1", sock.getsockname()[1], None, str(where.ca))
    _wait_for_signal()
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _ready(host: str, smtps_port: int, submission_port: int | None, cafile: str) -> None:
    ready = {
        "host": host,
        "smtps_port": smtps_port,
        "submission_port": submission_port,
        "cafile": cafile,
    }
    print(json.dumps(ready), flush=True)


def _wait_for_signal() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *args: stop.set())
    stop.wait()


if __name__ == "__main__":
    import logging

    logging.disable(logging.CRITICAL)  # aiosmtpd logs every session at INFO
    serve = {"fake": _serve_fake, "aiosmtpd": _serve_aiosmtpd}[sys.argv[1]]
    serve(Path(sys.argv[2]))
