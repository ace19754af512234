"""Fault experiments: run a client command against every case of a fault matrix.

::

    experiment = Experiment(
        clients=[ClientCommand.parse("smtpclient send --host {host} --port {port} ...")],
        cases=default_matrix(),
        options=ExperimentOptions(out_dir=Path("reports/experiment")),
    )
    report = experiment.run(on_result=print)
    for run in report.runs:
        print(run.client, run.case, run.outcome.label)

For each (client, case): a fresh :class:`~fakeserver.server.fake.FakeGmail` on its own ephemeral
ports, with the case's scenario in its script; the client command, formatted with where to
connect, run as a child process; then the outcome, from the exit status, what the fake stored
and the connections it saw (:func:`classify`).

Placeholders in a client command: ``{host}``, ``{port}`` (the case's port), ``{tls}``
(``implicit`` or ``starttls``, for that port), ``{cafile}``, ``{user}``, ``{password}``
(also in the environment as ``SMTPRIG_PASSWORD``, for clients that take it from there),
``{timeout}`` (seconds the client should allow each operation), ``{transcript}`` (a file the
client may write its own transcript to), ``{smtps_port}`` and ``{submission_port}``.

Choices:

- The command is split with :func:`shlex.split` first and each word formatted after, so a
  path with a space in it stays one argument.
- A client is *hung* when it is still running at the case timeout; it then gets SIGTERM,
  and SIGKILL a second later, as a whole process group (it runs in a session of its own).
  ``PYTHONUNBUFFERED=1`` is set so that a killed Python client's output is not lost.
- A *clear error* is a non-zero exit with something on standard error; a client that
  exits 0 having delivered nothing, or non-zero in silence, *failed silently*.
- After the client exits, the fake gets up to ``settle_s`` for its connections to finish
  (a message the client sent just before closing is still stored), then is stopped.
- Every run keeps, under ``out_dir/CLIENT/CASE/``: the fake's transcript of each connection
  (``server-N.txt``), the client's output (``stdout.txt``, ``stderr.txt``), the command
  (``command.txt``) and whatever the client wrote to ``{transcript}``.
- Runs go ``jobs`` at a time (each has its own server and ports); results come back in
  matrix order whatever order they finish in. Every server is seeded (the case's seed, or
  the experiment's), so scripted probabilities and session ids repeat from run to run.
"""

from __future__ import annotations

import concurrent.futures
import enum
import os
import re
import shlex
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from client.transcript import write
from fakeserver.errors import ConfigurationError
from fakeserver.experiments.clientrun import ConnectionWatcher, error_line, run_client
from fakeserver.experiments.matrix import Case
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session.accounts import DEFAULT_ACCOUNT, Account
from fakeserver.session.rules import Listener
from fakeserver.transport.tls import Certificates, generate

__all__ = [
    "PLACEHOLDERS",
    "ClientCommand",
    "Experiment",
    "ExperimentOptions",
    "Outcome",
    "Report",
    "RunResult",
    "classify",
    "error_line",
]

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


class Outcome(enum.Enum):
    """What a client did with one case, best first."""

    DELIVERED_ONCE = "delivered once"
    RETRIED = "retried then delivered"
    FAILED_CLEARLY = "failed with a clear error"
    FAILED_SILENTLY = "failed silently"
    DELIVERED_TWICE = "delivered twice"
    HUNG = "hung (killed)"

    @property
    def label(self) -> str:
        return self.value


def classify(
    *, killed: bool, exit_status: int | None, message: str, stored: int, connections: int
) -> Outcome:
    """The outcome of one run, from what can be observed of it.

    Args:
        killed: the client was still running at the case timeout.
        exit_status: its exit status (None if killed).
        message: what it wrote on standard error.
        stored: messages the fake accepted.
        connections: SMTP sessions the fake saw (a failed implicit-TLS handshake is none).
    """
    if killed:
        return Outcome.HUNG
    if stored >= 2:
        return Outcome.DELIVERED_TWICE
    if exit_status != 0:
        return Outcome.FAILED_CLEARLY if message.strip() else Outcome.FAILED_SILENTLY
    if stored == 0:
        return Outcome.FAILED_SILENTLY
    return Outcome.RETRIED if connections > 1 else Outcome.DELIVERED_ONCE


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
    """

    out_dir: Path
    case_timeout_s: float = 12.0
    client_timeout_s: float = 2.0
    settle_s: float = 2.0
    seed: int = 1
    jobs: int = 2
    user: str = DEFAULT_ACCOUNT.username
    password: str = DEFAULT_ACCOUNT.password

    def __post_init__(self) -> None:
        for name in ("case_timeout_s", "client_timeout_s", "settle_s"):
            if not getattr(self, name) > 0:
                raise ConfigurationError(name, "must be a positive number of seconds")
        if self.jobs < 1:
            raise ConfigurationError("jobs", f"{self.jobs}: run at least one job at a time")


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one client did with one case.

    Attributes:
        client: the client's name.
        case: the case's name.
        outcome: the verdict.
        stored: messages the fake accepted.
        connections: SMTP sessions the fake saw.
        exit_status: the client's exit status; None when it was killed.
        duration_s: from start to exit (or kill).
        message: the line of the client's standard error that says what went wrong
            (:func:`error_line`), or ''.
        reply_codes: per connection, the codes the fake sent.
        notes: anything else worth knowing (scripted changes never used, server errors).
        directory: where this run's files are.
    """

    client: str
    case: str
    outcome: Outcome
    stored: int
    connections: int
    exit_status: int | None
    duration_s: float
    message: str
    reply_codes: tuple[tuple[int, ...], ...]
    notes: tuple[str, ...]
    directory: Path


