"""Preparing messages and judging envelopes: messages and replies in, decisions out. No sockets."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from client import Capabilities, LocalProtocolError, Reply
from client.protocol import Command, Exchange, Verb
from client.protocol.message import judge_envelope, prepare_message

GMAIL = Capabilities(
    "smtp.gmail.com at your service",
    (("SIZE", ("35882577",)), ("8BITMIME", ()), ("PIPELINING", ()), ("SMTPUTF8", ())),
)
BARE = Capabilities("old.example", ())


def message(**headers: str) -> EmailMessage:
    mail = EmailMessage()
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("hello\n")
    return mail


def test_addresses_come_from_the_headers_and_bcc_is_left_out() -> None:
    mail = message(From="Alice <alice@example.test>", To="bob@example.test", Bcc="eve@example.test")
    prepared = prepare_message(mail, GMAIL)
    assert prepared.sender == "alice@example.test"
    assert prepared.recipients == ("bob@example.test", "eve@example.test")
    assert b"eve@example.test" not in prepared.data
    assert mail["Bcc"] == "eve@example.test", "the caller's message is not changed"
    assert prepared.data.endswith(b"\r\n\r\nhello\r\n")
    assert prepared.mail_parameters == (f"SIZE={len(prepared.data)}",)


def test_sender_header_wins_and_explicit_arguments_win_over_headers() -> None:
    mail = message(From="alice@example.test", Sender="list@example.test", To="bob@example.test")
    assert prepare_message(mail, GMAIL).sender == "list@example.test"
    prepared = prepare_message(mail, GMAIL, sender="", recipients=["x@example.test"] * 2)
    assert (prepared.sender, prepared.recipients) == ("", ("x@example.test",))


def test_bytes_need_explicit_addresses() -> None:
    with pytest.raises(ValueError, match="no sender"):
        prepare_message(b"Subject: x\r\n\r\nx", GMAIL, recipients=["b@example.test"])
    with pytest.raises(ValueError, match="no recipients"):
        prepare_message(b"x", GMAIL, sender="a@example.test")


def test_bytes_get_crlf_line_ends() -> None:
    prepared = prepare_message(b"a\nb", BARE, sender="a@x.test", recipients=["b@x.test"])
    assert (prepared.data, prepared.mail_parameters) == (b"a\r\nb", ())


def test_eight_bit_data_needs_8bitmime() -> None:
    mail = message(From="a@example.test", To="b@example.test")
    mail.set_content("Grüße\n", cte="8bit")
    assert "BODY=8BITMIME" in prepare_message(mail, GMAIL).mail_parameters
    with pytest.raises(LocalProtocolError, match="8BITMIME"):
        prepare_message(mail, BARE)


def test_non_ascii_addresses_need_smtputf8() -> None:
    mail = message(From="a@example.test", To="jürgen@bücher.example")
    prepared = prepare_message(mail, GMAIL)
    assert "SMTPUTF8" in prepared.mail_parameters
    assert "jürgen@bücher.example".encode() in prepared.data
    with pytest.raises(LocalProtocolError, match="SMTPUTF8"):
        prepare_message(mail, BARE)


def exchange(verb: Verb, code: int) -> Exchange:
    return Exchange(Command(verb, verb.value), Reply(code, ("text",)))


RECIPIENTS = ["b@example.test", "c@example.test"]


def test_all_accepted() -> None:
    exchanges = [exchange(Verb.MAIL, 250), exchange(Verb.RCPT, 250), exchange(Verb.RCPT, 250)]
    verdict = judge_envelope(RECIPIENTS, [*exchanges, exchange(Verb.DATA, 354)])
    assert (verdict.accepted, verdict.refused, verdict.failure) == (tuple(RECIPIENTS), (), None)


def test_one_refused_recipient_lets_the_data_follow() -> None:
    exchanges = [exchange(Verb.MAIL, 250), exchange(Verb.RCPT, 550), exchange(Verb.RCPT, 250)]
    verdict = judge_envelope(RECIPIENTS, [*exchanges, exchange(Verb.DATA, 354)])
    assert verdict.accepted == ("c@example.test",)
    assert verdict.refused == (("b@example.test", Reply(550, ("text",))),)
    assert verdict.failure is None


def test_refused_mail_explains_the_failure_even_when_pipelined() -> None:
    exchanges = [exchange(Verb.MAIL, 550), exchange(Verb.RCPT, 503), exchange(Verb.RCPT, 503)]
    verdict = judge_envelope(RECIPIENTS, [*exchanges, exchange(Verb.DATA, 503)])
    assert verdict.failure == exchanges[0]


def test_all_recipients_refused_gives_the_first_refusal() -> None:
    exchanges = [exchange(Verb.MAIL, 250), exchange(Verb.RCPT, 550), exchange(Verb.RCPT, 551)]
    assert judge_envelope(RECIPIENTS, exchanges).failure == exchanges[1]


def test_a_refused_data_command_with_a_recipient_accepted() -> None:
    exchanges = [exchange(Verb.MAIL, 250), exchange(Verb.RCPT, 550), exchange(Verb.RCPT, 250)]
    data = exchange(Verb.DATA, 451)
    assert judge_envelope(RECIPIENTS, [*exchanges, data]).failure == data


def test_a_421_always_explains_the_failure() -> None:
    closing = exchange(Verb.RCPT, 421)
    verdict = judge_envelope(
        RECIPIENTS, [exchange(Verb.MAIL, 250), exchange(Verb.RCPT, 550), closing]
    )
    assert verdict.failure == closing
