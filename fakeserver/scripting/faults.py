"""Faults: how a step of the conversation misbehaves, beyond what is said.

A fault is a small frozen dataclass with one job; a step can carry several, applied in the
order given. Attach them with the script::

    gmail.script.on("greeting").fault(Delay(delay_s=2))                 # a slow banner
    gmail.script.on("ehlo").fault(Drip(bytes_per_write=1))              # dripped byte by byte
    gmail.script.on("data").fault(Close(when="after"))                  # hang up after 354
    gmail.script.on("body").fault(Disconnect(after_bytes=100))          # drop mid-message
    gmail.script.on("end_of_data").fault(Close(when="before"))          # lose the 250
    gmail.script.on("tls").fault(TLSCertificate("expired"))             # an expired certificate

Every fault shapes one plan, and that is its whole interface: :meth:`Fault.apply` takes the plan
and returns it changed. The session makes a plan for what it is about to do and runs the step's
faults over it (:func:`shape`); the transport carries the plan out. There are three kinds:

- :class:`ReplyPlan`: the reply's bytes and how they are written (``Delay``, ``Stall``, ``Drip``,
  ``SplitAt``, ``Coalesce``, ``BareLF``, ``NoFinalCRLF``, ``Garbage``, ``Overlong``, ``Close``,
  ``Reset``, ``Withhold``), on any step with a reply;
- :class:`BodyPlan`: how a message body is read (``Disconnect``), on step ``body``;
- :class:`HandshakePlan`: what a TLS handshake presents (``TLSCertificate``, ``AbortHandshake``),
  on step ``tls``.

A fault never changes what the server decided: ``end_of_data`` with ``Close(when="before")``
stores the message and then loses its 250, which is how a client comes to deliver twice.

Scenario files and experiments name faults through :data:`FAULTS`, built from each class's
``name``; the classes are listed once, in :data:`_ALL`.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

__all__ = [
    "FAULTS",
    "AbortHandshake",
    "BareLF",
    "BodyPlan",
    "Close",
    "Coalesce",
    "Delay",
    "Disconnect",
    "Drip",
    "Ending",
    "Fault",
    "Garbage",
    "HandshakePlan",
    "NoFinalCRLF",
    "Overlong",
    "PlanKind",
    "ReplyPlan",
    "Reset",
    "SplitAt",
    "Stall",
    "TLSCertificate",
    "Withhold",
    "shape",
]

When = Literal["before", "middle", "after"]
CRLF = b"\r\n"


class PlanKind(enum.Enum):
    """What a fault shapes, and so which steps it can be attached to."""

    REPLY = "a reply"
    BODY = "a message body coming in"
    HANDSHAKE = "a TLS handshake"


@dataclass(frozen=True, slots=True)
class Ending:
    """How a connection ends around a reply: closed or reset, before, in the middle of it, or
    after it."""

    when: When
    reset: bool


@dataclass(frozen=True, slots=True)
class ReplyPlan:
    """One reply as the transport is to write it.

    Attributes:
        data: the bytes, every byte-changing fault applied.
        delay_s: seconds to wait before writing.
        stall: never write it; stay silent until the client (or the idle timer) gives up.
        write_size: write at most this many octets at a time; None: at once.
        cuts: write in pieces cut at these offsets.
        interval_s: seconds between the pieces.
        hold: write it together with the next reply, while the client has sent more.
        ending: close or reset the connection around it; None: keep it open.
    """

    data: bytes
    delay_s: float = 0.0
    stall: bool = False
    write_size: int | None = None
    cuts: tuple[int, ...] = ()
    interval_s: float = 0.0
    hold: bool = False
    ending: Ending | None = None

    @property
    def plain(self) -> bool:
        """Written as it is, at once: nothing but the bytes was planned."""
        return (
            self.delay_s == 0
            and not self.stall
            and self.write_size is None
            and not self.cuts
            and not self.hold
            and self.ending is None
        )

    def pieces(self) -> list[bytes]:
        """The writes that carry the reply (one, unless dripped, split or cut in the middle)."""
        data = self.data
        if self.ending is not None and self.ending.when == "middle":
            return [data[: max(1, len(data) // 2)]]
        if self.write_size is not None:
            size = max(1, self.write_size)
            return [data[start : start + size] for start in range(0, len(data), size)]
        if self.cuts:
            bounds = [0, *sorted({cut for cut in self.cuts if 0 < cut < len(data)}), len(data)]
            return [data[start:end] for start, end in itertools.pairwise(bounds)]
        return [data]


@dataclass(frozen=True, slots=True)
class BodyPlan:
    """How a message body is read after 354.

    Attributes:
        drop_after_bytes: give up, and end the connection, once this many octets have come.
        reset: end it with a TCP reset rather than a close.
    """

    drop_after_bytes: int | None = None
    reset: bool = False


@dataclass(frozen=True, slots=True)
class HandshakePlan:
    """What a TLS handshake does.

    Attributes:
        abort: refuse it with a ``handshake_failure`` alert.
        certificate: present a bad certificate of this kind instead of the good one.
    """

    abort: bool = False
    certificate: Literal["untrusted", "wrong_name", "expired"] | None = None


PlanT = TypeVar("PlanT", ReplyPlan, BodyPlan, HandshakePlan)


class Fault(Generic[PlanT]):
    """What every fault is: a change to one kind of plan.

    Attributes:
        name: the fault's name in scenario files and experiments.
        shapes: the kind of plan it changes, and so where it can be used.
    """

    __slots__ = ()
    name: ClassVar[str]
    shapes: ClassVar[PlanKind]

    def apply(self, plan: PlanT) -> PlanT:
        """Returns ``plan`` with this fault's change."""
        raise NotImplementedError


