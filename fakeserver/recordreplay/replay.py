"""Server-side replay: play a transcript's server lines, and check the client says its lines.

::

    with ReplayServer(read("transcripts/20250101T120000-00001.txt")) as replay:
        with smtplib.SMTP(*replay.address) as smtp:
            smtp.starttls(context=replay.client_context())
            smtp.login("tester@gmail.com", "app-password")
            smtp.sendmail("tester@gmail.com", ["friend@example.org"], message)
        replay.check()  # raises client.transcript.compare.TranscriptMismatch on the first
        difference

No upstream is involved: the transcript is the server. Each connection replays it from the start
(:mod:`fakeserver.recordreplay.replay_script` decides every step by comparing the conversation so
far with the transcript, exactly as ``client.transcript.compare.assert_match`` would). Client
lines are matched with the default normalisers and the masks of ``ReplayOptions.matching``, and a
placeholder such as ``<redacted>`` or ``<message ...>`` matches what the client sends there. A
message is compared at the level ``matching`` names (by default as structure: MIME tree, headers,
decoded content); the step that parses it runs in a worker thread, never on the server's loop.
Server lines are sent as recorded, but with a fresh Gmail-shaped session id (one per connection),
the time now in the end-of-data reply and the client's own address. A transcript that starts
with a client line gets Gmail's greeting first, since none was recorded.

TLS: implicit TLS from the first byte, or STARTTLS when the client sends it and the transcript's
reply is 220, as the mode says (by default, what :func:`client.replay.transcript_tls`
reads in the transcript). The server presents the certificate of ``fakeserver.transport.tls``.

A client that differs gets ``554 5.5.0 smtprig replay: <matcher> mismatch at transcript line N``
and the connection is closed. The matchers are those of ``client.transcript.compare``, and
``timeout`` (the client said nothing for ``idle_timeout_s`` where the transcript has it speak) and
``tls`` (a handshake failed). What the client said is recorded with AUTH payloads redacted, and
mismatches show lines redacted, so replaying a transcript that holds a secret never prints or
stores one; the replay server writes no files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from client.transcript import Direction, Line, Recorder, Transcript, read
from client.transcript.compare import Mismatch, ReplayResult, TranscriptMismatch
from client.transcript.facts import transcript_tls
from client.transcript.matching import Matching
from client.transcript.normalise import NORMALISERS, Normaliser
from fakeserver._waiting import wait_for_count, wait_until
from fakeserver.errors import ConfigurationError
from fakeserver.personas.loader import load_persona
from fakeserver.personas.model import Persona, Situation
from fakeserver.recordreplay.linestream import (
    LineStream,
    bdat_size,
    describe,
    is_command,
    reply_code,
)
from fakeserver.recordreplay.replay_script import (
    Await,
    Done,
    Failed,
    FreshValues,
    ReplayScript,
    Step,
)
from fakeserver.recordreplay.serving import ThreadedServer, TLSMode, tls_mode
from fakeserver.transport.lifecycle import ThreadedServerOwner
from fakeserver.transport.tls import Certificates, default_certificates, server_context

__all__ = ["ReplayOptions", "ReplayServer", "TLSMode"]

C, S = Direction.CLIENT, Direction.SERVER


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How a replay server is set up.

    Attributes:
        host: the address to listen on.
        port: the port; 0 picks a free one.
        tls: how the client uses TLS; None reads it from the transcript.
        certificates: what the server presents; None uses the in-memory test CA.
        normalisers: what may differ in a line (``client.transcript.normalise.NORMALISERS``).
        idle_timeout_s: how long the server waits for each client line.
        tls_handshake_timeout_s: the longest a TLS handshake may take.
        seed: seeds the session ids, for repeatable runs.
        matching: how messages are compared, and the user's masks
            (``client.transcript.matching.Matching``; by default as structure).
    """

    host: str = "127.0.0.1"
    port: int = 0
    tls: TLSMode | None = None
    certificates: Certificates | None = None
    normalisers: Mapping[str, Normaliser] = field(default_factory=lambda: NORMALISERS)
    idle_timeout_s: float = 30.0
    tls_handshake_timeout_s: float = 10.0
    seed: int | None = None
    matching: Matching = field(default_factory=Matching)

    def __post_init__(self) -> None:
        for name in ("idle_timeout_s", "tls_handshake_timeout_s"):
            if not getattr(self, name) > 0:
                raise ConfigurationError(name, "must be a positive number of seconds")


