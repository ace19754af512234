"""Interleaved rounds: every workload against each of its servers in turn, round after round.

The machine is shared and its load moves, so no figure stands alone: within a round, a
workload runs on its servers one right after another (A B C, then in the next round B C A,
and so on, so that no server always goes first), and tables compare medians over rounds of
figures taken minutes apart at most. Before each run a fake is reset (``POST /api/v1/reset``),
so every run finds it as a user's test would, however many messages earlier runs left: the
``serve --json`` that runs every workload and the variants that run one are on equal terms.
:class:`Runs` keeps every :class:`~bench.measure.Result` by workload and server.

:data:`LIKE_FOR_LIKE` and the rest name the workloads of issue 12; :func:`plan` says which
servers run each one.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Result, Workload, load
from bench.servers import (
    AIOSMTPD,
    AIOSMTPD_UNPARSED,
    FLOOR,
    NODE,
    SERVE,
    SERVE_LIVE,
    SERVE_NO_TRANSCRIPTS,
    Running,
    reset,
    running,
)

IMPLICIT = Workload("implicit", "implicit", "ingest", connections=1, count=2000)
STARTTLS = Workload("starttls", "starttls", "ingest", connections=1, count=2000)
MANY = Workload("many", "implicit", "ingest", connections=50, count=40)
PIPELINED = Workload("pipelined", "implicit", "ingest", connections=1, count=2000, pipelining=True)
SESSIONS = Workload("sessions", "implicit", "sessions", connections=20, count=400)
SESSIONS_STARTTLS = Workload("sessions-starttls", "starttls", "sessions", connections=20, count=400)
TEN = Workload("ten", "implicit", "ingest", connections=10, count=200)
CROWD = Workload("crowd", "implicit", "ingest", connections=200, count=10, generators=2)
LARGE = Workload("100KB", "implicit", "ingest", connections=1, count=50, size_bytes=100_000)
HUGE = Workload("10MB", "implicit", "ingest", connections=1, count=1, size_bytes=10_000_000)

LIKE_FOR_LIKE = (IMPLICIT, STARTTLS, MANY)
BY_CONNECTIONS = (IMPLICIT, TEN, MANY, CROWD)
BY_SIZE = (IMPLICIT, LARGE, HUGE)
REFERENCES = (AIOSMTPD, NODE)
STEPS_DOWN = (AIOSMTPD_UNPARSED, FLOOR)
"""Servers that each do less than aiosmtpd, down to the floor, run in the first workload only:
where the cost of a message goes."""


def plan(references: Sequence[str]) -> list[tuple[Workload, tuple[str, ...]]]:
    """The 1 KB workloads and who runs each, on servers that live through all the rounds."""
    others = tuple(references)
    return [
        (IMPLICIT, (SERVE, SERVE_NO_TRANSCRIPTS, SERVE_LIVE, *others, *STEPS_DOWN)),
        # The floor runs every workload a target is set on: what a server doing nothing
        # makes there shows how much room a target leaves.
        (STARTTLS, (SERVE, *others, FLOOR)),
        (MANY, (SERVE, *others, FLOOR)),
        (PIPELINED, (SERVE, *(name for name in others if name != AIOSMTPD), FLOOR)),
        (SESSIONS, (SERVE, *others, FLOOR)),
        (SESSIONS_STARTTLS, (SERVE, *others, FLOOR)),
        (TEN, (SERVE, *others)),
        (CROWD, (SERVE, *others)),
    ]


@dataclass
class Runs:
    """Every result, by workload key and server name, in round order."""

    results: dict[tuple[str, str], list[Result]] = field(default_factory=dict)
    ran: dict[str, Workload] = field(default_factory=dict)
    """Each workload as it ran (``--scale`` changes its counts), by key."""

    def add(self, workload: Workload, server: str, result: Result) -> None:
        self.results.setdefault((workload.key, server), []).append(result)
        self.ran[workload.key] = workload

    def as_run(self, workload: Workload) -> Workload:
        """``workload`` with the counts it ran with."""
        return self.ran.get(workload.key, workload)

    def get(self, workload: Workload, server: str) -> list[Result]:
        return self.results.get((workload.key, server), [])

    def values(
        self, workload: Workload, server: str, figure: Callable[[Result], float]
    ) -> list[float]:
        return [figure(result) for result in self.get(workload, server)]

    def median(
        self, workload: Workload, server: str, figure: Callable[[Result], float]
    ) -> float | None:
        values = self.values(workload, server, figure)
        return statistics.median(values) if values else None


def interleave(
    servers: dict[str, Running],
    steps: Sequence[tuple[Workload, Sequence[str]]],
    rounds: int,
    runs: Runs,
    *,
    progress: Callable[[str], None],
) -> None:
    """Runs every step's workload on its servers, ``rounds`` times, rotating the order."""
    for number in range(rounds):
        for workload, names in steps:
            present = [name for name in names if name in servers]
            turn = number % len(present)
            for name in present[turn:] + present[:turn]:
                reset(servers[name])
                runs.add(workload, name, load(servers[name], workload))
        progress(f"round {number + 1} of {rounds} done")


def warm_up(servers: dict[str, Running]) -> None:
    """A few messages on both ports of every server: imports, caches, TLS contexts."""
    for server in servers.values():
        for tls in ("implicit", "starttls"):
            load(server, Workload("warm-up", tls, "ingest", connections=2, count=25))


@contextmanager
def started(
    names: Sequence[str], certs_dir: Path, unavailable: dict[str, str]
) -> Iterator[dict[str, Running]]:
    """Starts the named servers; one that cannot run here is left out, its reason put in
    ``unavailable`` (only references may be missing)."""
    from bench.nodepeer import NotMeasured

    with ExitStack() as stack:
        servers = {}
        for name in names:
            if name in unavailable:
                continue
            try:
                servers[name] = stack.enter_context(running(name, certs_dir))
            except NotMeasured as reason:
                unavailable[name] = str(reason)
            except RuntimeError as failure:  # it installed but does not start here
                if name != NODE:
                    raise
                unavailable[name] = f"it did not start: {failure}"
        yield servers


def interleave_fresh(
    names: Sequence[str],
    steps: Sequence[Workload],
    rounds: int,
    certs_dir: Path,
    runs: Runs,
    unavailable: dict[str, str],
    *,
    progress: Callable[[str], None],
) -> None:
    """Like :func:`interleave`, but each server starts afresh for each round: the fake keeps
    every message it accepts, and large ones kept from one round would weigh on the next."""
    for number in range(rounds):
        present = [name for name in names if name not in unavailable]
        turn = number % len(present)
        for name in present[turn:] + present[:turn]:
            with started([name], certs_dir, unavailable) as servers:
                if name not in servers:
                    continue
                load(servers[name], Workload("warm-up", "implicit", "ingest", 1, 5))
                for workload in steps:
                    reset(servers[name])
                    runs.add(workload, name, load(servers[name], workload))
        progress(f"large messages: round {number + 1} of {rounds} done")
