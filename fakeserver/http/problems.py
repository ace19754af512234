"""Errors as ``application/problem+json`` (RFC 9457), naming what was wrong.

A handler raises :class:`Problem`; the error middleware (:mod:`fakeserver.http.security`)
turns it, and any other failure, into a problem document. A query parameter at fault is named
in ``field``; a value in a JSON body in ``pointer`` (RFC 6901).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aiohttp import web

from fakeserver.jsontext import json_text

__all__ = ["PROBLEM_JSON", "Problem", "problem_response"]

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An HTTP error with a body that explains it.

    Args:
        status: the HTTP status.
        detail: what went wrong and what to do instead.
        field: the query parameter or header at fault.
        pointer: the JSON pointer of the value at fault in the request body.
        extra: more members for the document (what did arrive, on a timed-out wait).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        pointer: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.pointer = pointer
        self.extra = extra or {}

    def document(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field is not None:
            body["field"] = self.field
        if self.pointer is not None:
            body["pointer"] = self.pointer
        return body | self.extra


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> web.Response:
    """The response for ``problem``."""
    return web.Response(
        status=problem.status,
        text=json_text(problem.document(), default=str),
        content_type=PROBLEM_JSON,
        headers=headers,
    )
