"""AUTH for one connection: the SASL exchange, the login and the failed attempts, as Gmail does
them (replies.md §7), with the mechanisms the persona takes. Pure: no sockets, no clock.

Every answer is an :class:`AuthAnswer`: the situation to reply with, and whether the next client
line is a SASL response (after a ``334``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fakeserver.personas.vocabulary import MECHANISMS, Situation
from fakeserver.session import sasl
from fakeserver.session.accounts import Accounts, LoginVerdict

__all__ = ["MECHANISMS", "AuthAnswer", "Authenticator"]


@dataclass(frozen=True, slots=True)
class AuthAnswer:
    """The reply to an AUTH command or a SASL response.

    Attributes:
        situation: what to say.
        awaits_response: the next client line answers a ``334`` challenge.
    """

    situation: Situation
    awaits_response: bool = False


@dataclass(frozen=True, slots=True)
class _Exchange:
    mechanism: str
    step: str
    login: str = ""


class Authenticator:
    """The login state of one connection.

    Args:
        accounts: who may log in.
        failure_limit: failed logins after which AUTH gets ``too_many_logins``; None: no limit.
        mechanisms: the persona's mechanisms (others get ``unrecognized_auth_type``).
        retired: mechanisms it names but refuses with ``xoauth_unsupported``.
        error_challenge: a refused token gets the ``auth_token_error`` challenge first.
    """

    def __init__(
        self,
        accounts: Accounts,
        failure_limit: int | None,
        *,
        mechanisms: tuple[str, ...] = MECHANISMS,
        retired: tuple[str, ...] = ("XOAUTH",),
        error_challenge: bool = True,
    ) -> None:
        self.user: str | None = None
        self.mechanism: str | None = None
        self.failures = 0
        self._accounts = accounts
        self._failure_limit = failure_limit
        self._mechanisms = mechanisms
        self._retired = retired
        self._error_challenge = error_challenge
        self._exchange: _Exchange | None = None

    @property
    def in_exchange(self) -> bool:
        """True while the next client line answers a 334 challenge (and must be redacted)."""
        return self._exchange is not None

    def start(self, argument: str) -> AuthAnswer:
        """Answers ``AUTH <argument>`` (the gates have been passed)."""
        parts = argument.split()
        if not parts or len(parts) > 2:
            return AuthAnswer(Situation.SYNTAX_ERROR)
        if self.user is not None:
            return AuthAnswer(Situation.ALREADY_AUTHENTICATED)
        if self._failure_limit is not None and self.failures >= self._failure_limit:
            return AuthAnswer(Situation.TOO_MANY_LOGINS)
        mechanism = parts[0].upper()
        initial = parts[1].encode("utf-8", "surrogateescape") if len(parts) == 2 else None
        if mechanism in self._retired:
            return AuthAnswer(Situation.XOAUTH_UNSUPPORTED)
        if mechanism not in self._mechanisms:
            return AuthAnswer(Situation.UNRECOGNIZED_AUTH_TYPE)
        if initial is None:
            if mechanism == "LOGIN":
                self._exchange = _Exchange(mechanism, "username")
                return AuthAnswer(Situation.AUTH_LOGIN_USERNAME, awaits_response=True)
            self._exchange = _Exchange(mechanism, "blob")
            return AuthAnswer(Situation.AUTH_EMPTY_CHALLENGE, awaits_response=True)
        # RFC 4954 §4: "=" is an empty initial response.
        decoded = b"" if initial == b"=" else sasl.decode_base64(initial)
        if decoded is None:
            return AuthAnswer(Situation.CANNOT_DECODE)
        if mechanism == "LOGIN":
            # `AUTH LOGIN <b64 user>` skips the Username: prompt (replies.md §7.1).
            self._exchange = _Exchange(mechanism, "password", _text(decoded))
            return AuthAnswer(Situation.AUTH_LOGIN_PASSWORD, awaits_response=True)
        return self._judge_blob(mechanism, decoded)

    def respond(self, line: bytes) -> AuthAnswer:
        """Answers the client's line after a 334 challenge (CRLF already removed)."""
        exchange = self._exchange
        if exchange is None:
            raise RuntimeError("respond() called outside an AUTH exchange")
        self._exchange = None
        if exchange.step == "token_error":
            # Whatever the client sends after the error challenge is taken as its (empty)
            # response, even QUIT (replies.md §7.7, PHPMailer#677).
            return self._failed(Situation.BAD_CREDENTIALS)
        decoded = sasl.decode_base64(line) if line.strip() != b"*" else None
        if decoded is None:
            return AuthAnswer(Situation.CANNOT_DECODE)
        if exchange.step == "username":
            self._exchange = _Exchange(exchange.mechanism, "password", _text(decoded))
            return AuthAnswer(Situation.AUTH_LOGIN_PASSWORD, awaits_response=True)
        if exchange.step == "password":
            attempt = sasl.LoginAttempt(exchange.login, _text(decoded))
            return self._judge_password(exchange.mechanism, attempt)
        return self._judge_blob(exchange.mechanism, decoded)

    def abandon(self) -> None:
        """A scripted failure answered a SASL response: the exchange is over."""
        self._exchange = None

    def _judge_blob(self, mechanism: str, blob: bytes) -> AuthAnswer:
        if mechanism in {"PLAIN", "PLAIN-CLIENTTOKEN"}:
            attempt = sasl.parse_plain(blob)
            if attempt is None:
                return AuthAnswer(Situation.CANNOT_DECODE)
            if mechanism == "PLAIN-CLIENTTOKEN":
                # Google's client-token variant is advertised but undocumented; refuse it.
                return self._failed(Situation.BAD_CREDENTIALS)
            return self._judge_password(mechanism, attempt)
        parse = sasl.parse_xoauth2 if mechanism == "XOAUTH2" else sasl.parse_oauthbearer
        attempt = parse(blob)
        if attempt is None:
            return AuthAnswer(Situation.CANNOT_DECODE)
        account = self._accounts.check_token(attempt.login, attempt.secret)
        if account is None and not self._error_challenge:
            return self._failed(Situation.BAD_CREDENTIALS)  # office365.md: MailKit #1712
        if account is None:
            self._exchange = _Exchange(mechanism, "token_error")
            return AuthAnswer(Situation.AUTH_TOKEN_ERROR, awaits_response=True)
        return self._logged_in(account.username, mechanism)

    def _judge_password(self, mechanism: str, attempt: sasl.LoginAttempt) -> AuthAnswer:
        verdict, account = self._accounts.check_password(attempt.login, attempt.secret)
        if verdict is LoginVerdict.ACCEPTED and account is not None:
            # RFC 4616 §2: the server checks that the login may act as the authzid. A Gmail
            # account acts only as itself; Google's own list documents a refusal (replies.md
            # §13, 535 5.5.4 [DOC]) whose wire form was never seen, so it is the 535 every
            # failed login gets (§7.4).
            if attempt.authorization and self._accounts.find(attempt.authorization) is not account:
                return self._failed(Situation.BAD_CREDENTIALS)
            return self._logged_in(account.username, mechanism)
        if verdict is LoginVerdict.APP_PASSWORD_REQUIRED:
            return self._failed(Situation.APP_PASSWORD_REQUIRED)
        return self._failed(Situation.BAD_CREDENTIALS)

    def _logged_in(self, username: str, mechanism: str) -> AuthAnswer:
        self.user = username
        self.mechanism = mechanism
        return AuthAnswer(Situation.AUTH_ACCEPTED)

    def _failed(self, situation: Situation) -> AuthAnswer:
        self.failures += 1
        return AuthAnswer(situation)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="surrogateescape")
