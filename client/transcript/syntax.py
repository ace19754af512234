"""The spelling of one transcript line: escapes, event bodies, timing prefixes.

Pure functions over ``str`` and ``bytes``; ``client.transcript`` (whose docstring is the format
specification) assembles them into ``load`` and ``dump``. Each ``parse_*`` accepts what its
``format_*`` writes, and a ``format_*`` after its ``parse_*`` gives the canonical spelling back.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "CRLF",
    "SyntaxProblem",
    "format_elapsed",
    "format_event_body",
    "format_wire_text",
    "parse_elapsed",
    "parse_escaped",
    "parse_event_body",
    "require_printable",
]

CRLF = b"\r\n"

# Escapes that have a letter; every other byte that needs one is written \xHH.
_NAMED = {"\\": "\\\\", "\r": "\\r", "\n": "\\n", "\t": "\\t"}
_UNNAMED = {"\\": b"\\", "r": b"\r", "n": b"\n", "t": b"\t"}
_ESCAPE = re.compile(r"\\(?:x(?P<hex>[0-9a-fA-F]{2})|(?P<letter>[\\rnt]))?")
# surrogateescape decodes each byte that is not UTF-8 to one of these code points.
_SMUGGLED = range(0xDC80, 0xDD00)

_TLS_BODY = re.compile(r"TLS handshake(?: (?P<detail>.*))?", re.DOTALL)
_TYPED_BODY = re.compile(r"(?P<kind>[a-z][a-z0-9_-]*)(?:: (?P<detail>.+))?", re.DOTALL)
_ELAPSED = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?")


class SyntaxProblem(ValueError):
    """What is wrong with a piece of a line, and at which 1-based column of that piece."""

    def __init__(self, column: int, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem


def format_wire_text(data: bytes) -> tuple[str, str]:
    """Spell the bytes of one wire line.

    Args:
        data: the exact bytes, terminator included.

    Returns:
        ``(":", text)`` when ``data`` is printable UTF-8 followed by CRLF (``text`` is the line
        without its CRLF), else ``("~", escaped)`` with every byte, terminator included, written
        out and escaped.
    """
    if data.endswith(CRLF):
        try:
            text = data[:-2].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if text.isprintable():
                return ":", text
    parts: list[str] = []
    for char in data.decode("utf-8", "surrogateescape"):
        if char in _NAMED:
            parts.append(_NAMED[char])
        elif char.isprintable():
            parts.append(char)
        elif ord(char) in _SMUGGLED:
            parts.append(f"\\x{ord(char) - 0xDC00:02x}")
        else:
            parts.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8"))
    escaped = "".join(parts)
    # A visible last character, so an editor that strips trailing spaces cannot change the line.
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\x20"
    return "~", escaped


def parse_escaped(text: str) -> bytes:
    """Read the text of a ``~`` line back into bytes.

    Raises:
        SyntaxProblem: an unknown escape, or a character that should have been escaped.
    """
    require_printable(text, "escape it as \\xHH")
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(text):
        out += text[position : match.start()].encode("utf-8")
        if match["hex"] is not None:
            out.append(int(match["hex"], 16))
        elif match["letter"] is not None:
            out += _UNNAMED[match["letter"]]
        else:
            raise SyntaxProblem(
                match.start() + 1,
                "unknown escape; use \\\\, \\r, \\n, \\t or \\xHH (two hex digits)",
            )
        position = match.end()
    out += text[position:].encode("utf-8")
    return bytes(out)


def require_printable(text: str, advice: str) -> None:
    """Check that ``text`` can stand as it is in a transcript line.

    Raises:
        SyntaxProblem: naming the first character that cannot, and ``advice``.
    """
    if text.isprintable():
        return
    column, char = next((i, c) for i, c in enumerate(text, start=1) if not c.isprintable())
    hint = " (is the file CRLF? transcripts use LF line ends)" if char == "\r" else ""
    raise SyntaxProblem(column, f"character U+{ord(char):04X} is not printable; {advice}{hint}")


def parse_event_body(body: str) -> tuple[str, str]:
    """Return ``(kind, detail)`` for the text between ``# --- `` and `` ---``."""
    tls = _TLS_BODY.fullmatch(body)
    if tls is not None:
        return "tls", tls["detail"] or ""
    typed = _TYPED_BODY.fullmatch(body)
    if typed is not None:
        return typed["kind"], typed["detail"] or ""
    return "note", body


def format_event_body(kind: str, detail: str) -> str:
    """Return the canonical text between ``# --- `` and `` ---`` for an event."""
    if kind == "tls":
        return f"TLS handshake {detail}" if detail else "TLS handshake"
    if kind == "note" and parse_event_body(detail) == ("note", detail):
        return detail
    return f"{kind}: {detail}" if detail else kind


def parse_elapsed(text: str) -> float:
    """Read the seconds of an ``@<seconds>`` prefix.

    Raises:
        SyntaxProblem: not a finite decimal number.
    """
    if _ELAPSED.fullmatch(text) is None or not math.isfinite(value := float(text)):
        raise SyntaxProblem(2, f"{text!r} is not a number of seconds such as 0.25")
    return value


def format_elapsed(elapsed_s: float) -> str:
    """Spell seconds for an ``@<seconds>`` prefix: the shortest text that reads back exactly.

    Raises:
        ValueError: ``elapsed_s`` is not finite.
    """
    if not math.isfinite(elapsed_s):
        raise ValueError(f"elapsed_s must be finite, not {elapsed_s!r}")
    return repr(float(elapsed_s))
