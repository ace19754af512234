"""What a persona file must have: the successful path, and what its own ports, mechanisms and
behaviour need. Every other situation may be absent (the provider has no evidence for it); see
:mod:`fakeserver.personas.vocabulary` for what happens then."""

from __future__ import annotations

from fakeserver.personas.model import Behaviour
from fakeserver.personas.vocabulary import Listener, Situation

__all__ = ["required_situations"]


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
