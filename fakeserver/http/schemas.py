"""The component schemas of the OpenAPI document: the shapes :mod:`fakeserver.http.views`
answers with, and the request bodies."""

from __future__ import annotations

from typing import Any

from fakeserver.session.records import EndReason

__all__ = ["SCHEMAS"]

_TEXT = {"type": "string"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_NULLABLE_TEXT = {"type": ["string", "null"]}
SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["title", "status", "detail"],
        "properties": {
            "type": _TEXT,
            "title": _TEXT,
            "status": {"type": "integer"},
            "detail": _TEXT,
            "field": {"type": "string", "description": "the query parameter or header at fault"},
            "pointer": {"type": "string", "description": "JSON pointer of the bad body value"},
        },
    },
    "MessageSummary": {
        "type": "object",
        "required": ["id", "session", "mail_from", "recipients"],
        "properties": {
            "id": {"type": "integer"},
            "session": {"type": "integer"},
            "session_id": _TEXT,
            "mail_from": _TEXT,
            "recipients": {"type": "array", "items": _TEXT},
            "subject": _TEXT,
            "size": {"type": "integer"},
            "received_at": {"type": "string", "format": "date-time"},
            "listener": _TEXT,
            "tls_version": _NULLABLE_TEXT,
            "user": _NULLABLE_TEXT,
            "auth_mechanism": _NULLABLE_TEXT,
        },
    },
    "Message": {
        "allOf": [
            _ref("MessageSummary"),
            {
                "type": "object",
                "properties": {
                    "envelope": {"type": "object"},
                    "headers": {"type": "array", "items": {"type": "object"}},
                    "text": _NULLABLE_TEXT,
                    "html": _NULLABLE_TEXT,
                    "parts": {"type": "array"},
                    "attachments": {"type": "array"},
                    "session_facts": {"type": "object"},
                    "links": {"type": "object"},
                },
            },
        ]
    },
    "Session": {
        "type": "object",
        "required": ["id", "state", "commands", "reply_codes"],
        "properties": {
            "id": {"type": "integer"},
            "session_id": _TEXT,
            "state": {"enum": ["open", "closed"]},
            "end": {
                "enum": [*(reason.value for reason in EndReason), None],
                "description": "how the connection ended; null while it is open",
            },
            "end_detail": {
                **_NULLABLE_TEXT,
                "description": "what end leaves out: why a TLS handshake failed, or a hint when"
                " the client left as soon as TLS was up",
            },
            "commands": {"type": "array", "items": _TEXT},
            "reply_codes": {"type": "array", "items": {"type": "integer"}},
            "offered": {"type": "array", "items": _TEXT},
            "tls_version": _NULLABLE_TEXT,
            "tls_cipher": _NULLABLE_TEXT,
            "user": _NULLABLE_TEXT,
            "auth_mechanism": _NULLABLE_TEXT,
            "faults": {"type": "array", "items": _TEXT},
            "failed": {"type": "boolean"},
            "summary": _TEXT,
        },
    },
    "Rule": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "rule": {"type": ["object", "null"]},
            "description": _TEXT,
            "seen": {"type": "integer"},
            "used": {"type": "integer"},
            "unmet": {"type": "boolean"},
        },
    },
    "RuleSpec": {
        "type": "object",
        "description": "a scenario file's [[step]] table as JSON",
        "required": ["on"],
        "properties": {
            "on": {"oneOf": [_TEXT, {"type": "array", "items": _TEXT}]},
            "times": {"type": "integer"},
            "nth": {"type": "integer"},
            "matching": _TEXT,
            "probability": {"type": "number"},
            "reply": {"oneOf": [_TEXT, {"type": "object"}]},
            "replies": {"type": "array"},
            "faults": {"type": "array"},
        },
    },
    "RuleRequest": {"oneOf": [_ref("RuleSpec"), {"type": "array", "items": _ref("RuleSpec")}]},
    "Script": {
        "type": "object",
        "properties": {
            "seed": {"type": "integer"},
            "rules": {"type": "array", "items": _ref("Rule")},
        },
    },
    "ScriptRequest": {
        "type": "object",
        "properties": {
            "seed": {"type": "integer"},
            "rules": {"type": "array", "items": _ref("RuleSpec")},
        },
    },
    "Check": {
        "type": "object",
        "required": ["ok", "problems"],
        "properties": {"ok": {"type": "boolean"}, "problems": {"type": "array", "items": _TEXT}},
    },
    "Sandbox": {
        "type": "object",
        "required": ["id", "persona", "submission"],
        "properties": {
            "id": _TEXT,
            "persona": _TEXT,
            "smtps": {"type": "object"},
            "submission": {"type": "object"},
            "plain": {"type": "object"},
            "accounts": {"type": "array", "items": _TEXT},
            "ttl_s": {"type": "number"},
        },
    },
    "SandboxRequest": {
        "type": "object",
        "properties": {
            "seed": {"type": "integer"},
            "accounts": {"type": "array", "items": {"oneOf": [_TEXT, {"type": "object"}]}},
            "policy": {"type": "object"},
            "rules": {"type": "array", "items": _ref("RuleSpec")},
            "ttl_s": {"type": "number"},
            "idle_timeout_s": {"type": "number"},
            "plain_port": {"type": "boolean"},
        },
    },
}