def shape(plan: PlanT, faults: Sequence[Fault[Any]]) -> PlanT:
    """Runs ``faults`` over ``plan`` in order. Faults of another kind do nothing here."""
    for fault in faults:
        if fault.shapes is _KIND_OF[type(plan)]:
            plan = fault.apply(plan)
    return plan


@dataclass(frozen=True, slots=True)
class Delay(Fault[ReplyPlan]):
    """Wait ``delay_s`` seconds before the reply."""

    name: ClassVar[str] = "delay"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY
    delay_s: float

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        return dataclasses.replace(plan, delay_s=plan.delay_s + self.delay_s)


@dataclass(frozen=True, slots=True)
class Stall(Fault[ReplyPlan]):
    """Never answer: the server goes silent and waits for the client to give up."""

    name: ClassVar[str] = "stall"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        return dataclasses.replace(plan, stall=True)


@dataclass(frozen=True, slots=True)
class Drip(Fault[ReplyPlan]):
    """Write the reply ``bytes_per_write`` octets at a time, ``interval_s`` apart."""

    name: ClassVar[str] = "drip"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY
    bytes_per_write: int = 1
    interval_s: float = 0.0

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        return dataclasses.replace(
            plan, write_size=self.bytes_per_write, interval_s=self.interval_s
        )


@dataclass(frozen=True, slots=True)
class SplitAt(Fault[ReplyPlan]):
    """Write the reply in pieces cut at these octet offsets, ``interval_s`` apart."""

    name: ClassVar[str] = "split"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY
    offsets: tuple[int, ...]
    interval_s: float = 0.0

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        return dataclasses.replace(plan, cuts=self.offsets, interval_s=self.interval_s)


@dataclass(frozen=True, slots=True)
class Coalesce(Fault[ReplyPlan]):
    """Hold the reply back and write it together with the next one, in one write.

    Only possible while the client has pipelined more commands (otherwise it waits for this
    reply and there is no next one); the reply is held while more commands are queued.
    """

    name: ClassVar[str] = "coalesce"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        return dataclasses.replace(plan, hold=True)


@dataclass(frozen=True, slots=True)
class BareLF(Fault[ReplyPlan]):
    """End every reply line with a bare LF instead of CRLF."""

    name: ClassVar[str] = "bare_lf"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        return dataclasses.replace(plan, data=plan.data.replace(CRLF, b"\n"))


@dataclass(frozen=True, slots=True)
class NoFinalCRLF(Fault[ReplyPlan]):
    """Leave the line ending off the reply's last line, then close (nothing else could end
    the client's wait)."""

    name: ClassVar[str] = "no_final_crlf"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        data = plan.data.removesuffix(CRLF).removesuffix(b"\n")
        return dataclasses.replace(plan, data=data, ending=plan.ending or Ending("after", False))


@dataclass(frozen=True, slots=True)
class Garbage(Fault[ReplyPlan]):
    """Write ``data`` before the reply, or instead of it when ``replace`` is set."""

    name: ClassVar[str] = "garbage"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY
    data: bytes = b"\x00\xff\xfe garbage \x1b[31m\r\n"
    replace: bool = False

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        return dataclasses.replace(plan, data=self.data if self.replace else self.data + plan.data)


