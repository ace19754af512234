"""What an experiment is given: the client commands under test, and how to run them.

A client command is split with :func:`shlex.split` first and each word formatted after, so a path
with a space in it stays one argument. Placeholders: ``{host}``, ``{port}`` (the case's port),
``{tls}`` (``implicit`` or ``starttls``, for that port), ``{cafile}``, ``{user}``,
``{password}`` (also in the environment as ``SMTPRIG_PASSWORD``, for clients that take it from
there), ``{timeout}`` (seconds the client should allow each operation), ``{transcript}`` (a file
the client may write its own transcript to), ``{smtps_port}`` and ``{submission_port}``.
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from fakeserver.errors import ConfigurationError
from fakeserver.session.accounts import DEFAULT_ACCOUNT

__all__ = ["PASSWORD_VARIABLE", "PLACEHOLDERS", "ClientCommand", "ExperimentOptions"]

PLACEHOLDERS = (
    "host",
    "port",
    "tls",
    "cafile",
    "user",
    "password",
    "timeout",
    "transcript",
    "smtps_port",
    "submission_port",
)
"""What a client command may say in braces."""

PASSWORD_VARIABLE = "SMTPRIG_PASSWORD"
"""The environment variable that holds the password in the client's environment."""

_NAMED = re.compile(r"([A-Za-z][\w.-]*)=(\S.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ClientCommand:
    """A client under test: a name for reports, and a command with placeholders."""

    name: str
    template: str

    @classmethod
    def parse(cls, text: str) -> ClientCommand:
        """``NAME=COMMAND``, or a bare COMMAND named after its program (or script).

        Raises:
            ConfigurationError: the command is empty or uses an unknown placeholder.
        """
        named = _NAMED.fullmatch(text.strip())
        if named is not None:
            client = cls(named[1], named[2])
        else:
            words = _split(text)
            # `python -u tool.py ...` is named tool: skip the interpreter and its options.
            program = next(
                (w for w in words if not (Path(w).name.startswith("python") or w[:1] == "-")),
                "",
            )
            client = cls(Path(program).stem or "client", text)
        program = client.argv(dict.fromkeys(PLACEHOLDERS, "x"))[0]  # fails now, not per case
        if shutil.which(program) is None:
            raise ConfigurationError(
                f"--client {text!r}",
                f"cannot find the program {program!r}; give its path or put it on PATH",
            )
        return client

    def argv(self, values: dict[str, str]) -> list[str]:
        """The command's words with the placeholders filled in."""
        words = _split(self.template)
        try:
            return [word.format_map(values) for word in words]
        except KeyError as error:
            raise ConfigurationError(
                f"--client {self.template!r}",
                f"unknown placeholder {{{error.args[0]}}}; use "
                + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS),
            ) from None
        except (ValueError, IndexError) as error:
            raise ConfigurationError(
                f"--client {self.template!r}",
                f"{error}; write a literal brace as {{{{ or }}}}",
            ) from None


def _split(template: str) -> list[str]:
    try:
        words = shlex.split(template)
    except ValueError as error:
        raise ConfigurationError(f"--client {template!r}", f"cannot split it: {error}") from None
    if not words:
        raise ConfigurationError("--client", "the command is empty")
    return words


@dataclass(frozen=True, slots=True)
class ExperimentOptions:
    """How an experiment runs.

    Attributes:
        out_dir: where transcripts, outputs and the CA go.
        case_timeout_s: a client still running after this long is hung, and killed.
        client_timeout_s: the ``{timeout}`` given to clients.
        settle_s: after the client exits, the longest wait for the fake's connections to end.
        seed: seeds every case that does not set its own seed.
        jobs: runs at a time.
        user: the account's user name (``{user}``).
        password: its password (``{password}``).
        persona: the provider the fake speaks for (``"gmail"``, ``"office365"``, ``"ses"``,
            ``"sendgrid"``... or a TOML file), so one matrix runs as if against each.
    """

    out_dir: Path
    case_timeout_s: float = 12.0
    client_timeout_s: float = 2.0
    settle_s: float = 2.0
    seed: int = 1
    jobs: int = 2
    user: str = DEFAULT_ACCOUNT.username
    password: str = DEFAULT_ACCOUNT.password
    persona: str = "gmail"

    def __post_init__(self) -> None:
        for name in ("case_timeout_s", "client_timeout_s", "settle_s"):
            if not getattr(self, name) > 0:
                raise ConfigurationError(name, "must be a positive number of seconds")
        if self.jobs < 1:
            raise ConfigurationError("jobs", f"{self.jobs}: run at least one job at a time")
