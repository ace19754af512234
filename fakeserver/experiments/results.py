"""What an experiment found: the outcome of each run, and the report of them all."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from fakeserver.experiments.exposure import Exposure
from fakeserver.experiments.matrix import Case
from fakeserver.experiments.options import ClientCommand, ExperimentOptions

__all__ = ["Outcome", "Report", "RunResult", "classify"]


class Outcome(enum.Enum):
    """What a client did with one case, best first."""

    DELIVERED_ONCE = "delivered once"
    RETRIED = "retried then delivered"
    FAILED_CLEARLY = "failed with a clear error"
    FAILED_SILENTLY = "failed silently"
    DELIVERED_TWICE = "delivered twice"
    HUNG = "hung (killed)"
    INSECURE = "insecure"
    """It sent its password or its message in clear text, or trusted a bad certificate,
    whatever became of the message (:mod:`fakeserver.experiments.exposure`)."""

    @property
    def label(self) -> str:
        return self.value


def classify(
    *,
    killed: bool,
    exit_status: int | None,
    message: str,
    stored: int,
    connections: int,
    exposed: tuple[Exposure, ...] = (),
) -> Outcome:
    """The outcome of one run, from what can be observed of it.

    Args:
        killed: the client was still running at the case timeout.
        exit_status: its exit status (None if killed).
        message: what it wrote on standard error.
        stored: messages the fake accepted.
        connections: SMTP sessions the fake saw (a failed implicit-TLS handshake is none).
        exposed: what it let go unprotected; any makes the run insecure, whatever else
            happened, since a password sent in clear is lost however the run ends.
    """
    if exposed:
        return Outcome.INSECURE
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
        exposed: what the client let go unprotected, if anything.
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
    exposed: tuple[Exposure, ...] = ()


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
