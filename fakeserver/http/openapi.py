"""The OpenAPI 3.1 document served at ``/api/v1/openapi.json``.

Written here as data, independently of the route table, so that the test comparing the two
(``tests/http/test_openapi.py``) can fail: every route must be documented, and every documented
path must be served. The operations of one fake are written once and documented under both
``/api/v1`` and ``/api/v1/sandboxes/{sandbox}``.
"""

from __future__ import annotations

import functools
from typing import Any

from fakeserver.http.schemas import SCHEMAS

__all__ = ["document"]

_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(description: str, schema: dict[str, Any] | None = None, media: str = _JSON) -> Any:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {media: {"schema": schema}}}


_PROBLEM = _answer("a problem (RFC 9457)", _ref("Problem"), "application/problem+json")
_TEXT = {"type": "string"}


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": kind}}


def _path(name: str, kind: str = "integer") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


_FILTERS = [
    _query("to", "a recipient contains this (any case)"),
    _query("from", "the MAIL FROM address contains this"),
    _query("subject", "the Subject contains this"),
    _query("user", "the AUTH user, exactly (any case)"),
    _query("q", "the sender, a recipient or the Subject contains this"),
    _query("after", "only ids above this one (a cursor)", "integer"),
    _query("limit", "at most this many, oldest first", "integer"),
]
_WAIT = [
    _query("count", "how many to wait for (default 1)", "integer"),
    _query("timeout_s", "seconds to wait, 0 to 120 (default 10)", "number"),
]


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    parameters: list[Any] | None = None,
    body: str | None = None,
    status: str = "200",
    also: tuple[str, ...] = (),
) -> Any:
    operation: dict[str, Any] = {"summary": summary, "responses": {status: ok, "default": _PROBLEM}}
    for code in also:
        operation["responses"][code] = _PROBLEM
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {_JSON: {"schema": _ref(body)}}}
    return operation


def _list(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "next_after": {"type": "integer"},
        },
        "required": ["items", "next_after"],
    }


_ID = _path("id")
_NONE = _answer("done")

_PER_FAKE: dict[str, dict[str, Any]] = {
    "/messages": {
        "get": _op(
            "Captured messages, oldest first",
            _answer("the messages", _list("MessageSummary")),
            parameters=_FILTERS,
        ),
        "delete": _op("Forget every captured message", _NONE, status="204"),
    },
    "/messages/wait": {
        "get": _op(
            "Wait until `count` matching messages with an id above `after` exist",
            _answer("they arrived", _list("MessageSummary")),
            parameters=_FILTERS + _WAIT,
            also=("408",),
        ),
    },
    "/messages/{id}": {
        "get": _op("One message", _answer("the message", _ref("Message")), parameters=[_ID])
    },
    "/messages/{id}/raw": {
        "get": _op(
            "The exact bytes received",
            _answer("the message", _TEXT, "message/rfc822"),
            parameters=[_ID],
        )
    },
    "/messages/{id}/html": {
        "get": _op(
            "The HTML body, under a CSP that forbids script",
            _answer("HTML", _TEXT, "text/html"),
            parameters=[_ID],
        )
    },
    "/messages/{id}/text": {
        "get": _op("The text body", _answer("text", _TEXT, "text/plain"), parameters=[_ID])
    },
    "/messages/{id}/parts/{part}": {
        "get": _op(
            "One MIME part, decoded, as a download",
            _answer("the part", _TEXT, "application/octet-stream"),
            parameters=[_ID, _path("part")],
        )
    },
    "/messages/{id}/transcript": {
        "get": _op(
            "The conversation that carried the message (AUTH redacted)",
            _answer("a transcript; JSON with Accept: application/json", _TEXT, "text/plain"),
            parameters=[_ID],
        )
    },
    "/sessions": {
        "get": _op(
            "Every connection, closed first, then open ones",
            _answer("the sessions", _list("Session")),
            parameters=[_FILTERS[5], _FILTERS[6]],
        )
    },
    "/sessions/wait": {
        "get": _op(
            "Wait until `count` connections with an id above `after` have closed",
            _answer("they closed", _list("Session")),
            parameters=[_FILTERS[5], *_WAIT],
            also=("408",),
        )
    },
    "/sessions/{id}": {
        "get": _op("One connection", _answer("the session", _ref("Session")), parameters=[_ID])
    },
    "/sessions/{id}/transcript": {
        "get": _op(
            "A connection's conversation (AUTH redacted)",
            _answer("a transcript; JSON with Accept: application/json", _TEXT, "text/plain"),
            parameters=[_ID],
        )
    },
    "/events": {
        "get": _op(
            "Server-Sent Events: message, session.open, session.close, fault, "
            "script.changed, reset, gap",
            _answer("an event stream", _TEXT, "text/event-stream"),
            parameters=[
                _query("after", "replay events after this id (or send Last-Event-ID)", "integer")
            ],
        )
    },
    "/script": {
        "get": _op("The script's rules and their counters", _answer("the script", _ref("Script"))),
        "put": _op(
            "Replace the whole script", _answer("the script", _ref("Script")), body="ScriptRequest"
        ),
        "delete": _op("Remove every rule", _NONE, status="204"),
    },
    "/script/rules": {
        "post": _op(
            "Add a rule (a scenario [[step]] table as JSON) or an array of them",
            _answer(
                "the rules added",
                {
                    "type": "object",
                    "properties": {"rules": {"type": "array", "items": _ref("Rule")}},
                },
            ),
            body="RuleRequest",
            status="201",
        )
    },
    "/script/rules/{rule}": {
        "delete": _op("Remove one rule", _NONE, parameters=[_path("rule")], status="204")
    },
    "/reset": {
        "post": _op(
            "Drop connections; forget messages, sessions and the script", _NONE, status="204"
        )
    },
    "/check": {
        "get": _op(
            "What a test would fail on at teardown",
            _answer("nothing", _ref("Check")),
            also=("409",),
        )
    },
}

