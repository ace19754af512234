"""The routes about messages and sessions: list, wait, fetch, and the conversations.

A wait answers the moment its condition holds: it checks, then awaits the fake's event log
(:mod:`fakeserver.http.events`), then checks again, until ``timeout_s``. Since a message is
stored and numbered before its 250 is sent, a client that saw the 250 never waits for it. A
wait that times out answers 408 with what did arrive and the last sessions' commands and
reply codes, so the failure explains itself.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from client.transcript.text import dump
from fakeserver.http import mime, views
from fakeserver.http.context import base, json_response, path_id, source
from fakeserver.http.problems import Problem
from fakeserver.http.query import (
    DEFAULT_WAIT_S,
    FILTERS,
    MAX_COUNT,
    MessageFilter,
    integer,
    known_only,
    message_filter,
    seconds,
)
from fakeserver.http.source import Source
from fakeserver.session.records import CapturedMessage, SessionRecord

__all__ = ["HTML_POLICY", "ROUTES"]

HTML_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "script-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)
"""The CSP of a mail's HTML: no script, no remote content, no form, a sandbox of its own even
when opened directly (an opaque origin, so it cannot reach the API either)."""

_DOWNLOAD_POLICY = "default-src 'none'; sandbox"
_LAST_SESSIONS = 5
_T = TypeVar("_T")


def _matching(fake: Source, wanted: MessageFilter) -> list[CapturedMessage]:
    found = [message for message in fake.messages() if wanted.matches(message, message.subject)]
    return found[: wanted.limit]


def _page(items: list[dict[str, Any]], after: int) -> dict[str, Any]:
    return {"items": items, "next_after": items[-1]["id"] if items else after}


async def list_messages(request: web.Request) -> web.Response:
    known_only(request.query, FILTERS)
    wanted = message_filter(request.query)
    found = _matching(source(request), wanted)
    return json_response(_page([views.message_summary(item) for item in found], wanted.after))


async def clear_messages(request: web.Request) -> web.Response:
    known_only(request.query, ())
    source(request).clear_messages()
    return web.Response(status=204)


async def wait_messages(request: web.Request) -> web.Response:
    known_only(request.query, (*FILTERS, "count", "timeout_s"))
    wanted = message_filter(request.query)
    count = integer(request.query, "count", 1, low=1)
    timeout_s = seconds(request.query, "timeout_s", DEFAULT_WAIT_S)
    fake = source(request)

    def ready() -> list[CapturedMessage] | None:
        found = _matching(fake, wanted)
        return found if len(found) >= count else None

    found = await _until(fake, ready, timeout_s)
    if found is None:
        arrived = _matching(fake, wanted)
        raise Problem(
            408,
            f"{len(arrived)} of {count} matching message(s) arrived in {timeout_s:g} s",
            extra={
                "arrived": [views.message_summary(item) for item in arrived],
                "sessions": [record.describe() for record in fake.sessions()[-_LAST_SESSIONS:]],
            },
        )
    return json_response(_page([views.message_summary(item) for item in found], wanted.after))


async def _until(fake: Source, ready: Callable[[], _T | None], timeout_s: float) -> _T | None:
    """``ready()`` once it is not None, or None after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        seen = fake.events.last_id
        result = ready()
        remaining = deadline - loop.time()
        if result is not None or remaining <= 0 or fake.events.closed:
            return result
        await fake.events.wait(remaining, after=seen)


def _message(request: web.Request) -> CapturedMessage:
    message = source(request).message(path_id(request, "id"))
    if message is None:
        raise Problem(404, "no message with this id (cleared, or never received)", field="id")
    return message


async def get_message(request: web.Request) -> web.Response:
    return json_response(views.message_detail(_message(request), base(request)))


async def get_raw(request: web.Request) -> web.Response:
    message = _message(request)
    return web.Response(
        body=message.raw,
        content_type="message/rfc822",
        headers={
            "Content-Disposition": f'inline; filename="message-{message.id}.eml"',
            "Content-Security-Policy": _DOWNLOAD_POLICY,
        },
    )


