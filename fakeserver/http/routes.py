"""The route table, and the aiohttp application built from it.

:func:`route_table` is the one list of every method and path the server answers; the
application is built from it and the OpenAPI test compares the document with it. Every route
of one fake exists under ``/api/v1`` (the ``default`` fake) and under
``/api/v1/sandboxes/{sandbox}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from fakeserver.http import control, messages, pages, sse
from fakeserver.http.context import API, SERVICE, Served
from fakeserver.http.security import install

__all__ = ["MAX_BODY_OCTETS", "Route", "build_app", "route_table"]

MAX_BODY_OCTETS = 1024 * 1024
"""The largest request body taken (a script is a few hundred octets)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]

_PER_FAKE = [*messages.ROUTES, *sse.ROUTES, *control.ROUTES]


def route_table() -> list[Route]:
    """Every ``(method, path, handler)`` the server answers, in matching order."""
    table: list[Route] = list(pages.ROUTES)
    for prefix in (API, f"{API}/sandboxes/{{sandbox}}"):
        table += [(method, prefix + path, handler) for method, path, handler in _PER_FAKE]
    table += [(method, API + path, handler) for method, path, handler in control.SANDBOX_ROUTES]
    return table


def build_app(service: Served) -> web.Application:
    """The application serving ``service``'s fakes."""
    app = web.Application(client_max_size=MAX_BODY_OCTETS)
    app[SERVICE] = service
    install(app, service.options)
    for method, path, handler in route_table():
        app.router.add_route(method, path, handler)
    return app