class ReplayServer(ThreadedServerOwner):
    """Replays one transcript's server side on loopback, in a background thread.

    Args:
        transcript: the transcript, or the path of a transcript file.
        options: where to listen and how (see :class:`ReplayOptions`).
        on_result: called (in the server's thread) as each connection ends; keep it quick.

    Raises:
        OSError: the transcript file cannot be read.
        client.transcript.TranscriptFormatError: it is not a transcript.
    """

    _running_what = "the replay server"

    def __init__(
        self,
        transcript: Transcript | str | os.PathLike[str] | Sequence[Transcript],
        options: ReplayOptions | None = None,
        *,
        on_result: Callable[[ReplayResult], None] | None = None,
    ) -> None:
        if isinstance(transcript, Transcript):
            transcripts: tuple[Transcript, ...] = (transcript,)
        elif isinstance(transcript, str | os.PathLike):
            transcripts = (read(transcript),)
        else:
            transcripts = tuple(transcript)
            if not transcripts:
                raise ConfigurationError("transcripts", "give at least one transcript")
        self.options = options or ReplayOptions()
        self.transcripts = transcripts
        self.transcript = transcripts[0]
        self.tls = tls_mode(self.options.tls or transcript_tls(self.transcript), "--tls")
        self.certificates = self.options.certificates or default_certificates()
        self._context = server_context(self.certificates)
        self._persona: Persona = load_persona("gmail")
        self._rng = random.Random(self.options.seed)
        self._on_result = on_result
        self._done = threading.Condition()
        self._active = 0
        self._results: list[ReplayResult] = []
        self._server = ThreadedServer(
            self.serve,
            host=self.options.host,
            port=self.options.port,
            option="--port",
            name="fakeserver-replay",
        )

    @property
    def results(self) -> list[ReplayResult]:
        """The connections finished so far, oldest first."""
        with self._done:
            return list(self._results)

    def wait_for_results(self, count: int = 1, timeout_s: float = 5.0) -> list[ReplayResult]:
        """Waits until ``count`` connections have finished and returns every result so far.

        Raises:
            TimeoutError: fewer finished within ``timeout_s``.
        """
        with self._done:
            wait_for_count(
                self._done,
                self._results,
                count,
                timeout_s,
                awaited="replayed connection(s)",
                happened="finished",
            )
            return list(self._results)

    def check(self, timeout_s: float = 5.0) -> None:
        """Waits for connections still open, then raises the first mismatch, in this thread.

        Raises:
            TranscriptMismatch: a client differed from the transcript, or none connected.
            ServerThreadError: something went wrong inside the server's thread.
            TimeoutError: a client was still connected after ``timeout_s``.
        """
        with self._done:
            wait_until(
                self._done,
                lambda: self._active == 0,
                timeout_s,
                lambda: f"a client was still connected after {timeout_s} s",
            )
            results = list(self._results)
        self._raise_thread_errors()
        for result in results:
            if result.mismatch is not None:
                raise TranscriptMismatch(result.mismatch)
        if len(results) < len(self.transcripts):
            missing = self.transcripts[len(results)]
            script = ReplayScript(missing, self.options.normalisers, self.options.matching)
            reason = f"{len(self.transcripts)} connection(s) recorded; {len(results)} made"
            if not results:
                reason = "no client connected"
            raise TranscriptMismatch(script.mismatch([], "end", reason))

    async def serve(self, stream: LineStream, number: int) -> None:
        """Replays the ``number``-th transcript (1-based) to one connection, reading paused.

        A connection past the last transcript gets a 554 and is recorded as a mismatch.
        """
        with self._done:
            self._active += 1
        session_id = self._persona.new_session_id(self._rng)
        recorder = Recorder(
            headers=(
                ("recorded-by", "smtprig replay"),
                ("tls", str(self.tls)),
                ("peer", f"{stream.peer[0]} {stream.peer[1]}"),
                ("session-id", session_id),
            )
        )
        fresh = FreshValues(session_id, stream.peer[0], time.time)
        transcript = self.transcripts[min(number, len(self.transcripts)) - 1]
        conversation = _Conversation(
            self, transcript, self._context, self._persona, stream, fresh, recorder
        )
        if number > len(self.transcripts):
            conversation.extra = len(self.transcripts)
        mismatch: Mismatch | None = None
        try:
            mismatch = await conversation.run()
        except BaseException:
            reason = "the replay server stopped, or failed (see check())"
            mismatch = conversation.script.mismatch(conversation.actual, "end", reason)
            raise
        finally:
            recorder.event("closed")
            result = ReplayResult(
                transcript=recorder.transcript(),
                mismatch=mismatch,
                connection=number,
                peer=stream.peer,
            )
            with self._done:
                self._results.append(result)
                self._active -= 1
                self._done.notify_all()
            if self._on_result is not None:
                try:
                    self._on_result(result)
                except Exception as error:
                    self._server.report_error(error)


