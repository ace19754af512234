"""The OpenAPI document against the routes the server really answers: every route documented,
every documented route served (what MailHog's and Mailpit's specs lacked)."""

from __future__ import annotations

import re

from fakeserver.http.openapi import document
from fakeserver.server.fake import FakeGmail
from tests.http.httpkit import Api

Fake = tuple[FakeGmail, Api]


def _served(gmail: FakeGmail) -> set[tuple[str, str]]:
    from fakeserver.http.service import HttpService, build_app

    assert isinstance(gmail.http, HttpService)
    app = build_app(gmail.http)
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        assert isinstance(path, str)
        # aiohttp writes a typed parameter as {id:\d+}; the document as {id}.
        routes.add((route.method.lower(), re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)))
    return routes


def _documented(spec: dict[str, object]) -> set[tuple[str, str]]:
    paths = spec["paths"]
    assert isinstance(paths, dict)
    return {(method, path) for path, operations in paths.items() for method in operations}


def test_every_route_is_documented_and_every_documented_route_served(fake: Fake) -> None:
    gmail, api = fake
    served = _served(gmail)
    spec = api.get("/api/v1/openapi.json").json

    assert sorted(served - _documented(spec)) == []  # served, not documented
    assert sorted(_documented(spec) - served) == []  # documented, not served
    assert spec == document()
    assert len(served) > 50


def test_the_document_is_openapi_3_1_with_every_reference_defined(fake: Fake) -> None:
    _, api = fake
    spec = api.get("/api/v1/openapi.json").json
    text = api.get("/api/v1/openapi.json").text

    assert spec["openapi"] == "3.1.0"
    for name in set(re.findall(r'"#/components/schemas/(\w+)"', text)):
        assert name in spec["components"]["schemas"], name
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"], (method, path)
            parameters = {item["name"] for item in operation.get("parameters", [])}
            for name in re.findall(r"\{(\w+)\}", path):
                assert name in parameters, (method, path, name)


def test_every_documented_query_parameter_is_accepted_and_others_are_not(fake: Fake) -> None:
    _, api = fake
    spec = api.get("/api/v1/openapi.json").json
    for path in ("/api/v1/messages", "/api/v1/messages/wait", "/api/v1/sessions"):
        operation = spec["paths"][path]["get"]
        names = [item["name"] for item in operation.get("parameters", [])]
        values = {"count": "0", "timeout_s": "0", "after": "0", "limit": "1"}
        query = "&".join(f"{name}={values.get(name, 'x')}" for name in names if name != "count")
        answer = api.get(f"{path}?{query}")
        assert answer.status in (200, 408), (path, answer.text)  # 408: a wait with timeout 0
        assert api.get(f"{path}?undocumented=1").json["field"] == "undocumented"
