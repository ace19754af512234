"""The HTTP side's secure defaults, each with a test: loopback unless a token is given, the
token checked, Host and Origin checked, CORS off unless named, CSP on pages, no AUTH secret
anywhere, and bad input answered without a traceback."""

from __future__ import annotations

import base64
import http.client
import smtplib
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fakeserver.errors import ConfigurationError
from fakeserver.http import HttpOptions
from fakeserver.http.serving import http_options
from fakeserver.server.fake import FakeGmail
from tests.http.httpkit import Api, events, mail, send, served

Fake = tuple[FakeGmail, Api]
TOKEN = "0123456789abcdef-test-token"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.org"])
def test_an_address_off_loopback_needs_a_token(host: str) -> None:
    with pytest.raises(ConfigurationError, match=r"not loopback.*token"):
        HttpOptions(host=host)
    assert HttpOptions(host=host, token=TOKEN).token == TOKEN


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_none(host: str) -> None:
    assert HttpOptions(host=host).token is None


def test_the_token_comes_from_a_file_or_the_environment_and_is_never_in_repr(
    tmp_path: Path,
) -> None:
    path = tmp_path / "token"
    path.write_text(f"{TOKEN}\n")

    from_file = http_options("0.0.0.0:0", token_file=path, environment={})
    from_environment = http_options("[::]:0", environment={"SMTPRIG_HTTP_TOKEN": TOKEN})

    assert from_file is not None
    assert from_file.token == TOKEN
    assert from_environment is not None
    assert from_environment.host == "::"
    assert TOKEN not in repr(from_file)
    with pytest.raises(ConfigurationError, match="at least 16"):
        HttpOptions(token="short")


def test_with_a_token_every_request_must_carry_it() -> None:
    with served(HttpOptions(token=TOKEN)) as (_, api):
        assert api.get("/api/v1/messages").status == 401
        assert api.get("/api/v1/messages", headers={"Authorization": "Bearer wrong"}).status == 401
        assert api.get("/healthz").status == 200  # for container health checks; says nothing
        bearer = api.get("/api/v1/messages", headers={"Authorization": f"Bearer {TOKEN}"})
        assert bearer.status == 200
        # A browser gives it once in the URL and keeps it in a cookie.
        page = api.get(f"/?token={TOKEN}")
        cookie = page.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        with_cookie = api.get("/api/v1/messages", headers={"Cookie": cookie.split(";")[0]})
        assert with_cookie.status == 200
        assert TOKEN not in page.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8025", "127.0.0.1.nip.io"])
def test_a_foreign_host_header_is_refused(fake: Fake, host: str) -> None:
    _, api = fake

    answer = api.get("/api/v1/messages", headers={"Host": host})

    assert (answer.status, answer.json["field"]) == (403, "Host")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]:1234"])
def test_loopback_names_are_fine(fake: Fake, host: str) -> None:
    _, api = fake

    assert api.get("/api/v1/messages", headers={"Host": host}).status == 200


def test_a_foreign_origin_cannot_change_state(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("keep me"))
    evil = {"Origin": "http://evil.example"}

    assert api.delete("/api/v1/messages", headers=evil).json["field"] == "Origin"
    assert api.post("/api/v1/reset", headers=evil).status == 403
    assert api.post("/api/v1/sandboxes", {}, headers=evil).status == 403
    reading = api.get("/api/v1/messages", headers=evil)
    assert reading.status == 200
    assert "Access-Control-Allow-Origin" not in reading.headers  # so the page cannot read it
    own = {"Origin": api.url}
    assert (
        api.post("/api/v1/script/rules", {"on": "noop", "reply": "250 2.0.0 x"}, headers=own).status
        == 201
    )
    assert len(gmail.outbox) == 1


def test_a_body_that_is_not_declared_json_is_refused(fake: Fake) -> None:
    _, api = fake
    request = urllib.request.Request(
        f"{api.url}/api/v1/script/rules",
        data=b'{"on": "noop", "reply": "250 2.0.0 x"}',
        headers={"Content-Type": "text/plain"},  # what a form or a no-cors fetch can send
        method="POST",
    )

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)

    assert refused.value.code == 415
    assert api.get("/api/v1/script").json["rules"] == []


