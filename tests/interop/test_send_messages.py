"""``SMTPClient.send_messages`` against the fake Gmail: many messages on one connection, each
end of data pipelined with the next envelope, and every message's outcome reported in order,
whatever the server refuses or breaks along the way."""

from __future__ import annotations

import pytest

from client import (
    ConnectionLostError,
    PermanentReplyError,
    SendResult,
    SMTPClient,
    TransientReplyError,
)
from fakeserver.scripting.faults import Close, Withhold
from fakeserver.server.fake import FakeGmail

SENDER = "tester@gmail.com"


def messages(count: int) -> list[bytes]:
    return [f"Subject: batch {index}\r\n\r\nmessage {index}\r\n".encode() for index in range(count)]


def logged_in(gmail: FakeGmail) -> SMTPClient:
    user, password = gmail.credentials
    client = SMTPClient.connect(
        *gmail.smtps, implicit_tls=True, ssl_context=gmail.client_context(),
        tls_hostname="localhost", timeout_s=5,
    )  # fmt: skip
    client.ehlo()
    client.auth_plain(user, password)
    return client


def send(gmail: FakeGmail, count: int) -> list[SendResult | Exception]:
    with logged_in(gmail) as client:
        return list(client.send_messages(messages(count), sender=SENDER, recipients=["a@b.org"]))


def subjects(gmail: FakeGmail, count: int) -> list[str]:
    return [str(message.message["Subject"]) for message in gmail.outbox.wait_for(count)]


def test_every_message_is_delivered_in_order_in_one_round_trip_each(gmail: FakeGmail) -> None:
    results = send(gmail, 5)
    assert [type(result) for result in results] == [SendResult] * 5
    assert subjects(gmail, 5) == [f"batch {index}" for index in range(5)]
    gmail.wait_for_sessions(1).assert_pipelined()


def test_a_refused_message_is_reported_and_the_rest_go_on(gmail: FakeGmail) -> None:
    gmail.script.on("end_of_data", nth=2).reply(550, "5.7.1", "Not this one")
    gmail.script.on("rcpt", nth=4).reply("451 4.3.0 Try again later")
    results = send(gmail, 5)
    assert isinstance(results[1], PermanentReplyError)
    assert results[1].reply.code == 550
    assert isinstance(results[3], TransientReplyError)
    assert [isinstance(result, SendResult) for result in results] == [1, 0, 1, 0, 1]
    assert subjects(gmail, 3) == ["batch 0", "batch 2", "batch 4"]


def test_a_421_ends_the_batch_and_stands_for_every_message_left(gmail: FakeGmail) -> None:
    gmail.script.on("data", nth=2).reply("rate_limited")
    results = send(gmail, 4)
    assert isinstance(results[0], SendResult)
    assert isinstance(results[1], TransientReplyError)
    assert results[1].reply.code == 421
    assert results[2] is results[1]
    assert results[3] is results[1]
    assert subjects(gmail, 1) == ["batch 0"]


def test_a_broken_connection_ends_the_batch_with_its_error(gmail: FakeGmail) -> None:
    gmail.script.on("rcpt", nth=3).fault(Close("before"))
    results = send(gmail, 4)
    assert [type(result) for result in results[:2]] == [SendResult] * 2
    assert isinstance(results[2], ConnectionLostError)
    assert results[3] is results[2]
    assert subjects(gmail, 2) == ["batch 0", "batch 1"]


def test_without_pipelining_the_messages_go_one_command_at_a_time(gmail: FakeGmail) -> None:
    gmail.script.on("ehlo").fault(Withhold("PIPELINING"))
    gmail.script.on("end_of_data", nth=1).reply(550, "5.7.1", "Not this one")
    results = send(gmail, 3)
    assert isinstance(results[0], PermanentReplyError)
    assert [type(result) for result in results[1:]] == [SendResult] * 2
    assert subjects(gmail, 2) == ["batch 1", "batch 2"]
    [session] = gmail.wait_for_sessions(1)
    assert not session.pipelined


def test_messages_without_an_envelope_are_refused_before_anything_is_sent(
    gmail: FakeGmail,
) -> None:
    with logged_in(gmail) as client, pytest.raises(ValueError, match="no sender"):
        client.send_messages([b"Subject: nobody\r\n\r\nhi\r\n"])
    assert gmail.messages == []
