"""JSON text that any strict parser reads, whatever bytes a client sent.

What a client says reaches the fake's records as text decoded with ``surrogateescape``: each
byte that is not UTF-8 becomes a lone surrogate (U+DC80 to U+DCFF). ``json.dumps`` writes one
as ``\\udcff``, which Python reads back, but RFC 8259 §8.2 warns that software receiving such
a string behaves unpredictably (parsers in other languages refuse it or replace it), and the
text cannot even be encoded to UTF-8 when written without ``ensure_ascii``.

:func:`json_text` writes every lone surrogate as visible text instead: ``\\xff`` for the byte it
stands for (the escape the transcript format uses), ``\\ud800`` spelled out for any other, so
that what the client sent stays readable and the JSON is valid UTF-8. Text with no surrogate
in it, nearly all of it, is written exactly as ``json.dumps`` writes it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["escape_surrogates", "json_text"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_BYTES = range(0xDC80, 0xDD00)
"""Where ``surrogateescape`` puts the bytes 0x80 to 0xFF."""


def json_text(
    value: object, *, indent: int | None = None, default: Callable[[Any], Any] | None = None
) -> str:
    """``json.dumps(value)`` (ASCII, as by default), with every lone surrogate escaped.

    Args:
        value: what ``json.dumps`` takes.
        indent: as for ``json.dumps``.
        default: as for ``json.dumps``; what it returns is escaped too.
    """
    text = _encoder(indent, default).encode(value)
    # json.dumps writes every surrogate as a \udXXX escape (a character outside the BMP
    # too, as a pair), so text without one needs nothing more.
    if "\\ud" not in text:
        return text
    return json.dumps(_escaped(value, default), indent=indent)


@functools.lru_cache(maxsize=16)
def _encoder(indent: int | None, default: Callable[[Any], Any] | None) -> json.JSONEncoder:
    # json.dumps makes a new encoder for every call that passes options; the live log
    # writes a line per message. An encoder keeps no state between calls.
    return json.JSONEncoder(indent=indent, default=default)


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written out (``\\xff`` for an undecodable byte)."""
    return _SURROGATE.sub(_spelled, text)


def _spelled(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code - 0xDC00:02x}" if code in _ESCAPED_BYTES else f"\\u{code:04x}"


def _escaped(value: object, default: Callable[[Any], Any] | None) -> object:
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, dict):
        return {
            escape_surrogates(key) if isinstance(key, str) else key: _escaped(item, default)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_escaped(item, default) for item in value]
    if value is None or isinstance(value, bool | int | float) or default is None:
        return value  # json.dumps raises for anything else, as it would have
    return _escaped(default(value), default)
