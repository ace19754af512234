"""Cutting a stream of writes into lines, for recording each line once it is whole."""

from __future__ import annotations

__all__ = ["LineSplitter"]


class LineSplitter:
    """Cuts a stream of pieces into whole lines, for recording them one by one.

    Args:
        ending: what ends a line: CRLF for message data (RFC 5321 §2.3.8), LF for what the
            server writes (where a fault may leave bare LFs).
    """

    __slots__ = ("_ending", "_partial")

    def __init__(self, ending: bytes = b"\r\n") -> None:
        self._ending = ending
        self._partial = b""

    def feed(self, piece: bytes) -> list[bytes]:
        data = self._partial + piece if self._partial else piece
        cut = data.rfind(self._ending) + len(self._ending)
        if cut < len(self._ending):
            self._partial = data
            return []
        self._partial = data[cut:]
        lines = data[:cut].split(self._ending)[:-1]
        return [line + self._ending for line in lines]

    @property
    def unfinished(self) -> int:
        """Octets of a line begun and not yet ended."""
        return len(self._partial)

    @property
    def between_lines(self) -> bool:
        """No line has been begun and left unfinished."""
        return not self._partial

    def whole(self, piece: bytes) -> bytes:
        """Like :meth:`feed`, the whole lines joined as they came (no list, no copies of each)."""
        data = self._partial + piece if self._partial else piece
        cut = data.rfind(self._ending) + len(self._ending)
        if cut < len(self._ending):
            self._partial = data
            return b""
        self._partial = data[cut:]
        return data[:cut] if cut < len(data) else data

    def rest(self) -> bytes:
        """What is left that no line ending closed (a write cut short)."""
        partial, self._partial = self._partial, b""
        return partial
