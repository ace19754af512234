"""Personas: what a fake server says and how it behaves, as values.

A :class:`Persona` is frozen data, loaded from a TOML file by :mod:`fakeserver.personas.loader`
(``gmail.toml`` beside this module is the model). It holds no SMTP logic: the session
(:mod:`fakeserver.session`) picks a reply by :class:`Situation`, never by code, and reads the
provider's ways from :class:`Behaviour`, so a provider that allows AUTH in clear text or
waits before its errors is a different file, not a different branch in the code.

Rendering follows the persona's house style: each paragraph of a reply is word-wrapped at
``wrap_width``; a paragraph that starts with a space is kept verbatim (Gmail's help-URL lines);
a tagged reply ends with the persona's tag (Gmail: ``<session-id> - gsmtp``; Microsoft 365:
``[<front end> <time> <id>]`` on its errors).

A persona need not have every :class:`Situation`: a situation the provider was never seen (nor
documented, nor coded) answering is absent from its file; :meth:`Persona.template` then gives
its fallback or a stand-in (:mod:`fakeserver.personas.vocabulary` says why, and
:mod:`fakeserver.personas.required` what a file cannot do without). The words themselves
(situations, templates, evidence grades) are in the vocabulary module, re-exported here.
"""

from __future__ import annotations

import datetime
import random
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fakeserver.personas.identifiers import Identifiers, Scope
from fakeserver.personas.vocabulary import (
    MECHANISMS,
    Exactness,
    Grade,
    Listener,
    ReplyTemplate,
    Situation,
    stand_in,
)

__all__ = [
    "CLOCK_FIELDS",
    "FALLBACKS",
    "FIELDS",
    "HELO_ARGUMENT_RULES",
    "MECHANISMS",
    "REPLY_LINE_LIMIT",
    "Behaviour",
    "Exactness",
    "Grade",
    "Listener",
    "Persona",
    "ReplyTemplate",
    "Situation",
    "clock_fields",
    "render_lines",
]

CLOCK_FIELDS = frozenset({"date", "iso_time"})
"""Fields filled from the clock when a reply is rendered (:func:`clock_fields`)."""

FIELDS = frozenset(
    {
        "hostname",
        "session_id",
        "client_ip",
        "timestamp",
        "address",
        "argument",
        "size_limit",
        "user",
        "sender",
        "octets",
        *CLOCK_FIELDS,
    }
)
"""The ``{fields}`` every reply template may use, besides the persona's identifiers
(:mod:`fakeserver.personas.identifiers`). ``address``, ``argument``, ``timestamp``, ``user``,
``sender`` and ``octets`` have values only where a reply is about them (a recipient, a command
line, an accepted message, the logged-in account, the MAIL FROM address, a BDAT chunk)."""

HELO_ARGUMENT_RULES = ("optional", "required", "no_spaces", "domain")
"""What a provider asks of the EHLO/HELO argument, each rule stricter than the one before:
anything, even nothing (SendGrid); something (SES); no spaces (Gmail); a domain or an address
literal (Microsoft 365, which answers ``EHLO MacBook..`` with 501 5.5.4)."""

FALLBACKS = {Situation.EHLO_IMPLICIT_TLS: Situation.EHLO_AFTER_TLS}
"""Situations that, when a persona lacks them, are answered with another of its replies."""

REPLY_LINE_LIMIT = 512
"""The longest reply line, code and CRLF included, in octets (RFC 5321 §4.5.3.1.5)."""

_CUT_MARK = "..."
"""Ends a field that was cut to keep its reply line within the limit."""

_CUT_ROUNDS = 4
"""Fields cut in turn before a line that is still too long is cut at the limit."""

_UNSAFE_ON_THE_WIRE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
"""Characters a reply never carries: controls (a bare CR or LF would end the reply line early)
and lone surrogates (undecodable client bytes, which cannot be encoded to send back)."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How a provider behaves where providers differ in more than their words.

    Each is read from the persona file's ``[behaviour]`` table; Gmail's values are one set of them.

    Attributes:
        requires_tls: on a STARTTLS port, AUTH and the mail transaction are refused with the
            persona's ``tls_required`` reply until TLS is up (Gmail, and SES, which lists AUTH
            before TLS all the same); False lets them run in clear text (SendGrid).
        helo_after_tls: HELO is accepted after STARTTLS, not only EHLO.
        bare_paths: ``MAIL FROM:`` and ``RCPT TO:`` are accepted without angle brackets (SES,
            SendGrid); Gmail answers them with its syntax error.
        error_delay_s: seconds the server waits before every 4xx or 5xx reply (Microsoft 365
            waits about 5); the server's options can turn the wait off.
        idle_timeout_s: silence after which the server sends ``idle_timeout`` and closes, unless
            the server's options set another.
        helo_argument: what the EHLO/HELO argument must be, one of
            :data:`HELO_ARGUMENT_RULES`; a refused one gets ``helo_empty`` or ``helo_invalid``.
        chunking: BDAT (RFC 3030) is a command; without it BDAT is unrecognized, as at the
            providers that do not offer CHUNKING.
        oauth_error_challenge: a refused XOAUTH2/OAUTHBEARER token gets the ``auth_token_error``
            334 challenge before the failure, as at Gmail; False fails at once (Microsoft 365
            answers ``535 5.7.3``).
        dsn: DSN (RFC 3461) is offered, so MAIL takes ``RET=`` and ``ENVID=`` and RCPT takes
            ``NOTIFY=`` and ``ORCPT=`` (Microsoft 365); without it RCPT takes no parameter.
    """

    requires_tls: bool
    helo_after_tls: bool
    bare_paths: bool
    error_delay_s: float
    idle_timeout_s: float
    helo_argument: str = "no_spaces"
    chunking: bool = True
    oauth_error_challenge: bool = True
    dsn: bool = False


