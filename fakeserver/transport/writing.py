"""Writing replies as their plans say (``scripting.faults.ReplyPlan``).

Every byte the server sends goes through :meth:`ReplyWriter.write`, which carries out a plan:
wait, stay silent, write in pieces, hold a reply back to go out with the next one, or end the
connection before, in the middle of, or after it. The plan was made by the session; nothing
here decides what is said.

Replies to pipelined commands go out together (RFC 2920 §3.2 lets a server batch them): a
reply is held while another whole command line is already waiting, and written with the
next one. A pipelining client's MAIL, RCPT and DATA then cost one TLS record and one send
instead of three. Whoever is about to wait for the client must :meth:`flush` first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import cast

from fakeserver.scripting.faults import ReplyPlan

__all__ = ["ReplyWriter"]

# Replies held back for a pipelining client go out once they reach this much, so that one
# that never reads is stopped by the transport's flow control, not by the server's memory.
_MOST_HELD_OCTETS = 64 * 1024


class ReplyWriter:
    """The write path of one connection.

    Args:
        write: writes bytes and waits for the transport's flow control.
        written: told of bytes handed to the transport without ``write`` (before a close).
        transport: gives the transport to close or reset (it changes after STARTTLS).
        lost: done when the connection is gone.
        pending_input: whether the client has already sent more (for a held reply).
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
        # A bytearray: a client pipelining thousands of commands adds to it thousands of times.
        self._held = bytearray()
        self.closed_by_plan = False

    async def write(self, plan: ReplyPlan) -> None:
        """Writes one reply as ``plan`` says."""
        if plan.plain:
            if self._command_waiting() and len(self._held) < _MOST_HELD_OCTETS:
                self._held += plan.data  # the next command's reply goes out with it
                return
            await self._write(self._take_held() + plan.data if self._held else plan.data)
            return
        # Replies held for batching answer earlier commands: what this plan does is not theirs,
        # so they go out first, as they would have without the batching.
        await self.flush()
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
        if plan.stall:
            await self._lost  # silent until the client (or the idle timer) gives up
            return
        ending = plan.ending
        if ending is not None and ending.when == "before":
            self.close(reset=ending.reset)
            return
        if plan.hold and self._pending_input():
            self._held += plan.data  # goes out with the next reply, in the same write
            return
        held = self._take_held()
        pieces = (
            dataclasses.replace(plan, data=held + plan.data).pieces() if held else plan.pieces()
        )
        for index, piece in enumerate(pieces):
            if index and plan.interval_s:
                await asyncio.sleep(plan.interval_s)
            await self._write(piece)
        if ending is not None:
            self.close(reset=ending.reset)

    async def flush(self) -> None:
        """Writes what is held back; call it before waiting for the client."""
        if self._held:
            await self._write(self._take_held())

    def write_now(self, data: bytes) -> None:
        """Hands what is held back, then ``data``, to the transport without waiting (from a
        timer, or before a close)."""
        data = self._take_held() + data
        transport = self._transport()
        if data and transport is not None:
            self._written(data)
            _full(transport).write(data)

    def close(self, *, reset: bool) -> None:
        """Ends the connection; with ``reset``, by a TCP RST instead of an orderly close."""
        self.closed_by_plan = True
        transport = self._transport()
        if transport is None:
            return
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER on, timeout 0: close() sends RST and drops unsent data.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            _full(transport).abort()
            return
        transport.close()

    def _take_held(self) -> bytes:
        held = bytes(self._held)
        self._held.clear()
        return held


def _full(transport: asyncio.BaseTransport) -> asyncio.Transport:
    """The connection's transport, which can write and abort (typed as its protocol was told
    of it: a ``BaseTransport``)."""
    return cast(asyncio.Transport, transport)
