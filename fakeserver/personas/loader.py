"""Loading a persona from its TOML file, and refusing a file that cannot work.

Invariants, checked when a persona is loaded so that a bad file fails at start-up with a
message that says what to change:

- ``[replies]`` names only :class:`~fakeserver.personas.model.Situation` s, and has every one
  of :func:`~fakeserver.personas.required.required_situations` (the others may be absent: the
  provider has no evidence for them);
- every reply has a ``grade`` (:class:`~fakeserver.personas.model.Grade`) beside its
  ``evidence``, and renders to valid RFC 5321 §4.2 reply lines: a three-digit code, an enhanced
  status code in RFC 3463 shape, ``-`` on every line but the last, only the documented
  ``{fields}`` and the persona's identifiers, and no line past 512 octets (§4.5.3.1.5) with
  short values in its fields. The status class is not forced to match the code's first digit,
  because Gmail's own catalogue breaks that rule (``454 5.5.1 STARTTLS may not be
  repeated.``);
- the ``[behaviour]`` table gives every setting, with the right type; ``listeners`` names
  known ports, ``auth_mechanisms`` mechanisms the fake can judge;
- ``[identifiers]`` has a ``session_id`` among its ``session`` shapes, and every shape reads
  (:mod:`fakeserver.personas.identifiers`).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import string
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from fakeserver.errors import PersonaError
from fakeserver.personas.identifiers import Identifiers, Scope, Shape, ShapeError
from fakeserver.personas.model import (
    FIELDS,
    HELO_ARGUMENT_RULES,
    MECHANISMS,
    REPLY_LINE_LIMIT,
    Behaviour,
    Grade,
    Listener,
    Persona,
    ReplyTemplate,
    Situation,
    render_lines,
)
from fakeserver.personas.required import required_situations

__all__ = ["load_persona", "shipped_personas"]

_T = TypeVar("_T")
_STATUS = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}")  # ASCII digits: \d takes any script's
_NAME = re.compile(r"[a-z][a-z0-9_]*")
# Tables an ``extends`` overlay merges key by key into its base.
_MERGED_TABLES = ("persona", "behaviour")
_REPLY_KEYS = frozenset({"code", "status", "lines", "tagged", "close", "evidence", "grade"})


def shipped_personas() -> list[str]:
    """The names of the personas shipped with smtprig, in order."""
    folder = resources.files("fakeserver.personas")
    return sorted(
        item.name[: -len(".toml")] for item in folder.iterdir() if item.name.endswith(".toml")
    )


def load_persona(source: str | Path = "gmail") -> Persona:
    """Loads a persona by the name of a shipped one, or from a TOML file.

    Args:
        source: the name of a shipped persona (``"gmail"``, today's; ``"gmail-2024"``, as
            it answered until mid-2024; ``"office365"``, ``"ses"``, ``"sendgrid"``), or a path
            to a TOML file in the same layout as ``fakeserver/personas/gmail.toml``. A file
            may start with ``extends = "gmail"`` and then give only what differs.

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
        return _build(str(path), _resolve(str(path), text, depth=0))
    return _load_shipped(source)


@functools.lru_cache(maxsize=16)
def _load_shipped(name: str) -> Persona:
    # Shipped personas never change while the process runs, and every server start (every
    # test that starts its own) would parse one again.
    shipped = resources.files("fakeserver.personas") / f"{name}.toml"
    if not shipped.is_file():
        raise PersonaError(
            name, f"no shipped persona has that name; use one of {shipped_personas()}"
        )
    origin = f"personas/{name}.toml"
    return _build(origin, _resolve(origin, shipped.read_text(encoding="utf-8"), depth=0))


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
    base_file = resources.files("fakeserver.personas") / f"{base_name}.toml"
    if not base_file.is_file():
        raise PersonaError(origin, f"extends {base_name!r}, which is not a shipped persona")
    base = _resolve(f"personas/{base_name}.toml", base_file.read_text("utf-8"), depth=depth + 1)
    for table in _MERGED_TABLES:
        base.setdefault(table, {}).update(data.get(table, {}))
    identifiers = base.setdefault("identifiers", {})
    for scope, shapes in data.get("identifiers", {}).items():
        identifiers.setdefault(scope, {}).update(shapes)
    for key in set(data) - {*_MERGED_TABLES, "identifiers", "replies"}:
        base[key] = data[key]  # not a persona table: _build names it
    replies = base.setdefault("replies", {})
    for key, entry in data.get("replies", {}).items():
        # An overlay entry changes only the fields it names.
        replies[key] = {**replies.get(key, {}), **entry}
    return base