@dataclass(frozen=True, slots=True)
class Persona:
    """A server's identity, its behaviour and its reply catalogue.

    Attributes:
        name: short name (the TOML file's stem).
        description: one line for humans.
        hostname: the name the server gives itself (the ``{hostname}`` field).
        tag: the suffix of tagged replies, a template (Gmail: ``{session_id} - gsmtp``), or
            ``""`` for none.
        wrap_width: the column at which reply text is wrapped.
        size_limit: the SIZE advertised in EHLO and enforced, in octets.
        max_recipients: RCPTs accepted per message.
        command_line_limit: longest command line accepted, CRLF included, in octets.
        sasl_response_limit: longest SASL response line (after a 334), CRLF included.
        listeners: the kinds of port the provider has.
        behaviour: how it behaves where providers differ.
        auth_mechanisms: the SASL mechanisms it takes (LOGIN, PLAIN, XOAUTH2...).
        retired_mechanisms: mechanisms it still names but refuses with ``xoauth_unsupported``.
        identifiers: the values that differ per connection and per message.
        replies: its catalogue by situation: only the situations it has evidence for.
        evidence: what the persona rests on: its captures, their count and dates.
    """

    name: str
    description: str
    hostname: str
    tag: str
    wrap_width: int
    size_limit: int
    max_recipients: int
    command_line_limit: int
    sasl_response_limit: int
    listeners: tuple[Listener, ...]
    behaviour: Behaviour
    auth_mechanisms: tuple[str, ...]
    retired_mechanisms: tuple[str, ...]
    identifiers: Identifiers
    replies: Mapping[Situation, ReplyTemplate]
    evidence: str = ""

    def has(self, situation: Situation) -> bool:
        """Whether the persona has a reply of its own for ``situation``."""
        return situation in self.replies

    def template(self, situation: Situation) -> ReplyTemplate:
        """The reply for ``situation``: the persona's own, its fallback (:data:`FALLBACKS`),
        or a stand-in that says the persona has none
        (:func:`~fakeserver.personas.vocabulary.stand_in`)."""
        template = self.replies.get(situation)
        if template is not None:
            return template
        fallback = FALLBACKS.get(situation)
        if fallback is not None and fallback in self.replies:
            return self.replies[fallback]
        # Enhanced codes if the persona's house style has them, as its 250 to MAIL shows (SES
        # has a few inside SubEthaSMTP texts, but none on its own replies).
        enhanced = self.replies[Situation.SENDER_OK].status is not None
        return stand_in(self.name, situation, enhanced=enhanced)

    def render(
        self,
        situation: Situation,
        fields: Mapping[str, object],
        clock: Callable[[], float] | None = None,
    ) -> bytes:
        """Renders the reply for ``situation`` (see :meth:`template`) as wire bytes, each line
        ending in CRLF.

        Args:
            situation: which reply.
            fields: values for the template's ``{fields}``; ``hostname`` and ``size_limit``
                default to the persona's own.
            clock: Unix time for the :data:`CLOCK_FIELDS`; None renders them at time 0.

        Returns:
            The reply, ready to send.
        """
        return render_lines(self, self.template(situation), fields, clock)

    def new_session_id(self, rng: random.Random, now: float = 0.0) -> str:
        """Draws this persona's per-connection id (its ``session_id`` identifier) from ``rng``."""
        return self.identifiers.draw(Scope.SESSION, rng, now)["session_id"]


