"""The servers a benchmark compares, each in its own process, started by the benchmark.

smtprig is measured as users run it, through the command line (``python -m fakeserver serve``,
the same program as the ``fakeserver`` script), with ports 0, HTTP on a free port as
``make serve`` would have it, and the benchmark's own certs dir:

- ``serve --json``: JSON lines on stdout, transcripts kept (the default);
- ``serve --json --no-transcripts``: the same without transcripts, to price them;
- ``serve (live log)``: the readable conversation log, into a pipe the benchmark drains.

The references:

- ``aiosmtpd``: stock aiosmtpd with an authenticator that accepts everyone and its ``Sink``
  handler, with two listeners: implicit TLS (where ``auth_require_tls`` must be off, since
  aiosmtpd counts only STARTTLS as TLS; FIELD-NOTES) and STARTTLS (``require_starttls``, and
  AUTH only after TLS, as Gmail);
- ``Node smtp-server``: the same two listeners in Node (bench/node/server.cjs), when node and
  npm are on the machine (:mod:`bench.nodepeer`);
- ``asyncio floor``: fixed replies over the same TLS and nothing else (:mod:`bench.floor`),
  the least a Python server on asyncio can spend on the work;
- ``aiosmtpd, addresses not parsed``: stock aiosmtpd whose MAIL and RCPT take their argument
  as it is, to price its command loop and DATA apart from its address parser.

The last two are steps between the floor and the servers, to show where the cost goes.

All present a certificate from the same throw-away CA in the benchmark's certs dir, which the
caller creates first. Every server's stdout is drained by a thread that throws it away, so a
server that prints per message never blocks on a full pipe and never writes to a terminal.
``python -m bench.servers aiosmtpd CERTS_DIR`` prints one ready line of JSON, then serves until
terminated.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aiosmtpd.smtp import SMTP, AuthResult

from fakeserver.transport.tls import load_or_create, server_context

SERVE = "serve --json"
SERVE_NO_TRANSCRIPTS = "serve --json --no-transcripts"
SERVE_LIVE = "serve (live log)"
AIOSMTPD = "aiosmtpd"
AIOSMTPD_UNPARSED = "aiosmtpd, addresses not parsed"
NODE = "Node smtp-server"
FLOOR = "asyncio floor"

ProtocolFactory = Callable[[], asyncio.BaseProtocol]

_START_TIMEOUT_S = 60.0
_RESET_TIMEOUT_S = 30.0
_BANNER_PORT = re.compile(r"^\s*(implicit TLS|STARTTLS)\s+\(like \d+\): (\S+) port (\d+)")
_BANNER_CA = re.compile(r"^Trust this CA: (\S+)")
_BANNER_HTTP = re.compile(r"^Inbox and HTTP API: (\S+)")


@dataclass(frozen=True)
class Running:
    """A server under load: where it listens, what to trust, and its process id (for CPU and
    memory figures from /proc)."""

    name: str
    host: str
    smtps_port: int
    submission_port: int
    cafile: str
    pid: int
    http_url: str | None = None
    """The fake's HTTP API, e.g. ``http://127.0.0.1:8025/``; None for the references."""

    def port(self, tls: str) -> int:
        """The implicit-TLS port for ``"implicit"``, the STARTTLS port for ``"starttls"``."""
        return self.smtps_port if tls == "implicit" else self.submission_port


