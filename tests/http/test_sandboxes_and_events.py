"""Sandboxes (isolated fakes in one process) and the Server-Sent Event stream."""

from __future__ import annotations

import http.client
import json
import smtplib
from typing import Any

import pytest

from fakeserver.http.events import RING_SIZE
from fakeserver.server.fake import FakeGmail
from tests.http.httpkit import TIMEOUT_S, Api, events, mail, send

Fake = tuple[FakeGmail, Api]


def _create(api: Api, body: object = None) -> dict[str, Any]:
    answer = api.post("/api/v1/sandboxes", {} if body is None else body)
    assert answer.status == 201, answer.text
    created: dict[str, Any] = answer.json
    assert answer.headers["Location"] == f"/api/v1/sandboxes/{created['id']}"
    return created


def test_a_sandbox_has_its_own_ports_messages_script_and_counters(fake: Fake) -> None:
    gmail, api = fake
    box = _create(api, {"rules": [{"on": "rcpt", "nth": 2, "reply": "451 4.3.0 later"}]})
    prefix = f"/api/v1/sandboxes/{box['id']}"
    port = (box["smtps"]["host"], box["smtps"]["port"])
    assert port[1] not in (gmail.smtps.port, gmail.submission.port)

    send(gmail, mail("default", to="x@example.org"), recipients=["x@example.org", "y@example.org"])
    send(gmail, mail("sandboxed"), recipients=["a@example.org", "b@example.org"], port=port)

    [mine] = api.get(f"{prefix}/messages/wait?timeout_s=10").json["items"]
    assert (mine["subject"], mine["recipients"]) == ("sandboxed", ["a@example.org"])
    [theirs] = api.get("/api/v1/messages").json["items"]
    assert theirs["recipients"] == ["x@example.org", "y@example.org"]  # no rule out here
    [rule] = api.get(f"{prefix}/script").json["rules"]
    assert rule["used"] == 1
    assert api.get("/api/v1/script").json["rules"] == []


def test_a_sandbox_trusts_the_same_ca_and_takes_its_own_accounts(fake: Fake) -> None:
    gmail, api = fake
    box = _create(api, {"accounts": ["me@gmail.com:sandbox-pw"], "plain_port": True, "seed": 3})
    assert box["accounts"] == ["me@gmail.com"]
    assert "sandbox-pw" not in json.dumps(box)

    with smtplib.SMTP(box["submission"]["host"], box["submission"]["port"], timeout=10) as smtp:
        smtp.starttls(context=gmail.client_context())  # the default fake's CA
        smtp.login("me@gmail.com", "sandbox-pw")
        smtp.sendmail("me@gmail.com", ["a@example.org"], b"Subject: s\r\n\r\nx\r\n")

    assert api.get("/api/v1/ca.pem").body == gmail.ca_pem
    assert box["plain"]["port"] > 0
    prefix = f"/api/v1/sandboxes/{box['id']}"
    assert api.get(f"{prefix}/messages").json["items"][0]["user"] == "me@gmail.com"


def test_deleting_a_sandbox_stops_it_and_answers_its_final_check(fake: Fake) -> None:
    _, api = fake
    box = _create(api, {"rules": [{"on": "data", "times": 1, "reply": "rate_limited"}]})

    deleted = api.delete(f"/api/v1/sandboxes/{box['id']}")

    assert deleted.status == 200
    assert deleted.json["ok"] is False
    assert "on('data', times=1) used 0 time(s)" in deleted.json["problems"][0]
    assert api.get(f"/api/v1/sandboxes/{box['id']}/messages").json["field"] == "sandbox"
    assert api.delete(f"/api/v1/sandboxes/{box['id']}").status == 404
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP(box["submission"]["host"], box["submission"]["port"], timeout=5)


