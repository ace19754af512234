"""The recording proxy: sits between any SMTP client and any server and writes what they said.

::

    options = ProxyOptions(upstream=("smtp.gmail.com", 465), tls=TLSMode.IMPLICIT,
                           out_dir=Path("transcripts"))
    with RecordingProxy(options) as proxy:
        with smtplib.SMTP_SSL(*proxy.address, context=proxy.client_context()) as smtp:
            ...
        [transcript] = proxy.wait_for_transcripts(1)

To the client the proxy presents our CA's server certificate (the one ``fakeserver serve``
presents; the client trusts ``certs/ca.pem``); to the upstream it is a TLS client that checks the
certificate and the host name, against the system trust store unless told otherwise. Both sides
may use implicit TLS, STARTTLS or none; STARTTLS is relayed as a command, so it needs both sides
(see :mod:`fakeserver.recordreplay.relay` for how it is carried across).

One transcript per connection, in the format of :mod:`client.transcript`: client and server
lines in the order the proxy relayed them, ``tls`` events, a ``closed`` event saying who closed,
and header fields saying where it was recorded (``# tls:`` is what ``fakeserver replay`` reads).
AUTH payloads are redacted as they are recorded (``Recorder``) and again when written
(``write``), so no secret reaches a file. Lines the proxy wrote itself (a ``421`` when the
upstream cannot be reached, a ``454`` to STARTTLS it cannot carry) start ``smtprig proxy:``.
"""

from __future__ import annotations

import dataclasses
import datetime
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from client.transcript import Recorder, Transcript, write
from fakeserver._waiting import wait_for_count
from fakeserver.errors import ConfigurationError
from fakeserver.recordreplay.linestream import LineStream
from fakeserver.recordreplay.relay import Relay, RelaySettings
from fakeserver.recordreplay.serving import ThreadedServer, TLSMode, tls_mode
from fakeserver.transport.lifecycle import ThreadedServerOwner
from fakeserver.transport.tls import Certificates, default_certificates, server_context

__all__ = ["ProxyOptions", "RecordedTranscript", "RecordingProxy", "TLSMode"]


@dataclass(frozen=True, slots=True)
class ProxyOptions:
    """How a recording proxy is set up.

    Attributes:
        upstream: the real server, ``(host, port)``; the host is also the name its certificate
            must carry.
        host: the address to listen on; loopback unless you mean otherwise.
        port: the port to listen on; 0 picks a free one.
        tls: how clients reach the proxy.
        upstream_tls: how the proxy reaches the upstream; None means the same as ``tls``.
            STARTTLS on one side needs STARTTLS on the other.
        certificates: what the proxy presents to clients; None uses the in-memory test CA.
        upstream_context: how the upstream's certificate is checked; None uses the system
            trust store and checks the host name (``ssl.create_default_context()``).
        out_dir: also write each transcript into this directory.
        connect_timeout_s: the longest a connection to the upstream may take.
        tls_handshake_timeout_s: the longest any TLS handshake may take.
        idle_timeout_s: silence from either side after which the connection is closed.
        closing_grace_s: when one side closes, how long the other has to finish.
    """

    upstream: tuple[str, int]
    host: str = "127.0.0.1"
    port: int = 0
    tls: TLSMode = TLSMode.STARTTLS
    upstream_tls: TLSMode | None = None
    certificates: Certificates | None = None
    upstream_context: ssl.SSLContext | None = None
    out_dir: Path | None = None
    connect_timeout_s: float = 10.0
    tls_handshake_timeout_s: float = 10.0
    idle_timeout_s: float = 600.0
    closing_grace_s: float = 1.0

    def __post_init__(self) -> None:
        tls = tls_mode(self.tls, "tls")
        upstream_tls = tls_mode(self.upstream_tls or tls, "upstream_tls")
        if (tls is TLSMode.STARTTLS) != (upstream_tls is TLSMode.STARTTLS):
            raise ConfigurationError(
                "--upstream-tls",
                f"--tls {tls} with --upstream-tls {upstream_tls}: STARTTLS is relayed as a "
                "command, so use it on both sides or on neither",
            )
        for name in ("connect_timeout_s", "tls_handshake_timeout_s", "idle_timeout_s"):
            if not getattr(self, name) > 0:
                raise ConfigurationError(name, "must be a positive number of seconds")
        object.__setattr__(self, "tls", tls)
        object.__setattr__(self, "upstream_tls", upstream_tls)

    def replace(self, **changes: object) -> ProxyOptions:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class RecordedTranscript:
    """One finished connection.

    Attributes:
        connection: 1-based, in order of arrival.
        peer: the client's ``(host, port)``.
        transcript: what was said, AUTH payloads redacted.
        path: the file it was written to, if ``out_dir`` was set.
        closed_by: ``client``, ``server``, ``proxy`` (upstream unreachable, or stopped) or
            ``TLS failure``.
    """

    connection: int
    peer: tuple[str, int]
    transcript: Transcript
    path: Path | None
    closed_by: str


