"""The bookkeeping of one connection, kept from what reached the wire.

The :class:`Ledger` counts the client's commands and the server's reply codes, the extensions
the last EHLO reply offered, whether the client pipelined and which faults acted, and keeps the
transcript. Server lines are accounted only once the transport has handed them over (the
session's ``Written`` event), after every fault: an extension a fault withheld is not offered,
and a reply a fault cut short is recorded as far as it went.

Client lines are redacted (AUTH payloads, SASL responses) before anything records them. Message
data is recorded as it came, in runs of whole lines (the recorder cuts them into lines only when a
transcript is made: a message is most of a conversation's lines), up to
:data:`BODY_RECORDED_OCTETS` and :data:`BODY_RECORDED_LINES` of each message; the rest is one
placeholder line that says how much was left out (a replay matches it with whatever the client
sends there), so a transcript costs little more than a small message and a 35 MB message does not
live twice in memory.
"""

from __future__ import annotations

import array
from collections.abc import Callable

from client.transcript.model import Direction, Line, Transcript
from client.transcript.recorder import Recorder
from client.transcript.redaction import SecretRedactor
from fakeserver.session.lines import LineSplitter

__all__ = ["BODY_RECORDED_LINES", "BODY_RECORDED_OCTETS", "Ledger"]

BODY_RECORDED_OCTETS = 256 * 1024
"""Octets of each message's data a transcript records."""
BODY_RECORDED_LINES = 4096
"""Lines of each message's data a transcript records: a line is an object in memory, and a
body of 65,000 one-dot lines fits in 256 KiB."""


