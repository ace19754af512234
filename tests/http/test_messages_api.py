"""Messages over HTTP: list and filters, one message and its parts, and the server-side wait."""

from __future__ import annotations

import smtplib
import threading
from email.message import EmailMessage

import pytest

from fakeserver.server.fake import FakeGmail
from tests.http.httpkit import Answer, Api, mail, send

Fake = tuple[FakeGmail, Api]


def _problem(answer: Answer, status: int) -> dict[str, object]:
    assert answer.status == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    document: dict[str, object] = answer.json
    assert document["status"] == status
    return document


def test_messages_are_listed_oldest_first_with_their_summary(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("first", to="a@example.org"))
    send(gmail, mail("second", to="b@example.org"))

    page = api.get("/api/v1/messages").json

    assert [item["subject"] for item in page["items"]] == ["first", "second"]
    first = page["items"][0]
    assert first["id"] == 1
    assert first["mail_from"] == "tester@gmail.com"
    assert first["recipients"] == ["a@example.org"]
    assert first["session"] == 1
    assert first["session_id"] == gmail.outbox[0].session.session_id
    assert first["size"] == len(gmail.outbox[0].raw)
    assert first["received_at"].endswith("Z")
    assert (first["tls_version"], first["user"], first["auth_mechanism"]) == (
        "TLSv1.3",
        "tester@gmail.com",
        "PLAIN",
    )
    assert page["next_after"] == 2


@pytest.mark.parametrize(
    ("query", "subjects"),
    [
        ("to=B@EXAMPLE", ["to b"]),
        ("from=tester", ["to a", "to b"]),
        ("subject=to%20a", ["to a"]),
        ("user=tester@gmail.com", ["to a", "to b"]),
        ("user=someone@gmail.com", []),
        ("q=b@example", ["to b"]),
        ("after=1", ["to b"]),
        ("limit=1", ["to a"]),
    ],
)
def test_filters_narrow_the_list(fake: Fake, query: str, subjects: list[str]) -> None:
    gmail, api = fake
    send(gmail, mail("to a", to="a@example.org"))
    send(gmail, mail("to b", to="b@example.org"))

    page = api.get(f"/api/v1/messages?{query}").json

    assert [item["subject"] for item in page["items"]] == subjects


def test_a_message_has_its_envelope_headers_bodies_parts_and_session(fake: Fake) -> None:
    gmail, api = fake
    message = mail("parts", html="<p>hello <b>html</b></p>")
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    send(gmail, message)

    detail = api.get("/api/v1/messages/1").json

    assert detail["envelope"]["recipients"] == ["friend@example.org"]
    assert detail["envelope"]["mail_options"] == [f"size={len(gmail.outbox[0].raw)}"]  # smtplib's
    names = [header["name"] for header in detail["headers"]]
    assert names[:3] == ["From", "To", "Subject"]  # in the order received
    assert detail["text"] == "Text of parts.\n"
    assert detail["html"] == "<p>hello <b>html</b></p>\n"
    [attachment] = detail["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == (
        "invoice.pdf",
        "application/pdf",
    )
    assert detail["session_facts"]["tls_cipher"]
    assert detail["session_facts"]["helo_name"]
    part = api.get(attachment["url"])
    assert part.body == b"%PDF-1.4 fake"
    assert part.headers["Content-Disposition"].startswith('attachment; filename="invoice.pdf"')


def test_raw_html_and_text_give_the_message_as_received(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("bodies", html="<p>hi</p>"))

    raw = api.get("/api/v1/messages/1/raw")
    html = api.get("/api/v1/messages/1/html")
    text = api.get("/api/v1/messages/1/text")

    assert raw.body == gmail.outbox[0].raw
    assert raw.headers["Content-Type"] == "message/rfc822"
    assert html.text == "<p>hi</p>\n"
    assert "script-src 'none'" in html.headers["Content-Security-Policy"]
    assert text.text == "Text of bodies.\n"


def test_a_message_without_html_says_so(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("plain only"))

    assert _problem(api.get("/api/v1/messages/1/html"), 404)["field"] == "id"
    assert _problem(api.get("/api/v1/messages/1/parts/9"), 404)["field"] == "part"
    assert _problem(api.get("/api/v1/messages/99"), 404)["field"] == "id"


