"""The routes that change a fake: its script, reset and check, and the sandboxes.

A rule is exactly a scenario file's ``[[step]]`` table written as JSON, checked by the
scenario parser with its messages; a refused rule answers 400 with the JSON pointer of the
bad value. A change takes effect from the fake's next decision.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from fakeserver.http import views
from fakeserver.http.context import API, json_response, path_id, service, source
from fakeserver.http.problems import Problem
from fakeserver.http.query import decode_json, known_only
from fakeserver.http.records import RuleEntry, RuleError
from fakeserver.http.source import Source

__all__ = ["ROUTES", "SANDBOX_ROUTES", "read_json"]


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; 415 unless it says it is JSON (which also makes a browser
    ask before a page of another origin can send it)."""
    known_only(request.query, ())
    if request.can_read_body and request.content_type != "application/json":
        raise Problem(415, "send the body as application/json", field="Content-Type")
    return decode_json(await request.text()) if request.can_read_body else None


def _script(fake: Source) -> dict[str, Any]:
    return {"seed": fake.gmail.script.seed, "rules": [views.rule(entry) for entry in fake.rules()]}


def _add(
    fake: Source,
    specs: list[Any],
    pointers: list[str],
    seed: int | None = None,
    *,
    replace: bool = False,
) -> list[RuleEntry]:
    try:
        if replace:
            return fake.replace_rules(specs, pointers, seed)
        return fake.add_rules(specs, pointers)
    except RuleError as error:
        raise Problem(400, error.problem, pointer=error.pointer) from error


async def get_script(request: web.Request) -> web.Response:
    known_only(request.query, ())
    return json_response(_script(source(request)))


async def put_script(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise Problem(400, 'the body is {"seed": 7, "rules": [...]}', pointer="")
    unknown = [key for key in body if key not in ("seed", "rules")]
    if unknown:
        raise Problem(400, f"unknown key {unknown[0]!r}; use seed, rules", pointer=f"/{unknown[0]}")
    seed, rules = body.get("seed"), body.get("rules", [])
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise Problem(400, "seed must be a whole number", pointer="/seed")
    if not isinstance(rules, list):
        raise Problem(400, "rules must be an array of rules", pointer="/rules")
    fake = source(request)
    _add(fake, rules, [f"/rules/{index}" for index in range(len(rules))], seed, replace=True)
    return json_response(_script(fake))


async def delete_script(request: web.Request) -> web.Response:
    known_only(request.query, ())
    source(request).clear_rules()
    return web.Response(status=204)


async def post_rules(request: web.Request) -> web.Response:
    body = await read_json(request)
    if isinstance(body, list):
        specs, pointers = body, [f"/{index}" for index in range(len(body))]
    else:
        specs, pointers = [body], [""]
    added = _add(source(request), specs, pointers)
    return json_response({"rules": [views.rule(entry) for entry in added]}, status=201)


async def delete_rule(request: web.Request) -> web.Response:
    known_only(request.query, ())
    if not source(request).remove_rule(path_id(request, "rule")):
        raise Problem(404, "no rule with this id", field="rule")
    return web.Response(status=204)


async def post_reset(request: web.Request) -> web.Response:
    await read_json(request)
    # Off the loop: a reset waits (bounded) for the SMTP thread to drop its connections.
    await asyncio.get_running_loop().run_in_executor(None, source(request).reset)
    return web.Response(status=204)


async def get_check(request: web.Request) -> web.Response:
    known_only(request.query, ())
    problems = source(request).problems()
    return json_response({"ok": not problems, "problems": problems}, 409 if problems else 200)


async def list_sandboxes(request: web.Request) -> web.Response:
    known_only(request.query, ())
    return json_response({"items": [box.describe() for box in service(request).sandboxes.all()]})


async def create_sandbox(request: web.Request) -> web.Response:
    body = await read_json(request)
    box = await service(request).sandboxes.create({} if body is None else body)
    return json_response(box.describe(), 201, {"Location": f"{API}/sandboxes/{box.id}"})


async def get_sandbox(request: web.Request) -> web.Response:
    known_only(request.query, ())
    sandboxes = service(request).sandboxes
    box = sandboxes.find(request.match_info["sandbox"])
    if box is None or sandboxes.get(box.id) is None:
        raise Problem(404, "no such sandbox (deleted, or expired)", field="sandbox")
    return json_response(box.describe())


async def delete_sandbox(request: web.Request) -> web.Response:
    known_only(request.query, ())
    name = request.match_info["sandbox"]
    problems = await service(request).sandboxes.delete(name)
    if problems is None:
        raise Problem(404, "no such sandbox (deleted, or expired)", field="sandbox")
    return json_response({"id": name, "ok": not problems, "problems": problems})


ROUTES = [
    ("GET", "/script", get_script),
    ("PUT", "/script", put_script),
    ("DELETE", "/script", delete_script),
    ("POST", "/script/rules", post_rules),
    ("DELETE", "/script/rules/{rule:[0-9]+}", delete_rule),
    ("POST", "/reset", post_reset),
    ("GET", "/check", get_check),
]
"""The routes of one fake that change or check it, relative to its prefix."""

SANDBOX_ROUTES = [
    ("GET", "/sandboxes", list_sandboxes),
    ("POST", "/sandboxes", create_sandbox),
    ("GET", "/sandboxes/{sandbox}", get_sandbox),
    ("DELETE", "/sandboxes/{sandbox}", delete_sandbox),
]
"""The sandbox routes, under ``/api/v1`` only."""
