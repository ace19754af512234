"""SMTP cassettes: record a test's conversations with a real server once, replay them after.

Like VCR.py's cassettes, for SMTP. A cassette is a folder of transcripts, one per connection
(``connection-01.txt``, ``connection-02.txt``...), written by the recording proxy with AUTH
payloads redacted, so a cassette holds no secret and can be committed. The code under test
connects to :attr:`Cassette.address` and trusts :meth:`Cassette.client_context` whether the
cassette records or replays, so it cannot tell the difference; only the cassette's checks
can.

Record modes, named as VCR.py and pytest-recording name them:

``none``
    Replay only; a missing cassette is an error (the safe default for CI).
``once``
    Replay the cassette if it exists, else record it.
``new``
    Replay the recorded connections, and record any further ones, appending them.
``all``
    Record again, replacing the cassette.

Replaying checks that the client says what the cassette says
(``fakeserver.recordreplay.replay``), and that it makes as many connections as were recorded.
The conversation itself must be the same; the messages are compared as ``match`` says
(``client.transcript.matching``): by default as structure (MIME tree, headers, decoded content,
with dates, message ids, boundaries and mailer versions masked), or as bytes, headers only, or
not at all; with the test's masks on both sides. ``match.before_record`` edits each message
before it is written (``client.transcript.filters``), and before it is compared.
"""

from __future__ import annotations

import enum
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from client.tls_mode import TLSMode
from client.transcript import Transcript, read, write
from client.transcript.filters import filter_messages
from client.transcript.matching import Matching, MatchLevel
from fakeserver.errors import ConfigurationError
from fakeserver.recordreplay.linestream import LineStream
from fakeserver.recordreplay.proxy import ProxyOptions, RecordingProxy
from fakeserver.recordreplay.replay import ReplayOptions, ReplayServer
from fakeserver.recordreplay.serving import ThreadedServer
from fakeserver.transport.lifecycle import Lifecycle
from fakeserver.transport.loop import Address
from fakeserver.transport.tls import Certificates, client_context, default_certificates

__all__ = ["Cassette", "RecordMode", "Upstream", "cassette_name"]

_FILE = "connection-{:02d}.txt"
_FILES = re.compile(r"connection-(\d+)\.txt")


class RecordMode(enum.StrEnum):
    """When a cassette records (see the module docstring)."""

    NONE = "none"
    ONCE = "once"
    NEW = "new"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Upstream:
    """The real server a cassette records against.

    Attributes:
        address: ``(host, port)``, e.g. ``("smtp.gmail.com", 465)``.
        tls: how it uses TLS; the cassette offers the code under test the same.
        context: verifies the upstream's certificate; the system's trust store by default.
    """

    address: tuple[str, int]
    tls: TLSMode = TLSMode.IMPLICIT
    context: ssl.SSLContext | None = None


