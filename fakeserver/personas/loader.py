"""Loading a persona from its TOML file, and refusing a file that cannot work.

Invariants, checked when a persona is loaded so that a bad file fails at start-up with a
message that says what to change:

- every :class:`~fakeserver.personas.model.Situation` has exactly one reply, and the file names
  no other;
- every reply renders to valid RFC 5321 §4.2 reply lines: a three-digit code, an enhanced
  status code in RFC 3463 shape, ``-`` on every line but the last, only the documented
  ``{fields}``, and no line past 512 octets (§4.5.3.1.5) with short values in its fields.
  The status class is not forced to match the code's first digit, because Gmail's own
  catalogue breaks that rule (``454 5.5.1 STARTTLS may not be repeated.``);
- the ``[behaviour]`` table gives every setting, with the right type; ``listeners`` names
  known ports.
"""

from __future__ import annotations

import functools
import re
import string
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from fakeserver.errors import PersonaError
from fakeserver.personas.model import (
    FIELDS,
    REPLY_LINE_LIMIT,
    Behaviour,
    Listener,
    Persona,
    ReplyTemplate,
    Situation,
    render_lines,
)

__all__ = ["load_persona", "shipped_personas"]

_T = TypeVar("_T")
_STATUS = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}")  # ASCII digits: \d takes any script's
# Tables an ``extends`` overlay merges key by key into its base.
_MERGED_TABLES = ("persona", "session_id", "behaviour")


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
        listeners=_listeners(origin, _get(origin, table, "listeners", list)),
        behaviour=_behaviour(f"{origin} [behaviour]", _table(origin, data, "behaviour")),
        session_id_pools=tuple(_get(origin, ids, "pools", list)),
        session_id_cells=tuple(_get(origin, ids, "cells", list)),
        replies={
            Situation(key): _reply(f"{origin} [replies.{key}]", entry)
            for key, entry in replies_table.items()
        },
    )
    _check_template_fields(origin, "persona.tag", persona.tag)
    for situation, template in persona.replies.items():
        where = f"{origin} [replies.{situation}]"
        try:
            rendered = render_lines(persona, template, dict.fromkeys(FIELDS, "x"), cut=False)
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
    )
    if behaviour.error_delay_s < 0 or behaviour.idle_timeout_s <= 0:
        raise PersonaError(where, "error_delay_s must be 0 or more, idle_timeout_s above 0")
    return behaviour


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
