"""Servers for the client tests: a scripted one (threads and sockets) and stock aiosmtpd.

Both listen on 127.0.0.1 port 0, bound by the test (stock aiosmtpd through
``tests.support.stockaiosmtpd``), so nothing races for a port. Every wait is bounded by ``WAIT_S``;
an error in a server thread is re-raised in the test when the server stops, so a failure
explains itself where it happened.
"""

from __future__ import annotations

import base64
import fcntl
import socket
import ssl
import struct
import termios
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiosmtpd.smtp import SMTP, AuthResult

from tests.support.linesocket import LineSocket
from tests.support.stockaiosmtpd import EnvelopeKeeper, StockAiosmtpd, password_checker

WAIT_S = 5.0
"""The longest any test waits for anything; a correct run takes milliseconds."""

USERNAME = "alice@example.test"
PASSWORD = "correct horse"
ACCESS_TOKEN = "ya29.test-token"


class Peer(LineSocket):
    """The server's end of one connection, as a script sees it."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        sock.settimeout(WAIT_S)
        # One segment per write, so a reply written in pieces reaches the client in pieces.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def drip(self, data: bytes) -> None:
        """Write one byte per write."""
        for index in range(len(data)):
            self.sock.sendall(data[index : index + 1])

    def wait_delivered(self) -> None:
        """Wait until the client's kernel has acknowledged every byte written so far, so that
        they wait in the client's socket whether or not the client reads.

        No event says so; the unacknowledged count (Linux ``SIOCOUTQ``) is polled, within
        ``WAIT_S``. On loopback it is zero at once, or after one delayed ACK.
        """
        deadline = time.monotonic() + WAIT_S
        # Each turn reads the count once; the loop ends by the deadline at the latest.
        while time.monotonic() < deadline:
            packed = fcntl.ioctl(self.sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
            if struct.unpack("i", packed)[0] == 0:
                return
            time.sleep(0.001)
        raise AssertionError(f"the client's kernel did not acknowledge within {WAIT_S} s")

    def expect(self, line: bytes) -> None:
        received = self.read_line()
        if received != line:
            raise AssertionError(f"server expected {line!r}, got {received!r}")

    def read_data(self) -> bytes:
        """Message data up to and including the final ``.`` line."""
        lines = []
        for _ in range(100_000):
            line = self.read_line()
            lines.append(line)
            if line in (b".\r\n", b""):
                return b"".join(lines)
        raise AssertionError("no end of data")

    def start_tls(self, context: ssl.SSLContext) -> None:
        self.sock = context.wrap_socket(self.sock, server_side=True)

    def wait_closed(self) -> bytes:
        """Read until the client closes; return what came meanwhile."""
        rest = self._buffer
        for _ in range(10_000):
            chunk = self.sock.recv(65536)
            if not chunk:
                return rest
            rest += chunk
        raise AssertionError("client kept sending")


Script = Callable[[Peer], None]


class ScriptedServer:
    """Serves one connection per script, in order, each in the server thread.

    Args:
        scripts: one function per expected connection; each gets the connection's ``Peer``.
        implicit_tls: a server context to wrap each connection with before the script runs.
    """

    def __init__(self, *scripts: Script, implicit_tls: ssl.SSLContext | None = None) -> None:
        self._scripts = scripts
        self._implicit_tls = implicit_tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(WAIT_S)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._errors: list[BaseException] = []

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._thread.join(WAIT_S)
        self._listener.close()
        if exc is not None:
            return  # the test's own error explains more than the server's
        if self._thread.is_alive():
            raise AssertionError("the scripted server did not finish")
        if self._errors:
            raise self._errors[0]

    def _serve(self) -> None:
        for script in self._scripts:
            try:
                sock, _ = self._listener.accept()
            except OSError as error:
                self._errors.append(error)
                return
            try:
                if self._implicit_tls is not None:
                    sock.settimeout(WAIT_S)
                    sock = self._implicit_tls.wrap_socket(sock, server_side=True)
                peer = Peer(sock)
                try:
                    script(peer)
                finally:
                    peer.sock.close()
            except BaseException as error:  # re-raised in the test thread
                self._errors.append(error)
            finally:
                sock.close()


class RecordingHandler(EnvelopeKeeper):
    """An aiosmtpd handler that keeps every accepted envelope, and speaks XOAUTH2."""

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 1:
            # No initial response on the AUTH line: ask for it (RFC 4954 §4).
            response = await server.challenge_auth("")
            if not isinstance(response, bytes):
                return AuthResult(success=False, handled=False)
        else:
            response = base64.b64decode(args[1])
        expected = f"user={USERNAME}\x01auth=Bearer {ACCESS_TOKEN}\x01\x01".encode()
        if response == expected:
            return AuthResult(success=True)
        # Google's XOAUTH2: an error challenge, then the final reply after an empty line.
        await server.challenge_auth(b'{"status":"400","schemes":"Bearer"}')
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )


class AiosmtpdServer(StockAiosmtpd[RecordingHandler]):
    """Stock aiosmtpd with a ``RecordingHandler``, and LOGIN and PLAIN for USERNAME.

    Args:
        starttls: server context offered through STARTTLS.
        implicit_tls: server context for TLS from the first byte.
        smtp_options: more keyword arguments for ``aiosmtpd.smtp.SMTP``.
    """

    def __init__(
        self,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        **smtp_options: Any,
    ) -> None:
        smtp_options = {"authenticator": password_checker(USERNAME, PASSWORD), **smtp_options}
        if implicit_tls is not None:
            # aiosmtpd counts only STARTTLS as TLS, so on an implicit-TLS port AUTH would get
            # 538 (FIELD-NOTES); the connection is encrypted all the same.
            smtp_options.setdefault("auth_require_tls", False)
        super().__init__(
            RecordingHandler(), starttls=starttls, implicit_tls=implicit_tls, **smtp_options
        )