@dataclass(frozen=True, slots=True)
class Report:
    """Every run of an experiment, in matrix order (case by case, client by client)."""

    clients: tuple[ClientCommand, ...]
    cases: tuple[Case, ...]
    runs: tuple[RunResult, ...]
    options: ExperimentOptions
    duration_s: float

    def result(self, client: str, case: str) -> RunResult:
        """The run of ``client`` on ``case``; KeyError if there is none."""
        for run in self.runs:
            if run.client == client and run.case == case:
                return run
        raise KeyError((client, case))


@dataclass(slots=True)
class Experiment:
    """Clients, a matrix, and how to run them; :meth:`run` does it."""

    clients: Sequence[ClientCommand]
    cases: Sequence[Case]
    options: ExperimentOptions
    certificates: Certificates = field(default_factory=generate)

    def __post_init__(self) -> None:
        names = [client.name for client in self.clients]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigurationError(
                "--client", f"two clients named {duplicates[0]!r}; name them: NAME=COMMAND"
            )
        if not self.clients or not self.cases:
            raise ConfigurationError("experiment", "give at least one client and one case")

    def run(self, on_result: Callable[[RunResult], None] | None = None) -> Report:
        """Runs every client on every case; ``on_result`` hears of each run as it ends."""
        started = time.monotonic()
        self.options.out_dir.mkdir(parents=True, exist_ok=True)
        cafile = self.options.out_dir / "ca.pem"
        cafile.write_bytes(self.certificates.ca_pem)
        pairs = [(case, client) for case in self.cases for client in self.clients]
        lock = threading.Lock()

        def one(pair: tuple[Case, ClientCommand]) -> RunResult:
            result = self._run_one(pair[1], pair[0], cafile)
            if on_result is not None:
                with lock:
                    on_result(result)
            return result

        with concurrent.futures.ThreadPoolExecutor(self.options.jobs) as pool:
            runs = tuple(pool.map(one, pairs))
        return Report(
            tuple(self.clients),
            tuple(self.cases),
            runs,
            self.options,
            time.monotonic() - started,
        )

    def _run_one(self, client: ClientCommand, case: Case, cafile: Path) -> RunResult:
        options = self.options
        directory = options.out_dir / client.name / case.name
        directory.mkdir(parents=True, exist_ok=True)
        for stale in [*directory.glob("server-*.txt"), directory / "client-transcript.txt"]:
            stale.unlink(missing_ok=True)  # a previous run's transcripts would mislead
        seed = case.scenario.seed if case.scenario.seed is not None else options.seed
        account = Account(options.user, options.password)
        server_options = case.scenario.server_options(
            # Not strict: an unknown command is the client's behaviour to report, not an error.
            ServerOptions(
                accounts=(account,), certificates=self.certificates, strict=False, seed=seed
            )
        )
        watcher = ConnectionWatcher()
        with FakeGmail(server_options, observers=[watcher]) as gmail:
            gmail.reseed(seed)
            case.scenario.apply(gmail.script)
            argv = client.argv(self._values(gmail, case, cafile, directory))
            (directory / "command.txt").write_text(shlex.join(argv) + "\n", encoding="utf-8")
            environment = os.environ | {
                PASSWORD_VARIABLE: options.password,
                "PYTHONUNBUFFERED": "1",  # a killed Python client's output is not lost
            }
            exit_status, duration_s = run_client(
                argv, directory, environment, options.case_timeout_s
            )
            watcher.wait_until_idle(options.settle_s)
        stored = len(gmail.messages)
        sessions = gmail.sessions
        for number, transcript in enumerate(gmail.transcripts, 1):
            write(directory / f"server-{number}.txt", transcript)
        notes = [f"scripted change never used: {item}" for item in gmail.script.unmet()]
        notes += [f"server error: {type(error).__name__}: {error}" for error in gmail.errors]
        message = error_line((directory / "stderr.txt").read_text("utf-8", errors="replace"))
        return RunResult(
            client=client.name,
            case=case.name,
            outcome=classify(
                killed=exit_status is None,
                exit_status=exit_status,
                message=message,
                stored=stored,
                connections=len(sessions),
            ),
            stored=stored,
            connections=len(sessions),
            exit_status=exit_status,
            duration_s=duration_s,
            message=message,
            reply_codes=tuple(session.reply_codes for session in sessions),
            notes=tuple(notes),
            directory=directory,
        )

    def _values(
        self, gmail: FakeGmail, case: Case, cafile: Path, directory: Path
    ) -> dict[str, str]:
        host, port = gmail.smtps if case.listener is Listener.SMTPS else gmail.submission
        return {
            "host": host,
            "port": str(port),
            "tls": case.tls,
            "cafile": str(cafile.resolve()),
            "user": self.options.user,
            "password": self.options.password,
            "timeout": f"{self.options.client_timeout_s:g}",
            "transcript": str((directory / "client-transcript.txt").resolve()),
            "smtps_port": str(gmail.smtps.port),
            "submission_port": str(gmail.submission.port),
        }
