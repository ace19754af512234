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

A persona file holds only the replies its provider was seen (or documented, or coded) saying;
:func:`fakeserver.personas.required.required_situations` are the ones it cannot do without.
Every other situation may be absent, and then:

- a test that *scripts* it gets an error that says so (:mod:`fakeserver.scripting.script`),
  and a server whose options would make a rule send it (a daily quota on a provider with no
  quota reply on record) refuses to start (:class:`fakeserver.server.fake.FakeGmail`);
- a *rule* that needs it (bad syntax sent to a provider whose reply to bad syntax nobody
  recorded) gets :meth:`fakeserver.personas.model.Persona.template`: the persona's fallback
  where one is defined (EHLO on the implicit-TLS port is answered like EHLO after STARTTLS),
  else a :func:`stand_in`, which the session notes in the connection's transcript as a ``gap``.

Why a stand-in and not a close: the client under test should react as the RFC says it must
(a 503 is no reason to reconnect), and the text says plainly that smtprig, not the provider, is
speaking, so no test can take it for evidence.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "MECHANISMS",
    "Exactness",
    "Grade",
    "Listener",
    "ReplyTemplate",
    "Situation",
    "stand_in",
]

MECHANISMS = ("LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER", "PLAIN-CLIENTTOKEN")
"""The SASL mechanisms the fake can judge (:mod:`fakeserver.session.auth`); a persona takes
some of them."""


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
    (:func:`stand_in`)."""

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


# RFC 5321 §4.2.2-4.2.3 and §4.3.2 (codes), RFC 3463 (enhanced codes), RFC 4954 §6 (AUTH) and
# RFC 3207 §4 (STARTTLS); a True third item closes the connection (a 421, or a stream that
# cannot be trusted any more).
_STANDARD: dict[Situation, tuple[int, str, bool]] = {
    Situation.EHLO_BEFORE_TLS: (250, "", False),
    Situation.STARTTLS_READY: (220, "2.0.0", False),
    Situation.AUTH_LOGIN_USERNAME: (334, "", False),
    Situation.AUTH_LOGIN_PASSWORD: (334, "", False),
    Situation.CHUNK_ACCEPTED: (250, "2.0.0", False),
    Situation.HELO_EMPTY: (501, "5.5.4", False),
    Situation.HELO_INVALID: (501, "5.5.4", False),
    Situation.EHLO_THROTTLED: (421, "4.7.0", True),
    Situation.STARTTLS_NOT_AVAILABLE: (503, "5.5.1", False),
    Situation.NO_PARAMETERS_ALLOWED: (501, "5.5.4", False),
    Situation.TLS_REQUIRED: (530, "5.7.0", False),
    Situation.AUTH_EMPTY_CHALLENGE: (334, "", False),
    Situation.AUTH_TOKEN_ERROR: (535, "5.7.8", False),
    Situation.APP_PASSWORD_REQUIRED: (534, "5.7.9", False),
    Situation.AUTH_DISABLED: (535, "5.7.8", False),
    Situation.BASIC_AUTH_DISABLED: (535, "5.7.8", False),
    Situation.AUTH_BLOCKED: (535, "5.7.8", False),
    Situation.CREDENTIALS_REVOKED: (535, "5.7.8", False),
    Situation.CANNOT_DECODE: (501, "5.5.2", False),
    Situation.UNRECOGNIZED_AUTH_TYPE: (504, "5.5.4", False),
    Situation.XOAUTH_UNSUPPORTED: (504, "5.5.4", False),
    Situation.TOO_MANY_LOGINS: (454, "4.7.0", False),
    Situation.ALREADY_AUTHENTICATED: (503, "5.5.1", False),
    Situation.HELO_FIRST: (503, "5.5.1", False),
    Situation.MAIL_FIRST: (503, "5.5.1", False),
    Situation.RCPT_FIRST: (503, "5.5.1", False),
    Situation.NESTED_MAIL: (503, "5.5.1", False),
    Situation.NO_DATA_AFTER_BDAT: (503, "5.5.1", False),
    Situation.SYNTAX_ERROR: (501, "5.5.4", False),
    Situation.LINE_TOO_LONG: (500, "5.5.6", True),
    Situation.UNRECOGNIZED: (500, "5.5.1", False),
    Situation.TOO_MANY_UNRECOGNIZED: (421, "4.7.0", True),
    Situation.UNIMPLEMENTED: (502, "5.5.1", False),
    Situation.SENDER_INVALID: (553, "5.1.7", False),
    Situation.RECIPIENT_INVALID: (553, "5.1.3", False),
    Situation.TOO_MANY_RECIPIENTS: (452, "4.5.3", False),
    Situation.MESSAGE_TOO_BIG: (552, "5.3.4", False),
    Situation.SENDER_NOT_ALLOWED: (550, "5.7.1", False),
    Situation.MAILBOX_FULL: (552, "5.2.2", False),
    Situation.DAILY_QUOTA: (550, "5.4.5", False),
    Situation.RATE_LIMITED: (421, "4.7.0", True),
    Situation.TOO_MANY_CONNECTIONS: (421, "4.7.0", True),
    Situation.TLS_VERSION_UNSUPPORTED: (421, "4.7.0", True),
    Situation.BLOCKED_CONTENT: (554, "5.7.1", False),
    Situation.SERVER_ERROR: (421, "4.3.0", True),
    Situation.FLUSHED: (250, "2.0.0", False),
    Situation.NOOP_OK: (250, "2.0.0", False),
    Situation.HELP: (214, "2.0.0", False),
    Situation.VRFY: (252, "2.1.5", False),
    Situation.IDLE_TIMEOUT: (421, "4.4.2", True),
}
"""The stand-in's code for every situation a persona may lack (whether a persona must have one
depends on its ports, mechanisms and behaviour: :mod:`fakeserver.personas.required`)."""


def stand_in(persona: str, situation: Situation, *, enhanced: bool) -> ReplyTemplate:
    """What the server says when a rule needs a reply ``persona`` has no evidence for.

    The RFC's code for the situation (with an enhanced status code where the provider uses
    them: ``enhanced``), so that a client reacts as it should, and a text that says it is not
    the provider's: ``503 5.5.1 smtprig: no recorded office365 reply for nested_mail``.

    Args:
        persona: the persona's name.
        situation: what happened.
        enhanced: whether the persona's replies carry enhanced status codes (RFC 3463).
    """
    code, status, closes = _STANDARD.get(situation, (500, "5.5.0", False))
    return ReplyTemplate(
        code=code,
        status=status if enhanced and status else None,
        paragraphs=(f"smtprig: no recorded {persona} reply for {situation.value}",),
        tagged=False,
        closes=closes,
        evidence=f"none: {persona} has no evidence for {situation.value}",
        grade=Grade.STAND_IN,
    )