class RecordingProxy(ThreadedServerOwner):
    """A recording proxy on loopback, in a background thread.

    Stopping it closes every connection; their transcripts are kept.

    Args:
        options: where to listen, where to relay, and how.
        on_transcript: called (in the proxy's thread) with each finished connection; keep it
            quick. An exception it raises is kept for ``check()``.
    """

    _running_what = "the proxy"

    def __init__(
        self,
        options: ProxyOptions,
        *,
        on_transcript: Callable[[RecordedTranscript], None] | None = None,
    ) -> None:
        self.options = options
        self.certificates = options.certificates or default_certificates()
        upstream_tls = options.upstream_tls or options.tls
        self._settings = RelaySettings(
            tls=options.tls,
            upstream_tls=upstream_tls,
            upstream_host=options.upstream[0],
            upstream_port=options.upstream[1],
            server_context=server_context(self.certificates),
            upstream_context=options.upstream_context or _system_context(upstream_tls),
            connect_timeout_s=options.connect_timeout_s,
            tls_handshake_timeout_s=options.tls_handshake_timeout_s,
            idle_timeout_s=options.idle_timeout_s,
            closing_grace_s=options.closing_grace_s,
        )
        self._on_transcript = on_transcript
        self._server = ThreadedServer(
            self.serve,
            host=options.host,
            port=options.port,
            option="--listen",
            name="fakeserver-proxy",
        )
        self._done = threading.Condition()
        self._recorded: list[RecordedTranscript] = []
        if options.out_dir is not None:
            try:
                options.out_dir.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ConfigurationError("--out", f"cannot create it: {error.strerror}") from error

    @property
    def recorded(self) -> list[RecordedTranscript]:
        """The connections finished so far, oldest first."""
        with self._done:
            return list(self._recorded)

    @property
    def transcripts(self) -> list[Transcript]:
        """The transcripts of the connections finished so far (AUTH payloads redacted)."""
        return [recorded.transcript for recorded in self.recorded]

    def wait_for_transcripts(self, count: int = 1, timeout_s: float = 5.0) -> list[Transcript]:
        """Waits until ``count`` connections have finished and returns their transcripts.

        Raises:
            TimeoutError: fewer finished within ``timeout_s``.
        """
        with self._done:
            wait_for_count(
                self._done,
                self._recorded,
                count,
                timeout_s,
                awaited="finished connection(s)",
                happened="finished",
            )
            return [recorded.transcript for recorded in self._recorded]

    def check(self) -> None:
        """Re-raises, in the calling thread, what went wrong inside the proxy's thread.

        Raises:
            ServerThreadError: one or more errors happened; they are then forgotten.
        """
        self._raise_thread_errors()

    async def serve(self, client: LineStream, number: int) -> None:
        """Relays and records one connection (reading paused), as its ``number``-th."""
        settings = self._settings
        started = time.time()
        recorder = Recorder(
            headers=(
                ("recorded-by", "smtprig proxy"),
                ("tls", str(settings.tls)),
                ("upstream", f"{settings.upstream_host} {settings.upstream_port}"),
                ("upstream-tls", str(settings.upstream_tls)),
                ("peer", f"{client.peer[0]} {client.peer[1]}"),
            )
        )
        relay = Relay(client, settings, recorder)
        try:
            await relay.run()
        except BaseException:
            relay.closed_by = "proxy"
            raise
        finally:
            recorder.event("closed", f"by {relay.closed_by}")
            self._finish(number, client.peer, recorder.transcript(), started, relay.closed_by)

    def _finish(
        self,
        number: int,
        peer: tuple[str, int],
        transcript: Transcript,
        started: float,
        closed_by: str,
    ) -> None:
        path = None
        try:
            if self.options.out_dir is not None:
                path = _file_name(self.options.out_dir, started, number)
                write(path, transcript)
            recorded = RecordedTranscript(number, peer, transcript, path, closed_by)
            with self._done:
                self._recorded.append(recorded)
                self._done.notify_all()
            if self._on_transcript is not None:
                self._on_transcript(recorded)
        except Exception as error:  # a full disk or a bad callback must not stop the proxy
            self._server.report_error(error)


def _system_context(mode: TLSMode) -> ssl.SSLContext:
    if mode is TLSMode.NONE:
        # Never used; loading the system trust store costs ~40 ms (FIELD-NOTES).
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return ssl.create_default_context()


def _file_name(directory: Path, started: float, number: int) -> Path:
    """``<start time>-<connection>.txt``, listing in order; never an existing file's name."""
    stamp = datetime.datetime.fromtimestamp(started, datetime.UTC).strftime("%Y%m%dT%H%M%S")
    path = directory / f"{stamp}-{number:05d}.txt"
    suffix = 2
    while path.exists():
        path = directory / f"{stamp}-{number:05d}-{suffix}.txt"
        suffix += 1
    return path
