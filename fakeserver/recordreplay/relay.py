"""One proxied connection: relay lines both ways, record them, and carry STARTTLS across.

Two tasks pump lines, client to upstream and upstream to client, and record each line as it
passes, so the transcript holds the order the proxy saw. They share three facts, each set by
the upstream pump *before* it forwards the reply that makes it true, so the client cannot act
on the reply first:

- a ``334`` challenge was relayed, or an AUTH command was and its final reply was not yet:
  the next client line is a SASL response (a secret);
- a ``354`` was relayed: client lines are message data until ``.`` (so a body line that reads
  ``STARTTLS`` is only data);
- STARTTLS is pending: the client pump stopped reading after relaying it.

STARTTLS, when both sides use it (RFC 3207): the client pump pauses the client's socket and
relays the command. If the upstream answers 220, the upstream pump upgrades the upstream
connection (as a TLS client, checking its certificate and name), then relays the 220 and
upgrades the client connection (as the server, with our CA's certificate), and records one
``tls`` event. Plaintext the client pipelined after STARTTLS is discarded and noted. If the
upstream handshake fails, the client gets ``421 4.3.0`` instead of the 220.

When one side ends, the other gets ``closing_grace_s`` to finish (a 221 on its way), then both
are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

from client.transcript import Direction, Recorder
from fakeserver.recordreplay.linestream import (
    LINE_LIMIT,
    LineStream,
    bdat_size,
    describe,
    is_command,
    reply_code,
)
from fakeserver.recordreplay.serving import TLSMode

__all__ = ["Relay", "RelaySettings"]


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """What every relayed connection shares (see ``fakeserver.recordreplay.proxy.ProxyOptions``)."""

    tls: TLSMode
    upstream_tls: TLSMode
    upstream_host: str
    upstream_port: int
    server_context: ssl.SSLContext
    upstream_context: ssl.SSLContext
    connect_timeout_s: float
    tls_handshake_timeout_s: float
    idle_timeout_s: float
    closing_grace_s: float


class Relay:
    """Relays and records one client connection.

    Args:
        client: the accepted connection, reading paused.
        settings: where to relay and how.
        recorder: receives every line and event; it redacts secrets as they come.
    """

    def __init__(self, client: LineStream, settings: RelaySettings, recorder: Recorder) -> None:
        self.client = client
        self.settings = settings
        self.recorder = recorder
        self.upstream: LineStream | None = None
        self.closed_by = "client"
        self._answering_challenge = False
        self._in_auth = False
        self._in_data = False
        self._starttls: asyncio.Future[bool] | None = None

    async def run(self) -> None:
        """Relays until either side closes; never raises for what a peer does."""
        settings = self.settings
        try:
            if settings.tls is TLSMode.IMPLICIT:
                if not await self._upgrade_client():
                    return
            else:
                self.client.resume_reading()
            self.upstream = await self._connect()
        except OSError as error:
            reason = f"cannot reach {settings.upstream_host} port {settings.upstream_port}"
            await self._refuse(f"{reason}: {describe(error)}")
            return
        try:
            await self._pump_both(self.upstream)
        except BaseException:
            self.upstream.abort()
            raise
        await self.upstream.close()

    async def _connect(self) -> LineStream:
        settings = self.settings
        implicit = settings.upstream_tls is TLSMode.IMPLICIT
        async with asyncio.timeout(settings.connect_timeout_s + settings.tls_handshake_timeout_s):
            reader, writer = await asyncio.open_connection(
                settings.upstream_host,
                settings.upstream_port,
                ssl=settings.upstream_context if implicit else None,
                server_hostname=settings.upstream_host if implicit else None,
                ssl_handshake_timeout=settings.tls_handshake_timeout_s if implicit else None,
            )
        return LineStream(reader, writer)

    async def _refuse(self, reason: str) -> None:
        """Tell the client, which is waiting for a greeting or a reply, that we are closing
        (RFC 5321 §3.8: 421 when the service must close the channel)."""
        self.closed_by = "proxy"
        await self._to_client(f"421 4.3.0 smtprig proxy: {reason}\r\n".encode())

    async def _to_client(self, line: bytes) -> None:
        self.recorder.line(Direction.SERVER, line)
        with contextlib.suppress(OSError):
            await self.client.write(line)

    async def _upgrade_client(self) -> bool:
        try:
            await self.client.start_tls(
                self.settings.server_context,
                server_hostname=None,
                timeout_s=self.settings.tls_handshake_timeout_s,
            )
        except OSError as error:
            self.recorder.event("tls-failed", describe(error))
            self.closed_by = "TLS failure"
            return False
        self.recorder.event("tls", self.client.tls or "")
        return True

    async def _pump_both(self, upstream: LineStream) -> None:
        grace_s = self.settings.closing_grace_s
        outbound = asyncio.create_task(self._client_to_upstream(upstream))
        inbound = asyncio.create_task(self._upstream_to_client(upstream))
        try:
            done, _ = await asyncio.wait({outbound, inbound}, return_when=asyncio.FIRST_COMPLETED)
            if inbound in done:
                if self.closed_by == "client":
                    self.closed_by = "server"
                await self.client.close()
                await asyncio.wait({outbound}, timeout=grace_s)
            else:
                await asyncio.wait({inbound}, timeout=grace_s)
        finally:
            for task in (outbound, inbound):
                task.cancel()
            await asyncio.wait({outbound, inbound}, timeout=grace_s)
        for task in (outbound, inbound):
            error = task.exception() if task.done() and not task.cancelled() else None
            if error is not None:
                raise error  # a bug in a pump: the server keeps it for check()

    async def _client_to_upstream(self, upstream: LineStream) -> None:
        idle_s = self.settings.idle_timeout_s
        with contextlib.suppress(OSError):
            while line := await self.client.read_line(idle_s):
                self._record_client(line)
                if self._in_data:
                    self._in_data = line != b".\r\n"
                elif is_command(line, b"STARTTLS") and self.client.tls is None:
                    await self._client_starttls(upstream, line)
                    continue
                await _forward(self.client, upstream, line)
                size = None if self._in_data else bdat_size(line)
                while size:
                    piece = await self.client.read_line(idle_s, limit=size)
                    if not piece:
                        break
                    self._record_client(piece)
                    await _forward(self.client, upstream, piece)
                    size -= len(piece)
            await upstream.flush()

    def _record_client(self, line: bytes) -> None:
        secret = self._answering_challenge or self._in_auth
        self.recorder.line(Direction.CLIENT, line, sasl_response=secret)
        if line.endswith(b"\n"):
            self._answering_challenge = False
            # Until AUTH's final reply, a line may answer a challenge not yet relayed: a
            # client that does not wait for its 334 (RFC 4954 §4) must not leak its secret.
            self._in_auth = self._in_auth or (not self._in_data and _is_auth(line))

    async def _client_starttls(self, upstream: LineStream, line: bytes) -> None:
        settings = self.settings
        if settings.tls is not TLSMode.STARTTLS:
            # RFC 3207 §4: 454 when TLS is not available; relaying it could start a handshake
            # with the upstream that the client cannot join.
            await self._to_client(
                f"454 4.7.0 smtprig proxy: TLS not available (listening with --tls "
                f"{settings.tls})\r\n".encode()
            )
            return
        self.client.pause_reading()
        self._starttls = asyncio.get_running_loop().create_future()
        await upstream.write(line)
        wait_s = settings.idle_timeout_s + 2 * settings.tls_handshake_timeout_s
        async with asyncio.timeout(wait_s):
            upgraded = await self._starttls
        if not upgraded:
            self.client.resume_reading()
            return
        pipelined = self.client.discard_buffered()
        if pipelined:
            self.recorder.comment(
                f"smtprig proxy: discarded {len(pipelined)} bytes the client sent after "
                "STARTTLS and before TLS (RFC 3207 §4.2)"
            )

    async def _upstream_to_client(self, upstream: LineStream) -> None:
        with contextlib.suppress(OSError):
            while line := await upstream.read_line(self.settings.idle_timeout_s):
                code = reply_code(line)
                if code is not None and code[1]:
                    self._answering_challenge = code[0] == b"334"
                    self._in_auth = self._in_auth and code[0] == b"334"
                    self._in_data = code[0] == b"354"
                    pending = self._starttls
                    if pending is not None and not pending.done():
                        upgraded = code[0] == b"220" and await self._upgrade_both(upstream, line)
                        if not pending.done():
                            pending.set_result(upgraded)
                        if code[0] == b"220" and not upgraded:
                            return
                        if upgraded:
                            continue
                self.recorder.line(Direction.SERVER, line)
                await _forward(upstream, self.client, line)
            await self.client.flush()

    async def _upgrade_both(self, upstream: LineStream, ready: bytes) -> bool:
        settings = self.settings
        try:
            await upstream.start_tls(
                settings.upstream_context,
                server_hostname=settings.upstream_host,
                timeout_s=settings.tls_handshake_timeout_s,
            )
        except OSError as error:
            self.recorder.comment("the upstream answered 220 to STARTTLS; TLS with it failed")
            await self._refuse(f"TLS with the upstream server failed: {describe(error)}")
            return False
        self.recorder.line(Direction.SERVER, ready)
        await self.client.write(ready)
        return await self._upgrade_client()


async def _forward(source: LineStream, target: LineStream, line: bytes) -> None:
    """Relay ``line``, holding it while more lines are already at hand (so a multi-line reply
    or a message leaves in few writes), up to a bound."""
    target.queue(line)
    if not source.line_ready or target.queued >= LINE_LIMIT:
        await target.flush()


def _is_auth(line: bytes) -> bool:
    """Whether ``line`` is an AUTH command (RFC 4954 §4; verbs are case-insensitive)."""
    return line[:5].upper() == b"AUTH " or is_command(line, b"AUTH")
