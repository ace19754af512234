"""Personas: what a fake server says and how it behaves, as values.

A :class:`Persona` is frozen data, loaded from a TOML file by :mod:`fakeserver.personas.loader`
(``gmail.toml`` beside this module is the model). It holds no SMTP logic: the session
(:mod:`fakeserver.session`) picks a reply by :class:`Situation`, never by code, and reads the
provider's ways from :class:`Behaviour`, so a provider that allows AUTH in clear text or
waits before its errors is a different file, not a different branch in the code.

Rendering follows the persona's house style: each paragraph of a reply is word-wrapped at
``wrap_width``; a paragraph that starts with a space is kept verbatim (Gmail's help-URL lines);
a tagged reply ends with the persona's tag (Gmail: ``<session-id> - gsmtp``).
"""

from __future__ import annotations

import enum
import random
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "FIELDS",
    "REPLY_LINE_LIMIT",
    "Behaviour",
    "Listener",
    "Persona",
    "ReplyTemplate",
    "Situation",
    "render_lines",
]

FIELDS = frozenset(
    {"hostname", "session_id", "client_ip", "timestamp", "address", "argument", "size_limit"}
)
"""The ``{fields}`` a reply template may use."""

REPLY_LINE_LIMIT = 512
"""The longest reply line, code and CRLF included, in octets (RFC 5321 §4.5.3.1.5)."""

_CUT_MARK = "..."
"""Ends a field that was cut to keep its reply line within the limit."""

_CUT_ROUNDS = 4
"""Fields cut in turn before a line that is still too long is cut at the limit."""

_UNSAFE_ON_THE_WIRE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
"""Characters a reply never carries: controls (a bare CR or LF would end the reply line early)
and lone surrogates (undecodable client bytes, which cannot be encoded to send back)."""


class Listener(enum.StrEnum):
    """The kinds of port a fake server listens on, named after Gmail's."""

    SMTPS = "smtps"
    """Implicit TLS, like port 465."""
    SUBMISSION = "submission"
    """STARTTLS, like port 587."""
    PLAIN = "plain"
    """Like port 25 on smtp.gmail.com, which behaves like 587 (replies.md, scope)."""

    @property
    def implicit_tls(self) -> bool:
        """TLS from the first byte; on the other ports, TLS starts with STARTTLS."""
        return self is Listener.SMTPS


