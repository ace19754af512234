"""Personas: what a fake server says, as data.

A persona is a frozen :class:`Persona` loaded from a TOML file (``personas/gmail.toml`` is the
one shipped). It holds no SMTP logic: the rules that pick a reply live in
:mod:`fakeserver.session.rules`, which names replies by :class:`Situation`, never by code.

Invariants, checked when a persona is loaded so that a bad file fails at start-up with a
message that says what to change:

- every :class:`Situation` has exactly one reply, and the file names no other;
- every reply renders to valid RFC 5321 §4.2 reply lines: a three-digit code, an enhanced
  status code in RFC 3463 shape, ``-`` on every line but the last, and only the documented
  ``{fields}``. The status class is not forced to match the code's first digit, because
  Gmail's own catalogue breaks that rule (``454 5.5.1 STARTTLS may not be repeated.``).
"""

from __future__ import annotations

import enum
import random
import re
import string
import textwrap
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from fakeserver.errors import PersonaError

__all__ = ["FIELDS", "Persona", "ReplyTemplate", "Situation", "load_persona"]

FIELDS = frozenset(
    {"hostname", "session_id", "client_ip", "timestamp", "address", "argument", "size_limit"}
)
"""The ``{fields}`` a reply template may use."""

_T = TypeVar("_T")

_UNSAFE_ON_THE_WIRE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
"""Characters a reply never carries: controls (a bare CR or LF would end the reply line early)
and lone surrogates (undecodable client bytes, which cannot be encoded to send back)."""
_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


class Situation(enum.StrEnum):
    """Everything a persona must be able to say, named by what happened."""

    GREETING = "greeting"
    EHLO_BEFORE_TLS = "ehlo_before_tls"
    EHLO_AFTER_TLS = "ehlo_after_tls"
    HELO = "helo"
    HELO_EMPTY = "helo_empty"
    HELO_INVALID = "helo_invalid"
    EHLO_THROTTLED = "ehlo_throttled"
    STARTTLS_READY = "starttls_ready"
    STARTTLS_NOT_AVAILABLE = "starttls_not_available"
    NO_PARAMETERS_ALLOWED = "no_parameters_allowed"
    TLS_REQUIRED = "tls_required"
    AUTH_REQUIRED = "auth_required"
    AUTH_LOGIN_USERNAME = "auth_login_username"
    AUTH_LOGIN_PASSWORD = "auth_login_password"
    AUTH_EMPTY_CHALLENGE = "auth_empty_challenge"
    AUTH_TOKEN_ERROR = "auth_token_error"
    AUTH_ACCEPTED = "auth_accepted"
    BAD_CREDENTIALS = "bad_credentials"
    APP_PASSWORD_REQUIRED = "app_password_required"
    CANNOT_DECODE = "cannot_decode"
    UNRECOGNIZED_AUTH_TYPE = "unrecognized_auth_type"
    XOAUTH_UNSUPPORTED = "xoauth_unsupported"
    TOO_MANY_LOGINS = "too_many_logins"
    ALREADY_AUTHENTICATED = "already_authenticated"
    HELO_FIRST = "helo_first"
    MAIL_FIRST = "mail_first"
    RCPT_FIRST = "rcpt_first"
    NESTED_MAIL = "nested_mail"
    NO_DATA_AFTER_BDAT = "no_data_after_bdat"
    SYNTAX_ERROR = "syntax_error"
    LINE_TOO_LONG = "line_too_long"
    UNRECOGNIZED = "unrecognized"
    TOO_MANY_UNRECOGNIZED = "too_many_unrecognized"
    UNIMPLEMENTED = "unimplemented"
    SENDER_OK = "sender_ok"
    SENDER_INVALID = "sender_invalid"
    RECIPIENT_OK = "recipient_ok"
    RECIPIENT_INVALID = "recipient_invalid"
    TOO_MANY_RECIPIENTS = "too_many_recipients"
    MESSAGE_TOO_BIG = "message_too_big"
    GO_AHEAD = "go_ahead"
    MESSAGE_ACCEPTED = "message_accepted"
    CHUNK_ACCEPTED = "chunk_accepted"
    DAILY_QUOTA = "daily_quota"
    RATE_LIMITED = "rate_limited"
    BLOCKED_CONTENT = "blocked_content"
    SERVER_ERROR = "server_error"
    FLUSHED = "flushed"
    NOOP_OK = "noop_ok"
    HELP = "help"
    VRFY = "vrfy"
    CLOSING = "closing"
    IDLE_TIMEOUT = "idle_timeout"


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    """One reply of a persona.

    Attributes:
        code: the three-digit reply code.
        status: the enhanced status code (RFC 3463), or None where the persona sends none.
        paragraphs: the text; each paragraph is wrapped on its own, and one that starts with a
            space is kept verbatim (Gmail's help-URL lines).
        tagged: whether the persona's tag (Gmail: ``<session-id> - gsmtp``) ends the reply.
        closes: whether the server closes the connection after sending it.
        evidence: where this wording comes from, or what was chosen and why.
    """

    code: int
    status: str | None
    paragraphs: tuple[str, ...]
    tagged: bool
    closes: bool
    evidence: str

    @property
    def is_transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        return self.code >= 500