def _build(origin: str, data: Mapping[str, Any]) -> Persona:
    table = _table(origin, data, "persona")
    unknown_tables = sorted(set(data) - {*_MERGED_TABLES, "identifiers", "replies"})
    if unknown_tables:
        raise PersonaError(origin, f"unknown tables {unknown_tables}")
    listeners = _listeners(origin, _get(origin, table, "listeners", list))
    behaviour = _behaviour(f"{origin} [behaviour]", _table(origin, data, "behaviour"))
    mechanisms = _mechanisms(origin, table)
    identifiers = _identifiers(f"{origin} [identifiers]", _table(origin, data, "identifiers"))
    tag = _get(origin, table, "tag", str)
    tagged_by_default = _get(origin, table, "tagged_by_default", bool, default=True)
    allowed_fields = FIELDS | identifiers.names
    _check_template_fields(origin, "persona.tag", tag, allowed_fields)
    tag_fields = _fields_of(tag)

    def reply(where: str, entry: Any) -> ReplyTemplate:
        template = _reply(where, entry, allowed_fields, tagged_by_default)
        used = set().union(*map(_fields_of, template.paragraphs))
        return dataclasses.replace(
            template, fields=frozenset(used | (tag_fields if template.tagged and tag else set()))
        )

    replies_table = _table(origin, data, "replies")
    unknown = sorted(set(replies_table) - set(Situation))
    if unknown:
        known = sorted(str(situation) for situation in Situation)
        raise PersonaError(origin, f"unknown replies {unknown}; known: {known}")
    required = required_situations(listeners, behaviour, mechanisms)
    missing = sorted(str(situation) for situation in required - set(replies_table))
    if missing:
        raise PersonaError(origin, f"replies missing for {missing}")
    persona = Persona(
        name=_get(origin, table, "name", str),
        description=_get(origin, table, "description", str),
        hostname=_get(origin, table, "hostname", str),
        tag=tag,
        wrap_width=_get(origin, table, "wrap_width", int),
        size_limit=_get(origin, table, "size_limit", int),
        max_recipients=_get(origin, table, "max_recipients", int),
        command_line_limit=_get(origin, table, "command_line_limit", int),
        sasl_response_limit=_get(origin, table, "sasl_response_limit", int),
        listeners=listeners,
        behaviour=behaviour,
        auth_mechanisms=mechanisms,
        retired_mechanisms=tuple(_get(origin, table, "retired_auth_mechanisms", list, [])),
        identifiers=identifiers,
        replies={
            Situation(key): reply(f"{origin} [replies.{key}]", entry)
            for key, entry in replies_table.items()
        },
        evidence=_get(origin, table, "evidence", str),
    )
    sample = dict.fromkeys(allowed_fields, "x")
    for situation, template in persona.replies.items():
        where = f"{origin} [replies.{situation}]"
        try:
            rendered = render_lines(persona, template, sample, cut=False)
        except (KeyError, ValueError, IndexError) as error:
            raise PersonaError(where, f"cannot render: {error}") from error
        longest = max(len(line) for line in rendered.splitlines(keepends=True))
        if longest > REPLY_LINE_LIMIT:
            raise PersonaError(
                where,
                f"a line renders to {longest} octets, past the {REPLY_LINE_LIMIT} of RFC 5321 "
                "§4.5.3.1.5 (CRLF included); split it into more lines",
            )
    return persona


def _mechanisms(origin: str, table: Mapping[str, Any]) -> tuple[str, ...]:
    names = _get(origin, table, "auth_mechanisms", list)
    if not names or not all(name in MECHANISMS for name in names):
        raise PersonaError(
            origin, f"persona.auth_mechanisms must name some of {list(MECHANISMS)}, not {names}"
        )
    return tuple(names)


def _identifiers(where: str, table: Mapping[str, Any]) -> Identifiers:
    extra = sorted(set(table) - {*map(str, Scope), "lists"})
    if extra:
        raise PersonaError(where, f"unknown tables {extra}; use session, message and lists")
    lists_table = table.get("lists", {})
    if not isinstance(lists_table, dict) or not all(
        isinstance(items, list) and items for items in lists_table.values()
    ):
        raise PersonaError(f"{where}.lists", "each list must be a non-empty array")
    lists = {
        name: tuple(tuple(item) if isinstance(item, list) else item for item in items)
        for name, items in lists_table.items()
    }
    shapes: list[Shape] = []
    for scope in Scope:
        for name, source in table.get(scope.value, {}).items():
            if not isinstance(source, str) or not _NAME.fullmatch(name):
                raise PersonaError(f"{where}.{scope}", f"{name}: give a shape string")
            if name in FIELDS - {"session_id"} or name in {shape.name for shape in shapes}:
                raise PersonaError(f"{where}.{scope}", f"{name!r} is already a field")
            try:
                shapes.append(Shape.parse(name, scope, source, lists))
            except ShapeError as error:
                raise PersonaError(f"{where}.{scope}.{name}", str(error)) from error
    if "session_id" not in {shape.name for shape in shapes if shape.scope is Scope.SESSION}:
        raise PersonaError(f"{where}.session", "give a session_id shape (see identifiers.py)")
    return Identifiers(tuple(shapes), lists)


