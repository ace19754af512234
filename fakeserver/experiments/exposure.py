"""What a client let go unprotected, judged from the fake's transcripts of its connections.

An experiment's outcome says whether the message arrived; this says whether the client kept
its secrets while getting there. It reads only what reached the fake, so a client that ignores
every error (the seed's) is judged on what it sent, not on what it printed:

- :attr:`Exposure.CREDENTIALS`: an AUTH payload or a SASL response (the lines the fake
  redacts) sent before TLS was up. RFC 3207 §6: a client should insist on TLS, since a
  man-in-the-middle can delete ``STARTTLS`` from the EHLO reply; RFC 8314 makes clear text
  obsolete for submission.
- :attr:`Exposure.MESSAGE`: ``DATA`` or ``BDAT`` sent before TLS was up: the client was
  sending its message in clear text, whether the server took it or not.
- :attr:`Exposure.BAD_CERTIFICATE`: a command sent after a handshake in which a fault
  presented a certificate the client should have refused (the transcript's
  ``# --- certificate: untrusted ---``). RFC 3207 §6: the client checks that the certificate
  is for the server it meant to reach, or the handshake protects nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from client.transcript.model import Direction, Event, Line, Transcript
from client.transcript.redaction import REDACTED

__all__ = ["Exposure", "exposures"]

_MESSAGE_VERBS = frozenset({b"DATA", b"BDAT"})


class Exposure(enum.Enum):
    """One way a client went on without the protection TLS gives."""

    CREDENTIALS = "password in clear"
    MESSAGE = "message in clear"
    BAD_CERTIFICATE = "trusted a bad certificate"

    @property
    def label(self) -> str:
        return self.value


def exposures(transcripts: Iterable[Transcript]) -> tuple[Exposure, ...]:
    """Every exposure found in ``transcripts`` (the fake's, one per connection), in the
    order of :class:`Exposure`."""
    found: set[Exposure] = set()
    for transcript in transcripts:
        found |= _in_one(transcript)
    return tuple(exposure for exposure in Exposure if exposure in found)


def _in_one(transcript: Transcript) -> set[Exposure]:
    found: set[Exposure] = set()
    tls = bad_certificate = False
    for entry in transcript.entries:
        if isinstance(entry, Event):
            tls = tls or entry.kind == "tls"
            bad_certificate = bad_certificate or entry.kind == "certificate"
            continue
        if not isinstance(entry, Line) or entry.direction is not Direction.CLIENT:
            continue
        if bad_certificate:
            found.add(Exposure.BAD_CERTIFICATE)
        if not tls:
            if REDACTED in entry.data:
                found.add(Exposure.CREDENTIALS)
            if entry.data.split(b" ", 1)[0].strip().upper() in _MESSAGE_VERBS:
                found.add(Exposure.MESSAGE)
    return found