def command(name: str, certs_dir: Path, options: Sequence[str] = ()) -> list[str]:
    """The command line that starts server ``name``.

    Args:
        name: which server.
        certs_dir: where its certificates are (or are made).
        options: more ``fakeserver serve`` options (``--idle-timeout 3``); smtprig only.

    Raises:
        ValueError: ``options`` for a reference, which takes none.
        bench.nodepeer.NotMeasured: ``name`` is Node smtp-server and it cannot run here.
    """
    serve = [sys.executable, "-m", "fakeserver", "serve", "--certs-dir", str(certs_dir),
             "--smtps-port", "0", "--submission-port", "0", "--http", "127.0.0.1:0"]  # fmt: skip
    if name == SERVE:
        return [*serve, "--json", *options]
    if name == SERVE_NO_TRANSCRIPTS:
        return [*serve, "--json", "--no-transcripts", *options]
    if name == SERVE_LIVE:
        return [*serve, *options]
    if options:
        raise ValueError(f"{name} takes no fakeserver options; {list(options)} given")
    if name == AIOSMTPD:
        return [sys.executable, "-m", "bench.servers", "aiosmtpd", str(certs_dir)]
    if name == AIOSMTPD_UNPARSED:
        return [sys.executable, "-m", "bench.servers", "aiosmtpd-unparsed", str(certs_dir)]
    if name == FLOOR:
        return [sys.executable, "-m", "bench.floor", str(certs_dir)]
    if name == NODE:
        from bench import nodepeer

        _, where, _ = load_or_create(certs_dir)
        return nodepeer.command(where.server_key, where.server_chain, where.ca)
    raise ValueError(f"unknown server {name!r}")


@contextmanager
def running(name: str, certs_dir: Path, options: Sequence[str] = ()) -> Iterator[Running]:
    """Starts server ``name`` in a child process and stops it afterwards.

    Args:
        name: which server.
        certs_dir: where its certificates are (or are made).
        options: more ``fakeserver serve`` options (``--idle-timeout 3``); smtprig only.

    Raises:
        ValueError: ``options`` for a reference, which takes none.
        bench.nodepeer.NotMeasured: ``name`` is Node smtp-server and it cannot run here.
        RuntimeError: the server exited or printed nothing usable before it was ready.
    """
    process = subprocess.Popen(command(name, certs_dir, options), stdout=subprocess.PIPE)
    assert process.stdout is not None
    drain: threading.Thread | None = None
    try:
        ready = _read_ready(name, process)
        drain = threading.Thread(target=_drain, args=(process.stdout,), daemon=True)
        drain.start()
        yield Running(
            name,
            str(ready["host"]),
            int(ready["smtps_port"]),
            int(ready["submission_port"]),
            str(ready["cafile"]),
            process.pid,
            str(ready["http_url"]) if "http_url" in ready else None,
        )
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if drain is not None:
            drain.join(10)
        process.stdout.close()


def _read_ready(name: str, process: subprocess.Popen[bytes]) -> dict[str, str | int]:
    """The ready line of JSON, or for the live log the ports and CA its banner names."""
    assert process.stdout is not None
    stdout = process.stdout
    timer = threading.Timer(_START_TIMEOUT_S, process.kill)  # EOF ends a hung readline
    timer.start()
    try:
        if name != SERVE_LIVE:
            line = stdout.readline()
            if not line:
                raise RuntimeError(f"{name} exited before its ready line")
            ready = json.loads(line)
            if "smtps" in ready:  # fakeserver serve --json
                return {
                    "host": ready["smtps"]["host"],
                    "smtps_port": ready["smtps"]["port"],
                    "submission_port": ready["submission"]["port"],
                    "cafile": ready["cafile"],
                    "http_url": ready["http"]["url"],
                }
            return dict(ready)
        found: dict[str, str | int] = {}
        for raw in iter(stdout.readline, b""):
            text = raw.decode()
            if port := _BANNER_PORT.match(text):
                key = "smtps_port" if port[1] == "implicit TLS" else "submission_port"
                found |= {"host": port[2], key: int(port[3])}
            elif ca := _BANNER_CA.match(text):
                found["cafile"] = ca[1]
            elif http := _BANNER_HTTP.match(text):
                found["http_url"] = http[1]
            elif text.startswith("Ready in"):
                return found
        raise RuntimeError(f"{name} exited before its banner said 'Ready in'")
    except (OSError, ValueError) as error:
        raise RuntimeError(f"{name} printed no usable ready line: {error}") from error
    finally:
        timer.cancel()