def _listeners(origin: str, names: list[Any]) -> tuple[Listener, ...]:
    known = [listener.value for listener in Listener]
    if not names or not all(isinstance(name, str) and name in known for name in names):
        raise PersonaError(origin, f"persona.listeners must name some of {known}, not {names}")
    return tuple(Listener(name) for name in names)


def _behaviour(where: str, table: Mapping[str, Any]) -> Behaviour:
    allowed = set(Behaviour.__dataclass_fields__)
    extra = sorted(set(table) - allowed)
    if extra:
        raise PersonaError(where, f"unknown behaviour keys {extra}; known: {sorted(allowed)}")
    behaviour = Behaviour(
        requires_tls=_get(where, table, "requires_tls", bool),
        helo_after_tls=_get(where, table, "helo_after_tls", bool),
        bare_paths=_get(where, table, "bare_paths", bool),
        error_delay_s=float(_get(where, table, "error_delay_s", (int, float))),
        idle_timeout_s=float(_get(where, table, "idle_timeout_s", (int, float))),
        helo_argument=_get(where, table, "helo_argument", str),
        chunking=_get(where, table, "chunking", bool),
        oauth_error_challenge=_get(where, table, "oauth_error_challenge", bool),
        dsn=_get(where, table, "dsn", bool),
    )
    if behaviour.error_delay_s < 0 or behaviour.idle_timeout_s <= 0:
        raise PersonaError(where, "error_delay_s must be 0 or more, idle_timeout_s above 0")
    if behaviour.helo_argument not in HELO_ARGUMENT_RULES:
        raise PersonaError(where, f"helo_argument must be one of {list(HELO_ARGUMENT_RULES)}")
    return behaviour


def _reply(
    where: str, entry: Any, allowed_fields: frozenset[str], tagged_by_default: bool
) -> ReplyTemplate:
    if not isinstance(entry, dict):
        raise PersonaError(where, "must be a table with code, lines, evidence and grade")
    extra = sorted(set(entry) - _REPLY_KEYS)
    if extra:
        raise PersonaError(where, f"unknown keys {extra}; allowed: {sorted(_REPLY_KEYS)}")
    grade = _get(where, entry, "grade", str)
    grades = [item.value for item in Grade if item is not Grade.STAND_IN]
    if grade not in grades:
        raise PersonaError(where, f"grade {grade!r} is not one of {grades}")
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
        _check_template_fields(where, "lines", line, allowed_fields)
        if "\r" in line or "\n" in line:
            raise PersonaError(where, "a line may not contain CR or LF; add another line")
    return ReplyTemplate(
        code=code,
        status=status,
        paragraphs=tuple(lines),
        tagged=_get(where, entry, "tagged", bool, default=tagged_by_default),
        closes=_get(where, entry, "close", bool, default=False),
        evidence=_get(where, entry, "evidence", str),
        grade=Grade(grade),
    )


def _fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _check_template_fields(where: str, key: str, template: str, allowed: frozenset[str]) -> None:
    try:
        names = _fields_of(template)
    except ValueError as error:
        raise PersonaError(where, f"{key}: {error} in {template!r}") from error
    unknown = sorted(names - allowed)
    if unknown:
        raise PersonaError(where, f"{key}: unknown fields {unknown}; allowed: {sorted(allowed)}")


def _table(origin: str, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise PersonaError(origin, f"missing the [{key}] table")
    return value


def _get(
    where: str,
    table: Mapping[str, Any],
    key: str,
    kind: type[_T] | tuple[type, ...],
    default: _T | None = None,
) -> _T:
    value = table.get(key, default)
    if value is None:
        raise PersonaError(where, f"missing {key!r}")
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int subclass; a code of `true` must not pass as 1.
    if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
        names = " or ".join(item.__name__ for item in kinds)
        raise PersonaError(where, f"{key!r} must be {names}, not {type(value).__name__}")
    return value  # type: ignore[return-value]
