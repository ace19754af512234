"""One blocking socket with a deadline on every read, write and handshake.

The transport knows nothing of SMTP beyond lines: it reports every line it writes or reads to
the transcript sink and to its logger (AUTH secrets redacted), and it turns the socket
library's exceptions into the package's own (timeouts, lost connections, failed handshakes).
Once it has failed or been closed it stays closed.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import time
from collections.abc import Iterable
from typing import Final, Protocol

from client.errors import ConnectionLostError, SMTPTimeoutError, TLSNegotiationError
from client.protocol.events import Command
from client.protocol.wire import split_wire_lines
from client.transcript.model import Direction, Line
from client.transcript.redaction import SecretRedactor
from client.transcript.text import format_line

__all__ = ["TranscriptSink", "Transport"]

log = logging.getLogger(__name__)

_READ_OCTETS: Final = 65536


class TranscriptSink(Protocol):
    """Where the conversation is reported; ``client.transcript.Recorder`` is one."""

    def line(self, direction: Direction, data: bytes, *, sasl_response: bool = False) -> None: ...

    def event(self, kind: str, detail: str = "") -> None: ...


class Transport:
    """A connected socket, clear or TLS, owned by one client.

    Args:
        sock: a connected stream socket; the transport owns it from now on.
        server_hostname: the name to check the server's certificate against.
        timeout_s: the time allowed for each operation (reported in timeout errors).
        recorder: receives every line and event.
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        server_hostname: str,
        timeout_s: float,
        recorder: TranscriptSink | None = None,
    ) -> None:
        self._sock: socket.socket | None = sock
        self.server_hostname = server_hostname
        self.timeout_s = timeout_s
        self._recorder = recorder
        self._log_redactor = SecretRedactor()
        self.local_address: str = sock.getsockname()[0]
        # Made once: the client asks before every command, and TLS keeps the same descriptor.
        self._readable = select.poll()
        self._readable.register(sock.fileno(), select.POLLIN)

    @classmethod
    def open(
        cls,
        host: str,
        port: int,
        *,
        timeout_s: float,
        server_hostname: str | None = None,
        recorder: TranscriptSink | None = None,
    ) -> Transport:
        """Connect to ``host:port`` within ``timeout_s``; certificates will be checked against
        ``server_hostname``, or ``host`` if it is not given.

        Raises:
            SMTPTimeoutError: the connection was not made in time.
            ConnectionLostError: it was refused or failed otherwise.
        """
        try:
            sock = socket.create_connection((host, port), timeout=timeout_s)
        except TimeoutError:
            raise SMTPTimeoutError(f"connecting to {host}:{port}", timeout_s) from None
        except OSError as error:
            raise ConnectionLostError(f"cannot connect to {host}:{port}: {error}") from error
        return cls(
            sock, server_hostname=server_hostname or host, timeout_s=timeout_s, recorder=recorder
        )

    @property
    def closed(self) -> bool:
        return self._sock is None

    @property
    def tls_version(self) -> str | None:
        return self._sock.version() if isinstance(self._sock, ssl.SSLSocket) else None

    def deadline(self, timeout_s: float | None = None) -> float:
        """The monotonic time by which an operation starting now must end: ``timeout_s``
        from now, the transport's own timeout by default."""
        return time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)

    def send(self, data: bytes, deadline: float, *, sasl_response: bool = False) -> None:
        """Write all of ``data`` before ``deadline``, reporting it line by line first.

        Raises:
            SMTPTimeoutError: the server did not take the bytes in time.
            ConnectionLostError: the connection is closed or broke.
        """
        sock = self._require_open(None)
        if self._watched(data):
            for piece in split_wire_lines(data):
                self._report(Direction.CLIENT, piece, sasl_response=sasl_response)
        view = memoryview(data)
        sent = 0
        # Each turn writes at least one byte or raises, so this ends within the deadline.
        while sent < len(view):
            sock.settimeout(self._remaining(deadline, "sending"))
            try:
                sent += sock.send(view[sent:])
            except TimeoutError:
                self.close()
                raise SMTPTimeoutError("sending", self.timeout_s) from None
            except OSError as error:
                self.close()
                raise ConnectionLostError(f"sending failed: {error}") from error

    def receive(self, deadline: float, *, waiting_for: Command | None) -> bytes:
        """Read whatever bytes arrive next, at most 64 KiB; ``b""`` means the server closed.

        Raises:
            SMTPTimeoutError: nothing arrived before ``deadline``.
            ConnectionLostError: the connection is closed or broke.
        """
        sock = self._require_open(waiting_for)
        operation = f"the reply to {waiting_for.text!r}" if waiting_for else "reading"
        sock.settimeout(self._remaining(deadline, operation))
        try:
            return sock.recv(_READ_OCTETS)
        except TimeoutError:
            self.close()
            raise SMTPTimeoutError(operation, self.timeout_s) from None
        except OSError as error:
            self.close()
            raise ConnectionLostError(str(error), command=waiting_for) from error

    def receive_nowait(self) -> bytes | None:
        """What has already arrived, at most 64 KiB, without waiting: None if nothing has,
        ``b""`` if the server has closed.

        Raises:
            ConnectionLostError: the connection is closed or broke.
        """
        sock = self._require_open(None)
        # Asking the kernel first is much cheaper than a read that fails, and the client asks
        # before every command. TLS may hold decrypted bytes the kernel no longer knows of.
        decrypted = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        if not decrypted and not self._readable.poll(0):
            return None
        sock.settimeout(0.0)
        try:
            return sock.recv(_READ_OCTETS)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return None  # e.g. only part of a TLS record, or a TLS 1.3 session ticket
        except OSError as error:
            self.close()
            raise ConnectionLostError(str(error)) from error

    def report_received(self, lines: Iterable[bytes]) -> None:
        """Report reply lines once they are parsed, so each physical line is one entry."""
        for line in lines:
            self._report(Direction.SERVER, line)

    def start_tls(self, context: ssl.SSLContext, deadline: float) -> None:
        """Do the client side of a TLS handshake on the open socket.

        Raises:
            TLSNegotiationError: the handshake failed (certificate, name, protocol).
            SMTPTimeoutError, ConnectionLostError: as for ``receive``.
        """
        sock = self._require_open(None)
        sock.settimeout(self._remaining(deadline, "TLS handshake"))
        try:
            # On failure wrap_socket closes the new socket, and the old one is already detached
            # from its file descriptor, so nothing is left open.
            tls_sock = context.wrap_socket(sock, server_hostname=self.server_hostname)
        except ssl.SSLCertVerificationError as error:
            self._lost()
            reason = error.verify_message or str(error)
            raise TLSNegotiationError(reason, server_hostname=self.server_hostname) from error
        except ssl.SSLError as error:
            self._lost()
            reason = error.reason or str(error)
            raise TLSNegotiationError(reason, server_hostname=self.server_hostname) from error
        except TimeoutError:
            self._lost()
            raise SMTPTimeoutError("TLS handshake", self.timeout_s) from None
        except OSError as error:
            self._lost()
            raise ConnectionLostError(f"during the TLS handshake: {error}") from error
        self._sock = tls_sock
        cipher = tls_sock.cipher()
        detail = f"{tls_sock.version()} {cipher[0] if cipher else ''}".strip()
        log.debug("TLS started with %s: %s", self.server_hostname, detail)
        if self._recorder is not None:
            self._recorder.event("tls", detail)

    def close(self) -> None:
        """Close the socket; later calls do nothing."""
        sock = self._sock
        if sock is not None:
            sock.close()
            self._lost()

    def _lost(self) -> None:
        self._sock = None
        log.debug("connection to %s closed", self.server_hostname)
        if self._recorder is not None:
            self._recorder.event("closed")

    def _require_open(self, waiting_for: Command | None) -> socket.socket:
        if self._sock is None:
            raise ConnectionLostError("the connection is closed", command=waiting_for)
        return self._sock

    def _remaining(self, deadline: float, operation: str) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.close()
            raise SMTPTimeoutError(operation, self.timeout_s)
        return remaining

    def _watched(self, data: bytes) -> bool:
        """Whether a client write must be reported: someone records or logs it, or the log
        redactor must follow it (a line written in pieces). Whole lines nobody watches are
        skipped, which saves a bulk sender a tenth of its time."""
        return (
            self._recorder is not None
            or log.isEnabledFor(logging.DEBUG)
            or not (self._log_redactor.between_lines and data.endswith(b"\n"))
        )

    def _report(self, direction: Direction, data: bytes, *, sasl_response: bool = False) -> None:
        if self._recorder is not None:
            self._recorder.line(direction, data, sasl_response=sasl_response)
        shown = data
        if direction is Direction.CLIENT:
            # Fed every line, not only when logging is on: the redactor follows lines written
            # in pieces, and a skipped piece could let the rest of a secret through.
            shown = self._log_redactor.client_line(data, sasl_response=sasl_response)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s", format_line(Line(direction, shown)))
