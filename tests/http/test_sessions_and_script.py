"""Sessions and the script over HTTP: every connection with how it ended, rules written as a
scenario's ``[[step]]`` tables, their counters, reset and check."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
from typing import Any

import pytest

from fakeserver.scripting.scenario import ScenarioError, parse_scenario
from fakeserver.server.fake import FakeGmail
from tests.http.httpkit import Answer, Api, mail, send, served

Fake = tuple[FakeGmail, Api]


def _sessions(api: Api, count: int) -> list[dict[str, Any]]:
    answer = api.get(f"/api/v1/sessions/wait?count={count}&timeout_s=10")
    assert answer.status == 200, answer.text
    items: list[dict[str, Any]] = answer.json["items"]
    return items


def test_every_connection_is_a_session_including_those_that_delivered_nothing(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("delivered"))
    with pytest.raises(smtplib.SMTPAuthenticationError):
        send(gmail, mail("refused"), password="wrong")
    with socket.create_connection(gmail.submission, timeout=10) as dropped:
        dropped.recv(1024)  # the greeting, then hang up without a word

    delivered, refused, dropped_session = _sessions(api, 3)

    assert (delivered["end"], delivered["messages"]) == ("quit", 1)
    assert delivered["commands"] == ["EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"]
    assert "PIPELINING" in delivered["offered"]
    assert not delivered["failed"]
    assert refused["reply_codes"][-2:] == [535, 221]
    assert (refused["failed"], refused["user"]) == (True, None)
    assert dropped_session["end"] == "client closed"
    assert (dropped_session["commands"], dropped_session["tls_version"]) == ([], None)
    assert api.get("/api/v1/sessions/3").json["listener"] == "submission"
    transcript = api.get("/api/v1/sessions/2/transcript").text
    assert "S: 535-5.7.8" in transcript
    assert "wrong" not in transcript


def test_a_failed_tls_handshake_is_a_failed_session_that_says_why(fake: Fake) -> None:
    gmail, api = fake
    with pytest.raises(ssl.SSLCertVerificationError):  # an app that does not trust the CA
        smtplib.SMTP_SSL(*gmail.smtps, context=ssl.create_default_context(), timeout=10)

    [session] = _sessions(api, 1)
    assert (session["end"], session["failed"], session["tls_version"]) == ("TLS failed", True, None)
    assert session["end_detail"] == (
        "the client does not trust the CA (give it the fake's ca.pem) [TLSV1_ALERT_UNKNOWN_CA]"
    )
    transcript = api.get("/api/v1/sessions/1/transcript").text
    assert "the client does not trust the CA (give it the fake's ca.pem)" in transcript


def test_a_session_ended_by_a_fault_says_so(fake: Fake) -> None:
    gmail, api = fake
    added = api.post("/api/v1/script/rules", {"on": "mail", "faults": [{"fault": "close"}]})
    assert added.status == 201, added.text

    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(gmail, mail("cut off"))

    [session] = _sessions(api, 1)
    assert session["end"] == "fault"
    assert session["faults"] == ["Close(when='after')"]
    assert session["failed"]


def test_sessions_wait_times_out_with_what_closed(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("only one"))

    answer = api.get("/api/v1/sessions/wait?count=2&timeout_s=0.1")

    assert answer.status == 408
    assert answer.json["detail"] == "1 of 2 session(s) closed in 0.1 s"
    assert len(answer.json["sessions"]) == 1


def test_a_rule_scripts_a_451_on_the_second_rcpt_and_counts(fake: Fake) -> None:
    gmail, api = fake
    rule = {"on": "rcpt", "nth": 2, "reply": "451 4.3.0 Try again later"}
    added = api.post("/api/v1/script/rules", rule)
    assert added.status == 201
    assert added.json["rules"][0]["unmet"] is True

    refused: dict[str, Any] = {}
    with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context()) as smtp:
        smtp.login(*gmail.credentials)
        refused = smtp.sendmail(
            "tester@gmail.com", ["a@example.org", "b@example.org"], b"Subject: two\r\n\r\nx\r\n"
        )

    assert refused == {"b@example.org": (451, b"4.3.0 Try again later")}
    [listed] = api.get("/api/v1/script").json["rules"]
    assert (listed["rule"], listed["seen"], listed["used"], listed["unmet"]) == (rule, 2, 1, False)
    assert api.get("/api/v1/check").json == {"ok": True, "problems": []}


def test_a_bad_rule_gets_the_scenario_parsers_message_and_a_pointer(fake: Fake) -> None:
    _, api = fake
    toml = '[[step]]\non = "rcpt"\nfaults = [{fault = "delay", delay_s = "soon"}]\n'
    with pytest.raises(ScenarioError) as from_file:
        parse_scenario(toml)

    answer = api.post(
        "/api/v1/script/rules",
        [
            {"on": "rcpt", "reply": "451 4.3.0 ok"},
            {"on": "rcpt", "faults": [{"fault": "delay", "delay_s": "soon"}]},
        ],
    )

    assert answer.status == 400
    assert answer.json["detail"] == from_file.value.problem
    assert answer.json["pointer"] == "/1/faults"
    assert api.get("/api/v1/script").json["rules"] == []  # all or nothing


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"on": "nowhere", "reply": "451 4.3.0 x"}, "/on"),
        ({"on": "rcpt", "times": 0, "reply": "451 4.3.0 x"}, "/times"),
        ({"on": "rcpt", "reply": "not a reply"}, "/reply"),
        ({"on": "rcpt", "colour": "red", "reply": "451 4.3.0 x"}, "/colour"),
        ({"on": "rcpt"}, ""),
        ("rcpt", ""),
        ({"on": "rcpt", "a/b~c": 1}, ""),  # a key no TOML line could hold: the rule itself
    ],
)
def test_each_bad_rule_names_its_place(fake: Fake, body: object, pointer: str) -> None:
    _, api = fake

    answer = api.post("/api/v1/script/rules", body)

    assert (answer.status, answer.json["pointer"]) == (400, pointer), answer.text


def test_put_replaces_the_script_and_delete_removes_rules(fake: Fake) -> None:
    gmail, api = fake
    api.post("/api/v1/script/rules", {"on": "mail", "reply": "550 5.7.1 no"})

    put = api.put(
        "/api/v1/script",
        {"seed": 7, "rules": [{"on": "rcpt", "times": 1, "reply": "451 4.3.0 later"}]},
    )
    assert put.status == 200, put.text
    assert put.json["seed"] == 7
    [rule] = put.json["rules"]
    assert api.get("/api/v1/check").status == 409  # times=1, never used

    assert api.delete(f"/api/v1/script/rules/{rule['id']}").status == 204
    assert api.get("/api/v1/check").json == {"ok": True, "problems": []}
    send(gmail, mail("goes through"))  # the removed rule no longer fires
    assert api.delete(f"/api/v1/script/rules/{rule['id']}").status == 404
    assert api.delete("/api/v1/script").status == 204


def test_check_says_what_the_plugin_would_fail_on_without_forgetting_it(fake: Fake) -> None:
    _, api = fake
    api.post("/api/v1/script/rules", {"on": "data", "times": 2, "reply": "rate_limited"})

    first = api.get("/api/v1/check")
    second = api.get("/api/v1/check")

    assert first.status == second.status == 409
    assert first.json["problems"] == second.json["problems"]
    assert "on('data', times=2) used 0 time(s)" in first.json["problems"][0]
    api.post("/api/v1/reset")
    assert api.get("/api/v1/check").status == 200


def test_reset_forgets_messages_sessions_and_script(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("before"))
    api.post("/api/v1/script/rules", {"on": "noop", "reply": "250 2.0.0 scripted"})
    _sessions(api, 1)

    assert api.post("/api/v1/reset").status == 204

    assert api.get("/api/v1/messages").json["items"] == []
    assert api.get("/api/v1/sessions").json["items"] == []
    assert api.get("/api/v1/script").json["rules"] == []
    send(gmail, mail("after"))
    assert [item["id"] for item in api.get("/api/v1/messages").json["items"]] == [2]


def test_a_python_reset_is_seen_by_the_api(fake: Fake) -> None:
    gmail, api = fake
    api.post("/api/v1/script/rules", {"on": "noop", "reply": "250 2.0.0 scripted"})
    send(gmail, mail("before"))

    gmail.reset()

    assert api.get("/api/v1/script").json["rules"] == []
    assert api.get("/api/v1/sessions").json["items"] == []


def test_an_open_session_is_listed_with_its_transcript_so_far(fake: Fake) -> None:
    gmail, api = fake
    with socket.create_connection(gmail.submission, timeout=10) as client:
        client.recv(1024)
        client.sendall(b"EHLO open.example\r\n")
        while not client.recv(4096).endswith(b"250 SMTPUTF8\r\n"):
            pass
        [session] = api.get("/api/v1/sessions").json["items"]
        transcript = api.get(f"/api/v1/sessions/{session['id']}/transcript").text

    assert (session["state"], session["end"], session["commands"]) == ("open", None, ["EHLO"])
    assert "C: EHLO open.example" in transcript


def test_twenty_waits_open_at_once_all_answer_on_one_message(fake: Fake) -> None:
    gmail, api = fake
    answers: list[Answer] = []
    waiters = [
        threading.Thread(
            target=lambda: answers.append(api.get("/api/v1/messages/wait?timeout_s=30"))
        )
        for _ in range(20)
    ]
    for waiter in waiters:
        waiter.start()

    send(gmail, mail("for everyone"))
    for waiter in waiters:
        waiter.join(30)

    assert [answer.status for answer in answers] == [200] * 20


def test_a_session_closed_for_idling_says_so() -> None:
    with served(idle_timeout_s=0.2) as (gmail, api):
        with socket.create_connection(gmail.submission, timeout=10) as client:
            client.recv(1024)  # the greeting; then silence until the server gives up

            [session] = _sessions(api, 1)

        assert session["end"] == "idle timeout"
        assert session["reply_codes"] == [220, 451]
        assert session["failed"]