def cassette_name(test_name: str) -> str:
    """A folder name for a test (its parameters' brackets and slashes become ``_``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_") or "test"


class Cassette(Lifecycle):
    """One test's cassette, served on loopback while the test runs.

    Args:
        path: the cassette's folder.
        mode: when to record.
        upstream: the server to record against; needed only when recording.
        certificates: what the cassette presents to the code under test.
        match: how closely replayed conversations must follow the cassette: a ``Matching``,
            or a level's name (``structure``, the default; ``bytes``, ``headers``,
            ``envelope``).

    Raises:
        ConfigurationError: the mode needs a recording that is missing, or an upstream
            that was not given, or ``match`` names no level; the message says what to do.
    """

    def __init__(
        self,
        path: Path,
        mode: RecordMode | str,
        *,
        upstream: Upstream | None = None,
        certificates: Certificates | None = None,
        match: Matching | MatchLevel | str | None = None,
    ) -> None:
        self.path = path
        try:
            self.match = match if isinstance(match, Matching) else Matching(match or "structure")
        except ValueError as error:
            raise ConfigurationError("smtp_cassette_match", str(error)) from None
        try:
            self.mode = RecordMode(mode)
        except ValueError:
            choices = ", ".join(item.value for item in RecordMode)
            raise ConfigurationError("record mode", f"{mode!r} is not one of {choices}") from None
        self.certificates = certificates or default_certificates()
        self.recorded = self._recorded() if self.mode is not RecordMode.ALL else []
        self._replay: ReplayServer | None = None
        self._proxy: RecordingProxy | None = None
        self._server: ThreadedServer | None = None
        if self.mode is RecordMode.NONE and not self.recorded:
            raise ConfigurationError(
                str(path),
                "no cassette here and the record mode is 'none'; record it once with "
                "pytest --smtp-record-mode=once (and an smtp_cassette_upstream fixture)",
            )
        if self.records and upstream is None:
            raise ConfigurationError(
                str(path),
                f"record mode {self.mode.value!r} must record, but there is no upstream: "
                "override the smtp_cassette_upstream fixture, e.g. "
                "Upstream(('smtp.gmail.com', 465), TLSMode.IMPLICIT)",
            )
        if self.recorded:
            options = ReplayOptions(certificates=self.certificates, matching=self.match)
            self._replay = ReplayServer(self.recorded, options)
        if self.records and upstream is not None:
            tls = self._replay.tls if self._replay is not None else upstream.tls
            self._proxy = RecordingProxy(
                ProxyOptions(
                    upstream=upstream.address,
                    tls=tls,
                    upstream_tls=upstream.tls,
                    upstream_context=upstream.context,
                    certificates=self.certificates,
                )
            )

    @property
    def records(self) -> bool:
        """Whether this run records (a new cassette, ``new`` or ``all``)."""
        return self.mode in {RecordMode.NEW, RecordMode.ALL} or not self.recorded

    def _recorded(self) -> list[Transcript]:
        found = []
        for file in self.path.glob("connection-*.txt") if self.path.is_dir() else ():
            match = _FILES.fullmatch(file.name)
            if match is not None:
                found.append((int(match[1]), file))
        return [read(file) for _, file in sorted(found)]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        replay, proxy = self._replay, self._proxy
        if replay is not None and proxy is not None:
            # `new`: one port; recorded connections are replayed, later ones recorded.
            self._server = ThreadedServer(
                self._dispatch, host="127.0.0.1", port=0, option="cassette", name="cassette"
            )
            self._server.start()
        elif replay is not None:
            replay.start()
        elif proxy is not None:
            proxy.start()
        return self

    async def _dispatch(self, stream: LineStream, number: int) -> None:
        replay, proxy = self._replay, self._proxy
        if replay is None or proxy is None:
            raise RuntimeError("only the `new` mode dispatches")
        if number <= len(self.recorded):
            await replay.serve(stream, number)
        else:
            await proxy.serve(stream, number - len(self.recorded))

    def stop(self) -> None:
        """Stops serving; a recording run writes what it recorded."""
        for running in (self._server, self._replay, self._proxy):
            if running is not None:
                running.stop()

    # ------------------------------------------------------------------ for the test

    @property
    def address(self) -> Address:
        """Where the code under test connects: ``(host, port)``."""
        if self._server is not None and self._server.address is not None:
            return self._server.address
        if self._replay is not None and not self.records:
            return self._replay.address
        if self._proxy is not None:
            return self._proxy.address
        raise RuntimeError("the cassette is not running; use start() or a with block")

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the cassette (recording or replaying alike)."""
        return client_context(self.certificates)

    def check(self) -> None:
        """Stops the cassette, writes what it recorded, and raises what went wrong.

        Raises:
            client.transcript.compare.TranscriptMismatch: the client differed from the cassette, or
                made fewer connections than it recorded.
            ServerThreadError: something went wrong inside the servers.
        """
        self.stop()  # every connection closed, so every transcript is complete
        if self._proxy is not None:
            self._write(self._proxy.transcripts)
            self._proxy.check()
        if self._replay is not None:
            self._replay.check()

    def _write(self, new: list[Transcript]) -> None:
        if self.mode is RecordMode.ALL and self.path.is_dir():
            for old in self.path.glob("connection-*.txt"):
                old.unlink()
        if not new:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        first = len(self.recorded) + 1
        edit = self.match.before_record
        for number, transcript in enumerate(new, start=first):
            kept = transcript if edit is None else filter_messages(transcript, edit)
            write(self.path / _FILE.format(number), kept)
