"""What experiments need from the server's transcripts: what reached the wire, and why."""

from __future__ import annotations

import smtplib

import pytest

from client.transcript import Direction, Event
from fakeserver.scripting.faults import Drip, NoFinalCRLF, Reset, Stall
from fakeserver.server.fake import FakeGmail


def send(gmail: FakeGmail) -> None:
    with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=0.5) as smtp:
        smtp.login(*gmail.credentials)
        smtp.sendmail("tester@gmail.com", ["a@example.org"], b"Subject: x\r\n\r\nx\r\n")


@pytest.mark.parametrize(
    ("step", "fault", "withheld"),
    [("end_of_data", Reset("before"), b"250 2.0.0 OK"), ("mail", Stall(), b"250 2.1.0 OK")],
)
def test_a_reply_a_fault_withheld_is_not_in_the_transcript(
    gmail: FakeGmail, step: str, fault: Reset | Stall, withheld: bytes
) -> None:
    gmail.script.on(step).fault(fault)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(gmail)
    [transcript] = gmail.wait_for_transcripts(1)
    sent = [line.data for line in transcript.lines if line.direction is Direction.SERVER]
    assert not any(data.startswith(withheld) for data in sent)
    faults = [entry for entry in transcript.entries if isinstance(entry, Event)]
    assert any(event.kind == "fault" and repr(fault) in event.detail for event in faults)
    [session] = gmail.sessions
    assert int(withheld[:3]) not in session.reply_codes[-1:]


def test_a_dripped_reply_is_recorded_as_lines(gmail: FakeGmail) -> None:
    gmail.script.on("ehlo").fault(Drip(bytes_per_write=1))
    gmail.script.on("quit").fault(NoFinalCRLF())
    with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=5) as smtp:
        smtp.ehlo()
        # smtplib takes the last line at the close, CRLF or not.
        assert smtp.quit()[0] == 221
    [transcript] = gmail.wait_for_transcripts(1)
    sent = [line.data for line in transcript.lines if line.direction is Direction.SERVER]
    assert b"250-smtp.gmail.com at your service, [127.0.0.1]\r\n" in sent
    assert sent[-1].startswith(b"221 2.0.0 closing connection ")
    assert not sent[-1].endswith(b"\n"), "the cut-short last line is kept as it went out"
