"""Faults: how a step of the conversation misbehaves, beyond what is said.

A fault is a small frozen dataclass with one job; a step can carry several, applied in the
order given. Attach them with the script::

    gmail.script.on("greeting").fault(Delay(delay_s=2))                 # a slow banner
    gmail.script.on("ehlo").fault(Drip(bytes_per_write=1))              # dripped byte by byte
    gmail.script.on("data").fault(Close(when="after"))                  # hang up after 354
    gmail.script.on("body").fault(Disconnect(after_bytes=100))          # drop mid-message
    gmail.script.on("end_of_data").fault(Close(when="before"))          # lose the 250
    gmail.script.on("tls").fault(TLSCertificate("expired"))             # an expired certificate

Reply faults change how the reply to the step is written (``Delay``, ``Stall``, ``Drip``,
``SplitAt``, ``Coalesce``, ``BareLF``, ``NoFinalCRLF``, ``Garbage``, ``Overlong``, ``Close``,
``Reset``, ``Withhold``); ``Disconnect`` acts while a message body comes in (step
``body``); ``TLSCertificate`` and ``AbortHandshake`` act on a TLS handshake (step ``tls``).
A fault never changes what the server decided: ``end_of_data`` with ``Close(when="before")``
stores the message and then loses its 250, which is how a client comes to deliver twice.

Scenario files and experiments name faults through :data:`FAULTS`, an explicit table.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FAULTS",
    "AbortHandshake",
    "BareLF",
    "Close",
    "Coalesce",
    "Delay",
    "Disconnect",
    "Drip",
    "Fault",
    "Garbage",
    "NoFinalCRLF",
    "Overlong",
    "Reset",
    "SplitAt",
    "Stall",
    "TLSCertificate",
    "Withhold",
]

When = Literal["before", "middle", "after"]


@dataclass(frozen=True, slots=True)
class Delay:
    """Wait ``delay_s`` seconds before the reply."""

    delay_s: float


@dataclass(frozen=True, slots=True)
class Stall:
    """Never answer: the server goes silent and waits for the client to give up."""


@dataclass(frozen=True, slots=True)
class Drip:
    """Write the reply ``bytes_per_write`` octets at a time, ``interval_s`` apart."""

    bytes_per_write: int = 1
    interval_s: float = 0.0


@dataclass(frozen=True, slots=True)
class SplitAt:
    """Write the reply in pieces cut at these octet offsets, ``interval_s`` apart."""

    offsets: tuple[int, ...]
    interval_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Coalesce:
    """Hold the reply back and write it together with the next one, in one write.

    Only possible while the client has pipelined more commands (otherwise it waits for this
    reply and there is no next one); the reply is held while more commands are queued.
    """


@dataclass(frozen=True, slots=True)
class BareLF:
    """End every reply line with a bare LF instead of CRLF."""


@dataclass(frozen=True, slots=True)
class NoFinalCRLF:
    """Leave the line ending off the reply's last line, then close (nothing else could end
    the client's wait)."""


@dataclass(frozen=True, slots=True)
class Garbage:
    """Write ``data`` before the reply, or instead of it when ``replace`` is set."""

    data: bytes = b"\x00\xff\xfe garbage \x1b[31m\r\n"
    replace: bool = False


@dataclass(frozen=True, slots=True)
class Overlong:
    """Pad the reply's last line to ``length_octets`` (RFC 5321 §4.5.3.1.5 allows 512)."""

    length_octets: int = 2048


@dataclass(frozen=True, slots=True)
class Close:
    """Close the connection before the reply, in the middle of it, or after it."""

    when: When = "after"


@dataclass(frozen=True, slots=True)
class Reset:
    """Like ``Close``, but with a TCP reset (RST) instead of an orderly close."""

    when: When = "after"


@dataclass(frozen=True, slots=True)
class Withhold:
    """Leave an extension out of the EHLO reply (``Withhold("STARTTLS")``)."""

    extension: str


