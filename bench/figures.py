"""What one ``make bench`` run measured, and the arithmetic the report does on it.

:class:`Measured` holds every figure; the helpers turn lists of per-round figures into table
cells: a median with the rounds' min-max, and a ratio of medians with the range of the
rounds' own ratios (two servers measured in the same round share that round's machine).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.fixture import Comparison
from bench.measure import Result, Workload
from bench.memory import Streaming
from bench.rounds import Runs


@dataclass
class Measured:
    """Every figure of one run, and the facts needed to read them."""

    command: str
    rounds: int
    scale: float = 1.0
    """``--scale``: below 1, fewer messages than the targets name."""
    runs: Runs = field(default_factory=Runs)
    unavailable: dict[str, str] = field(default_factory=dict)
    """Reference -> why it was not measured."""
    node_version: str = ""
    load_average: list[float] = field(default_factory=list)
    """The machine's 1-minute load average at the start and at the end."""
    seconds: float = 0.0
    held: dict[bool, tuple[int, float]] = field(default_factory=dict)
    """Transcripts on? -> (message size, bytes held per captured message)."""
    streams: list[Streaming] = field(default_factory=list)
    fixture: list[Comparison] = field(default_factory=list)
    start_in_process_ms: list[float] = field(default_factory=list)
    start_controller_ms: list[float] = field(default_factory=list)
    serve_to_readyz_ms: list[float] = field(default_factory=list)
    serve_no_http_to_line_ms: list[float] = field(default_factory=list)
    wait_after_250_ms: list[float] = field(default_factory=list)
    client: dict[str, list[float]] = field(default_factory=dict)
    calls_per_message: dict[str, float] = field(default_factory=dict)
    """Log (``"json"``, ``"live"``) -> calls on the fake's loop thread per message."""


def messages_per_s(result: Result) -> float:
    return result.messages_per_s


def sessions_per_s(result: Result) -> float:
    return result.sessions_per_s


def cpu_per_message_us(result: Result) -> float:
    return result.server_cpu_us_per_message


def cpu_per_session_us(result: Result) -> float:
    return result.server_cpu_s / result.sessions * 1e6


def rate(workload: Workload) -> Callable[[Result], float]:
    """The figure a workload is judged by: sessions/s for sessions, else messages/s."""
    return sessions_per_s if workload.mode == "sessions" else messages_per_s


def number(value: float) -> str:
    """Three significant figures or so, without noise digits."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def summary(values: Sequence[float]) -> str:
    """``median (min-max)`` over the rounds, or ``-`` with no values."""
    if not values:
        return "-"
    if len(values) == 1:
        return number(values[0])
    low, high = min(values), max(values)
    between = " to " if low < 0 else "-"
    return f"{number(statistics.median(values))} ({number(low)}{between}{number(high)})"


@dataclass(frozen=True)
class Ratio:
    """A ratio of medians, and the range of the per-round ratios."""

    value: float
    low: float
    high: float

    def cell(self) -> str:
        if self.low == self.high:
            return f"{self.value:.2f}x"
        return f"{self.value:.2f}x ({self.low:.2f}-{self.high:.2f})"

    def cost_cell(self) -> str:
        """As the extra time per message a ratio of rates (off / on) means: ``+12%``."""
        value, low, high = ((figure - 1) * 100 for figure in (self.value, self.low, self.high))
        if low == high:
            return f"{value:+.1f}%"
        return f"{value:+.1f}% ({low:+.1f} to {high:+.1f})"


def ratio(subject: Sequence[float], reference: Sequence[float]) -> Ratio | None:
    """median(subject) / median(reference), with the per-round ratios' range; None without
    both."""
    if not subject or not reference:
        return None
    per_round = [s / r for s, r in zip(subject, reference, strict=False)]
    return Ratio(
        statistics.median(subject) / statistics.median(reference), min(per_round), max(per_round)
    )


def server_ratio(
    runs: Runs,
    subject: tuple[Workload, str],
    reference: tuple[Workload, str],
    figure: Callable[[Result], float],
) -> Ratio | None:
    """The ratio of ``figure`` between two (workload, server) pairs of the same rounds."""
    return ratio(runs.values(*subject, figure), runs.values(*reference, figure))
