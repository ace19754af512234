"""What a persona must have, and what the server says when a rule needs a reply it lacks.

A persona file holds only the replies its provider was seen (or documented, or coded) saying.
:func:`required_situations` are the ones it cannot do without: the successful path, and what
its own ports, mechanisms and behaviour need. Every other situation may be absent, and then:

- a test that *scripts* it gets an error that says so (:mod:`fakeserver.scripting.script`),
  and a server whose options would make a rule send it (a daily quota on a provider with no
  quota reply on record) refuses to start (:func:`fakeserver.server.fake.FakeGmail`);
- a *rule* that needs it (bad syntax sent to a provider whose reply to bad syntax nobody
  recorded) gets :func:`template_for`: the persona's fallback for it where one is defined
  (EHLO on the implicit-TLS port is answered like EHLO after STARTTLS), else a
  :func:`stand_in`, which the session notes in the connection's transcript as a ``gap``.

Why a stand-in and not a close: the client under test should react as the RFC says it must
(a 503 is not a reason to reconnect), and the text says plainly that smtprig, not the
provider, is speaking, so no test can take it for evidence.
"""

from __future__ import annotations

from fakeserver.personas.model import Behaviour, Persona
from fakeserver.personas.vocabulary import Grade, Listener, ReplyTemplate, Situation

__all__ = ["FALLBACKS", "required_situations", "stand_in", "template_for"]

FALLBACKS = {Situation.EHLO_IMPLICIT_TLS: Situation.EHLO_AFTER_TLS}
"""Situations that, when a persona lacks them, are answered with another of its replies."""

# RFC 5321 §4.2.2-4.2.3 and §4.3.2 (codes), RFC 3463 (enhanced codes), RFC 4954 §6 (AUTH) and
# RFC 3207 §4 (STARTTLS); a True third item closes the connection (a 421, or a stream that
# cannot be trusted any more).
_STANDARD: dict[Situation, tuple[int, str, bool]] = {
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
"""The stand-in's code for every situation a persona may lack (the required ones never are)."""


def required_situations(
    listeners: tuple[Listener, ...], behaviour: Behaviour, mechanisms: tuple[str, ...]
) -> frozenset[Situation]:
    """The replies a persona file must have: the successful path, and what its own ports,
    mechanisms and behaviour need (the loader names any that are missing)."""
    required = {
        Situation.GREETING,
        Situation.EHLO_AFTER_TLS,
        Situation.HELO,
        Situation.AUTH_REQUIRED,
        Situation.AUTH_ACCEPTED,
        Situation.BAD_CREDENTIALS,
        Situation.SENDER_OK,
        Situation.RECIPIENT_OK,
        Situation.GO_AHEAD,
        Situation.MESSAGE_ACCEPTED,
        Situation.CLOSING,
    }
    if any(not listener.implicit_tls for listener in listeners):
        required |= {Situation.EHLO_BEFORE_TLS, Situation.STARTTLS_READY}
        if behaviour.requires_tls:
            required.add(Situation.TLS_REQUIRED)
    if "LOGIN" in mechanisms:
        required |= {Situation.AUTH_LOGIN_USERNAME, Situation.AUTH_LOGIN_PASSWORD}
    if set(mechanisms) - {"LOGIN"}:
        required.add(Situation.AUTH_EMPTY_CHALLENGE)  # PLAIN or XOAUTH2 without a response
    if behaviour.oauth_error_challenge and {"XOAUTH2", "OAUTHBEARER"} & set(mechanisms):
        required.add(Situation.AUTH_TOKEN_ERROR)
    if behaviour.chunking:
        required.add(Situation.CHUNK_ACCEPTED)
    return frozenset(required)


def template_for(persona: Persona, situation: Situation) -> ReplyTemplate:
    """The reply for ``situation``: the persona's own, its fallback, or a :func:`stand_in`."""
    template = persona.replies.get(situation)
    if template is not None:
        return template
    fallback = FALLBACKS.get(situation)
    if fallback is not None and fallback in persona.replies:
        return persona.replies[fallback]
    return stand_in(persona, situation)


def stand_in(persona: Persona, situation: Situation) -> ReplyTemplate:
    """What the server says when a rule needs a reply ``persona`` has no evidence for.

    The RFC's code for the situation (with an enhanced status code where the provider uses
    them), so that a client reacts as it should, and a text that says it is not the
    provider's: ``503 5.5.1 smtprig: no recorded office365 reply for nested_mail``.

    Raises:
        KeyError: ``situation`` is one every persona must have (:func:`required_situations`).
    """
    code, status, closes = _STANDARD[situation]
    uses_status = any(template.status for template in persona.replies.values())
    return ReplyTemplate(
        code=code,
        status=status if uses_status and status else None,
        paragraphs=(f"smtprig: no recorded {persona.name} reply for {situation.value}",),
        tagged=False,
        closes=closes,
        evidence=f"none: {persona.name} has no evidence for {situation.value}",
        grade=Grade.STAND_IN,
    )
