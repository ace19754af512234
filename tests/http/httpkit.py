"""What the HTTP tests share: a real HTTP client (urllib), mail sent with smtplib, and
Playwright driving Debian's chromium.

Everything talks to 127.0.0.1 over real sockets; the fake runs in-process with
``ServerOptions(http=HttpOptions())`` on port 0.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from fakeserver.http import HttpOptions
from fakeserver.server.fake import FakeGmail, ServerOptions

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Api:
    """A small HTTP client for the fake's API; an HTTP error is an answer, not an exception.

    Args:
        url: the server's root, e.g. ``http://127.0.0.1:8025/``.
        headers: sent with every request.
    """

    def __init__(self, url: str, headers: Mapping[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self.headers = dict(headers or {})

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        sent = self.headers | dict(headers or {})
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.url + path, data=data, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, dict(error.headers), error.read())

    def get(self, path: str, **options: Any) -> Answer:
        return self.request("GET", path, **options)

    def post(self, path: str, body: object = None, **options: Any) -> Answer:
        return self.request("POST", path, body, **options)

    def put(self, path: str, body: object = None, **options: Any) -> Answer:
        return self.request("PUT", path, body, **options)

    def delete(self, path: str, **options: Any) -> Answer:
        return self.request("DELETE", path, **options)


@contextmanager
def served(http: HttpOptions | None = None, **options: Any) -> Iterator[tuple[FakeGmail, Api]]:
    """A fake serving HTTP on a free loopback port, and a client for it."""
    with FakeGmail(ServerOptions(seed=1, http=http or HttpOptions(), **options)) as gmail:
        assert gmail.http is not None
        yield gmail, Api(gmail.http.url)
        gmail.check()


def mail(subject: str, *, to: str = "friend@example.org", html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "tester@gmail.com"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(f"Text of {subject}.\n")
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(
    gmail: FakeGmail,
    message: EmailMessage,
    *,
    recipients: list[str] | None = None,
    password: str | None = None,
    port: tuple[str, int] | None = None,
) -> None:
    """Sends over implicit TLS, with the CA checked, after AUTH."""
    user, right = gmail.credentials
    with smtplib.SMTP_SSL(*(port or gmail.smtps), context=gmail.client_context()) as smtp:
        smtp.login(user, password or right)
        smtp.send_message(message, to_addrs=recipients or [str(message["To"])])


class EventStream:
    """Reads Server-Sent Events from a real HTTP connection, each read bounded."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.response = response

    def next(self) -> dict[str, Any]:
        """The next event: ``{"id", "event", "data"}``; comments and ``retry`` are skipped."""
        fields: dict[str, Any] = {}
        while True:
            line = self.response.readline().decode().rstrip("\n")
            if line == "" and "event" in fields:
                fields["data"] = json.loads(fields["data"])
                return fields
            if line.startswith(("id: ", "event: ", "data: ")):
                name, _, value = line.partition(": ")
                fields[name] = value


@contextmanager
def events(api: Api, path: str = "/api/v1/events", **headers: str) -> Iterator[EventStream]:
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT_S)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        assert response.readline() == b"retry: 1000\n"
        yield EventStream(response)
    finally:
        connection.close()
