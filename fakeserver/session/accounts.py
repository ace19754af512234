"""Who may log in: accounts, their passwords and OAuth tokens, and how Gmail judges a login.

Everything here is pure and runs in whichever thread asks.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["DEFAULT_ACCOUNT", "Account", "Accounts", "LoginVerdict"]


@dataclass(frozen=True, slots=True)
class Account:
    """A Gmail account the fake accepts.

    Attributes:
        username: the login, usually the address (``someone@gmail.com``).
        password: the app password that logs in with LOGIN or PLAIN.
        oauth_tokens: access tokens accepted by XOAUTH2 and OAUTHBEARER.
        requires_app_password: the account has 2-step verification, so ``password`` is its
            Google password and a login with it gets ``534 5.7.9 Application-specific password
            required`` (replies.md §7.5), as Gmail answers such accounts.
    """

    username: str
    password: str
    oauth_tokens: frozenset[str] = field(default_factory=frozenset)
    requires_app_password: bool = False


DEFAULT_ACCOUNT = Account(
    "tester@gmail.com", "app-password", oauth_tokens=frozenset({"ya29.smtprig-test-token"})
)
"""The account every server has unless told otherwise; printed by ``fakeserver serve``."""


class LoginVerdict(enum.Enum):
    """How Gmail answers a login attempt."""

    ACCEPTED = "accepted"
    BAD_CREDENTIALS = "bad_credentials"
    APP_PASSWORD_REQUIRED = "app_password_required"


class Accounts:
    """The accounts of one server, looked up as Gmail does.

    Gmail compares logins without regard to case and accepts a gmail.com login without its
    domain (``tester`` for ``tester@gmail.com``).
    """

    def __init__(self, accounts: Iterable[Account]) -> None:
        self._by_login: dict[str, Account] = {}
        for account in accounts:
            for login in _logins(account.username):
                self._by_login[login] = account

    @property
    def all(self) -> tuple[Account, ...]:
        """Every account, in the order given."""
        return tuple(dict.fromkeys(self._by_login.values()))

    def find(self, login: str) -> Account | None:
        """Returns the account ``login`` names, or None."""
        return self._by_login.get(login.strip().casefold())

    def check_password(self, login: str, password: str) -> tuple[LoginVerdict, Account | None]:
        """Judges a LOGIN or PLAIN attempt."""
        account = self.find(login)
        if account is None or password != account.password:
            return LoginVerdict.BAD_CREDENTIALS, None
        if account.requires_app_password:
            return LoginVerdict.APP_PASSWORD_REQUIRED, None
        return LoginVerdict.ACCEPTED, account

    def check_token(self, login: str, token: str) -> Account | None:
        """Judges an XOAUTH2 or OAUTHBEARER attempt; returns the account when it is valid."""
        account = self.find(login)
        if account is None or token not in account.oauth_tokens:
            return None
        return account


def _logins(username: str) -> tuple[str, ...]:
    folded = username.strip().casefold()
    local, at, domain = folded.rpartition("@")
    if at and domain in {"gmail.com", "googlemail.com"}:
        return (folded, local)
    return (folded,)
