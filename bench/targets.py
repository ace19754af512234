"""Issue 12's targets (and issue 7's that still stand), each with its figure and verdict.

A verdict compares the ratio of medians (or the median) with the bound: ``met`` or
``MISSED``; a target whose figure could not be taken here says ``not measured`` and why.
Costs are extra time per message: ``rate without / rate with - 1``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.figures import Measured, Ratio, messages_per_s, ratio, server_ratio, sessions_per_s
from bench.measure import Workload
from bench.rounds import HUGE, IMPLICIT, MANY, PIPELINED, SESSIONS, SESSIONS_STARTTLS, STARTTLS
from bench.servers import AIOSMTPD, NODE, SERVE, SERVE_LIVE, SERVE_NO_TRANSCRIPTS


@dataclass(frozen=True)
class Verdict:
    """One target: what it asks, what was measured, and whether that meets it."""

    target: str
    measured: str
    verdict: str


def _at_least(target: str, found: Ratio | None, bound: float, missing: str) -> Verdict:
    if found is None:
        return Verdict(target, "-", f"not measured: {missing}")
    return Verdict(target, found.cell(), "met" if found.value >= bound else "MISSED")


def _cost(target: str, found: Ratio | None, bound: float) -> Verdict:
    if found is None:
        return Verdict(target, "-", "not measured")
    return Verdict(target, found.cost_cell(), "met" if found.value - 1 <= bound else "MISSED")


def _at_most(target: str, value: float | None, bound: float, unit: str) -> Verdict:
    if value is None:
        return Verdict(target, "-", "not measured")
    return Verdict(target, f"{value:,.2f}{unit}", "met" if value <= bound else "MISSED")


def issue_12(measured: Measured) -> list[Verdict]:
    """Every target of issue 12, in the issue's order."""
    runs = measured.runs
    node_missing = measured.unavailable.get(NODE, "")
    aiosmtpd_missing = measured.unavailable.get(AIOSMTPD, "")

    def versus(workload: Workload, reference: str) -> Ratio | None:
        return server_ratio(runs, (workload, SERVE), (workload, reference), messages_per_s)

    live_cost = ratio(
        runs.values(IMPLICIT, SERVE, messages_per_s),
        runs.values(IMPLICIT, SERVE_LIVE, messages_per_s),
    )
    transcript_cost = ratio(
        runs.values(IMPLICIT, SERVE_NO_TRANSCRIPTS, messages_per_s),
        runs.values(IMPLICIT, SERVE, messages_per_s),
    )
    pipelined = server_ratio(runs, (PIPELINED, SERVE), (IMPLICIT, AIOSMTPD), messages_per_s)
    sessions = server_ratio(runs, (SESSIONS, SERVE), (SESSIONS, AIOSMTPD), sessions_per_s)
    sessions_starttls = server_ratio(
        runs, (SESSIONS_STARTTLS, SERVE), (SESSIONS_STARTTLS, AIOSMTPD), sessions_per_s
    )
    per_test = next((c for c in measured.fixture if c.reference == "empty"), None)
    held = measured.held.get(False)
    served = [stream for stream in measured.streams if stream.server == SERVE]
    worst_rise = max(served[0].rises) if served and served[0].rises else None
    size = HUGE.size_bytes
    no_pipelining = "no pipelining, 1 x 2,000 ~1 KB messages"
    return [
        _at_least(
            f"`serve --json`, {no_pipelining}, implicit TLS after AUTH: >= 2x stock aiosmtpd",
            versus(IMPLICIT, AIOSMTPD),
            2.0,
            aiosmtpd_missing,
        ),
        _at_least(
            "the same: >= 1.1x Node smtp-server (`secure: true`, AUTH required)",
            versus(IMPLICIT, NODE),
            1.1,
            node_missing,
        ),
        _at_least(
            f"the same through STARTTLS ({no_pipelining}): >= 2x aiosmtpd with STARTTLS",
            versus(STARTTLS, AIOSMTPD),
            2.0,
            aiosmtpd_missing,
        ),
        _at_least(
            "the same with 50 connections x 40 messages (implicit TLS): >= 2x aiosmtpd",
            versus(MANY, AIOSMTPD),
            2.0,
            aiosmtpd_missing,
        ),
        _cost(
            "the live log costs <= 10% against `--json` (extra time per message)", live_cost, 0.10
        ),
        _cost(
            "transcripts on cost <= 10% against off (extra time per message)", transcript_cost, 0.10
        ),
        _at_least(
            "pipelined ingest (1 x 2,000, `serve --json`) >= 3.5x aiosmtpd (which cannot pipeline)",
            pipelined,
            3.5,
            aiosmtpd_missing,
        ),
        _at_least(
            "TLS + AUTH sessions per second, implicit TLS: >= 1.3x aiosmtpd",
            sessions,
            1.3,
            aiosmtpd_missing,
        ),
        _at_least(
            "TLS + AUTH sessions per second, STARTTLS: >= 1.3x aiosmtpd",
            sessions_starttls,
            1.3,
            aiosmtpd_missing,
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
            worst_rise / size if worst_rise is not None else None,
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
            ratio(ours or [], reference or []),
            1.5,
            "",
        ),
    ]