_SANDBOX = _path("sandbox", "string")

_GLOBAL: dict[str, dict[str, Any]] = {
    "/": {"get": _op("The web inbox", _answer("a page", _TEXT, "text/html"))},
    "/static/{name}": {
        "get": _op(
            "The inbox's script and style",
            _answer("a file", _TEXT, "text/plain"),
            parameters=[_path("name", "string")],
        )
    },
    "/healthz": {"get": _op("The process is alive", _answer("alive", {"type": "object"}))},
    "/readyz": {
        "get": _op(
            "The SMTP listeners and the API are up",
            _answer("ready", {"type": "object"}),
            also=("503",),
        )
    },
    "/api/v1/openapi.json": {
        "get": _op("This document", _answer("OpenAPI 3.1", {"type": "object"}))
    },
    "/api/v1/ca.pem": {
        "get": _op(
            "The CA every fake's certificate chains to",
            _answer("PEM", _TEXT, "application/x-pem-file"),
        )
    },
    "/api/v1/sandboxes": {
        "get": _op(
            "Running sandboxes",
            _answer(
                "the sandboxes",
                {
                    "type": "object",
                    "properties": {"items": {"type": "array", "items": _ref("Sandbox")}},
                },
            ),
        ),
        "post": _op(
            "Start an isolated fake with its own ports (same CA)",
            _answer("started", _ref("Sandbox")),
            body="SandboxRequest",
            status="201",
            also=("503",),
        ),
    },
    "/api/v1/sandboxes/{sandbox}": {
        "get": _op("One sandbox", _answer("the sandbox", _ref("Sandbox")), parameters=[_SANDBOX]),
        "delete": _op(
            "Stop a sandbox; answers its final check",
            _answer("stopped", _ref("Check")),
            parameters=[_SANDBOX],
        ),
    },
}


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    paths = dict(_GLOBAL)
    for path, operations in _PER_FAKE.items():
        paths[f"/api/v1{path}"] = operations
        paths[f"/api/v1/sandboxes/{{sandbox}}{path}"] = {
            method: operation | {"parameters": [_SANDBOX, *operation.get("parameters", [])]}
            for method, operation in operations.items()
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smtprig",
            "version": "1",
            "description": "A fake Gmail for tests: captured mail, sessions, scripted "
            "faults, sandboxes.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
    }