def reset(server: Running) -> None:
    """Makes a fake as good as new (``POST /api/v1/reset``: no messages, sessions or
    transcripts kept), so that every run starts where a user's test would; the references
    keep nothing anyway."""
    if server.http_url is None:
        return
    request = urllib.request.Request(f"{server.http_url}api/v1/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=_RESET_TIMEOUT_S) as answer:
        if answer.status != 204:
            raise RuntimeError(f"{server.name}: POST /api/v1/reset answered {answer.status}")


def _drain(stdout: IO[bytes]) -> None:
    """Reads and throws away everything the server prints, as a terminal would show it."""
    read = getattr(stdout, "read1", stdout.read)
    try:
        while read(65536):
            pass
    except (OSError, ValueError):  # closed under us at the end
        pass


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def serve_reference(
    certs_dir: Path,
    factories: Callable[
        [ssl.SSLContext, asyncio.AbstractEventLoop], tuple[ProtocolFactory, ProtocolFactory]
    ],
) -> None:
    """Serves a reference in this process: an implicit-TLS and a STARTTLS listener on free
    loopback ports, with the certificate in ``certs_dir``; prints the ready line of JSON, then
    serves until SIGTERM.

    Args:
        certs_dir: the benchmark's certs dir.
        factories: given the server's TLS context and the loop, the protocol factories of the
            implicit-TLS listener and of the STARTTLS one (which does its own upgrade).
    """
    certificates, where, _ = load_or_create(certs_dir)
    context = server_context(certificates)
    loop = asyncio.new_event_loop()
    ports = []
    for factory, ssl_context in zip(factories(context, loop), (context, None), strict=True):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        loop.run_until_complete(loop.create_server(factory, sock=sock, ssl=ssl_context))
        ports.append(sock.getsockname()[1])
    ready = {
        "host": "127.0.0.1",
        "smtps_port": ports[0],
        "submission_port": ports[1],
        "cafile": str(where.ca),
    }
    print(json.dumps(ready), flush=True)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.run_forever()


class _Unparsed(SMTP):
    """Stock aiosmtpd, but MAIL and RCPT take their argument as it is: its command loop and
    DATA, without its address parser (``email``'s header parser, per address)."""

    async def smtp_MAIL(self, argument: str | None) -> None:
        assert self.envelope is not None
        self.envelope.mail_from = argument or ""
        await self.push("250 OK")

    async def smtp_RCPT(self, argument: str | None) -> None:
        assert self.envelope is not None
        self.envelope.rcpt_tos.append(argument or "")
        await self.push("250 OK")


def _aiosmtpd(
    smtp: type[SMTP],
) -> Callable[[ssl.SSLContext, asyncio.AbstractEventLoop], tuple[ProtocolFactory, ProtocolFactory]]:
    """The factories of an aiosmtpd reference whose protocol is ``smtp``."""

    def factories(
        context: ssl.SSLContext, loop: asyncio.AbstractEventLoop
    ) -> tuple[ProtocolFactory, ProtocolFactory]:
        def implicit_tls() -> SMTP:
            return smtp(
                _Sink(),
                hostname="localhost",
                authenticator=lambda *args: AuthResult(success=True),
                auth_require_tls=False,  # aiosmtpd counts only STARTTLS as TLS (FIELD-NOTES)
                loop=loop,
            )

        def starttls() -> SMTP:
            return smtp(
                _Sink(),
                hostname="localhost",
                authenticator=lambda *args: AuthResult(success=True),
                tls_context=context,
                require_starttls=True,  # and AUTH only after it (auth_require_tls's default)
                loop=loop,
            )

        return implicit_tls, starttls

    return factories


_AIOSMTPD_KINDS = {"aiosmtpd": SMTP, "aiosmtpd-unparsed": _Unparsed}

if __name__ == "__main__":
    import logging

    logging.disable(logging.CRITICAL)  # aiosmtpd logs every session at INFO
    if len(sys.argv) != 3 or sys.argv[1] not in _AIOSMTPD_KINDS:
        sys.exit(f"usage: python -m bench.servers {{{'|'.join(_AIOSMTPD_KINDS)}}} CERTS_DIR")
    serve_reference(Path(sys.argv[2]), _aiosmtpd(_AIOSMTPD_KINDS[sys.argv[1]]))
