"""Each fault against smtplib and against smtprig's own client: what each client sees, and
what the server kept."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from typing import Any

import pytest

from client import (
    ConnectionLostError,
    LocalProtocolError,
    RemoteProtocolError,
    SMTPClient,
    SMTPTimeoutError,
    TLSNegotiationError,
)
from fakeserver.errors import ScriptError
from fakeserver.scripting.faults import (
    AbortHandshake,
    BareLF,
    BodyPlan,
    Close,
    Coalesce,
    Delay,
    Disconnect,
    Drip,
    Ending,
    Fault,
    Garbage,
    HandshakePlan,
    NoFinalCRLF,
    Overlong,
    ReplyPlan,
    Reset,
    SplitAt,
    Stall,
    TLSCertificate,
    Withhold,
    shape,
)
from fakeserver.scripting.script import Script, Step
from fakeserver.server.fake import FakeGmail

MESSAGE = b"Subject: faults\r\n\r\nhello\r\n"
EHLO = (
    b"250-smtp.gmail.com at your service, [127.0.0.1]\r\n250-SIZE 35882577\r\n"
    b"250-8BITMIME\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n"
)


def smtplib_send(gmail: FakeGmail, *, timeout_s: float = 5.0) -> None:
    with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=timeout_s) as s:
        s.login(*gmail.credentials)
        s.sendmail("tester@gmail.com", ["a@example.org"], MESSAGE)


def our_send(gmail: FakeGmail, *, timeout_s: float = 5.0) -> None:
    with SMTPClient.connect(
        *gmail.smtps,
        implicit_tls=True,
        ssl_context=gmail.client_context(),
        tls_hostname="localhost",
        timeout_s=timeout_s,
    ) as client:
        client.ehlo()
        client.auth_plain(*gmail.credentials)
        client.send_message(MESSAGE, sender="tester@gmail.com", recipients=["a@example.org"])


CLIENTS: dict[str, Callable[..., None]] = {"smtplib": smtplib_send, "smtprig": our_send}
# smtplib reports a timed-out read as a disconnection ("... The read operation timed out").
TIMED_OUT = {
    "smtplib": (socket.timeout, TimeoutError, smtplib.SMTPServerDisconnected),
    "smtprig": (SMTPTimeoutError,),
}
LOST = {
    "smtplib": (smtplib.SMTPServerDisconnected, ConnectionError, ssl.SSLError),
    "smtprig": (ConnectionLostError,),
}


# ---------------------------------------------------------------- the byte transforms


def transform(data: bytes, faults: tuple[Fault[Any], ...]) -> bytes:
    return shape(ReplyPlan(data), faults).data


def pieces(data: bytes, faults: tuple[Fault[Any], ...]) -> list[bytes]:
    return shape(ReplyPlan(data), faults).pieces()


def test_withhold_removes_an_extension_and_keeps_the_reply_well_formed() -> None:
    assert transform(EHLO, (Withhold("SMTPUTF8"),)) == (
        b"250-smtp.gmail.com at your service, [127.0.0.1]\r\n250-SIZE 35882577\r\n"
        b"250-8BITMIME\r\n250 STARTTLS\r\n"
    )


def test_the_other_transforms() -> None:
    line = b"250 2.0.0 OK x - gsmtp\r\n"
    assert transform(line, (BareLF(),)) == b"250 2.0.0 OK x - gsmtp\n"
    assert transform(line, (NoFinalCRLF(),)) == b"250 2.0.0 OK x - gsmtp"
    assert transform(line, (Garbage(b"junk\r\n"),)) == b"junk\r\n" + line
    assert transform(line, (Garbage(b"junk\r\n", replace=True),)) == b"junk\r\n"
    long = transform(line, (Overlong(600),))
    assert len(long) == 600
    assert long.startswith(line[:-2])
    assert long.endswith(b"\r\n")


def test_drip_and_split_cut_a_reply_into_writes() -> None:
    assert pieces(b"250 OK\r\n", (Drip(3),)) == [b"250", b" OK", b"\r\n"]
    assert pieces(EHLO, (SplitAt((4, 50, 999)),)) == [EHLO[:4], EHLO[4:50], EHLO[50:]]


def test_faults_make_a_plan_and_those_of_another_kind_leave_it_alone() -> None:
    plan = shape(ReplyPlan(b"250 OK\r\n"), (Delay(0.5), Close("middle"), Disconnect(3)))
    assert plan == ReplyPlan(b"250 OK\r\n", delay_s=0.5, ending=Ending("middle", reset=False))
    assert plan.pieces() == [b"250 "]
    assert shape(BodyPlan(), (Disconnect(3, reset=True), Delay(1))) == BodyPlan(3, reset=True)
    assert shape(HandshakePlan(), (AbortHandshake(),)) == HandshakePlan(abort=True)


def test_a_fault_of_the_wrong_kind_for_its_step_is_refused_with_where_it_works(
    gmail: FakeGmail,
) -> None:
    with pytest.raises(ScriptError, match=r"'disconnect' shapes a message body coming in.*body"):
        gmail.script.on("rcpt").fault(Disconnect(3))
    with pytest.raises(ScriptError, match=r"use it on tls"):
        gmail.script.on("ehlo").fault(AbortHandshake())


# ---------------------------------------------------------------- clients facing faults


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    "fault",
    [
        Drip(bytes_per_write=1),
        SplitAt(offsets=tuple(range(1, 300, 7))),
        Overlong(2000),
        Delay(0.05),
    ],
    ids=["drip", "split-everywhere", "overlong-2000", "short-delay"],
)
def test_clients_cope_with_awkward_but_valid_replies(
    gmail: FakeGmail, client: str, fault: Fault[Any]
) -> None:
    for step in ("greeting", "ehlo", "auth", "mail", "rcpt", "data", "end_of_data"):
        gmail.script.on(step).fault(fault)
    CLIENTS[client](gmail)
    assert len(gmail.outbox.wait_for(1)) == 1


@pytest.mark.parametrize("client", CLIENTS)
def test_a_slow_greeting_beyond_the_timeout(gmail: FakeGmail, client: str) -> None:
    gmail.script.on("greeting").fault(Delay(2.0))
    with pytest.raises(TIMED_OUT[client], match=r"timed out|did not finish"):
        CLIENTS[client](gmail, timeout_s=0.3)


@pytest.mark.parametrize("client", CLIENTS)
def test_a_stall_is_a_timeout_not_a_hang(gmail: FakeGmail, client: str) -> None:
    gmail.script.on("mail").fault(Stall())
    with pytest.raises(TIMED_OUT[client], match=r"timed out|did not finish"):
        CLIENTS[client](gmail, timeout_s=0.5)
    assert gmail.messages == []


def test_coalesced_replies_reach_a_pipelining_client(gmail: FakeGmail) -> None:
    gmail.script.on("mail").fault(Coalesce())
    gmail.script.on("rcpt").fault(Coalesce())
    our_send(gmail)
    assert len(gmail.outbox.wait_for(1)) == 1
    [session] = gmail.wait_for_sessions(1)
    assert session.pipelined


@pytest.mark.parametrize(
    ("step", "fault"),
    [
        ("greeting", Close("before")),
        ("greeting", Reset("before")),
        ("ehlo", Close("middle")),
        ("auth", Reset("after")),
        ("data", Close("after")),
        ("rcpt", NoFinalCRLF()),
    ],
)
@pytest.mark.parametrize("client", CLIENTS)
def test_a_dropped_connection_is_an_error_and_nothing_is_stored(
    gmail: FakeGmail, client: str, step: str, fault: Fault[Any]
) -> None:
    gmail.script.on(step).fault(fault)
    with pytest.raises(LOST[client]):
        CLIENTS[client](gmail)
    assert gmail.messages == []


@pytest.mark.parametrize("client", CLIENTS)
def test_a_drop_in_the_middle_of_the_message_stores_nothing(gmail: FakeGmail, client: str) -> None:
    gmail.script.on("body").fault(Disconnect(after_bytes=5, reset=True))
    with pytest.raises(LOST[client]):
        CLIENTS[client](gmail)
    assert gmail.messages == []


@pytest.mark.parametrize("client", CLIENTS)
def test_a_lost_250_leaves_the_message_stored(gmail: FakeGmail, client: str) -> None:
    # The server took the message and the acknowledgement never arrived: a client that
    # retries now delivers it twice. Experiments report exactly this.
    gmail.script.on("end_of_data").fault(Reset("before"))
    with pytest.raises(LOST[client]):
        CLIENTS[client](gmail)
    assert len(gmail.outbox.wait_for(1)) == 1


@pytest.mark.parametrize("client", CLIENTS)
def test_garbage_instead_of_the_greeting(gmail: FakeGmail, client: str) -> None:
    gmail.script.on("greeting").fault(Garbage(b"\x00\xffHELLO?\r\n", replace=True), Close())
    expected = (
        (smtplib.SMTPException, ConnectionError)
        if client == "smtplib"
        else (
            RemoteProtocolError,
            ConnectionLostError,
        )
    )
    with pytest.raises(expected):
        CLIENTS[client](gmail)


@pytest.mark.parametrize("client", CLIENTS)
def test_bare_lf_replies_are_read_leniently(gmail: FakeGmail, client: str) -> None:
    # RFC 5321 §2.3.8 asks for CRLF; both clients take a bare LF as a line end anyway.
    for step in ("greeting", "ehlo", "mail", "end_of_data"):
        gmail.script.on(step).fault(BareLF())
    CLIENTS[client](gmail)
    assert len(gmail.outbox.wait_for(1)) == 1


@pytest.mark.parametrize(
    ("kind", "smtplib_says", "ours_says"),
    [
        ("untrusted", "certificate verify failed", "unable to get local issuer certificate"),
        ("wrong_name", "mismatch", "mismatch"),
        ("expired", "certificate has expired", "certificate has expired"),
    ],
)
def test_bad_certificates_are_refused(
    gmail: FakeGmail, kind: str, smtplib_says: str, ours_says: str
) -> None:
    gmail.script.on("tls").fault(TLSCertificate(kind))  # type: ignore[arg-type]
    with pytest.raises(ssl.SSLCertVerificationError, match=smtplib_says):
        smtplib.SMTP_SSL("localhost", gmail.smtps.port, context=gmail.client_context(), timeout=5)
    with smtplib.SMTP(*gmail.submission, timeout=5) as plain:
        plain.ehlo()
        with pytest.raises(ssl.SSLCertVerificationError, match=smtplib_says):
            plain.starttls(context=gmail.client_context())
    with pytest.raises(TLSNegotiationError, match=ours_says):
        our_send(gmail)


@pytest.mark.parametrize("client", CLIENTS)
def test_an_aborted_handshake(gmail: FakeGmail, client: str) -> None:
    gmail.script.on("tls").fault(AbortHandshake())
    expected = (ssl.SSLError,) if client == "smtplib" else (TLSNegotiationError,)
    # The alert may be lost in the close; either way the handshake does not happen.
    with pytest.raises(expected, match=r"(?i)handshake|EOF occurred"):
        CLIENTS[client](gmail)


def test_starttls_not_offered(gmail: FakeGmail) -> None:
    gmail.script.on("ehlo").fault(Withhold("STARTTLS"))
    with (
        smtplib.SMTP(*gmail.submission, timeout=5) as plain,
        pytest.raises(smtplib.SMTPNotSupportedError),
    ):
        plain.starttls(context=gmail.client_context())
    with SMTPClient.connect(*gmail.submission, ssl_context=gmail.client_context()) as client:
        client.ehlo()
        with pytest.raises(LocalProtocolError, match="STARTTLS"):
            client.starttls()


def test_probability_draws_repeat_with_the_seed() -> None:
    def pattern(seed: int) -> list[bool]:
        script = Script(seed)
        script.on("rcpt", probability=0.5).reply("451 4.3.0 Try again")
        return [script.decide(Step.RCPT) is not None for _ in range(40)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert 5 < sum(pattern(7)) < 35