@dataclass(frozen=True, slots=True)
class Overlong(Fault[ReplyPlan]):
    """Pad the reply's last line to ``length_octets`` (RFC 5321 §4.5.3.1.5 allows 512)."""

    name: ClassVar[str] = "overlong"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY
    length_octets: int = 2048

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        body, ending = plan.data[:-2], plan.data[-2:]
        padding = b"x" * max(0, self.length_octets - len(body) - 3)
        return dataclasses.replace(plan, data=body + b" " + padding + ending)


@dataclass(frozen=True, slots=True)
class Close(Fault[ReplyPlan]):
    """Close the connection before the reply, in the middle of it, or after it."""

    name: ClassVar[str] = "close"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY
    when: When = "after"

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        return dataclasses.replace(plan, ending=Ending(self.when, reset=False))


@dataclass(frozen=True, slots=True)
class Reset(Fault[ReplyPlan]):
    """Like ``Close``, but with a TCP reset (RST) instead of an orderly close."""

    name: ClassVar[str] = "reset"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY
    when: When = "after"

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        return dataclasses.replace(plan, ending=Ending(self.when, reset=True))


@dataclass(frozen=True, slots=True)
class Withhold(Fault[ReplyPlan]):
    """Leave an extension out of the EHLO reply (``Withhold("STARTTLS")``)."""

    name: ClassVar[str] = "withhold"
    shapes: ClassVar[PlanKind] = PlanKind.REPLY
    extension: str

    def apply(self, plan: ReplyPlan) -> ReplyPlan:
        keyword = self.extension.upper().encode()
        kept = [
            line
            for line in plan.data.split(CRLF)
            if line and line[4:].split(b" ")[0].upper() != keyword
        ]
        return dataclasses.replace(plan, data=_renumbered(kept)) if kept else plan


@dataclass(frozen=True, slots=True)
class Disconnect(Fault[BodyPlan]):
    """While a message comes in (step ``body``): drop the connection after ``after_bytes``
    octets of it, with a reset when ``reset`` is set."""

    name: ClassVar[str] = "disconnect"
    shapes: ClassVar[PlanKind] = PlanKind.BODY
    after_bytes: int = 0
    reset: bool = False

    def apply(self, plan: BodyPlan) -> BodyPlan:
        return BodyPlan(drop_after_bytes=self.after_bytes, reset=self.reset)


@dataclass(frozen=True, slots=True)
class TLSCertificate(Fault[HandshakePlan]):
    """Present a bad certificate in the TLS handshake (step ``tls``).

    ``kind`` is ``"untrusted"`` (signed by another CA), ``"wrong_name"`` (valid, but for
    ``mail.example.net`` only) or ``"expired"`` (valid until yesterday).
    """

    name: ClassVar[str] = "tls_certificate"
    shapes: ClassVar[PlanKind] = PlanKind.HANDSHAKE
    kind: Literal["untrusted", "wrong_name", "expired"]

    def apply(self, plan: HandshakePlan) -> HandshakePlan:
        return dataclasses.replace(plan, certificate=self.kind)


@dataclass(frozen=True, slots=True)
class AbortHandshake(Fault[HandshakePlan]):
    """Refuse the TLS handshake with a ``handshake_failure`` alert (step ``tls``)."""

    name: ClassVar[str] = "abort_handshake"
    shapes: ClassVar[PlanKind] = PlanKind.HANDSHAKE

    def apply(self, plan: HandshakePlan) -> HandshakePlan:
        return dataclasses.replace(plan, abort=True)


_KIND_OF: dict[type, PlanKind] = {
    ReplyPlan: PlanKind.REPLY,
    BodyPlan: PlanKind.BODY,
    HandshakePlan: PlanKind.HANDSHAKE,
}

_ALL: tuple[type[Fault[Any]], ...] = (
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
    Disconnect,
    TLSCertificate,
    AbortHandshake,
)

FAULTS: dict[str, type[Fault[Any]]] = {kind.name: kind for kind in _ALL}
"""Every fault by the name scenario files and experiments use."""


def _renumbered(lines: list[bytes]) -> bytes:
    # After removing a line, the last one must read "NNN " and the others "NNN-".
    fixed = [line[:3] + b"-" + line[4:] for line in lines[:-1]]
    fixed.append(lines[-1][:3] + b" " + lines[-1][4:])
    return CRLF.join(fixed) + CRLF
