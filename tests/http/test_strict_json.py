"""Every JSON answer and event is valid UTF-8 JSON whatever bytes a client sent: what is not
UTF-8 is shown escaped (``\\xe9``), never as a lone surrogate, which strict JSON parsers in
other languages refuse (RFC 8259 §8.2)."""

from __future__ import annotations

from fakeserver.server.fake import FakeGmail
from tests.http.httpkit import Api, events
from tests.support.rawsmtp import RawSMTP
from tests.support.strictjson import no_lone_surrogates, strictly
from tests.support.wire import PLAIN_BLOB

Fake = tuple[FakeGmail, Api]


def send_latin1(gmail: FakeGmail) -> None:
    """A session in Latin-1 where UTF-8 is due: the EHLO name, a header and the body."""
    with RawSMTP(gmail.smtps, context=gmail.client_context()) as raw:
        raw.reply()
        raw.command(b"EHLO caf\xe9\r\n")
        raw.command(b"AUTH PLAIN " + PLAIN_BLOB + b"\r\n")
        assert raw.text(b"MAIL FROM:<j\xf6rg@example.org>\r\n").startswith("553-5.1.7")
        assert raw.text("MAIL FROM:<tester@gmail.com>").startswith("250")
        assert raw.text(b"RCPT TO:<j\xf6rg@example.org>\r\n").startswith("553-5.1.3")
        assert raw.text("RCPT TO:<friend@example.org>").startswith("250")
        raw.command("DATA")
        body = b"Subject: caf\xe9\r\nFrom: =?utf-8?b?\xff?=\r\n\r\nna\xefve\r\n.\r\n"
        assert raw.text(body).startswith("250 2.0.0 OK")
        raw.command("QUIT")
    gmail.wait_for_sessions(1)


def test_messages_and_sessions_are_strict_json_with_the_clients_bytes_escaped(
    fake: Fake,
) -> None:
    gmail, api = fake
    send_latin1(gmail)
    for path in (
        "/api/v1/messages",
        "/api/v1/messages/1",
        "/api/v1/messages/1/transcript",
        "/api/v1/sessions",
        "/api/v1/sessions/1",
        "/api/v1/sessions/1/transcript",
        "/api/v1/sessions/wait?count=1",
        "/api/v1/messages/wait?count=1",
    ):
        answer = api.get(path, headers={"Accept": "application/json"})
        assert answer.status == 200, (path, answer.text)
        strictly(answer.body)
    message = strictly(api.get("/api/v1/messages/1").body)
    assert message["session_facts"]["helo_name"] == "caf\\xe9"  # visible, escaped
    assert message["envelope"]["mail_from"] == "tester@gmail.com"
    assert strictly(api.get("/api/v1/sessions/1").body)["helo_name"] == "caf\\xe9"


def test_the_event_stream_is_strict_json(fake: Fake) -> None:
    gmail, api = fake
    with events(api) as stream:
        send_latin1(gmail)
        seen = [stream.next() for _ in range(3)]
    assert [event["event"] for event in seen] == ["session.open", "message", "session.close"]
    no_lone_surrogates([event["data"] for event in seen])
    assert seen[2]["data"]["helo_name"] == "caf\\xe9"


def test_a_rule_and_a_problem_echo_a_lone_surrogate_escaped(fake: Fake) -> None:
    _, api = fake
    rule = {"on": "noop", "matching": "x\ud800y", "reply": "250 2.0.0 scripted"}
    added = api.post("/api/v1/script/rules", rule)
    assert added.status == 201, added.text
    assert strictly(api.get("/api/v1/script").body)["rules"][0]["rule"]["matching"] == ("x\\ud800y")
    refused = api.post("/api/v1/script/rules", {"on": "n\udcffop", "reply": "250 2.0.0 x"})
    assert refused.status == 400
    assert "unknown step" in strictly(refused.body)["detail"]