class Ledger:
    """What one connection said and was told, as it went over the wire.

    Args:
        recorder: keeps the transcript; None when transcripts are off.
        report: told every line (already redacted), for observers; None when none watch.
        report_message_data: also tell ``report`` the lines of message data (DATA's, between
            the 354 and the final dot, and BDAT chunks).
    """

    def __init__(
        self,
        recorder: Recorder | None,
        report: Callable[[Line], None] | None,
        *,
        report_message_data: bool = True,
    ) -> None:
        self.commands: list[str] = []
        # Two octets a code, not an int object each: a connection that sends thousands of
        # messages keeps thousands of codes.
        self.reply_codes = array.array("H")
        self.offered: frozenset[str] = frozenset()
        self.pipelined = False
        self.faults: list[str] = []
        self._recorder = recorder
        self._report = report
        self._report_data = report if report_message_data else None
        self.watching = recorder is not None or report is not None
        self._redactor = SecretRedactor()
        self._output = LineSplitter(b"\n")
        self._data = LineSplitter(b"\r\n")
        self._data_recorded = 0
        self._data_lines = 0
        self._data_left_out = 0
        self._data_full = False  # the transcript has all it keeps of this message
        self._ehlo_keywords: list[str] | None = None
        self._ehlo_first_line = False

    def command(self, verb: str, line: bytes, *, pipelined: bool, secret: bool = False) -> None:
        """A command line: its verb (``"?"`` when unknown) and the line as sent."""
        self.commands.append(verb)
        if pipelined:
            self.pipelined = True  # the next command came before this one's reply
        self.client_line(line, secret=secret)

    def client_line(self, data: bytes, *, secret: bool = False) -> None:
        """Records a client line (or body piece); a ``secret`` one is redacted whole."""
        if data and self.watching:
            self._record(Direction.CLIENT, self._redactor.client_line(data, sasl_response=secret))

    def client_data(self, data: bytes) -> None:
        """Records message data (DATA or BDAT) as it came; never a secret, so not redacted."""
        if not self.watching:
            return
        if self._data_full:
            # Only counted, never gathered into lines: a 20 MB line would otherwise be kept
            # (and copied piece by piece) until its end. The reader reports the final
            # ".<CRLF>" on its own.
            if data == b".\r\n":
                self._data_run(data)
            else:
                self._data_left_out += len(data)
            return
        self._data_run(self._data.whole(data))
        if self._data_recorded + self._data.unfinished > BODY_RECORDED_OCTETS:
            self._stop_recording()  # a line too long to keep

    def end_of_data(self) -> None:
        """The message (or BDAT chunk) has been read: records what was left out of it."""
        if not self.watching:
            return
        self._data_run(self._data.rest())
        self._note_left_out()
        self._data_recorded = self._data_lines = 0
        self._data_full = False

    def _data_run(self, run: bytes) -> None:
        if not run:
            return
        end = b""
        if run == b".\r\n" or run.endswith(b"\r\n.\r\n"):
            run, end = run[:-3], run[-3:]  # the end of the data: what was left out goes before it
        room = BODY_RECORDED_OCTETS - self._data_recorded
        if len(run) > room:
            last = run.rfind(b"\r\n", 0, max(room, 0))  # the last line that still fits
            cut = last + 2 if last >= 0 else 0
            self._data_left_out += len(run) - cut
            self._stop_recording()
            run = run[:cut]
        lines = run.count(b"\r\n")
        if lines > BODY_RECORDED_LINES - self._data_lines:
            cut = 0
            for _ in range(BODY_RECORDED_LINES - self._data_lines):
                cut = run.index(b"\r\n", cut) + 2
            self._data_left_out += len(run) - cut
            self._stop_recording()
            run, lines = run[:cut], BODY_RECORDED_LINES - self._data_lines
        if run:
            self._data_recorded += len(run)
            self._data_lines += lines
            self._record_run(run)
        if end:
            self._note_left_out()
            self._record(Direction.CLIENT, end)

    def _stop_recording(self) -> None:
        """The transcript has all it keeps of this message: the rest is only counted."""
        self._data_left_out += len(self._data.rest())
        self._data_full = True

    def _note_left_out(self) -> None:
        if self._data_left_out:
            note = f"<{self._data_left_out} more octets of the message data, not recorded>\r\n"
            self._record(Direction.CLIENT, note.encode("ascii"))
            self._data_left_out = 0

    def expect_ehlo_reply(self) -> None:
        """The next reply answers EHLO: the extensions its lines name are what is offered."""
        self._ehlo_keywords = []
        self._ehlo_first_line = True

    def event(self, kind: str, detail: str = "") -> None:
        if self._recorder is not None:
            self._recorder.event(kind, detail)

    def written(self, data: bytes) -> None:
        """Accounts for octets handed to the transport, line by line."""
        if data.find(b"\n") == len(data) - 1 and self._output.between_lines:
            self._account(data)  # one whole line, as most replies are
            return
        for line in self._output.feed(data):
            self._account(line)

    def finish(self, how: str) -> None:
        """The connection is gone: accounts for a reply cut short, and closes the transcript
        with ``how`` it ended."""
        partial = self._output.rest()
        if partial and self.watching:
            self._record(Direction.SERVER, partial)  # recorded as far as it went; no reply
        if self._recorder is not None:
            self._recorder.event("closed", how)

    def transcript(self) -> Transcript | None:
        """The transcript so far; None when transcripts are off."""
        return self._recorder.transcript() if self._recorder is not None else None

    def final_transcript(self) -> Callable[[], Transcript] | None:
        """Makes the transcript of the finished connection, when asked (None when transcripts
        are off): cutting message data into lines costs about as much as recording it, and most
        transcripts are never read."""
        return self._recorder.transcript if self._recorder is not None else None

    def _account(self, line: bytes) -> None:
        last_of_reply = line[3:4] in {b" ", b"\r", b"\n", b""}
        if last_of_reply and line[:3].isdigit():
            self.reply_codes.append(int(line[:3]))
        if self._ehlo_keywords is not None and line[:3] == b"250":
            self._offer(line, last_of_reply)
        if self.watching:
            self._record(Direction.SERVER, line)

    def _offer(self, line: bytes, last: bool) -> None:
        keywords = self._ehlo_keywords
        if keywords is None:
            return
        if self._ehlo_first_line:
            self._ehlo_first_line = False  # "250-host greets you", no extension
        else:
            keyword = line[4:].split(b" ")[0].strip().upper()
            keywords.append(keyword.decode("ascii", "replace"))
        if last:
            self.offered = frozenset(keywords)
            self._ehlo_keywords = None

    def _record_run(self, run: bytes) -> None:
        if self._recorder is not None:
            self._recorder.run(Direction.CLIENT, run)
        report = self._report_data
        if report is not None:
            *whole, rest = run.split(b"\r\n")
            for line in whole:
                report(Line(Direction.CLIENT, line + b"\r\n"))
            if rest:
                report(Line(Direction.CLIENT, rest))

    def _record(self, direction: Direction, data: bytes) -> None:
        if self._recorder is not None:
            # Already redacted; the recorder's own redaction is a no-op on placeholders.
            self._recorder.line(direction, data)
        if self._report is not None:
            self._report(Line(direction, data))