def test_the_transcript_of_a_message_is_its_session_with_auth_redacted(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("with a conversation"))
    gmail.wait_for_sessions(1)  # the client has its 221 before the fake notes the close

    text = api.get("/api/v1/messages/1/transcript").text
    entries = api.get("/api/v1/messages/1/transcript", headers={"Accept": "application/json"}).json[
        "entries"
    ]

    assert "C: AUTH PLAIN <redacted>" in text
    assert gmail.credentials[1] not in text
    accepted = next(entry for entry in entries if entry.get("text") == "235 2.7.0 Accepted")
    assert (accepted["type"], accepted["direction"], accepted["exact"]) == ("line", "S", True)
    assert (entries[-1]["type"], entries[-1]["kind"], entries[-1]["detail"]) == (
        "event",
        "closed",
        "quit",
    )


def test_delete_forgets_every_message(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("gone soon"))

    assert api.delete("/api/v1/messages").status == 204

    assert api.get("/api/v1/messages").json["items"] == []
    assert gmail.outbox.messages == []
    send(gmail, mail("after"))
    assert [item["id"] for item in api.get("/api/v1/messages").json["items"]] == [2]


def test_a_wait_answers_when_the_message_arrives(fake: Fake) -> None:
    gmail, api = fake
    answers: list[Answer] = []
    waiting = threading.Thread(
        target=lambda: answers.append(api.get("/api/v1/messages/wait?count=2&timeout_s=30"))
    )
    waiting.start()

    send(gmail, mail("one"))
    send(gmail, mail("two"))
    waiting.join(30)

    [answer] = answers
    assert answer.status == 200
    assert [item["subject"] for item in answer.json["items"]] == ["one", "two"]


def test_a_wait_with_a_cursor_waits_for_newer_messages_only(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("old"))
    answers: list[Answer] = []
    waiting = threading.Thread(
        target=lambda: answers.append(
            api.get("/api/v1/messages/wait?after=1&subject=new&timeout_s=30")
        )
    )
    waiting.start()

    send(gmail, mail("not this one"))
    send(gmail, mail("new one"))
    waiting.join(30)

    assert [item["id"] for item in answers[0].json["items"]] == [3]


def test_a_wait_that_times_out_says_what_arrived_and_what_the_sessions_did(fake: Fake) -> None:
    gmail, api = fake
    gmail.script.on("rcpt", nth=2).reply("451 4.3.0 Try again later")
    send(gmail, mail("one of two"))
    send(gmail, mail("refused"), recipients=["c@example.org", "d@example.org"])
    gmail.wait_for_sessions(2)

    problem = _problem(api.get("/api/v1/messages/wait?count=3&timeout_s=0"), 408)

    assert problem["detail"] == "2 of 3 matching message(s) arrived in 0 s"
    assert [item["subject"] for item in problem["arrived"]] == ["one of two", "refused"]  # type: ignore[attr-defined]
    assert "451" in problem["sessions"][-1]  # type: ignore[index]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("count=0", "count"),
        ("count=x", "count"),
        ("count=%D9%A3", "count"),  # an Arabic-Indic 3: int() takes it, HTTP's DIGIT does not
        ("after=%EF%BC%91", "after"),  # a fullwidth 1
        ("timeout_s=121", "timeout_s"),
        ("timeout_s=nan", "timeout_s"),
        ("after=-1", "after"),
        ("timout_s=5", "timout_s"),
        ("subject=" + "x" * 1001, "subject"),
    ],
)
def test_a_bad_parameter_is_named(fake: Fake, query: str, field: str) -> None:
    _, api = fake

    assert _problem(api.get(f"/api/v1/messages/wait?{query}"), 400)["field"] == field


def test_unusual_messages_are_shown_not_fatal(fake: Fake) -> None:
    gmail, api = fake
    broken = EmailMessage()
    broken["Subject"] = "=?unknown-charset?q?caf=E9?="
    broken.set_content("x")
    raw = broken.as_bytes().replace(b'charset="utf-8"', b'charset="no-such"')
    with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context()) as smtp:
        smtp.login(*gmail.credentials)
        smtp.sendmail("tester@gmail.com", ["a@example.org"], raw + b"\xff\xfe bytes\r\n")

    detail = api.get("/api/v1/messages/1")

    assert detail.status == 200
    assert detail.json["subject"]
    assert detail.json["text"] is not None


def test_an_id_in_digits_that_are_not_ascii_names_nothing(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("one"))
    assert api.get("/api/v1/messages/1").status == 200
    assert api.get("/api/v1/messages/%D9%A1").status == 404  # an Arabic-Indic 1
    assert api.get("/api/v1/sessions/%D9%A1").status == 404
