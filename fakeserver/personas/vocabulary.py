"""The words personas are made of: the situations a server replies to, the kinds of port, one
reply template, and how far each reply's evidence can be trusted.

A leaf module (it imports nothing of smtprig), so that scripts and records can name situations
without loading the persona machinery; :mod:`fakeserver.personas.model` re-exports all of it.

Every reply in a persona file carries a ``grade``, the tag of the evidence files it comes from
(``../shared/gmail/replies.md`` §0 and ``../shared/personas/README.md``), graded by its weakest
part (a reply whose first line was captured and whose second is inferred is ``INF``):

======  =====================================================================  ===========
grade   meaning                                                                exactness
======  =====================================================================  ===========
V3+     seen verbatim in three or more independent real captures              seen
V2      seen in two                                                            seen
V1      seen in one                                                            seen
J       seen, but only joined into one line by a client library; the layout   seen
        is reconstructed
DOC     only in the provider's own documentation                               documented
CODE    only in the open-source server the provider's descends from            guessed
FIX     only in another project's test fixture                                 guessed
INF     inferred from neighbouring replies, never observed                     guessed
CHOSEN  nothing to go on: smtprig's choice, said so in the evidence            guessed
======  =====================================================================  ===========
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Exactness", "Grade", "Listener", "ReplyTemplate", "Situation"]


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
    """Everything a persona can say, named by what happened."""

    GREETING = "greeting"
    EHLO_BEFORE_TLS = "ehlo_before_tls"
    EHLO_AFTER_TLS = "ehlo_after_tls"
    EHLO_IMPLICIT_TLS = "ehlo_implicit_tls"
    """EHLO on the implicit-TLS port, where it differs from after STARTTLS (SES); a persona
    without it answers there with ``ehlo_after_tls``."""
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
    AUTH_DISABLED = "auth_disabled"
    """SMTP AUTH is switched off for the account or its organisation (Microsoft 365's
    ``535 5.7.139 ... SmtpClientAuthentication is disabled``); only when scripted."""
    BASIC_AUTH_DISABLED = "basic_auth_disabled"
    """Passwords are refused, only OAuth is taken (Microsoft 365's ``535 5.7.139 ... basic
    authentication is disabled.``); only when scripted."""
    AUTH_BLOCKED = "auth_blocked"
    """An access policy refused a login whatever the password (Microsoft 365's Conditional
    Access, SendGrid's IP access list); only when scripted."""
    CREDENTIALS_REVOKED = "credentials_revoked"
    """The key or token was revoked or has expired (SendGrid's API keys); only when scripted."""
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
    SENDER_NOT_ALLOWED = "sender_not_allowed"
    """The account may not send as this From address (an unverified identity, Send-As
    denied); never sent unless scripted, usually at ``end_of_data``, where providers say it."""
    MAILBOX_FULL = "mailbox_full"
    """The sender's own mailbox is over quota, so the sent copy cannot be kept (Microsoft
    365); only when scripted."""
    DAILY_QUOTA = "daily_quota"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    """The account has too many connections open at once (Microsoft 365's limit of three);
    only when scripted."""
    TLS_VERSION_UNSUPPORTED = "tls_version_unsupported"
    """The client negotiated a TLS version the provider no longer takes (Microsoft 365 and TLS
    1.0/1.1); only when scripted."""
    BLOCKED_CONTENT = "blocked_content"
    SERVER_ERROR = "server_error"
    FLUSHED = "flushed"
    NOOP_OK = "noop_ok"
    HELP = "help"
    VRFY = "vrfy"
    CLOSING = "closing"
    IDLE_TIMEOUT = "idle_timeout"


class Exactness(enum.StrEnum):
    """What a grade says about a reply, for people choosing what to rely on."""

    SEEN = "seen"
    """Captured from the provider itself: byte for byte (or, for ``J``, word for word)."""
    DOCUMENTED = "documented"
    """The provider's documentation says so; no capture shows it."""
    GUESSED = "guessed"
    """Not from the provider: its ancestor's code, a fixture, an inference, or a choice."""
    NONE = "none"
    """No reply at all: the server answers with a stand-in that says so."""


class Grade(enum.StrEnum):
    """The evidence grade of one reply (see the module docstring)."""

    V3 = "V3+"
    V2 = "V2"
    V1 = "V1"
    J = "J"
    DOC = "DOC"
    CODE = "CODE"
    FIX = "FIX"
    INF = "INF"
    CHOSEN = "CHOSEN"
    STAND_IN = "stand-in"
    """Not a persona's grade: the server's stand-in for a reply the persona lacks
    (:func:`fakeserver.personas.standins.stand_in`)."""

    @property
    def exactness(self) -> Exactness:
        """Seen, documented, guessed, or none."""
        if self in (Grade.V3, Grade.V2, Grade.V1, Grade.J):
            return Exactness.SEEN
        if self is Grade.DOC:
            return Exactness.DOCUMENTED
        if self is Grade.STAND_IN:
            return Exactness.NONE
        return Exactness.GUESSED

    @property
    def is_guess(self) -> bool:
        """True unless the provider itself was seen or documented saying it."""
        return self.exactness in (Exactness.GUESSED, Exactness.NONE)


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
        grade: how far the evidence can be trusted (see the module docstring).
        fields: the template fields it uses, the tag's included when it is tagged (the loader
            fills it in; a reply that uses the clock is rendered afresh every time).
    """

    code: int
    status: str | None
    paragraphs: tuple[str, ...]
    tagged: bool
    closes: bool
    evidence: str
    grade: Grade = Grade.CHOSEN
    fields: frozenset[str] = frozenset()

    @property
    def is_transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        return self.code >= 500
