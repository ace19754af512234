"""The HTTP service of one fake: the API, the event streams and the inbox, on a loop thread.

:func:`route_table` is the one list of every method and path the server answers; the
application is built from it, and the OpenAPI test compares the document with it. Every route
of one fake exists under ``/api/v1`` (the ``default`` fake) and under
``/api/v1/sandboxes/{sandbox}``.

Like the SMTP listeners (:mod:`fakeserver.runner`), it stands on :mod:`fakeserver._loop`: the
socket is bound in the caller's thread (port 0 works; a port that is taken fails at once with
a message naming ``--http``), and aiohttp serves it on an asyncio loop in a daemon thread of
its own, with no signal handling (the CLI owns the signals). Long polls and event streams are
tasks on that loop, not threads. Stopping ends every stream, stops every sandbox, and is
bounded like every other wait.

:class:`~fakeserver.server.FakeGmail` makes one when its options have ``http=``; the service's
:attr:`HttpService.observer` is then among the fake's observers.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from fakeserver.http import control, messages, pages, sse
from fakeserver.http.context import API, SERVICE, Served
from fakeserver.http.options import HttpSettings
from fakeserver.http.sandboxes import Sandboxes
from fakeserver.http.security import install
from fakeserver.http.source import Source
from fakeserver.transport.loop import Address, LoopThread, bind

if TYPE_CHECKING:
    from fakeserver.scripting.scenario import Scenario
    from fakeserver.server.fake import FakeGmail
    from fakeserver.server.observers import Observer

__all__ = ["MAX_BODY_OCTETS", "HttpService", "Route", "build_app", "route_table"]

_SHUTDOWN_TIMEOUT_S = 2.0

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


class HttpService:
    """Serves the API and the inbox for one fake (``default``) and its sandboxes.

    Args:
        options: where and how to serve.
    """

    def __init__(self, options: HttpSettings) -> None:
        self.options = options
        self.default = Source("default")
        self.sandboxes = Sandboxes()
        self._loop = LoopThread("smtprig-http")
        self._runner: web.AppRunner | None = None
        self.address: Address | None = None
        self.started_in_s: float | None = None

    @property
    def observer(self) -> Observer:
        """The observer the served fake must be made with."""
        return self.default.observer

    def attach(self, gmail: FakeGmail) -> None:
        """Serves ``gmail`` as the ``default`` fake."""
        self.default.attach(gmail)
        self.sandboxes.attach(gmail)

    def apply_scenario(self, scenario: Scenario) -> None:
        """Serves a scenario file's rules, listed by the API like its own."""
        self.default.adopt(scenario)

    def on_reset(self) -> None:
        """Called by the fake's ``reset()``: forgets what the fake forgot."""
        self.default.forget()

    @property
    def url(self) -> str:
        """The inbox's address, e.g. ``http://127.0.0.1:8025/``."""
        if self.address is None:
            raise RuntimeError("the HTTP service is not running")
        host = self.address.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.address.port}/"

    def start(self) -> Address:
        """Binds and starts serving; returns where.

        Raises:
            ConfigurationError: the address cannot be bound.
        """
        started = time.perf_counter()
        sock = bind(self.options.host, self.options.port, option="--http")
        self.address = self._loop.serve(sock, self._serve, self._shutdown)
        self.started_in_s = time.perf_counter() - started
        return self.address

    async def _serve(self, sock: socket.socket) -> None:
        self.default.events.bind(asyncio.get_running_loop())
        runner = web.AppRunner(
            build_app(self),
            handle_signals=False,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        self._runner = runner
        site = web.SockSite(runner, sock)
        await site.start()

    def stop(self) -> None:
        """Ends every stream and wait, stops the sandboxes and the server. Idempotent."""
        self._loop.stop(self._shutdown)
        self.address = None

    async def _shutdown(self) -> None:
        self.default.events.close()
        await self.sandboxes.stop_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
