"""Writing replies, and misbehaving while doing it when a script asks (``scripting.faults``).

Every byte the server sends goes through :meth:`ReplyWriter.write`, the one place where a
reply can be delayed, dripped, split, held back to go out with the next one, mangled, or cut
off by a close or a reset. Faults never change what the server decided, only what reaches
the wire.

Replies to pipelined commands go out together (RFC 2920 §3.2 lets a server batch them): a
reply is held while another whole command line is already waiting, and written with the
next one. A pipelining client's MAIL, RCPT and DATA then cost one TLS record and one send
instead of three. Whoever is about to wait for the client must :meth:`flush` first.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable

from fakeserver.scripting.faults import (
    Close,
    Coalesce,
    Delay,
    Drip,
    Fault,
    NoFinalCRLF,
    Reset,
    SplitAt,
    Stall,
    pieces,
    transform,
)

__all__ = ["ReplyWriter"]


class ReplyWriter:
    """The write path of one connection.

    Args:
        write: writes bytes and waits for the transport's flow control.
        written: told of bytes handed to the transport without ``write`` (before a close).
        transport: gives the transport to close or reset (it changes after STARTTLS).
        lost: done when the connection is gone.
        pending_input: whether the client has already sent more (for ``Coalesce``).
        command_waiting: whether a whole command line is already waiting to be read.
    """

    def __init__(
        self,
        write: Callable[[bytes], Awaitable[None]],
        written: Callable[[bytes], None],
        transport: Callable[[], asyncio.BaseTransport | None],
        lost: asyncio.Future[None],
        pending_input: Callable[[], bool],
        command_waiting: Callable[[], bool],
    ) -> None:
        self._write = write
        self._written = written
        self._transport = transport
        self._lost = lost
        self._pending_input = pending_input
        self._command_waiting = command_waiting
        self._held = b""
        self.closed_by_fault = False

    async def write(self, data: bytes, faults: tuple[Fault, ...] = ()) -> None:
        """Writes one reply, applying ``faults`` in the order they came."""
        if not faults:
            if self._command_waiting():
                self._held += data  # the next command's reply goes out with it
                return
            await self._write(self._held + data)
            self._held = b""
            return
        if self._held:
            # Replies held for batching answer earlier commands: a fault on this reply is not
            # theirs, so they go out first, as they would have without the batching.
            held, self._held = self._held, b""
            await self._write(held)
        for fault in faults:
            if isinstance(fault, Delay):
                await asyncio.sleep(fault.delay_s)
            elif isinstance(fault, Stall):
                await self._lost  # silent until the client (or the idle timer) gives up
                return
        data = transform(data, faults)
        ending = next((f for f in faults if isinstance(f, Close | Reset)), None)
        if ending is not None and ending.when == "before":
            self.close(reset=isinstance(ending, Reset))
            return
        if any(isinstance(fault, Coalesce) for fault in faults) and self._pending_input():
            self._held += data  # goes out with the next reply, in the same write
            return
        data, self._held = self._held + data, b""
        chunks = pieces(data, faults)
        if ending is not None and ending.when == "middle":
            chunks = [data[: max(1, len(data) // 2)]]
        interval = next(
            (f.interval_s for f in faults if isinstance(f, Drip | SplitAt) and f.interval_s), 0.0
        )
        for index, chunk in enumerate(chunks):
            if index and interval:
                await asyncio.sleep(interval)
            await self._write(chunk)
        if ending is not None:
            self.close(reset=isinstance(ending, Reset))
        elif any(isinstance(fault, NoFinalCRLF) for fault in faults):
            self.close(reset=False)  # nothing else could end the client's wait

    async def flush(self) -> None:
        """Writes what is held back; call it before waiting for the client."""
        if self._held:
            data, self._held = self._held, b""
            await self._write(data)

    def flush_now(self) -> None:
        """Hands what is held back to the transport without waiting (before a close)."""
        transport = self._transport()
        if self._held and isinstance(transport, asyncio.WriteTransport):
            self._written(self._held)
            transport.write(self._held)
        self._held = b""

    def close(self, *, reset: bool) -> None:
        """Ends the connection; with ``reset``, by a TCP RST instead of an orderly close."""
        self.closed_by_fault = True
        transport = self._transport()
        if transport is None:
            return
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER on, timeout 0: close() sends RST and drops unsent data.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if isinstance(transport, asyncio.Transport):
                transport.abort()
                return
        transport.close()
