"""A connected socket read one line at a time: what the tests' dumb SMTP speakers share, on
either end (``tests.support.rawsmtp.RawSMTP`` as the client, the client tests' ``Peer`` as the
server).

Reads are bounded by the socket's own timeout, which the speaker sets.
"""

from __future__ import annotations

import socket


class LineSocket:
    """``sock``, with what was received past the last line kept until it is asked for."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> bytes:
        """One line with its terminator; what is left (b"" at most) once the peer has closed."""
        # Each turn reads at least one byte or returns; recv is bounded by the timeout.
        while b"\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line + b"\n"

    def buffered(self) -> bytes:
        """Bytes received but not yet returned as lines."""
        return self._buffer