@dataclass(frozen=True, slots=True)
class Disconnect:
    """While a message comes in (step ``body``): drop the connection after ``after_bytes``
    octets of it, with a reset when ``reset`` is set."""

    after_bytes: int = 0
    reset: bool = False


@dataclass(frozen=True, slots=True)
class TLSCertificate:
    """Present a bad certificate in the TLS handshake (step ``tls``).

    ``kind`` is ``"untrusted"`` (signed by another CA), ``"wrong_name"`` (valid, but for
    ``mail.example.net`` only) or ``"expired"`` (valid until yesterday).
    """

    kind: Literal["untrusted", "wrong_name", "expired"]


@dataclass(frozen=True, slots=True)
class AbortHandshake:
    """Refuse the TLS handshake with a ``handshake_failure`` alert (step ``tls``)."""


Fault = (
    Delay
    | Stall
    | Drip
    | SplitAt
    | Coalesce
    | BareLF
    | NoFinalCRLF
    | Garbage
    | Overlong
    | Close
    | Reset
    | Withhold
    | Disconnect
    | TLSCertificate
    | AbortHandshake
)

FAULTS: dict[str, type[Fault]] = {
    "delay": Delay,
    "stall": Stall,
    "drip": Drip,
    "split": SplitAt,
    "coalesce": Coalesce,
    "bare_lf": BareLF,
    "no_final_crlf": NoFinalCRLF,
    "garbage": Garbage,
    "overlong": Overlong,
    "close": Close,
    "reset": Reset,
    "withhold": Withhold,
    "disconnect": Disconnect,
    "tls_certificate": TLSCertificate,
    "abort_handshake": AbortHandshake,
}
"""Every fault by the name scenario files and experiments use."""

REPLY_FAULTS = (
    Delay,
    Stall,
    Drip,
    SplitAt,
    Coalesce,
    BareLF,
    NoFinalCRLF,
    Garbage,
    Overlong,
    Close,
    Reset,
    Withhold,
)
"""The faults that change how a reply is written."""


def transform(data: bytes, faults: tuple[Fault, ...]) -> bytes:
    """Applies the faults that change a reply's bytes (not its timing or the connection)."""
    for fault in faults:
        if isinstance(fault, Withhold):
            lines = data.split(b"\r\n")
            keyword = fault.extension.upper().encode()
            kept = [line for line in lines if line[4:].split(b" ")[0].upper() != keyword]
            data = _renumber(b"\r\n".join(kept))
        elif isinstance(fault, Overlong):
            body, ending = data[:-2], data[-2:]
            data = body + b" " + b"x" * max(0, fault.length_octets - len(body) - 3) + ending
        elif isinstance(fault, BareLF):
            data = data.replace(b"\r\n", b"\n")
        elif isinstance(fault, NoFinalCRLF):
            data = data.removesuffix(b"\r\n").removesuffix(b"\n")
        elif isinstance(fault, Garbage):
            data = fault.data if fault.replace else fault.data + data
    return data


def pieces(data: bytes, faults: tuple[Fault, ...]) -> list[bytes]:
    """Cuts a reply into the writes ``Drip`` or ``SplitAt`` ask for (one write otherwise)."""
    for fault in faults:
        if isinstance(fault, Drip):
            size = max(1, fault.bytes_per_write)
            return [data[start : start + size] for start in range(0, len(data), size)]
        if isinstance(fault, SplitAt):
            cuts = sorted({offset for offset in fault.offsets if 0 < offset < len(data)})
            bounds = [0, *cuts, len(data)]
            return [data[start:end] for start, end in itertools.pairwise(bounds)]
    return [data]


def _renumber(reply: bytes) -> bytes:
    # After removing a line, the last one must end with "NNN " and the others "NNN-".
    lines = [line for line in reply.split(b"\r\n") if line]
    fixed = [line[:3] + b"-" + line[4:] for line in lines[:-1]]
    fixed.append(lines[-1][:3] + b" " + lines[-1][4:])
    return b"\r\n".join(fixed) + b"\r\n"
