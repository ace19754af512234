"""A persona's identifiers: the values that differ on every connection or message, and the small
shape language that describes them.

Providers stamp their replies with values of their own: Gmail's session id on every line,
Microsoft 365's front-end name and a hex id repeated in every error, SES's instance and session
token in the greeting and a time-based message id at the end of data, SendGrid's front-end host
and a queue id. A persona file gives each one a *shape*; the server draws a value from its seeded
random generator (so a seed repeats a run) and the persona's replies use it as a template field
of the same name.

A shape is text with tokens in braces::

    [identifiers.session]
    session_id = "{pick:pools}-{hex:11}sm{number:1000000-999999999}{pick:cells}.{number:1-199}"
    [identifiers.message]
    queue_id = "{b64url:22}"
    [identifiers.lists]
    pools = ["d9443c01a7336", "98e67ed59e1d1"]
    cells = ["ad", "a91"]

=======================  ===================================================================
token                    value
=======================  ===================================================================
``{hex:N}``, ``{HEX:N}``   N hex digits, lower or upper case
``{digits:N}``           N decimal digits (leading zeros kept)
``{number:A-B}``         a whole number from A to B
``{alnum:N}``            N letters and digits; ``{ALNUM:N}``: upper-case letters and digits
``{b64url:N}``           N characters of URL-safe base64 (``A-Z a-z 0-9 - _``)
``{uuid}``               a version-4 UUID, lower case
``{pick:LIST}``          one item of ``[identifiers.lists]`` LIST; ``{pick:LIST.I}``: part I of
                         an item that is itself a list. Every ``{pick:LIST...}`` of one draw
                         uses the same item, so related parts stay together
``{ms_hex:N}``           the current Unix time in milliseconds, N hex digits (SES's message ids)
``{dotnet_ticks}``       16 upper-case hex digits of a .NET ``DateTime`` tick count 4 to 40
                         hours before now (Microsoft 365's greeting id, office365.md §3.3)
=======================  ===================================================================

Identifiers are drawn per ``session`` (when a connection opens) or per ``message`` (when one is
accepted). Each persona has a ``session_id`` identifier: the server's records and transcripts
name a connection by it.
"""

from __future__ import annotations

import enum
import random
import re
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Identifiers", "Identity", "Scope", "Shape", "ShapeError"]


class Scope(enum.StrEnum):
    """When an identifier is drawn."""

    SESSION = "session"
    MESSAGE = "message"


class ShapeError(ValueError):
    """A shape the language above cannot read; the message says what to change."""


_TOKEN = re.compile(r"\{([^{}]*)\}")
_ALPHABETS = {
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "digits": string.digits,
    "alnum": string.ascii_letters + string.digits,
    "ALNUM": string.ascii_uppercase + string.digits,
    "b64url": string.ascii_letters + string.digits + "-_",
}
# .NET DateTime ticks (100 ns) from 0001-01-01 to the Unix epoch.
_DOTNET_EPOCH_TICKS = 621355968000000000
_HOUR_TICKS = 3600 * 10**7

_Part = tuple[str, str, int, int]
"""(kind, text, low, high): kind ``text`` is literal; the others are tokens."""


@dataclass(frozen=True, slots=True)
class Shape:
    """One identifier's shape, parsed.

    Attributes:
        name: the identifier's (and template field's) name.
        scope: when it is drawn.
        source: the shape as written.
    """

    name: str
    scope: Scope
    source: str
    parts: tuple[_Part, ...]

    @classmethod
    def parse(
        cls, name: str, scope: Scope, source: str, lists: Mapping[str, tuple[object, ...]]
    ) -> Shape:
        """Reads ``source``.

        Raises:
            ShapeError: an unknown token, a bad count, or a list that does not exist.
        """
        parts: list[_Part] = []
        position = 0
        for match in _TOKEN.finditer(source):
            if match.start() > position:
                parts.append(("text", source[position : match.start()], 0, 0))
            parts.append(_token(match[1], lists))
            position = match.end()
        if "{" in source[position:] or "}" in source[position:]:
            raise ShapeError(f"unbalanced brace in {source!r}")
        if position < len(source):
            parts.append(("text", source[position:], 0, 0))
        return cls(name, scope, source, tuple(parts))

    def draw(
        self,
        rng: random.Random,
        now: float,
        lists: Mapping[str, tuple[object, ...]],
        picked: dict[str, object],
    ) -> str:
        """A value of this shape; ``picked`` keeps the items chosen from lists in this draw."""
        out: list[str] = []
        for kind, text, low, high in self.parts:
            if kind == "text":
                out.append(text)
            elif kind in _ALPHABETS:
                out.append("".join(rng.choice(_ALPHABETS[kind]) for _ in range(low)))
            elif kind == "number":
                out.append(str(rng.randint(low, high)))
            elif kind == "uuid":
                out.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            elif kind == "pick":
                item = picked.get(text)
                if item is None:
                    item = picked[text] = rng.choice(lists[text])
                out.append(str(item[low]) if isinstance(item, list | tuple) else str(item))
            elif kind == "ms_hex":
                out.append(f"{int(now * 1000):0{low}x}"[-low:])
            else:  # dotnet_ticks
                before = rng.randint(4 * _HOUR_TICKS, 40 * _HOUR_TICKS)
                ticks = _DOTNET_EPOCH_TICKS + int(now * 10**7) - before
                out.append(f"{ticks:016X}")
        return "".join(out)