async def get_html(request: web.Request) -> web.Response:
    html = mime.body(_message(request).message, "html")
    if html is None:
        raise Problem(404, "this message has no HTML body", field="id")
    return web.Response(
        text=html, content_type="text/html", headers={"Content-Security-Policy": HTML_POLICY}
    )


async def get_text(request: web.Request) -> web.Response:
    text = mime.body(_message(request).message, "plain")
    if text is None:
        raise Problem(404, "this message has no text/plain body", field="id")
    return web.Response(text=text, content_type="text/plain")


async def get_part(request: web.Request) -> web.Response:
    found = mime.part(_message(request).message, path_id(request, "part"))
    if found is None:
        raise Problem(404, "no part with this number; see the message's `parts`", field="part")
    part, content = found
    name = part.filename or f"part-{part.number}"
    ascii_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100]
    disposition = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(name)}"
    )
    return web.Response(
        body=content,
        content_type=part.content_type,
        headers={"Content-Disposition": disposition, "Content-Security-Policy": _DOWNLOAD_POLICY},
    )


async def message_transcript(request: web.Request) -> web.Response:
    message = _message(request)
    return _transcript(request, source(request), message.session.connection_id)


async def list_sessions(request: web.Request) -> web.Response:
    known_only(request.query, ("after", "limit"))
    after = integer(request.query, "after", 0)
    limit = integer(request.query, "limit", MAX_COUNT, low=1)
    found = [record for record in source(request).sessions() if record.info.connection_id > after][
        :limit
    ]
    return json_response(_page([views.session(record) for record in found], after))


async def wait_sessions(request: web.Request) -> web.Response:
    known_only(request.query, ("count", "after", "timeout_s"))
    count = integer(request.query, "count", 1, low=1)
    after = integer(request.query, "after", 0)
    timeout_s = seconds(request.query, "timeout_s", DEFAULT_WAIT_S)
    fake = source(request)

    def closed() -> list[SessionRecord]:
        return [
            record
            for record in fake.sessions()
            if not record.open and record.info.connection_id > after
        ]

    def ready() -> list[SessionRecord] | None:
        found = closed()
        return found if len(found) >= count else None

    found = await _until(fake, ready, timeout_s)
    if found is None:
        so_far = closed()
        raise Problem(
            408,
            f"{len(so_far)} of {count} session(s) closed in {timeout_s:g} s",
            extra={"sessions": [views.session(view) for view in so_far]},
        )
    return json_response(_page([views.session(view) for view in found], after))


async def get_session(request: web.Request) -> web.Response:
    view = source(request).session(path_id(request, "id"))
    if view is None:
        raise Problem(404, "no session with this id (reset, or never opened)", field="id")
    return json_response(views.session(view))


async def session_transcript(request: web.Request) -> web.Response:
    return _transcript(request, source(request), path_id(request, "id"))


def _transcript(request: web.Request, fake: Source, session_id: int) -> web.Response:
    transcript = fake.transcript(session_id)
    if transcript is None:
        raise Problem(404, "no transcript for this session (reset, or forgotten)", field="id")
    if "application/json" in request.headers.get("Accept", ""):
        return json_response(views.transcript_entries(transcript))
    return web.Response(text=dump(transcript), content_type="text/plain")


ROUTES = [
    ("GET", "/messages", list_messages),
    ("DELETE", "/messages", clear_messages),
    ("GET", "/messages/wait", wait_messages),
    ("GET", "/messages/{id:[0-9]+}", get_message),
    ("GET", "/messages/{id:[0-9]+}/raw", get_raw),
    ("GET", "/messages/{id:[0-9]+}/html", get_html),
    ("GET", "/messages/{id:[0-9]+}/text", get_text),
    ("GET", "/messages/{id:[0-9]+}/parts/{part:[0-9]+}", get_part),
    ("GET", "/messages/{id:[0-9]+}/transcript", message_transcript),
    ("GET", "/sessions", list_sessions),
    ("GET", "/sessions/wait", wait_sessions),
    ("GET", "/sessions/{id:[0-9]+}", get_session),
    ("GET", "/sessions/{id:[0-9]+}/transcript", session_transcript),
]
"""The routes of one fake, relative to its prefix (``/api/v1``, or a sandbox's)."""