class _Conversation:
    """One connection's replay: the I/O around :class:`ReplayScript`'s steps."""

    def __init__(
        self,
        server: ReplayServer,
        transcript: Transcript,
        context: ssl.SSLContext,
        persona: Persona,
        stream: LineStream,
        fresh: FreshValues,
        recorder: Recorder,
    ) -> None:
        options = server.options
        self.script = ReplayScript(transcript, options.normalisers, options.matching)
        self.extra: int | None = None  # set for a connection past the recorded ones
        self.tls = server.tls
        self.options = server.options
        self.context = context
        self.persona = persona
        self.stream = stream
        self.fresh = fresh
        self.recorder = recorder
        self.actual: list[Line] = []
        self.answering_challenge = False
        self.in_data = False

    async def run(self) -> Mismatch | None:
        """Replays the transcript; returns the first mismatch, or None if the client followed
        it to its end."""
        if self.tls is TLSMode.IMPLICIT:
            if (failure := await self._start_tls()) is not None:
                return failure
        else:
            self.stream.resume_reading()
        if self.extra is not None:
            reason = f"only {self.extra} connection(s) were recorded; this is one more"
            mismatch = self.script.mismatch([], "end", reason)
            await self._refuse(mismatch)
            return mismatch
        try:
            if self.script.greeting_missing:
                fields = {"session_id": self.fresh.session_id, "client_ip": self.fresh.client_ip}
                await self._write(self.persona.render(Situation.GREETING, fields))
            while True:
                step = await self._step()
                if isinstance(step, Done):
                    return None
                if isinstance(step, Failed):
                    await self._refuse(step.mismatch)
                    return step.mismatch
                if isinstance(step, Await):
                    failure = await self._read()
                else:
                    failure = await self._send(step.lines)
                if failure is not None:
                    return failure
        except OSError as error:
            reason = f"the connection failed: {describe(error)}"
            return self.script.mismatch(self.actual, "end", reason)

    async def _step(self) -> Step:
        if self.script.parses(self.actual):
            # Parsing a message may take a while: never on the loop that serves other clients.
            return await asyncio.to_thread(self.script.step, tuple(self.actual))
        return self.script.step(self.actual)

    async def _write(self, data: bytes) -> None:
        self.recorder.line(S, data)
        await self.stream.write(data)

    async def _refuse(self, mismatch: Mismatch) -> None:
        where = (
            f"transcript line {mismatch.file_line}"
            if mismatch.file_line is not None
            else "the end of the transcript"
        )
        reply = f"554 5.5.0 smtprig replay: {mismatch.matcher} mismatch at {where}\r\n"
        with contextlib.suppress(OSError):  # a client that has gone is reported all the same
            await self._write(reply.encode())

    async def _send(self, lines: tuple[Line, ...]) -> Mismatch | None:
        final = reply_code(lines[-1].data)
        last_client = next((line for line in reversed(self.actual) if line.direction is C), None)
        upgrade = (
            self.tls is TLSMode.STARTTLS
            and self.stream.tls is None
            and last_client is not None
            and is_command(last_client.data, b"STARTTLS")
            and final == (b"220", True)
        )
        if upgrade:
            self.stream.pause_reading()  # the ClientHello must wait for the handshake
        for line in lines:
            data = self.fresh.render(line)
            self.recorder.line(S, data)
            self.actual.append(line)
            self.stream.queue(data)
        await self.stream.flush()  # a multi-line reply leaves in one write
        self.answering_challenge = final == (b"334", True)
        self.in_data = final == (b"354", True)
        if not upgrade:
            return None
        pipelined = self.stream.discard_buffered()
        if pipelined:
            self.recorder.comment(f"discarded {len(pipelined)} bytes sent before TLS")
        return await self._start_tls()

    async def _start_tls(self) -> Mismatch | None:
        try:
            await self.stream.start_tls(
                self.context,
                server_hostname=None,
                timeout_s=self.options.tls_handshake_timeout_s,
            )
        except OSError as error:
            self.recorder.event("tls-failed", describe(error))
            reason = f"the TLS handshake failed: {describe(error)}"
            return self.script.mismatch(self.actual, "tls", reason)
        self.recorder.event("tls", self.stream.tls or "")
        return None

    async def _read(self) -> Mismatch | None:
        """Reads the client's turn: one command line, a BDAT chunk with its command, or
        message data up to its final ``.`` (compared as a whole: RFC 5321 §4.1.1.4)."""
        idle_s = self.options.idle_timeout_s
        try:
            while True:
                line = await self.stream.read_line(idle_s)
                if not line:
                    reason = "the client closed the connection"
                    return self.script.mismatch(self.actual, "end", reason)
                self._take(line)
                if self.in_data:
                    if line == b".\r\n":
                        self.in_data = False
                        return None
                    continue
                size = bdat_size(line)
                while size:
                    piece = await self.stream.read_line(idle_s, limit=size)
                    if not piece:
                        break
                    self._take(piece)
                    size -= len(piece)
                return None
        except TimeoutError:
            reason = f"the client sent nothing for {idle_s} s"
            mismatch = self.script.mismatch(self.actual, "timeout", reason)
            await self._refuse(mismatch)
            return mismatch

    def _take(self, line: bytes) -> None:
        self.recorder.line(C, line, sasl_response=self.answering_challenge)
        if line.endswith(b"\n"):
            self.answering_challenge = False
        self.actual.append(Line(C, line))