class Situation(enum.StrEnum):
    """Everything a persona must be able to say, named by what happened."""

    GREETING = "greeting"
    EHLO_BEFORE_TLS = "ehlo_before_tls"
    EHLO_AFTER_TLS = "ehlo_after_tls"
    HELO = "helo"
    HELO_EMPTY = "helo_empty"
    HELO_INVALID = "helo_invalid"
    EHLO_THROTTLED = "ehlo_throttled"
    STARTTLS_READY = "starttls_ready"
    STARTTLS_NOT_AVAILABLE = "starttls_not_available"
    NO_PARAMETERS_ALLOWED = "no_parameters_allowed"
    TLS_REQUIRED = "tls_required"
    AUTH_REQUIRED = "auth_required"
    AUTH_LOGIN_USERNAME = "auth_login_username"
    AUTH_LOGIN_PASSWORD = "auth_login_password"
    AUTH_EMPTY_CHALLENGE = "auth_empty_challenge"
    AUTH_TOKEN_ERROR = "auth_token_error"
    AUTH_ACCEPTED = "auth_accepted"
    BAD_CREDENTIALS = "bad_credentials"
    APP_PASSWORD_REQUIRED = "app_password_required"
    CANNOT_DECODE = "cannot_decode"
    UNRECOGNIZED_AUTH_TYPE = "unrecognized_auth_type"
    XOAUTH_UNSUPPORTED = "xoauth_unsupported"
    TOO_MANY_LOGINS = "too_many_logins"
    ALREADY_AUTHENTICATED = "already_authenticated"
    HELO_FIRST = "helo_first"
    MAIL_FIRST = "mail_first"
    RCPT_FIRST = "rcpt_first"
    NESTED_MAIL = "nested_mail"
    NO_DATA_AFTER_BDAT = "no_data_after_bdat"
    SYNTAX_ERROR = "syntax_error"
    LINE_TOO_LONG = "line_too_long"
    UNRECOGNIZED = "unrecognized"
    TOO_MANY_UNRECOGNIZED = "too_many_unrecognized"
    UNIMPLEMENTED = "unimplemented"
    SENDER_OK = "sender_ok"
    SENDER_INVALID = "sender_invalid"
    RECIPIENT_OK = "recipient_ok"
    RECIPIENT_INVALID = "recipient_invalid"
    TOO_MANY_RECIPIENTS = "too_many_recipients"
    MESSAGE_TOO_BIG = "message_too_big"
    GO_AHEAD = "go_ahead"
    MESSAGE_ACCEPTED = "message_accepted"
    CHUNK_ACCEPTED = "chunk_accepted"
    DAILY_QUOTA = "daily_quota"
    RATE_LIMITED = "rate_limited"
    BLOCKED_CONTENT = "blocked_content"
    SERVER_ERROR = "server_error"
    FLUSHED = "flushed"
    NOOP_OK = "noop_ok"
    HELP = "help"
    VRFY = "vrfy"
    CLOSING = "closing"
    IDLE_TIMEOUT = "idle_timeout"


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    """One reply of a persona.

    Attributes:
        code: the three-digit reply code.
        status: the enhanced status code (RFC 3463), or None where the persona sends none.
        paragraphs: the text; each paragraph is wrapped on its own, and one that starts with a
            space is kept verbatim (Gmail's help-URL lines).
        tagged: whether the persona's tag (Gmail: ``<session-id> - gsmtp``) ends the reply.
        closes: whether the server closes the connection after sending it.
        evidence: where this wording comes from, or what was chosen and why.
    """

    code: int
    status: str | None
    paragraphs: tuple[str, ...]
    tagged: bool
    closes: bool
    evidence: str

    @property
    def is_transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        return self.code >= 500


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How a provider behaves where providers differ in more than their words.

    Each is read from the persona file's ``[behaviour]`` table; Gmail's values are one set of them.

    Attributes:
        requires_tls: on a STARTTLS port, AUTH and the mail transaction are refused with the
            persona's ``tls_required`` reply until TLS is up (Gmail, SES); False lets them run in
            clear text (SendGrid).
        helo_after_tls: HELO is accepted after STARTTLS, not only EHLO.
        bare_paths: ``MAIL FROM:`` and ``RCPT TO:`` are accepted without angle brackets (SES,
            SendGrid); Gmail answers them with its syntax error.
        error_delay_s: seconds the server waits before every 4xx or 5xx reply (Microsoft 365
            waits about 5); the server's options can turn the wait off.
        idle_timeout_s: silence after which the server sends ``idle_timeout`` and closes, unless
            the server's options set another.
    """

    requires_tls: bool
    helo_after_tls: bool
    bare_paths: bool
    error_delay_s: float
    idle_timeout_s: float


@dataclass(frozen=True, slots=True)
class Persona:
    """A server's identity, its behaviour and its whole reply catalogue.

    Attributes:
        name: short name (the TOML file's stem).
        description: one line for humans.
        hostname: the name the server gives itself in the greeting and EHLO.
        tag: the suffix of tagged replies, a template (Gmail: ``{session_id} - gsmtp``).
        wrap_width: the column at which reply text is wrapped.
        size_limit: the SIZE advertised in EHLO and enforced, in octets.
        max_recipients: RCPTs accepted per message.
        command_line_limit: longest command line accepted, CRLF included, in octets.
        sasl_response_limit: longest SASL response line (after a 334), CRLF included.
        listeners: the kinds of port the provider has.
        behaviour: how it behaves where providers differ.
        session_id_pools: the server-pool prefixes session ids are drawn from.
        session_id_cells: the cell tags session ids end with.
        replies: the catalogue.
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
    session_id_pools: tuple[str, ...]
    session_id_cells: tuple[str, ...]
    replies: Mapping[Situation, ReplyTemplate]

    def render(self, situation: Situation, fields: Mapping[str, object]) -> bytes:
        """Renders the reply for ``situation`` as wire bytes, each line ending in CRLF.

        Args:
            situation: which reply.
            fields: values for the template's ``{fields}``; ``hostname`` and ``size_limit``
                default to the persona's own.

        Returns:
            The reply, ready to send.
        """
        return render_lines(self, self.replies[situation], fields)

    def new_session_id(self, rng: random.Random) -> str:
        """Mints a session id in Gmail's current shape from ``rng``.

        The shape is ``<pool>-<11 hex>sm<7-9 digits><cell>.<counter>``, e.g.
        ``ffacd0b85a97d-3b778f047afsm2210013f8f.39`` (replies.md §1, era C).
        """
        pool = rng.choice(self.session_id_pools)
        middle = f"{rng.getrandbits(44):011x}"
        digits = str(rng.randrange(10**6, 10**9))
        cell = rng.choice(self.session_id_cells)
        counter = rng.randrange(1, 200)
        return f"{pool}-{middle}sm{digits}{cell}.{counter}"


def render_lines(
    persona: Persona,
    template: ReplyTemplate,
    fields: Mapping[str, object],
    *,
    cut: bool = True,
) -> bytes:
    """Renders ``template`` with ``fields`` in ``persona``'s house style (see the module doc).

    No line passes :data:`REPLY_LINE_LIMIT`: a field that makes one too long (a client's
    argument or address, echoed) is cut and ends in ``...``, so the persona's own words and
    its tag stay whole. ``cut=False`` renders as written (the loader uses it to refuse a
    persona whose own words are too long).
    """
    values: dict[str, object] = {"hostname": persona.hostname, "size_limit": persona.size_limit}
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
    if template.tagged:
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
