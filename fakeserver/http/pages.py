"""The routes that are not about one fake: the inbox's files, health, the spec and the CA.

The inbox is three static files shipped in the package (``static/``), read once when the app
is built; they fetch everything else from the API.
"""

from __future__ import annotations

import importlib.resources

from aiohttp import web

from fakeserver.http.context import API, json_response, service
from fakeserver.http.openapi import document
from fakeserver.http.problems import Problem
from fakeserver.http.security import PAGE_POLICY

__all__ = ["ROUTES", "STATIC_FILES"]

STATIC_FILES = {
    "app.js": "text/javascript",
    "app.css": "text/css",
}


def _read(name: str) -> bytes:
    return importlib.resources.files("fakeserver.http").joinpath("static", name).read_bytes()


async def index(request: web.Request) -> web.Response:
    return web.Response(
        body=_read("index.html"),
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": PAGE_POLICY},
    )


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise Problem(404, "no such file", field="name")
    return web.Response(body=_read(name), content_type=STATIC_FILES[name], charset="utf-8")


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    fake = service(request).default.gmail
    try:
        listeners = fake.listeners
    except RuntimeError as error:
        raise Problem(503, f"the SMTP listeners are not running: {error}") from error
    ready: dict[str, object] = {"status": "ready", "persona": fake.persona.name}
    for listener, address in listeners.items():
        ready[listener.value] = {"host": address.host, "port": address.port}
    return json_response(ready)


async def openapi(request: web.Request) -> web.Response:
    return json_response(document())


async def ca_pem(request: web.Request) -> web.Response:
    pem = service(request).default.gmail.ca_pem
    return web.Response(body=pem, content_type="application/x-pem-file")


ROUTES = [
    ("GET", "/", index),
    ("GET", "/static/{name}", static),
    ("GET", "/healthz", healthz),
    ("GET", "/readyz", readyz),
    ("GET", f"{API}/openapi.json", openapi),
    ("GET", f"{API}/ca.pem", ca_pem),
]
"""Absolute paths."""
