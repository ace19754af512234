"""What every request goes through: errors as problems, and the secure defaults.

- **Errors.** A :class:`Problem`, an aiohttp HTTP error (404, 405, 413...) or any other
  exception becomes an ``application/problem+json`` answer; a traceback goes to the log, never
  to the client.
- **Host.** A request whose ``Host`` is neither a loopback name nor the bound address is
  refused, so a page whose name was re-pointed at 127.0.0.1 (DNS rebinding) cannot read the
  mail. Bound to a wildcard address, a token is required instead (see ``options``).
- **Token.** When there is one, every request carries it: ``Authorization: Bearer``, or in a
  browser ``?token=`` once, kept then in an ``HttpOnly``, ``SameSite=Strict`` cookie (an
  EventSource cannot send headers). ``/healthz`` and ``/readyz`` say nothing secret and need
  none, for container health checks.
- **Origin.** A request that changes state (POST, PUT, DELETE) from a page of another origin is
  refused, unless ``--cors-origin`` names that origin. CORS is off otherwise: no
  ``Access-Control-*`` header is ever sent for an origin not named.
- **Headers.** ``nosniff``, ``no-referrer``, ``Cross-Origin-Resource-Policy: same-origin``,
  and a Content-Security-Policy on everything (a route may set a stricter or a page's own).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from fakeserver.http.options import HttpSettings, is_loopback
from fakeserver.http.problems import Problem, problem_response

__all__ = ["PAGE_POLICY", "install"]

logger = logging.getLogger(__name__)

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""The CSP of the inbox's own pages: only its own scripts, styles and frames."""

_API_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OPEN_PATHS = frozenset({"/healthz", "/readyz"})
_COOKIE = "smtprig_token"
_CORS_HEADERS = "Authorization, Content-Type, Last-Event-ID"
_CORS_METHODS = "GET, POST, PUT, DELETE"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def install(app: web.Application, options: HttpSettings) -> None:
    """Adds the error and guard middlewares and the response headers to ``app``."""
    guard = _Guard(options)
    app.middlewares.append(_errors)
    app.middlewares.append(guard.middleware)
    app.on_response_prepare.append(guard.headers)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as problem:
        return problem_response(problem)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        allow = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        detail = f"{error.reason}: {request.method} {request.path}"
        return problem_response(Problem(error.status, detail), allow)
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return problem_response(Problem(500, "the server failed on this request; see its log"))


class _Guard:
    def __init__(self, options: HttpSettings) -> None:
        self._options = options
        self._wildcard = _is_wildcard(options.host)
        bound = options.host.casefold().removeprefix("[").removesuffix("]")
        self._bound = bound

    def _host_allowed(self, request: web.Request) -> bool:
        if self._wildcard:
            return True
        host = _host_name(request.host)
        return host == self._bound or is_loopback(host)

    def _token_ok(self, request: web.Request) -> bool:
        expected = self._options.token
        if expected is None or request.path in _OPEN_PATHS:
            return True
        authorization = request.headers.get("Authorization", "")
        offered = [
            authorization[7:] if authorization[:7].lower() == "bearer " else "",
            request.cookies.get(_COOKIE, ""),
            request.query.get("token", ""),
        ]
        return any(
            hmac.compare_digest(item.encode(), expected.encode()) for item in offered if item
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self._host_allowed(request):
            raise Problem(403, "this Host is not the address the server listens on", field="Host")
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS":
            if origin is None or origin not in self._options.cors_origins:
                raise Problem(403, "CORS is off for this origin; see --cors-origin", field="Origin")
            return web.Response(status=204)
        if not self._token_ok(request):
            raise Problem(
                401,
                "this server needs its token (Authorization: Bearer ...)",
                field="Authorization",
            )
        if (
            request.method not in _SAFE_METHODS
            and origin is not None
            and origin != f"{request.scheme}://{request.host}"
            and origin not in self._options.cors_origins
        ):
            raise Problem(
                403, "a page of another origin may not change this server", field="Origin"
            )
        response = await handler(request)
        token = request.query.get("token")
        if token and self._options.token is not None and not response.prepared:
            # Checked above; a browser keeps it (an EventSource cannot send headers).
            response.set_cookie(_COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response

    async def headers(self, request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", _API_POLICY)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        headers.setdefault("Cache-Control", "no-store")
        origin = request.headers.get("Origin")
        if origin is not None and origin in self._options.cors_origins:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Vary"] = "Origin"
            headers["Access-Control-Expose-Headers"] = "Location"
            if request.method == "OPTIONS":
                headers["Access-Control-Allow-Methods"] = _CORS_METHODS
                headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
                headers["Access-Control-Max-Age"] = "600"


def _host_name(host: str) -> str:
    """``Host`` without its port: ``[::1]:80`` → ``::1``, ``example:80`` → ``example``."""
    host = host.strip().casefold()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False
