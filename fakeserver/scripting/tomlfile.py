"""TOML files that explain their mistakes: positions, typed values, faults from tables.

``tomllib`` returns plain data with no positions, so a :class:`Locator` finds the line of a
table or a key in the text itself, and every check here raises a :class:`ScenarioError` that
names the file, the line and the values that would have worked. :mod:`fakeserver.scripting.scenario`
and :mod:`fakeserver.experiments.matrix` read their files with it.

A fault is read from a table by its name in :data:`fakeserver.scripting.faults.FAULTS` and its
dataclass fields, whose annotations give the types to check: a number (an integer will do),
a whole number, true or false, a string, one of a ``Literal``'s values, an array of whole
numbers, and ``bytes`` as a string of characters U+0000 to U+00FF, one byte each.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fakeserver.errors import ScriptError
from fakeserver.scripting.faults import FAULTS, Fault

__all__ = [
    "Locator",
    "ScenarioError",
    "describe",
    "fault_from",
    "no_unknown_keys",
    "optional",
    "parse_toml",
    "read_toml_text",
]


class ScenarioError(ScriptError):
    """A scenario or matrix file that cannot work; the message names the file and the line.

    Attributes:
        path: the file (or ``<string>``).
        line: the 1-based line the problem is on, or None when it is the whole file.
    """

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        super().__init__(f"{path}, line {line}" if line is not None else path, problem)
        self.path = path
        self.line = line


class Locator:
    """Finds the line of a table or a key in TOML text (``tomllib`` gives no positions).

    Args:
        text: the file's text.
        source: the file's name, for messages.
    """

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self._lines = text.splitlines()
        self._headers = [
            (number, match[1].replace(" ", ""))
            for number, line in enumerate(self._lines, 1)
            if (match := re.match(r"\s*\[\[?\s*([\w. ]+?)\s*\]\]?", line))
        ]

    def table(self, name: str, index: int) -> int | None:
        """The line of the ``index``-th (0-based) ``[[name]]`` header."""
        numbers = [number for number, header in self._headers if header == name]
        return numbers[index] if index < len(numbers) else None

    def key(self, key: str, table: int | None = None) -> int | None:
        """The line of ``key = ...`` in the table whose header is on line ``table`` (None:
        before the first header); the header's line when the key is not found there."""
        start = table or 0
        ends = [number for number, _ in self._headers if number > start]
        end = ends[0] - 1 if ends else len(self._lines)
        pattern = re.compile(rf"\s*{re.escape(key)}\s*=")
        for number in range(start + 1, end + 1):
            if pattern.match(self._lines[number - 1]):
                return number
        if table is None:  # a top-level key may be a [table] of its own
            return next((number for number, header in self._headers if header == key), None)
        return table

    def error(self, line: int | None, problem: str) -> ScenarioError:
        return ScenarioError(self.source, line, problem)


def read_toml_text(path: str | Path) -> str:
    """A TOML file's text; a ScenarioError that says why when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(str(path), None, f"cannot read it: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ScenarioError(str(path), None, "not UTF-8 text; TOML files must be") from error


def parse_toml(text: str, source: str) -> dict[str, typing.Any]:
    """``tomllib.loads``, with a syntax error turned into a ScenarioError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        line = int(found[1]) if found else None
        raise ScenarioError(source, line, f"not valid TOML: {error}") from error


def fault_from(item: object, where: Locator, line: int | None) -> Fault[Any]:
    """A fault from its name (no arguments) or a ``{fault = NAME, field = value...}`` table."""
    table = {"fault": item} if isinstance(item, str) else item
    if not isinstance(table, dict) or "fault" not in table:
        raise where.error(line, f"a fault is a name or a table with a `fault` key, not {item!r}")
    name = table["fault"]
    kind = FAULTS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise where.error(line, f"unknown fault {name!r}; use one of {', '.join(FAULTS)}")
    parameters = dataclasses.fields(typing.cast(Any, kind))
    every_hint = typing.get_type_hints(kind)
    hints = {parameter.name: every_hint[parameter.name] for parameter in parameters}
    arguments: dict[str, object] = {}
    for key, value in table.items():
        if key == "fault":
            continue
        if key not in hints:
            fields = ", ".join(f"{field} ({describe(hint)})" for field, hint in hints.items())
            raise where.error(
                line, f"fault {name!r} has no {key!r}; its fields: {fields or 'none'}"
            )
        try:
            arguments[key] = _convert(value, hints[key])
        except (TypeError, ValueError):
            raise where.error(
                line, f"fault {name!r}: {key} must be {describe(hints[key])}, not {value!r}"
            ) from None
    required = [
        parameter.name
        for parameter in parameters
        if parameter.default is dataclasses.MISSING and parameter.name not in arguments
    ]
    if required:
        needs = ", ".join(f"{field} ({describe(hints[field])})" for field in required)
        raise where.error(line, f"fault {name!r} needs {needs}")
    return kind(**arguments)


def _convert(value: object, hint: object) -> object:
    """``value`` from TOML as a field of type ``hint``; TypeError/ValueError when it cannot."""
    if typing.get_origin(hint) is typing.Literal:
        if value not in typing.get_args(hint):
            raise ValueError(value)
        return value
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list):
            raise TypeError(value)
        return tuple(_convert(item, int) for item in value)
    if isinstance(value, bool) != (hint is bool):
        raise TypeError(value)
    if hint is float and isinstance(value, int | float):
        return float(value)
    if hint is bytes and isinstance(value, str):
        return value.encode("latin-1")  # raises for characters past U+00FF
    if isinstance(hint, type) and isinstance(value, hint):
        return value
    raise TypeError(value)


def describe(hint: object) -> str:
    """What a value of type ``hint`` looks like, for messages."""
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(repr(item) for item in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        return "an array of whole numbers"
    descriptions: dict[object, str] = {
        float: "a number",
        int: "a whole number",
        bool: "true or false",
        str: "a string",
        bytes: "a string of characters U+0000 to U+00FF (one byte each)",
    }
    return descriptions.get(hint, str(hint))


def optional(
    table: Mapping[str, object],
    key: str,
    kind: type,
    where: Locator,
    line: int | None,
    *,
    default: object = None,
) -> typing.Any:
    """``table[key]`` checked to be a ``kind`` (an int will do for a float); ``default``
    when it is absent."""
    if key not in table:
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise where.error(where.key(key, line), f"{key} must be {describe(kind)}, not {value!r}")
    return value


def no_unknown_keys(
    table: Mapping[str, object],
    allowed: tuple[str, ...],
    where: Locator,
    line: int | None,
    context: str,
) -> None:
    """Raises for the first key of ``table`` that is not ``allowed``, at its line."""
    for key in table:
        if key not in allowed:
            raise where.error(
                where.key(key, line), f"unknown key {key!r} {context}; use {', '.join(allowed)}"
            )