@dataclass(frozen=True, slots=True)
class Persona:
    """A server's identity and its whole reply catalogue.

    Attributes:
        name: short name (the TOML file's stem).
        description: one line for humans.
        hostname: the name the server gives itself in the greeting and EHLO.
        tag: the suffix of tagged replies, a template (Gmail: ``{session_id} - gsmtp``).
        wrap_width: the column at which reply text is wrapped.
        size_limit: the SIZE advertised in EHLO and enforced, in octets.
        max_recipients: RCPTs accepted per message.
        command_line_limit: longest command line accepted, CRLF included, in octets.
        sasl_response_limit: longest SASL response line (after a 334), CRLF included.
        session_id_pools: the server-pool prefixes session ids are drawn from.
        session_id_cells: the cell tags session ids end with.
        replies: the catalogue.
    """

    name: str
    description: str
    hostname: str
    tag: str
    wrap_width: int
    size_limit: int
    max_recipients: int
    command_line_limit: int
    sasl_response_limit: int
    session_id_pools: tuple[str, ...]
    session_id_cells: tuple[str, ...]
    replies: Mapping[Situation, ReplyTemplate]

    def render(self, situation: Situation, fields: Mapping[str, object]) -> bytes:
        """Renders the reply for ``situation`` as wire bytes, each line ending in CRLF.

        Args:
            situation: which reply.
            fields: values for the template's ``{fields}``; ``hostname`` and ``size_limit``
                default to the persona's own.

        Returns:
            The reply, ready to send.
        """
        return render_lines(self, self.replies[situation], fields)

    def new_session_id(self, rng: random.Random) -> str:
        """Mints a session id in Gmail's current shape from ``rng``.

        The shape is ``<pool>-<11 hex>sm<7-9 digits><cell>.<counter>``, e.g.
        ``ffacd0b85a97d-3b778f047afsm2210013f8f.39`` (replies.md §1, era C).
        """
        pool = rng.choice(self.session_id_pools)
        middle = f"{rng.getrandbits(44):011x}"
        digits = str(rng.randrange(10**6, 10**9))
        cell = rng.choice(self.session_id_cells)
        counter = rng.randrange(1, 200)
        return f"{pool}-{middle}sm{digits}{cell}.{counter}"