def clock_fields(now: float) -> dict[str, str]:
    """The :data:`CLOCK_FIELDS` at Unix time ``now``, in UTC.

    ``date`` is RFC 5322 §3.3 without the leading zero of the day, as Microsoft 365's greeting
    has it (``Sat, 26 Apr 2025 18:06:30 +0000``; office365.md §3.4); ``iso_time`` is ISO 8601
    with milliseconds (``2025-04-26T18:06:35.781Z``, its error suffix, §3.2).
    """
    moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
    # Names from tables, not strftime's %a and %b, which follow the locale.
    day = _DAYS[moment.weekday()]
    month = _MONTHS[moment.month - 1]
    return {
        "date": f"{day}, {moment.day} {month} {moment.year} {moment:%H:%M:%S} +0000",
        "iso_time": f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z",
    }


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _Values(dict[str, object]):
    """Template values: a clock field is computed when first asked for, and a field nobody gave
    (a scripted reply said out of its place, such as ``message_accepted`` at MAIL) shows as
    ``{name}`` rather than failing."""

    __slots__ = ("clock",)  # set after dict's own __init__: this is on every reply's path
    clock: Callable[[], float] | None

    def __missing__(self, key: str) -> object:
        if key in CLOCK_FIELDS:
            self.update(clock_fields(self.clock() if self.clock is not None else 0.0))
            return self[key]
        return f"{{{key}}}"


def render_lines(
    persona: Persona,
    template: ReplyTemplate,
    fields: Mapping[str, object],
    clock: Callable[[], float] | None = None,
    *,
    cut: bool = True,
) -> bytes:
    """Renders ``template`` with ``fields`` in ``persona``'s house style (see the module doc);
    ``clock`` gives the time for the :data:`CLOCK_FIELDS`.

    No line passes :data:`REPLY_LINE_LIMIT`: a field that makes one too long (a client's
    argument or address, echoed) is cut and ends in ``...``, so the persona's own words and
    its tag stay whole. ``cut=False`` renders as written (the loader uses it to refuse a
    persona whose own words are too long).
    """
    values = _Values(hostname=persona.hostname, size_limit=persona.size_limit)
    values.clock = clock
    values.update((name, _wire_safe(value)) for name, value in fields.items())
    data = _render(persona, template, values)
    if not cut or len(data) <= REPLY_LINE_LIMIT:
        return data
    # Each round cuts the word of a field that makes the longest line too long, by what the
    # line has too much: wrapping keeps a long word on a line of its own, so it shrinks as much.
    for _ in range(_CUT_ROUNDS):
        line = max(data.splitlines(keepends=True), key=len)
        excess = len(line) - REPLY_LINE_LIMIT
        if excess <= 0:
            return data
        culprit = _culprit(line, fields, values)
        if culprit is None:
            break
        name, word = culprit
        shorter = _shortened(word, len(word.encode()) - excess - len(_CUT_MARK))
        values[name] = str(values[name]).replace(word, shorter, 1)
        data = _render(persona, template, values)
    return b"".join(_cut_line(line) for line in data.splitlines(keepends=True))


def _render(persona: Persona, template: ReplyTemplate, values: Mapping[str, object]) -> bytes:
    text_lines: list[str] = []
    for paragraph in template.paragraphs:
        filled = paragraph.format_map(values)
        if filled.startswith(" ") or len(filled) <= persona.wrap_width:
            text_lines.append(filled)
        else:
            text_lines.extend(
                textwrap.wrap(
                    filled,
                    persona.wrap_width,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
    if template.tagged and persona.tag:
        tag = persona.tag.format_map(values)
        text_lines[-1] = f"{text_lines[-1]} {tag}" if text_lines[-1] else tag
    status = f"{template.status} " if template.status else ""
    last = len(text_lines) - 1
    return b"".join(
        f"{template.code}{' ' if index == last else '-'}{status}{text}\r\n".encode()
        for index, text in enumerate(text_lines)
    )


def _culprit(
    line: bytes, fields: Mapping[str, object], values: Mapping[str, object]
) -> tuple[str, str] | None:
    """The field with the longest word on ``line``, and that word, if cutting it can help."""
    found: tuple[str, str] | None = None
    for name in fields:
        value = values[name]
        if not isinstance(value, str) or not value.strip():
            continue
        word = max(value.split(), key=len)
        longer = found is None or len(word) > len(found[1])
        if len(word) > len(_CUT_MARK) and word.encode() in line and longer:
            found = (name, word)
    return found


def _shortened(text: str, octets: int) -> str:
    """``text`` cut to at most ``octets`` octets of UTF-8 (never inside a character), marked."""
    return text.encode()[: max(octets, 0)].decode("utf-8", "ignore") + _CUT_MARK


def _cut_line(line: bytes) -> bytes:
    """The last resort, for words no field cut could shorten (a scripted reply's own text)."""
    if len(line) <= REPLY_LINE_LIMIT:
        return line
    kept = line[: REPLY_LINE_LIMIT - 2].decode("utf-8", "ignore").encode()
    return kept + b"\r\n"


def _wire_safe(value: object) -> object:
    """Replaces what a client sent that cannot go back on the wire in a reply with ``?``."""
    if isinstance(value, str) and not value.isprintable():  # controls and surrogates are not
        return _UNSAFE_ON_THE_WIRE.sub("?", value)
    return value
