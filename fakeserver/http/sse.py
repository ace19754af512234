"""``GET …/events``: the fake's events as Server-Sent Events.

Each event is ``id: N``, ``event: TYPE`` and one ``data:`` line of JSON. The stream starts with
``retry: 1000``; a ``: keep-alive`` comment goes out every :data:`KEEPALIVE_S` seconds of
silence. A client that reconnects with ``Last-Event-ID`` (browsers do it by themselves) or
``?after=`` gets what it missed from the ring; if the ring has moved past its id, or the id is
not one this server gave, it gets a ``gap`` event first, which means: list again.

A slow reader costs nothing but its place in the ring: writing waits for it, the ring goes on
without it, and it learns of a gap when it catches up.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from fakeserver.http import views
from fakeserver.http.context import source
from fakeserver.http.events import Event
from fakeserver.http.problems import Problem
from fakeserver.http.query import integer, known_only
from fakeserver.http.source import Source
from fakeserver.jsontext import json_text

__all__ = ["KEEPALIVE_S", "ROUTES", "events"]

KEEPALIVE_S = 15.0
TYPES = ("message", "session.open", "session.close", "fault", "script.changed", "reset", "gap")
"""Every event type a stream carries."""


def _payload(fake: Source, event: Event) -> dict[str, Any]:
    """An event's data; messages and closed sessions are shown as the list shows them."""
    if event.type == "message":
        stored = fake.message(event.data["id"])
        return views.message_summary(stored) if stored is not None else event.data
    if event.type == "session.close":
        view = fake.session(event.data["id"])
        return views.session(view) if view is not None else event.data
    return event.data


def _frame(event_id: int, type_: str, data: dict[str, Any]) -> bytes:
    return f"id: {event_id}\nevent: {type_}\ndata: {json_text(data)}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    known_only(request.query, ("after",))
    fake = source(request)
    after = integer(request.query, "after", fake.events.last_id, high=2**53)
    last_event_id = request.headers.get("Last-Event-ID")
    if last_event_id is not None:
        if not (last_event_id.isascii() and last_event_id.isdigit()) or len(last_event_id) > 15:
            raise Problem(400, "Last-Event-ID must be an event id", field="Last-Event-ID")
        after = int(last_event_id)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    await response.write(b"retry: 1000\n\n")
    while not fake.events.closed:
        seen = fake.events.last_id
        found, gap = fake.events.since(after)
        if gap:
            resume = found[0].id - 1 if found else fake.events.last_id
            await response.write(_frame(resume, "gap", {"after": after, "resume": resume}))
            after = resume
        for event in found:
            await response.write(_frame(event.id, event.type, _payload(fake, event)))
            after = event.id
        if not found and not gap:
            await fake.events.wait(KEEPALIVE_S, after=seen)
            if fake.events.last_id == seen and not fake.events.closed:
                await response.write(b": keep-alive\n\n")
    return response


ROUTES = [("GET", "/events", events)]