def render_lines(persona: Persona, template: ReplyTemplate, fields: Mapping[str, object]) -> bytes:
    """Renders ``template`` with ``fields`` in ``persona``'s house style (see the module doc)."""
    values: dict[str, object] = {"hostname": persona.hostname, "size_limit": persona.size_limit}
    values.update((name, _wire_safe(value)) for name, value in fields.items())
    text_lines: list[str] = []
    for paragraph in template.paragraphs:
        filled = paragraph.format_map(values)
        if filled.startswith(" ") or len(filled) <= persona.wrap_width:
            text_lines.append(filled)
        else:
            text_lines.extend(
                textwrap.wrap(
                    filled,
                    persona.wrap_width,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
    if template.tagged:
        tag = persona.tag.format_map(values)
        text_lines[-1] = f"{text_lines[-1]} {tag}" if text_lines[-1] else tag
    status = f"{template.status} " if template.status else ""
    last = len(text_lines) - 1
    return b"".join(
        f"{template.code}{' ' if index == last else '-'}{status}{text}\r\n".encode()
        for index, text in enumerate(text_lines)
    )


def load_persona(source: str | Path = "gmail") -> Persona:
    """Loads a persona by the name of a shipped one, or from a TOML file.

    Args:
        source: the name of a shipped persona (``"gmail"``, today's; ``"gmail-2024"``, as
            it answered until mid-2024), or a path to a TOML file in the same layout as
            ``fakeserver/personas/gmail.toml``. A file may start with
            ``extends = "gmail"`` and then give only what differs.

    Raises:
        PersonaError: the file is missing, is not valid TOML, or breaks an invariant of the
            module docstring; the message names the entry and what to change.
    """
    if isinstance(source, Path) or source.endswith(".toml"):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise PersonaError(str(path), f"cannot read it: {error.strerror}") from error
        origin = str(path)
    else:
        shipped = resources.files("fakeserver") / "personas" / f"{source}.toml"
        if not shipped.is_file():
            raise PersonaError(source, "no shipped persona has that name; try 'gmail'")
        text = shipped.read_text(encoding="utf-8")
        origin = f"personas/{source}.toml"
    return _build(origin, _resolve(origin, text, depth=0))


def _resolve(origin: str, text: str, *, depth: int) -> dict[str, Any]:
    """Parses a persona file and, if it ``extends`` another, lays it over that one."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PersonaError(origin, f"not valid TOML: {error}") from error
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    if not isinstance(base_name, str) or depth > 4:
        raise PersonaError(origin, "extends must name a shipped persona, at most 4 deep")
    base_file = resources.files("fakeserver") / "personas" / f"{base_name}.toml"
    if not base_file.is_file():
        raise PersonaError(origin, f"extends {base_name!r}, which is not a shipped persona")
    base = _resolve(f"personas/{base_name}.toml", base_file.read_text("utf-8"), depth=depth + 1)
    for table in ("persona", "session_id"):
        base.setdefault(table, {}).update(data.get(table, {}))
    replies = base.setdefault("replies", {})
    for key, entry in data.get("replies", {}).items():
        # An overlay entry changes only the fields it names.
        replies[key] = {**replies.get(key, {}), **entry}
    return base


def _build(origin: str, data: Mapping[str, Any]) -> Persona:
    table = _table(origin, data, "persona")
    ids = _table(origin, data, "session_id")
    replies_table = _table(origin, data, "replies")
    unknown = sorted(set(replies_table) - set(Situation))
    if unknown:
        known = sorted(str(situation) for situation in Situation)
        raise PersonaError(origin, f"unknown replies {unknown}; known: {known}")
    missing = sorted(str(situation) for situation in set(Situation) - set(replies_table))
    if missing:
        raise PersonaError(origin, f"replies missing for {missing}")
    persona = Persona(
        name=_get(origin, table, "name", str),
        description=_get(origin, table, "description", str),
        hostname=_get(origin, table, "hostname", str),
        tag=_get(origin, table, "tag", str),
        wrap_width=_get(origin, table, "wrap_width", int),
        size_limit=_get(origin, table, "size_limit", int),
        max_recipients=_get(origin, table, "max_recipients", int),
        command_line_limit=_get(origin, table, "command_line_limit", int),
        sasl_response_limit=_get(origin, table, "sasl_response_limit", int),
        session_id_pools=tuple(_get(origin, ids, "pools", list)),
        session_id_cells=tuple(_get(origin, ids, "cells", list)),
        replies={
            Situation(key): _reply(f"{origin} [replies.{key}]", entry)
            for key, entry in replies_table.items()
        },
    )
    _check_template_fields(origin, "persona.tag", persona.tag)
    for situation, template in persona.replies.items():
        try:
            render_lines(persona, template, dict.fromkeys(FIELDS, "x"))
        except (KeyError, ValueError, IndexError) as error:
            where = f"{origin} [replies.{situation}]"
            raise PersonaError(where, f"cannot render: {error}") from error
    return persona


def _reply(where: str, entry: Any) -> ReplyTemplate:
    if not isinstance(entry, dict):
        raise PersonaError(where, "must be a table with code, lines and evidence")
    allowed = {"code", "status", "lines", "tagged", "close", "evidence"}
    extra = sorted(set(entry) - allowed)
    if extra:
        raise PersonaError(where, f"unknown keys {extra}; allowed: {sorted(allowed)}")
    code = _get(where, entry, "code", int)
    if not 200 <= code <= 599:
        raise PersonaError(where, f"code {code} is not a reply code (200-599)")
    status = entry.get("status")
    if status is not None and (not isinstance(status, str) or not _STATUS.fullmatch(status)):
        raise PersonaError(where, f"status {status!r} is not an RFC 3463 code like '5.7.8'")
    lines = _get(where, entry, "lines", list)
    if not lines or not all(isinstance(line, str) for line in lines):
        raise PersonaError(where, "lines must be a non-empty list of strings")
    for line in lines:
        _check_template_fields(where, "lines", line)
        if "\r" in line or "\n" in line:
            raise PersonaError(where, "a line may not contain CR or LF; add another line")
    return ReplyTemplate(
        code=code,
        status=status,
        paragraphs=tuple(lines),
        tagged=_get(where, entry, "tagged", bool, default=True),
        closes=_get(where, entry, "close", bool, default=False),
        evidence=_get(where, entry, "evidence", str),
    )


def _check_template_fields(where: str, key: str, template: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise PersonaError(where, f"{key}: {error} in {template!r}") from error
    unknown = sorted(names - FIELDS)
    if unknown:
        raise PersonaError(where, f"{key}: unknown fields {unknown}; allowed: {sorted(FIELDS)}")


def _table(origin: str, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise PersonaError(origin, f"missing the [{key}] table")
    return value


def _get(
    where: str, table: Mapping[str, Any], key: str, kind: type[_T], default: _T | None = None
) -> _T:
    value = table.get(key, default)
    if value is None:
        raise PersonaError(where, f"missing {key!r}")
    # bool is an int subclass; a code of `true` must not pass as 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PersonaError(where, f"{key!r} must be {kind.__name__}, not {type(value).__name__}")
    return value


def _wire_safe(value: object) -> object:
    """Replaces what a client sent that cannot go back on the wire in a reply with ``?``."""
    if isinstance(value, str) and not value.isprintable():  # controls and surrogates are not
        return _UNSAFE_ON_THE_WIRE.sub("?", value)
    return value
