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
- A client that sent its password or its message in clear text, or sent anything after a
  certificate it should have refused, is *insecure* whatever else it did: judged from the
  fake's transcripts (:mod:`fakeserver.experiments.exposure`), not from what it printed.
- After the client exits, the fake gets up to ``settle_s`` for its connections to finish
  (a message the client sent just before closing is still stored), then is stopped.
- Every run keeps, under ``out_dir/CLIENT/CASE/``: the fake's transcript of each connection
  (``server-N.txt``), the client's output (``stdout.txt``, ``stderr.txt``), the command
  (``command.txt``) and whatever the client wrote to ``{transcript}``.
- Runs go ``jobs`` at a time (each has its own server and ports); results come back in
  matrix order whatever order they finish in. Every server is seeded (the case's seed, or
  the experiment's), so scripted probabilities and session ids repeat from run to run.
- The fake speaks for ``options.persona``. A case aimed at the implicit-TLS port runs on the
  STARTTLS port of a provider that has none (Microsoft 365), and its result says so; a case
  that scripts a reply the persona has no evidence for is a clear error before anything runs.
"""

from __future__ import annotations

import concurrent.futures
import os
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from client.tls_mode import TLSMode
from client.transcript import write
from fakeserver.errors import ConfigurationError
from fakeserver.experiments.clientrun import ConnectionWatcher, error_line, run_client
from fakeserver.experiments.exposure import exposures
from fakeserver.experiments.matrix import Case
from fakeserver.experiments.options import PASSWORD_VARIABLE, ClientCommand, ExperimentOptions
from fakeserver.experiments.results import Report, RunResult, classify
from fakeserver.personas.loader import load_persona
from fakeserver.personas.model import Listener, Persona
from fakeserver.scripting.script import Script
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session.accounts import Account
from fakeserver.transport.tls import Certificates, generate

__all__ = ["Experiment"]


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
        persona = load_persona(self.options.persona)
        if Listener.SMTPS not in persona.listeners:
            for client in self.clients:
                if "{smtps_port}" in client.template:
                    raise ConfigurationError(
                        f"--client {client.name}",
                        f"uses {{smtps_port}}, but the {persona.name} persona's provider has no "
                        "implicit-TLS port; use {port} and {tls}",
                    )
        for case in self.cases:  # every scripted reply must be one the case's persona has
            own = persona if case.persona is None else case.persona
            case.scenario.apply(
                Script(persona=own if isinstance(own, Persona) else load_persona(own))
            )

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
        # Not strict: an unknown command is the client's behaviour to report, not an error.
        server_options = ServerOptions(
            accounts=(account,),
            persona=options.persona if case.persona is None else case.persona,
            certificates=self.certificates,
            strict=False,
            seed=seed,
        ).with_scenario(case.scenario)
        watcher = ConnectionWatcher()
        with FakeGmail(server_options, observers=[watcher]) as gmail:
            listeners = gmail.persona.listeners
            listener = case.listener if case.listener in listeners else Listener.SUBMISSION
            gmail.reseed(seed)
            case.scenario.apply(gmail.script)
            argv = client.argv(self._values(gmail, listener, cafile, directory))
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
        exposed = exposures(record.transcript for record in sessions if record.transcript)
        for number, transcript in enumerate(gmail.transcripts, 1):
            write(directory / f"server-{number}.txt", transcript)
        notes = [f"scripted change never used: {item}" for item in gmail.script.unmet()]
        if listener is not case.listener:
            notes.append(
                f"ran on the STARTTLS port: the {gmail.persona.name} persona's provider has no "
                f"{case.listener.value} port"
            )
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
                exposed=exposed,
            ),
            stored=stored,
            connections=len(sessions),
            exit_status=exit_status,
            duration_s=duration_s,
            message=message,
            reply_codes=tuple(session.reply_codes for session in sessions),
            notes=tuple(notes),
            directory=directory,
            exposed=exposed,
        )

    def _values(
        self, gmail: FakeGmail, listener: Listener, cafile: Path, directory: Path
    ) -> dict[str, str]:
        host, port = gmail.listeners[listener]
        bound = gmail.listeners
        return {
            "host": host,
            "port": str(port),
            "tls": (TLSMode.IMPLICIT if listener.implicit_tls else TLSMode.STARTTLS).value,
            "cafile": str(cafile.resolve()),
            "user": self.options.user,
            "password": self.options.password,
            "timeout": f"{self.options.client_timeout_s:g}",
            "transcript": str((directory / "client-transcript.txt").resolve()),
            "smtps_port": str(bound[Listener.SMTPS].port) if Listener.SMTPS in bound else "",
            "submission_port": str(gmail.submission.port),
        }
