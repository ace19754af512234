"""The errors fakeserver raises.

::

    FakeServerError                      root of everything below
    ├── ConfigurationError               a setting that cannot work; says what to change
    │   ├── PersonaError                 a persona file breaks an invariant
    │   ├── AccountError                 a malformed --account / account setting
    │   └── CertificateError             certificates cannot be made, read or written
    └── ServerThreadError (AssertionError)
                                         something failed inside the server thread; re-raised
                                         in the test thread by ``FakeGmail.check()``

Errors carry structured attributes and build their own message; no caller parses text.
"""

from __future__ import annotations

__all__ = [
    "AccountError",
    "CertificateError",
    "ConfigurationError",
    "FakeServerError",
    "PersonaError",
    "ServerThreadError",
]


class FakeServerError(Exception):
    """Root of fakeserver's errors."""


class ConfigurationError(FakeServerError):
    """A setting that cannot work.

    Attributes:
        where: the setting, file or entry at fault.
        problem: what is wrong and what to change.
    """

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class PersonaError(ConfigurationError):
    """A persona file is missing, malformed, or breaks an invariant."""


class AccountError(ConfigurationError):
    """An account setting is malformed."""


class CertificateError(ConfigurationError):
    """Certificates cannot be generated, read or written."""


class ServerThreadError(FakeServerError, AssertionError):
    """Errors raised inside the server thread, collected for the test that caused them.

    It is an ``AssertionError`` so that pytest reports it as a test failure.

    Attributes:
        errors: the exceptions, in the order they happened.
    """

    def __init__(self, errors: list[BaseException]) -> None:
        detail = "; ".join(f"{type(error).__name__}: {error}" for error in errors)
        super().__init__(f"{len(errors)} error(s) in the fake server: {detail}")
        self.errors = errors
