"""How closely a conversation must follow its transcript: the matching levels for the message, the
user's masks, and the filter applied to messages before they are recorded.

The SMTP conversation itself (every command, in order, the envelope, the AUTH mechanism) is always
compared line by line (``client.transcript.compare``). The message, the lines between a ``354``
reply and the final ``.``, is compared at one of four levels:

``bytes``
    Every line as sent, as a transcript holds it; only the line normalisers (``Date:`` and
    ``Message-ID:`` values...) and the masks apply. Each run's MIME boundaries differ, so a
    multipart message fails at this level.
``structure`` (the default)
    The message as the standard library's ``email`` package parses it
    (``client.transcript.message``): the header fields in order with their values, the MIME tree
    (content types, charsets, transfer encodings, dispositions, file names) and each part's
    decoded content. Values that change on every run are masked: ``Date`` and ``Message-ID``,
    MIME boundaries in every part, versions in ``X-Mailer`` and ``User-Agent``, and date-times
    inside other header values (swaks puts one in its ``Subject``).
``headers``
    Only the message's own header fields, masked as above.
``envelope``
    Not the message at all: only that one was sent where the transcript sends one.

**Masks** are the user's normalisers: regular expressions whose matches are replaced by
``<masked>`` on both sides before comparing, in every line of the conversation, in header
values, in MIME tree entries and in every decoded body line (so a reset link's token is found
even in a quoted-printable HTML part). A pattern with groups masks only what its groups matched:
``r"token=(\\w+)"`` leaves ``token=`` in place.

**before_record** is a hook that edits each message (an ``email.message.EmailMessage``, in place)
before it is recorded: drop a header, blank personal data. As VCR.py does with its
``before_record_request``, it is also applied to both sides before they are compared, so what it
removed from the recording is not missed in the live message. It must be idempotent (editing an
edited message changes nothing more), and it needs a level that parses messages, since the bytes
it rewrites can no longer match.

This module is configuration only; it uses the standard library only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage

__all__ = ["MASK", "MatchLevel", "Matching", "MessageFilter"]

MASK = "<masked>"
"""What a mask leaves in place of what it matched."""

MessageFilter = Callable[[EmailMessage], None]
"""Edits a message in place before it is recorded (and before it is compared)."""


class MatchLevel(enum.StrEnum):
    """How much of a message must be the same (see the module docstring)."""

    BYTES = "bytes"
    STRUCTURE = "structure"
    HEADERS = "headers"
    ENVELOPE = "envelope"

    @property
    def parses(self) -> bool:
        """Whether comparing at this level parses messages (and so may take a while)."""
        return self in (MatchLevel.STRUCTURE, MatchLevel.HEADERS)


@dataclass(frozen=True, slots=True, init=False)
class Matching:
    """How closely a conversation must follow its transcript.

    Args:
        level: how the message is compared; a ``MatchLevel`` or its name.
        masks: regular expressions masked on both sides (see the module docstring).
        before_record: edits each message before it is recorded and before it is compared.

    Raises:
        ValueError: an unknown level, a mask that is not a regular expression or that matches
            the empty string, or ``before_record`` at the ``bytes`` level; the message says what
            to change.
    """

    level: MatchLevel
    masks: tuple[re.Pattern[str], ...]
    before_record: MessageFilter | None

    def __init__(
        self,
        level: MatchLevel | str = MatchLevel.STRUCTURE,
        *,
        masks: Iterable[str | re.Pattern[str]] = (),
        before_record: MessageFilter | None = None,
    ) -> None:
        chosen = match_level(level)
        if before_record is not None and chosen is MatchLevel.BYTES:
            raise ValueError(
                "before_record rewrites the recorded message, so its bytes can no longer match: "
                "use the 'structure' or 'headers' level with it"
            )
        object.__setattr__(self, "level", chosen)
        object.__setattr__(self, "masks", tuple(_compiled(mask) for mask in masks))
        object.__setattr__(self, "before_record", before_record)

    def mask(self, text: str) -> str:
        """Return ``text`` with every mask's matches replaced by ``<masked>``."""
        for pattern in self.masks:
            text = pattern.sub(_masked, text)
        return text


def match_level(value: MatchLevel | str) -> MatchLevel:
    """The level called ``value``.

    Raises:
        ValueError: ``value`` names no level; the message lists them.
    """
    try:
        return MatchLevel(value)
    except ValueError:
        levels = ", ".join(level.value for level in MatchLevel)
        raise ValueError(f"match level {value!r} is not one of {levels}") from None


def _compiled(mask: str | re.Pattern[str]) -> re.Pattern[str]:
    if isinstance(mask, re.Pattern):
        pattern = mask
    else:
        try:
            pattern = re.compile(mask)
        except re.error as error:
            raise ValueError(f"mask {mask!r} is not a Python regular expression: {error}") from None
    if pattern.fullmatch("") is not None:
        raise ValueError(
            f"mask {pattern.pattern!r} matches the empty string, so it would mask between "
            "every two characters: make it match at least one character (e.g. '+' for '*')"
        )
    return pattern


def _masked(match: re.Match[str]) -> str:
    """``<masked>`` for the whole match, or for each of its groups when it has groups."""
    if not match.re.groups:
        return MASK
    kept: list[str] = []
    position = match.start()
    for group in range(1, match.re.groups + 1):
        start, end = match.span(group)
        if start < position:  # a group that did not take part, or one nested in the last
            continue
        kept += [match.string[position:start], MASK]
        position = end
    kept.append(match.string[position : match.end()])
    return "".join(kept)