def test_an_idle_sandbox_expires(fake: Fake) -> None:
    _, api = fake
    box = _create(api, {"ttl_s": 0.2})

    # A bounded wait on the sandbox's own wait route: it answers 404 once the lease is gone
    # (each request renews the lease, so the wait must outlast it: 0.5 s per try).
    statuses = [
        api.get(f"/api/v1/sandboxes/{box['id']}/sessions/wait?timeout_s=0.5").status
        for _ in range(20)
    ]

    assert 404 in statuses
    assert api.get("/api/v1/sandboxes").json["items"] == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"colour": 1}, "/colour"),
        ({"accounts": ["no-colon"]}, "/accounts/0"),
        ({"accounts": []}, "/accounts"),
        ({"policy": {"daily_quota": 0}}, "/policy/daily_quota"),
        ({"ttl_s": -1}, "/ttl_s"),
        ({"rules": [{"on": "nowhere", "reply": "451 4.3.0 x"}]}, "/rules/0/on"),
        ([], ""),
    ],
)
def test_a_bad_sandbox_request_is_refused_before_any_port_is_bound(
    fake: Fake, body: object, pointer: str
) -> None:
    _, api = fake

    answer = api.post("/api/v1/sandboxes", body)

    assert (answer.status, answer.json.get("pointer")) == (400, pointer), answer.text
    assert api.get("/api/v1/sandboxes").json["items"] == []


def test_the_stream_tells_of_sessions_messages_faults_and_script_changes(fake: Fake) -> None:
    gmail, api = fake
    with events(api) as stream:
        api.post("/api/v1/script/rules", {"on": "quit", "faults": ["bare_lf"]})
        send(gmail, mail("streamed"))

        seen = [stream.next() for _ in range(5)]

    assert [event["event"] for event in seen] == [
        "script.changed",
        "session.open",
        "message",
        "fault",
        "session.close",
    ]
    assert [int(event["id"]) for event in seen] == [1, 2, 3, 4, 5]
    assert seen[2]["data"]["subject"] == "streamed"
    assert seen[3]["data"] == {"session": 1, "detail": "BareLF()"}
    assert seen[4]["data"]["end"] == "quit"


def test_last_event_id_replays_what_was_missed(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("one"))
    send(gmail, mail("two"))
    gmail.wait_for_sessions(2)
    with events(api, **{"Last-Event-ID": "0"}) as stream:
        everything = [stream.next() for _ in range(6)]

    with events(api, **{"Last-Event-ID": "3"}) as stream:
        replayed = [stream.next() for _ in range(3)]

    # (The second connection can open before the first is seen to close: the order is the
    # server's, and a replay keeps it.)
    assert [event["id"] for event in everything] == ["1", "2", "3", "4", "5", "6"]
    assert sorted(event["event"] for event in everything) == sorted(
        ["session.open", "message", "session.close"] * 2
    )
    assert replayed == everything[3:]


def test_a_gap_is_announced_when_the_ring_moved_on(fake: Fake) -> None:
    gmail, api = fake
    api.post("/api/v1/script/rules", {"on": "noop", "faults": ["coalesce"]})  # a fault event each
    with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context()) as smtp:
        for _ in range(RING_SIZE):
            smtp.noop()

    with events(api, path="/api/v1/events?after=0") as stream:
        gap, first = stream.next(), stream.next()

    assert gap["event"] == "gap"
    assert int(first["id"]) == int(gap["id"]) + 1
    assert gap["data"]["after"] == 0


def test_an_id_from_another_server_is_a_gap_too(fake: Fake) -> None:
    _, api = fake
    with events(api, **{"Last-Event-ID": "999"}) as stream:
        api.post("/api/v1/reset")
        api.post("/api/v1/script/rules", {"on": "noop", "reply": "250 2.0.0 x"})
        gap = stream.next()

    assert (gap["event"], gap["data"]["after"]) == ("gap", 999)


def test_a_last_event_id_in_digits_that_are_not_ascii_is_refused(fake: Fake) -> None:
    _, api = fake
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT_S)
    try:
        connection.putrequest("GET", "/api/v1/events")
        connection.putheader("Last-Event-ID", "\u0663".encode())  # an Arabic-Indic 3, in UTF-8
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 400
        assert json.loads(response.read())["field"] == "Last-Event-ID"
    finally:
        connection.close()
