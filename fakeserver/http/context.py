"""What a request handler needs from the service: the fake it is about, and that fake's prefix.

Every route of the API exists twice: under ``/api/v1`` for the fake ``fakeserver serve``
started (``default``), and under ``/api/v1/sandboxes/{sandbox}`` for a sandbox. Handlers ask
:func:`source` which one a request is about; asking renews a sandbox's lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web

from fakeserver.http.options import HttpSettings
from fakeserver.http.problems import Problem
from fakeserver.http.source import Source
from fakeserver.jsontext import json_text

__all__ = [
    "API",
    "SERVICE",
    "SandboxPool",
    "Served",
    "base",
    "json_response",
    "path_id",
    "service",
    "source",
]

API = "/api/v1"


class Described(Protocol):
    """A sandbox, as the routes show it."""

    @property
    def id(self) -> str: ...

    def describe(self) -> dict[str, Any]: ...


class SandboxPool(Protocol):
    """What the routes use of the sandboxes (:class:`fakeserver.http.sandboxes.Sandboxes`)."""

    def all(self) -> Sequence[Described]: ...

    def get(self, name: str) -> Source | None: ...

    def find(self, name: str) -> Described | None: ...

    async def create(self, body: object) -> Described: ...

    async def delete(self, name: str) -> list[str] | None: ...


class Served(Protocol):
    """What the handlers use of the service (:class:`fakeserver.http.service.HttpService`)."""

    @property
    def options(self) -> HttpSettings: ...

    @property
    def default(self) -> Source: ...

    @property
    def sandboxes(self) -> SandboxPool: ...


SERVICE: web.AppKey[Served] = web.AppKey("smtprig.service")


def service(request: web.Request) -> Served:
    return request.app[SERVICE]


def source(request: web.Request) -> Source:
    """The fake the request is about; a 404 problem naming ``sandbox`` if there is none."""
    name = request.match_info.get("sandbox")
    served = service(request)
    if name is None:
        return served.default
    found = served.sandboxes.get(name)
    if found is None:
        raise Problem(404, f"no sandbox {name!r} (deleted, or expired)", field="sandbox")
    return found


def base(request: web.Request) -> str:
    """The API prefix of the fake the request is about."""
    name = request.match_info.get("sandbox")
    return API if name is None else f"{API}/sandboxes/{name}"


def path_id(request: web.Request, name: str) -> int:
    """A numeric path segment (the router only lets digits through)."""
    text = request.match_info[name]
    if len(text) > 12:
        raise Problem(404, f"no such {name}", field=name)
    return int(text)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, text=json_text(data), content_type="application/json", headers=headers
    )
