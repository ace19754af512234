"""The errors fakeserver raises.

::

    FakeServerError                      root of everything below
    ├── ConfigurationError               a setting that cannot work; says what to change
    │   ├── PersonaError                 a persona file breaks an invariant
    │   ├── AccountError                 a malformed --account / account setting
    │   ├── CertificateError             certificates cannot be made, read or written
    │   └── ScriptError                  a script names an unknown step, reply or lifetime
    └── ServerThreadError (AssertionError)
                                         what went wrong for a test, re-raised in the test
                                         thread by ``FakeGmail.check()``:
        ├── UnexpectedCommand            the client sent a command Gmail does not know
        └── UnmetExpectation             a scripted reply with a limited lifetime was not used up

``ServerThreadError`` is raised with every error collected; its subclasses also appear in
its ``errors`` list, so a test can look for a particular one.

Errors carry structured attributes and build their own message; no caller parses text.
"""

from __future__ import annotations

__all__ = [
    "AccountError",
    "CertificateError",
    "ConfigurationError",
    "FakeServerError",
    "PersonaError",
    "ScriptError",
    "ServerThreadError",
    "UnexpectedCommand",
    "UnmetExpectation",
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


class ScriptError(ConfigurationError):
    """A script names an unknown step or reply, or an impossible lifetime."""


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


class UnexpectedCommand(FakeServerError, AssertionError):
    """The client sent a command Gmail does not know (it was answered 502 5.5.1).

    Attributes:
        connection_id: the connection it came on.
        line: the line as received.
    """

    def __init__(self, connection_id: int, line: bytes) -> None:
        super().__init__(f"connection {connection_id}: unrecognized command {line!r}")
        self.connection_id = connection_id
        self.line = line


class UnmetExpectation(FakeServerError, AssertionError):
    """A scripted reply with a limited lifetime was not used up by the end of the test.

    Attributes:
        expectations: a description of each one, with how often it was used.
    """

    def __init__(self, expectations: list[str]) -> None:
        super().__init__("scripted replies never (fully) used: " + "; ".join(expectations))
        self.expectations = expectations