def _token(token: str, lists: Mapping[str, tuple[object, ...]]) -> _Part:
    kind, _, argument = token.partition(":")
    if kind in {"uuid", "dotnet_ticks"} and not argument:
        return (kind, "", 0, 0)
    if kind in _ALPHABETS or kind == "ms_hex":
        if not argument.isdigit() or not 0 < int(argument) <= 64:
            raise ShapeError(f"{{{token}}}: give a length from 1 to 64, e.g. {{{kind}:8}}")
        return (kind, "", int(argument), 0)
    if kind == "number":
        low, dash, high = argument.partition("-")
        if not (dash and low.isdigit() and high.isdigit() and int(low) <= int(high)):
            raise ShapeError(f"{{{token}}}: give a range like {{number:1-199}}")
        return (kind, "", int(low), int(high))
    if kind == "pick":
        name, dot, index = argument.partition(".")
        if name not in lists or not lists[name]:
            known = sorted(lists) or "none"
            raise ShapeError(f"{{{token}}}: no list {name!r} in [identifiers.lists] ({known})")
        if dot and not index.isdigit():
            raise ShapeError(f"{{{token}}}: the part after the dot is a number, like .0")
        position = int(index) if dot else 0
        if dot and not all(
            isinstance(item, list | tuple) and position < len(item) for item in lists[name]
        ):
            raise ShapeError(f"{{{token}}}: every item of {name!r} needs a part {position}")
        return (kind, name, position, 0)
    kinds = sorted({*_ALPHABETS, "number", "uuid", "pick", "ms_hex", "dotnet_ticks"})
    raise ShapeError(f"unknown token {{{token}}}; known: {', '.join(kinds)}")


@dataclass(frozen=True, slots=True)
class Identifiers:
    """All the identifiers of one persona.

    Attributes:
        shapes: in the order they are drawn.
        lists: the lists ``{pick:...}`` draws from.
    """

    shapes: tuple[Shape, ...]
    lists: Mapping[str, tuple[object, ...]]

    @property
    def names(self) -> frozenset[str]:
        """The template fields the identifiers provide."""
        return frozenset(shape.name for shape in self.shapes)

    def names_of(self, scope: Scope) -> frozenset[str]:
        return frozenset(shape.name for shape in self.shapes if shape.scope == scope)

    def draw(self, scope: Scope, rng: random.Random, now: float) -> dict[str, str]:
        """Fresh values for every identifier of ``scope``, from ``rng`` (and the time ``now``
        where a shape uses it)."""
        picked: dict[str, object] = {}
        return {
            shape.name: shape.draw(rng, now, self.lists, picked)
            for shape in self.shapes
            if shape.scope == scope
        }

    def open(self, rng: random.Random, now: float) -> Identity:
        """The identity of a new connection: its session identifiers, drawn now, and the
        source of its messages' identifiers, drawn from the same ``rng`` as they come."""
        return Identity(self.draw(Scope.SESSION, rng, now), self, rng)


@dataclass(frozen=True, slots=True)
class Identity:
    """One connection's identifiers.

    Attributes:
        values: the session identifiers, by name (``session_id`` among them).
    """

    values: Mapping[str, str]
    identifiers: Identifiers
    rng: random.Random

    @property
    def session_id(self) -> str:
        return self.values["session_id"]

    def for_message(self, now: float) -> dict[str, str]:
        """The identifiers of a message accepted at Unix time ``now`` (none for a persona
        without message identifiers)."""
        return self.identifiers.draw(Scope.MESSAGE, self.rng, now)
