"""What a transcript tells about the connection it records, beyond its lines."""

from __future__ import annotations

import re

from client.tls_mode import TLSMode
from client.transcript.model import Direction, Entry, Event, Line, Transcript

__all__ = ["is_handshake", "transcript_tls"]

_PORT = re.compile(r"\s*(\d+)")
_PORT_MODES = {465: TLSMode.IMPLICIT, 587: TLSMode.STARTTLS, 25: TLSMode.STARTTLS}
_LISTENER_MODES = {
    "smtps": TLSMode.IMPLICIT,
    "submission": TLSMode.STARTTLS,
    "plain": TLSMode.STARTTLS,
}


def transcript_tls(transcript: Transcript) -> TLSMode:
    """How the recorded client used TLS.

    In order: the ``tls`` header (the recording proxy writes one); else a TLS handshake
    before the first client line (implicit) or after a STARTTLS (starttls); else the
    ``port`` or ``listener`` header (465 or smtps: implicit; 587, 25, submission or plain:
    starttls); else none.
    """
    header = transcript.header("tls")
    if header is not None and header in {mode.value for mode in TLSMode}:
        return TLSMode(header)
    seen_client = seen_starttls = False
    for entry in transcript.entries:
        if is_handshake(entry):
            if not seen_client:
                return TLSMode.IMPLICIT
            if seen_starttls:
                return TLSMode.STARTTLS
        elif isinstance(entry, Line) and entry.direction is Direction.CLIENT:
            seen_client = True
            seen_starttls = seen_starttls or entry.data[:8].upper() == b"STARTTLS"
    port = _PORT.match(transcript.header("port") or "")
    if port is not None and int(port[1]) in _PORT_MODES:
        return _PORT_MODES[int(port[1])]
    return _LISTENER_MODES.get(transcript.header("listener") or "", TLSMode.NONE)


def is_handshake(entry: Entry) -> bool:
    if not isinstance(entry, Event):
        return False
    return entry.kind == "tls" or (entry.kind == "note" and "handshake" in entry.detail.lower())
