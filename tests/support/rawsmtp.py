"""A deliberately dumb SMTP line speaker for tests: it sends exactly the bytes it is given
and returns exactly the reply lines it reads, so tests can check the server byte for byte
(and send what no real client would)."""

from __future__ import annotations

import socket
import ssl
from types import TracebackType

from tests.support.linesocket import LineSocket

TIMEOUT_S = 5.0


class RawSMTP(LineSocket):
    """One connection; every read is bounded by ``TIMEOUT_S``."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        context: ssl.SSLContext | None = None,
        server_hostname: str = "localhost",
    ) -> None:
        sock = socket.create_connection(address, timeout=TIMEOUT_S)
        if context is not None:
            try:
                sock = context.wrap_socket(sock, server_hostname=server_hostname)
            except BaseException:
                sock.close()
                raise
        super().__init__(sock)

    def __enter__(self) -> RawSMTP:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def reply(self) -> list[bytes]:
        """The lines of one whole reply (up to a line with a space after the code)."""
        lines: list[bytes] = []
        while True:
            line = self.read_line()
            if not line:
                return lines
            lines.append(line)
            if line[3:4] != b"-":
                return lines

    def command(self, text: str | bytes) -> list[bytes]:
        """Sends one line (CRLF added to a str) and returns the reply's lines."""
        self.send(text.encode() + b"\r\n" if isinstance(text, str) else text)
        return self.reply()

    def text(self, text: str | bytes) -> str:
        """Like ``command``, joined into one string for readable asserts."""
        return b"".join(self.command(text)).decode()

    def starttls(self, context: ssl.SSLContext, server_hostname: str = "localhost") -> None:
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)

    def closed_by_server(self) -> bool:
        """True when the server has closed its side (reads EOF)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True
