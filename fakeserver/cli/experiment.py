"""``fakeserver experiment``: the command-line face of :mod:`fakeserver.experiments.experiment`.

::

    fakeserver experiment --client 'smtpclient send --host {host} --port {port} --tls {tls}
        --cafile {cafile} --user {user} --password-env SMTPRIG_PASSWORD --from {user}
        --to friend@example.org --timeout {timeout}' [--client ...] [--matrix FILE.toml]
        [--case NAME]... [--out DIR] [--timeout S] [--client-timeout S] [--seed N]
        [--persona NAME]
        [--jobs N] [--json] [--html FILE] [--fail-on OUTCOME]...

While it runs, a progress bar on standard error (redrawn in place on a terminal, one line
per run otherwise); at the end the cases-by-clients table on standard output, or with
``--json`` the whole report as JSON. ``OUT/report.json`` is always written. Exit status: 0,
or 1 when a run ended in an outcome named by ``--fail-on``; 2 for a usage error.

Kept apart from :mod:`fakeserver.cli.main` so that adding this verb there takes two lines.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from fakeserver.errors import ConfigurationError
from fakeserver.experiments.experiment import Experiment
from fakeserver.experiments.matrix import Case, default_matrix, load_matrix
from fakeserver.experiments.options import ClientCommand, ExperimentOptions
from fakeserver.experiments.report import markdown_table, summary, to_html, to_json
from fakeserver.experiments.results import Outcome, RunResult

__all__ = ["Progress", "add_parser"]


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``experiment`` verb to ``fakeserver``'s sub-commands."""
    experiment = verbs.add_parser(
        "experiment", help="run a client command against a matrix of faults and report"
    )
    experiment.set_defaults(run=run)
    experiment.add_argument(
        "--client",
        action="append",
        required=True,
        metavar="[NAME=]COMMAND",
        help="the client to test, with {host} {port} {tls} {cafile} {user} {password} "
        "{timeout} {transcript} (repeatable)",
    )
    experiment.add_argument(
        "--matrix", type=Path, metavar="FILE.toml", help="cases to run (default: built in)"
    )
    experiment.add_argument(
        "--case", action="append", default=[], metavar="NAME", help="only this case (repeatable)"
    )
    experiment.add_argument("--out", type=Path, default=Path("reports/experiment"), metavar="DIR")
    experiment.add_argument(
        "--timeout", type=float, default=12.0, metavar="S", help="kill a client after this"
    )
    experiment.add_argument(
        "--client-timeout", type=float, default=2.0, metavar="S", help="the {timeout} to give"
    )
    experiment.add_argument("--seed", type=int, default=1, help="for cases without their own")
    experiment.add_argument(
        "--persona",
        default="gmail",
        help="the provider to imitate: gmail, office365, ses, sendgrid... or a TOML file",
    )
    experiment.add_argument("--jobs", type=int, default=2, help="runs at a time")
    experiment.add_argument("--json", action="store_true", help="print the report as JSON")
    experiment.add_argument("--html", type=Path, metavar="FILE", help="also write an HTML report")
    experiment.add_argument(
        "--fail-on",
        action="append",
        default=[],
        choices=[outcome.name.lower() for outcome in Outcome],
        help="exit 1 if any run ends this way (repeatable)",
    )


def run(arguments: argparse.Namespace) -> int:
    """Runs the experiment the arguments describe; returns the exit status."""
    clients = [ClientCommand.parse(text) for text in arguments.client]
    cases = _cases(arguments.matrix, arguments.case)
    options = ExperimentOptions(
        out_dir=arguments.out,
        case_timeout_s=arguments.timeout,
        client_timeout_s=arguments.client_timeout,
        seed=arguments.seed,
        jobs=arguments.jobs,
        persona=arguments.persona,
    )
    experiment = Experiment(clients, cases, options)
    progress = Progress(len(clients) * len(cases), sys.stderr)
    report = experiment.run(on_result=progress.done)
    progress.finish()
    (options.out_dir / "report.json").write_text(to_json(report), encoding="utf-8")
    if arguments.html is not None:
        arguments.html.parent.mkdir(parents=True, exist_ok=True)
        arguments.html.write_text(to_html(report), encoding="utf-8")
    if arguments.json:
        sys.stdout.write(to_json(report))
    else:
        sys.stdout.write(markdown_table(report) + "\n" + summary(report))
    failing = {Outcome[name.upper()] for name in arguments.fail_on}
    return 1 if any(run.outcome in failing for run in report.runs) else 0


def _cases(matrix: Path | None, names: list[str]) -> list[Case]:
    cases = load_matrix(matrix) if matrix is not None else default_matrix()
    if not names:
        return cases
    known = {case.name for case in cases}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigurationError(
            f"--case {unknown[0]}", f"no such case; the matrix has {', '.join(sorted(known))}"
        )
    return [case for case in cases if case.name in names]


class Progress:
    """A plain-text progress bar: redrawn in place on a terminal, a line per run otherwise.

    Args:
        total: how many runs there are.
        stream: where to draw it (standard error, so the report on stdout stays clean).
    """

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self._total = total
        self._done = 0
        self._stream = stream
        self._in_place = stream.isatty()

    def done(self, result: RunResult) -> None:
        """Counts one finished run and shows it."""
        self._done += 1
        filled = self.WIDTH * self._done // max(1, self._total)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        text = (
            f"[{bar}] {self._done}/{self._total} {result.client} / {result.case}: "
            f"{result.outcome.label} ({result.duration_s:.1f} s)"
        )
        if self._in_place:
            self._stream.write("\r\x1b[K" + text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def finish(self) -> None:
        if self._in_place and self._done:
            self._stream.write("\n")
            self._stream.flush()
