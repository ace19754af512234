"""Issue 12's targets (and issue 7's that still stand), each with its figure and verdict.

A verdict compares the ratio of medians (or the median) with the bound: ``met`` or
``MISSED``; a target whose figure could not be taken here says ``not measured`` and why.
Costs are extra time per message: ``rate without / rate with - 1``. Each target judged on a
rate also shows the server CPU ratio of the same runs (the reference's CPU per message or
session over ours; for a cost, the extra CPU per message): CPU time moves less with the
machine's load than a rate does, so where the two disagree the load was at work.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bench.figures import (
    Measured,
    Ratio,
    cpu_per_message_us,
    cpu_per_session_us,
    messages_per_s,
    ratio,
    sessions_per_s,
)
from bench.measure import Result, Workload
from bench.rounds import HUGE, IMPLICIT, MANY, PIPELINED, SESSIONS, SESSIONS_STARTTLS, STARTTLS
from bench.servers import AIOSMTPD, FLOOR, NODE, SERVE, SERVE_LIVE, SERVE_NO_TRANSCRIPTS

Side = tuple[Workload, str]


@dataclass(frozen=True)
class Verdict:
    """One target: what it asks, what was measured, and whether that meets it."""

    target: str
    measured: str
    verdict: str
    cpu: str = ""
    """The CPU ratio of the same runs, where the target is a rate."""
    floor: str = ""
    """What the asyncio floor (bench/floor.py) makes against the same reference in the same
    rounds, where the target is a rate: a server that only sends fixed replies, so a target
    above it is out of reach of any server doing its work on asyncio's TLS."""


def _compare(
    measured: Measured, ours: Side, theirs: Side, figure: Callable[[Result], float]
) -> tuple[Ratio | None, Ratio | None]:
    """The rate ratio ours/theirs, and the CPU ratio theirs/ours."""
    runs = measured.runs
    per_unit = cpu_per_session_us if ours[0].mode == "sessions" else cpu_per_message_us
    rates = ratio(runs.values(*ours, figure), runs.values(*theirs, figure))
    cpu = ratio(runs.values(*theirs, per_unit), runs.values(*ours, per_unit))
    return rates, cpu


def _at_least(
    target: str,
    found: tuple[Ratio | None, Ratio | None],
    bound: float,
    missing: str = "",
    floor: Ratio | None = None,
) -> Verdict:
    rates, cpu = found
    if rates is None:
        return Verdict(target, "-", f"not measured: {missing}" if missing else "not measured")
    verdict = "met" if rates.value >= bound else "MISSED"
    floor_cell = floor.cell() if floor is not None else "-"
    return Verdict(target, rates.cell(), verdict, cpu.cell() if cpu else "-", floor_cell)


def _cost(target: str, found: tuple[Ratio | None, Ratio | None], bound: float) -> Verdict:
    """``found`` is (rate without / rate with, CPU with / CPU without)."""
    rates, cpu = found
    if rates is None:
        return Verdict(target, "-", "not measured")
    verdict = "met" if rates.value - 1 <= bound else "MISSED"
    return Verdict(target, rates.cost_cell(), verdict, cpu.cost_cell() if cpu else "-")


def _at_most(target: str, value: float | None, bound: float, unit: str) -> Verdict:
    if value is None:
        return Verdict(target, "-", "not measured")
    return Verdict(target, f"{value:,.2f}{unit}", "met" if value <= bound else "MISSED")


