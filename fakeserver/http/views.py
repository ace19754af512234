"""The JSON the API answers with: messages, sessions, transcripts, rules.

One function per shape, so the OpenAPI document (:mod:`fakeserver.http.openapi`), the
handlers and the event stream agree. Times are RFC 3339 strings in UTC. No shape carries an
AUTH secret: session facts name the mechanism and the user, never a password or token, and
transcripts were redacted before they were recorded.
"""

from __future__ import annotations

import datetime
from typing import Any

from client.transcript.model import Comment, Event, Line, Transcript
from client.transcript.text import format_line
from fakeserver.http import mime
from fakeserver.http.records import RuleEntry
from fakeserver.session.records import (
    CapturedMessage,
    EndReason,
    SessionInfo,
    SessionRecord,
)

__all__ = [
    "message_detail",
    "message_summary",
    "rule",
    "session",
    "timestamp",
    "transcript_entries",
]


def timestamp(unix_s: float | None) -> str | None:
    """``2026-12-01T20:10:48.123456Z``, or None."""
    if unix_s is None:
        return None
    moment = datetime.datetime.fromtimestamp(unix_s, datetime.UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def message_summary(message: CapturedMessage) -> dict[str, Any]:
    """What the message list shows of one message."""
    info = message.session
    return {
        "id": message.id,
        "session": info.connection_id,
        "session_id": info.session_id,
        "mail_from": message.mail_from,
        "recipients": list(message.recipients),
        "subject": message.subject,
        "size": len(message.raw),
        "received_at": timestamp(message.received_at),
        "listener": info.listener.value,
        "tls_version": info.tls_version,
        "user": info.user,
        "auth_mechanism": info.auth_mechanism,
    }


def message_detail(message: CapturedMessage, base: str) -> dict[str, Any]:
    """Everything about one message; ``base`` is the API prefix for its links."""
    parsed = message.message
    parts = mime.parts(parsed)
    link = f"{base}/messages/{message.id}"
    return message_summary(message) | {
        "envelope": {
            "mail_from": message.mail_from,
            "recipients": list(message.recipients),
            "mail_options": list(message.envelope.mail_options),
        },
        "headers": [{"name": name, "value": value} for name, value in mime.headers(parsed)],
        "text": mime.body(parsed, "plain"),
        "html": mime.body(parsed, "html"),
        "parts": [_part(item, link) for item in parts],
        "attachments": [
            _part(item, link)
            for item in parts
            if item.disposition == "attachment" or (item.filename and item.size)
        ],
        "session_facts": _facts(message.session),
        "links": {
            "raw": f"{link}/raw",
            "html": f"{link}/html",
            "text": f"{link}/text",
            "transcript": f"{link}/transcript",
            "session": f"{base}/sessions/{message.session.connection_id}",
        },
    }


def _part(item: mime.Part, link: str) -> dict[str, Any]:
    return {
        "part": item.number,
        "content_type": item.content_type,
        "filename": item.filename,
        "disposition": item.disposition,
        "size": item.size,
        "url": f"{link}/parts/{item.number}",
    }


def _facts(info: SessionInfo) -> dict[str, Any]:
    return {
        "session": info.connection_id,
        "session_id": info.session_id,
        "listener": info.listener.value,
        "peer": {"host": info.peer[0], "port": info.peer[1]},
        "helo_name": info.helo_name,
        "tls_version": info.tls_version,
        "tls_cipher": info.tls_cipher,
        "user": info.user,
        "auth_mechanism": info.auth_mechanism,
        "started_at": timestamp(info.started_at),
    }


def session(record: SessionRecord) -> dict[str, Any]:
    """One connection: facts, commands, reply codes, what EHLO offered, how it ended."""
    facts = _facts(record.info)
    del facts["session"]  # it is this session's id
    return (
        {"id": record.info.connection_id}
        | facts
        | {
            "state": "open" if record.open else "closed",
            "ended_at": timestamp(record.ended_at),
            "end": record.ended.value if record.ended is not None else None,
            "end_detail": record.end_detail,
            "commands": list(record.commands),
            "reply_codes": list(record.reply_codes),
            "last_reply_code": record.last_reply_code,
            "offered": sorted(record.offered),
            "pipelined": record.pipelined,
            "messages": record.messages,
            "faults": list(record.faults),
            "failed": _failed(record),
            "summary": record.describe(),
        }
    )


def _failed(record: SessionRecord) -> bool:
    """Ended without delivering what it tried: a 4xx/5xx last reply, a fault, a failed TLS
    handshake, or a drop after a refusal (what a person looking for the failed connection
    looks for)."""
    if record.open:
        return False
    refused = any(code >= 400 for code in record.reply_codes)
    cut_short = record.ended in (EndReason.IDLE_TIMEOUT, EndReason.TLS_FAILED)
    return bool(record.faults) or (refused and record.messages == 0) or cut_short


def transcript_entries(transcript: Transcript) -> dict[str, Any]:
    """A transcript as JSON: its header fields, then one entry per line or event.

    A line's ``text`` is written as in the transcript format (``format_line`` without its
    ``C: `` prefix), with ``exact`` False when it needed escapes (bare LF, partial write...).
    """
    entries: list[dict[str, Any]] = []
    for entry in transcript.entries:
        if isinstance(entry, Event):
            entries.append(
                {"type": "event", "kind": entry.kind, "detail": entry.detail, "at": entry.elapsed_s}
            )
        elif isinstance(entry, Comment):
            entries.append({"type": "comment", "text": entry.text})
        else:
            written = format_line(Line(entry.direction, entry.data))  # untimed: `at` has it
            entries.append(
                {
                    "type": "line",
                    "direction": entry.direction.value,
                    "text": written[3:],
                    "exact": written[1] == ":",
                    "at": entry.elapsed_s,
                }
            )
    return {"headers": dict(transcript.headers), "entries": entries}


def rule(entry: RuleEntry) -> dict[str, Any]:
    """A script rule and its counters, summed over the steps it names."""
    steps: list[dict[str, Any]] = [
        {
            "step": expectation.step.value,
            "description": expectation.description,
            "seen": expectation.seen,
            "used": expectation.used,
            "unmet": expectation.unmet,
        }
        for expectation in entry.expectations
    ]
    return {
        "id": entry.id,
        "rule": entry.spec,
        "description": "; ".join(step["description"] for step in steps),
        "seen": sum(step["seen"] for step in steps),
        "used": sum(step["used"] for step in steps),
        "unmet": any(step["unmet"] for step in steps),
        "steps": steps,
    }