def test_cors_is_off_unless_an_origin_is_named() -> None:
    app = "http://app.example:3000"
    preflight = {"Origin": app, "Access-Control-Request-Method": "DELETE"}
    with served() as (_, api):
        answer = api.request("OPTIONS", "/api/v1/messages", headers=preflight)
        assert answer.status == 403
        assert "Access-Control-Allow-Origin" not in answer.headers
    with served(HttpOptions(cors_origins=(app,))) as (_, api):
        answer = api.request("OPTIONS", "/api/v1/messages", headers=preflight)
        assert (answer.status, answer.headers["Access-Control-Allow-Origin"]) == (204, app)
        assert api.delete("/api/v1/messages", headers={"Origin": app}).status == 204
        other = api.get("/api/v1/messages", headers={"Origin": "http://other.example"})
        assert "Access-Control-Allow-Origin" not in other.headers


def test_pages_send_a_strict_content_security_policy(fake: Fake) -> None:
    gmail, api = fake
    send(gmail, mail("html", html="<p>x</p>"))

    page = api.get("/").headers
    html = api.get("/api/v1/messages/1/html").headers
    data = api.get("/api/v1/messages").headers

    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert "script-src 'none'" in html["Content-Security-Policy"]
    assert "sandbox" in html["Content-Security-Policy"]
    assert "default-src 'none'" in data["Content-Security-Policy"]
    for headers in (page, html, data):
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_no_auth_secret_in_any_response_or_event(fake: Fake) -> None:
    gmail, api = fake
    user, password = gmail.credentials
    [token] = gmail.options.accounts[0].oauth_tokens
    oauth = f"user={user}\x01auth=Bearer {token}\x01\x01"
    secrets = [
        token,
        base64.b64encode(oauth.encode()).decode(),
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0{user}\0{password}".encode()).decode(),
    ]
    with events(api, path="/api/v1/events?after=0") as stream:
        send(gmail, mail("plain"))  # AUTH PLAIN
        with smtplib.SMTP(*gmail.submission, timeout=10) as smtp:  # AUTH LOGIN
            smtp.starttls(context=gmail.client_context())
            smtp.ehlo()
            smtp.user, smtp.password = user, password
            smtp.auth("LOGIN", smtp.auth_login)
            smtp.sendmail(user, ["a@example.org"], b"Subject: login\r\n\r\nx\r\n")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            send(gmail, mail("refused"), password=f"{password}-wrong")
        with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context()) as smtp:
            smtp.ehlo()
            smtp.auth("XOAUTH2", lambda challenge=None: oauth, initial_response_ok=True)
        streamed = [str(stream.next()) for _ in range(10)]
    gmail.wait_for_sessions(4)
    json_accept = {"Accept": "application/json"}
    answers = [
        api.get(path, headers=headers).text
        for path in (
            "/api/v1/messages", "/api/v1/messages/1", "/api/v1/messages/2",
            "/api/v1/sessions", "/api/v1/sessions/1/transcript", "/api/v1/sessions/2/transcript",
            "/api/v1/sessions/3/transcript", "/api/v1/sessions/4/transcript",
            "/api/v1/messages/1/transcript",
        )
        for headers in ({}, json_accept)
    ]  # fmt: skip

    everything = "\n".join(answers + streamed)
    assert "AUTH LOGIN" in everything
    assert "AUTH XOAUTH2" in everything
    assert "<redacted>" in everything
    for secret in secrets:
        assert secret not in everything


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /api/v1/messages/99999999999999999999 HTTP/1.1",
        b"GET /api/v1/messages/%ff%fe HTTP/1.1",
        b"GET /api/v1/nothing-here HTTP/1.1",
        b"PATCH /api/v1/messages HTTP/1.1",
        b"GET /static/../../pyproject.toml HTTP/1.1",
        b"GET /api/v1/messages?after=%00 HTTP/1.1",
        b"GET /api/v1/events HTTP/1.1\r\nLast-Event-ID: x",
    ],
)
def test_bad_requests_get_a_problem_not_a_traceback(fake: Fake, request_line: bytes) -> None:
    _, api = fake
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(request_line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk

    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer
    assert b"application/problem+json" in answer
    assert b"Traceback" not in answer


def test_a_body_too_big_or_not_json_is_a_problem(fake: Fake) -> None:
    _, api = fake
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(
        "POST",
        "/api/v1/script/rules",
        body=b"[" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    too_big = connection.getresponse()
    assert too_big.status == 413
    connection.close()

    not_json = api.request(
        "POST", "/api/v1/script/rules", None, headers={"Content-Type": "application/json"}
    )
    assert not_json.status == 400
    nan = api.post("/api/v1/sandboxes", None)
    assert nan.status == 201  # an empty body is an empty request
    api.delete(f"/api/v1/sandboxes/{nan.json['id']}")