def issue_12(measured: Measured) -> list[Verdict]:
    """Every target of issue 12, in the issue's order."""
    no_node = measured.unavailable.get(NODE, "")
    no_aiosmtpd = measured.unavailable.get(AIOSMTPD, "")

    def versus(workload: Workload, reference: str) -> tuple[Ratio | None, Ratio | None]:
        return _compare(measured, (workload, SERVE), (workload, reference), messages_per_s)

    def sessions(workload: Workload) -> tuple[Ratio | None, Ratio | None]:
        return _compare(measured, (workload, SERVE), (workload, AIOSMTPD), sessions_per_s)

    def floor(ours: Workload, theirs: Side) -> Ratio | None:
        figure = sessions_per_s if ours.mode == "sessions" else messages_per_s
        runs = measured.runs
        return ratio(runs.values(ours, FLOOR, figure), runs.values(*theirs, figure))

    off, live = (IMPLICIT, SERVE_NO_TRANSCRIPTS), (IMPLICIT, SERVE_LIVE)
    per_test = next((c for c in measured.fixture if c.reference == "empty"), None)
    held = measured.held.get(False)
    served = [stream for stream in measured.streams if stream.server == SERVE]
    worst_rise = max(served[0].rises) if served and served[0].rises else None
    plain = "no pipelining, 1 x 2,000 ~1 KB messages"
    return [
        _at_least(
            f"`serve --json`, {plain}, implicit TLS after AUTH: >= 2x stock aiosmtpd",
            versus(IMPLICIT, AIOSMTPD),
            2.0,
            no_aiosmtpd,
            floor(IMPLICIT, (IMPLICIT, AIOSMTPD)),
        ),
        _at_least(
            "the same: >= 1.1x Node smtp-server (`secure: true`, AUTH required)",
            versus(IMPLICIT, NODE),
            1.1,
            no_node,
            floor(IMPLICIT, (IMPLICIT, NODE)),
        ),
        _at_least(
            f"the same through STARTTLS ({plain}): >= 2x aiosmtpd with STARTTLS",
            versus(STARTTLS, AIOSMTPD),
            2.0,
            no_aiosmtpd,
            floor(STARTTLS, (STARTTLS, AIOSMTPD)),
        ),
        _at_least(
            "the same with 50 connections x 40 messages (implicit TLS): >= 2x aiosmtpd",
            versus(MANY, AIOSMTPD),
            2.0,
            no_aiosmtpd,
            floor(MANY, (MANY, AIOSMTPD)),
        ),
        _cost(
            "the live log costs <= 10% against `--json` (extra time per message)",
            _compare(measured, (IMPLICIT, SERVE), live, messages_per_s),
            0.10,
        ),
        _cost(
            "transcripts on cost <= 10% against off (extra time per message)",
            _compare(measured, off, (IMPLICIT, SERVE), messages_per_s),
            0.10,
        ),
        _at_least(
            "pipelined ingest (1 x 2,000, `serve --json`) >= 3.5x aiosmtpd (which cannot pipeline)",
            _compare(measured, (PIPELINED, SERVE), (IMPLICIT, AIOSMTPD), messages_per_s),
            3.5,
            no_aiosmtpd,
            floor(PIPELINED, (IMPLICIT, AIOSMTPD)),
        ),
        _at_least(
            "TLS + AUTH sessions per second, implicit TLS: >= 1.3x aiosmtpd",
            sessions(SESSIONS),
            1.3,
            no_aiosmtpd,
            floor(SESSIONS, (SESSIONS, AIOSMTPD)),
        ),
        _at_least(
            "TLS + AUTH sessions per second, STARTTLS: >= 1.3x aiosmtpd",
            sessions(SESSIONS_STARTTLS),
            1.3,
            no_aiosmtpd,
            floor(SESSIONS_STARTTLS, (SESSIONS_STARTTLS, AIOSMTPD)),
        ),
        _at_most(
            "per-test overhead of `fake_gmail` <= 0.5 ms (median, against an empty test)",
            per_test.added_ms if per_test is not None else None,
            0.5,
            " ms",
        ),
        _at_most(
            "memory held per captured 1 KB message <= 1.5 KB (outbox; transcripts off)",
            held[1] if held is not None else None,
            1536,
            " B",
        ),
        _at_most(
            "peak RSS while a 10 MB message streams into `serve --json`, above the RSS it "
            "found: < 3x the message (its kept copy included)",
            worst_rise / HUGE.size_bytes if worst_rise is not None else None,
            3.0,
            "x the message",
        ),
    ]


def issue_7(measured: Measured) -> list[Verdict]:
    """The targets of issue 7 that issue 12 did not restate."""
    start = measured.start_in_process_ms
    client = measured.client
    ours, reference = client.get("smtprig client, send_messages"), client.get("smtplib")
    return [
        _at_most(
            "in-process start, both TLS listeners <= 5 ms (median)",
            statistics.median(start) if start else None,
            5.0,
            " ms",
        ),
        _at_least(
            "our client on one connection (`send_messages`) >= 1.5x smtplib",
            (ratio(ours or [], reference or []), None),
            1.5,
        ),
    ]
