"""BENCHMARKS.md from one run's :class:`~bench.figures.Measured`: the targets and their
verdicts first, then the like-for-like rows, the growth tables, memory, the other figures, and
bench/rests-on.md (what each figure rests on) as it is."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.figures import (
    Measured,
    cpu_per_message_us,
    cpu_per_session_us,
    number,
    rate,
    ratio,
    summary,
)
from bench.measure import Result, Workload, size_text
from bench.rounds import (
    BY_CONNECTIONS,
    BY_SIZE,
    IMPLICIT,
    LIKE_FOR_LIKE,
    PIPELINED,
    SESSIONS,
    SESSIONS_STARTTLS,
    STEPS_DOWN,
)
from bench.servers import (
    AIOSMTPD,
    AIOSMTPD_UNPARSED,
    FLOOR,
    NODE,
    SERVE,
    SERVE_LIVE,
    SERVE_NO_TRANSCRIPTS,
)
from bench.targets import Verdict, issue_7, issue_12

RESTS_ON = Path(__file__).with_name("rests-on.md")
SHOWN = {
    SERVE: "`fakeserver serve --json`",
    SERVE_NO_TRANSCRIPTS: "`fakeserver serve --json --no-transcripts`",
    SERVE_LIVE: "`fakeserver serve` (live log, into a pipe)",
    AIOSMTPD: "stock aiosmtpd + Sink",
    NODE: "Node smtp-server",
    AIOSMTPD_UNPARSED: "aiosmtpd + Sink, MAIL and RCPT not parsed: its command loop and DATA",
    FLOOR: "asyncio floor: fixed replies over the same TLS, nothing else (bench/floor.py)",
}
_BUSY_GENERATOR = 0.8
"""A generator process busier than this share of a core may have limited the rate."""


def markdown(measured: Measured) -> str:
    """The whole of BENCHMARKS.md."""
    lines = _header(measured)
    lines += _verdicts("Targets (issue 12)", issue_12(measured))
    lines += _generator_check(measured)
    lines += _like_for_like(measured)
    lines += _pipelined_and_sessions(measured)
    lines += _growth(measured)
    lines += _memory(measured)
    lines += _other(measured)
    lines += _verdicts("Targets kept from issue 7", issue_7(measured))
    return "\n".join(lines) + "\n" + RESTS_ON.read_text()


def _header(measured: Measured) -> list[str]:
    node = measured.unavailable.get(NODE)
    node_text = (
        f"Node smtp-server not measured: {node}"
        if node
        else f"Node smtp-server {measured.node_version}"
    )
    start, end = [*measured.load_average, 0.0, 0.0][:2]
    return [
        "# Benchmarks",
        "",
        f"Made by `{measured.command}` on {datetime.date.today()} in {measured.seconds:.0f} s: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}, "
        f"{node_text}. The machine is shared (load average {start:.2f} at the start, "
        f"{end:.2f} at the end), so compare ratios, not absolute figures: each cell is a "
        f"median over {measured.rounds} interleaved rounds with the rounds' min-max, and a "
        "ratio is of medians measured in the same rounds, with the range of the rounds' own "
        "ratios. Every smtprig row is `fakeserver serve` run as users run it (a child process, "
        "ports 0, HTTP on a free port, its own certs dir); the method is in bench/run.py's "
        "docstring.",
        "",
        *(
            []
            if measured.rounds >= 3 and measured.scale >= 1
            else ["**A quick look, not `make bench`: no basis for the verdicts below.**", ""]
        ),
    ]


def _generator_check(measured: Measured) -> list[str]:
    """The busiest any load-generator process was, in any run: the check that the generator,
    not the server, did not set the pace."""
    busiest = [
        (result.generator_busy, key, name)
        for (key, name), results in measured.runs.results.items()
        for result in results
    ]
    if not busiest:
        return []
    busy, key, name = max(busiest)
    verdict = (
        f"below {_BUSY_GENERATOR:.2f}: it was not CPU-bound"
        if busy <= _BUSY_GENERATOR
        else "so it may have set that run's rate"
    )
    return [
        f"The load generator's busiest process used {busy:.2f} of a core at most (workload "
        f"`{key}` against {SHOWN[name]}), {verdict}.",
        "",
    ]


def _verdicts(title: str, verdicts: Sequence[Verdict]) -> list[str]:
    lines = [
        f"## {title}",
        "",
        "| target | measured | verdict | server CPU: the reference's over ours, or the extra "
        "(same runs) | the asyncio floor in the same rounds (fixed replies, nothing else) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {v.target} | {v.measured} | {v.verdict} | {v.cpu} | {v.floor} |" for v in verdicts
    ]
    return [*lines, ""]


def _what(workload: Workload, pipelines: str) -> str:
    return f"{workload.port_kind}, AUTH PLAIN, {workload.shape}; client {pipelines}"


def _comparison_rows(
    measured: Measured,
    workload: Workload,
    names: Sequence[str],
    pipelines: str,
    reference_of: Callable[[str], tuple[Workload, str]] | None = None,
) -> list[str]:
    """One row per server of ``workload``: its rate, CPU per unit, and ratios to both
    references (measured in the same rounds)."""
    runs, figure = measured.runs, rate(workload)
    per_unit = cpu_per_session_us if workload.mode == "sessions" else cpu_per_message_us
    rows = []
    for index, name in enumerate(names):
        what = _what(runs.as_run(workload), pipelines) if index == 0 else ""
        if name in measured.unavailable:
            reason = measured.unavailable[name]
            rows.append(f"| {what} | {SHOWN[name]} | not measured: {reason} | | | |")
            continue
        values = runs.values(workload, name, figure)
        if not values:
            continue
        cells = []
        for reference in (AIOSMTPD, NODE):
            against = reference_of(reference) if reference_of else (workload, reference)
            found = ratio(values, runs.values(*against, figure))
            cells.append(found.cell() if found is not None else "-")
        cpu = summary(runs.values(workload, name, per_unit))
        rows.append(f"| {what} | {SHOWN[name]} | {summary(values)} | {cpu} | {' | '.join(cells)} |")
    return rows


def _like_for_like(measured: Measured) -> list[str]:
    lines = [
        "## Like for like: a client that does not pipeline",
        "",
        "Each connection: TLS (implicit, or STARTTLS after a first EHLO), EHLO, AUTH PLAIN "
        "once, then per message MAIL, RCPT, DATA and the message, each command waiting for its "
        "reply (as smtplib, nodemailer, swaks, Go net/smtp, PHPMailer and Jakarta Mail do), "
        "then QUIT. Same load generator (bench/loadgen.py, its own process) for every server.",
        "",
        "| what was compared | server | messages/s | server CPU per message (us) "
        "| vs aiosmtpd | vs Node smtp-server |",
        "|---|---|---|---|---|---|",
    ]
    for workload in LIKE_FOR_LIKE:
        names = [SERVE, AIOSMTPD, NODE, FLOOR]
        if workload is IMPLICIT:
            names = [SERVE, SERVE_NO_TRANSCRIPTS, SERVE_LIVE, AIOSMTPD, NODE, *STEPS_DOWN]
        lines += _comparison_rows(measured, workload, names, "does not pipeline")
    return [*lines, ""]


def _pipelined_and_sessions(measured: Measured) -> list[str]:
    lines = [
        "## Pipelined ingest, and TLS + AUTH sessions",
        "",
        "Pipelined: MAIL, RCPT and DATA in one write, each message's data with the next "
        "envelope (RFC 2920), to servers that offer PIPELINING; stock aiosmtpd does not, so "
        "its figure is its one-command-at-a-time row above, of the same rounds. Sessions: "
        "each a new connection with TLS, EHLO, AUTH, one 1 KB message and QUIT, 20 at a time; "
        "server CPU is per session. Node smtp-server waits a fixed 100 ms before every "
        "greeting (its early-talker check), which caps its session rate.",
        "",
        "| what was compared | server | messages or sessions/s | server CPU per message or "
        "session (us) | vs aiosmtpd | vs Node smtp-server |",
        "|---|---|---|---|---|---|",
    ]

    def unpipelined_aiosmtpd(reference: str) -> tuple[Workload, str]:
        return (IMPLICIT if reference == AIOSMTPD else PIPELINED), reference

    lines += _comparison_rows(
        measured, PIPELINED, [SERVE, NODE, FLOOR], "pipelines where offered", unpipelined_aiosmtpd
    )
    for workload in (SESSIONS, SESSIONS_STARTTLS):
        names = [SERVE, AIOSMTPD, NODE, FLOOR]
        lines += _comparison_rows(measured, workload, names, "does not pipeline")
    return [*lines, ""]


def _growth(measured: Measured) -> list[str]:
    servers = [name for name in (SERVE, AIOSMTPD, NODE) if name not in measured.unavailable]
    names = " | ".join(SHOWN[name] for name in servers)
    lines = [
        "## How cost grows",
        "",
        "Implicit TLS after AUTH, one command at a time. Each cell: the rate, then server CPU "
        "per message (by connections) or per KB of message (by size); CPU includes each "
        "connection's handshake and AUTH, shared by its messages. 'CPU vs first row' is "
        "`serve --json`'s against its own first row. 'Generator busy' is the busiest "
        "load-generator process's CPU over its run time (1.00 is a full core): above "
        f"{_BUSY_GENERATOR:.2f} the generator, not the server, may have set the rate. The "
        "100 KB and 10 MB rows run on servers started afresh each round (the fake keeps every "
        "message).",
        "",
        f"| connections x messages | {names} | CPU vs first row | vs aiosmtpd | generator busy |",
        "|---|" + "---|" * (len(servers) + 3),
    ]
    lines += _growth_rows(measured, servers, BY_CONNECTIONS, per_kb=False)
    lines += [
        "",
        f"| message size, 1 connection | {names} | CPU per KB vs first row | vs aiosmtpd "
        "| generator busy |",
        "|---|" + "---|" * (len(servers) + 3),
    ]
    lines += _growth_rows(measured, servers, BY_SIZE, per_kb=True)
    return [*lines, ""]


def _growth_rows(
    measured: Measured, servers: Sequence[str], workloads: Sequence[Workload], *, per_kb: bool
) -> list[str]:
    runs = measured.runs

    def cpu(workload: Workload, name: str) -> float | None:
        median = runs.median(workload, name, cpu_per_message_us)
        if median is None or not per_kb:
            return median
        return median / (workload.size_bytes / 1000)

    first = cpu(workloads[0], SERVE)
    rows = []
    for workload in workloads:
        cells = []
        for name in servers:
            rates = runs.values(workload, name, rate(workload))
            used = cpu(workload, name)
            if not rates or used is None:
                cells.append("-")
            elif per_kb:
                megabytes = statistics.median(rates) * workload.size_bytes / 1e6
                cells.append(f"{number(megabytes)} MB/s, {number(used)} us/KB")
            else:
                cells.append(f"{number(statistics.median(rates))}/s, {number(used)} us")
        ours = cpu(workload, SERVE)
        growth = f"{ours / first:.2f}x" if ours is not None and first else "-"
        found = ratio(
            runs.values(workload, SERVE, rate(workload)),
            runs.values(workload, AIOSMTPD, rate(workload)),
        )
        busy = max((r.generator_busy for r in _all(measured, workload, servers)), default=0.0)
        flag = " (generator-bound?)" if busy > _BUSY_GENERATOR else ""
        shape = runs.as_run(workload)
        what = (
            f"{size_text(shape.size_bytes)} x {shape.count:,}"
            if per_kb
            else f"{shape.connections} x {shape.count:,}"
        )
        rows.append(
            f"| {what} | {' | '.join(cells)} | {growth} | {found.cell() if found else '-'}"
            f" | {busy:.2f}{flag} |"
        )
    return rows


def _all(measured: Measured, workload: Workload, servers: Sequence[str]) -> list[Result]:
    return [result for name in servers for result in measured.runs.get(workload, name)]


def _memory(measured: Measured) -> list[str]:
    lines = ["## Memory", ""]
    for transcripts, (size, held) in sorted(measured.held.items()):
        kept = "the outbox and the transcript" if transcripts else "the outbox only"
        lines.append(
            f"- Held per captured {size}-byte message, in process, after 1,000 on one "
            f"connection (tracemalloc; {kept}): **{held:,.0f} bytes**."
        )
    lines += [
        "",
        "Messages of 10 MB, one connection each, into a server started for this alone. 'Peak "
        "rise' is the peak RSS while a message streamed in (VmHWM, reset before each) above the "
        "RSS the message found, the worst of the messages; 'kept' is RSS after all of them "
        "above idle, per message.",
        "",
        "| server | idle RSS | peak rise per message (worst) | as multiple of the message "
        "| RSS kept per message | method |",
        "|---|---|---|---|---|---|",
    ]
    for stream in measured.streams:
        worst = max(stream.rises)
        lines.append(
            f"| {SHOWN[stream.server]} | {stream.idle_rss / 2**20:.1f} MiB "
            f"| {worst / 2**20:.1f} MiB | {worst / stream.size_bytes:.2f}x "
            f"| {stream.kept_per_message / 2**20:.1f} MiB | {stream.method} |"
        )
    for name, reason in measured.unavailable.items():
        lines.append(f"| {SHOWN[name]} | not measured: {reason} | | | | |")
    return [*lines, ""]


def _other(measured: Measured) -> list[str]:
    lines = [
        "## Other figures",
        "",
        "| what | unit | smtprig | reference | ratio |",
        "|---|---|---|---|---|",
    ]

    def row(what: str, unit: str, ours: Sequence[float], reference: str = "-",
            theirs: Sequence[float] = (), faster_when_lower: bool = False) -> None:  # fmt: skip
        found = ratio(theirs, ours) if faster_when_lower else ratio(ours, theirs)
        against = f"{summary(theirs)} ({reference})" if theirs else reference
        times = f"{found.value:.2f}x" if found else "-"  # of medians; the samples are no rounds
        lines.append(f"| {what} | {unit} | {summary(ours)} | {against} | {times} |")

    for comparison in measured.fixture:
        if comparison.reference == "empty":
            added = [comparison.added_ms]
            row(f"pytest: {comparison.title}", "ms added per test", added, "an empty test")
        else:
            row(f"pytest: {comparison.title}", "ms per test", comparison.subject_ms,
                comparison.reference, comparison.reference_ms, True)  # fmt: skip
    row("in-process start, both TLS listeners", "ms", measured.start_in_process_ms,
        "aiosmtpd Controller, implicit TLS", measured.start_controller_ms, True)  # fmt: skip
    row("`fakeserver serve` from its start to `GET /readyz` answering 200", "ms",
        measured.serve_to_readyz_ms)  # fmt: skip
    row("`fakeserver serve --no-http` from its start to its ready line", "ms",
        measured.serve_no_http_to_line_ms)  # fmt: skip
    row("`GET /api/v1/messages/wait` answer after the client's 250", "ms",
        measured.wait_after_250_ms)  # fmt: skip
    for log, shown in (("json", "the JSON log"), ("live", "the live log")):
        if log in measured.calls_per_message:
            row(f"calls on the fake's loop thread per 1 KB message, with {shown} (cProfile; "
                "moves with the code, not with the machine's load)", "calls",
                [measured.calls_per_message[log]])  # fmt: skip
    smtplib = measured.client.get("smtplib", [])
    for name, what in (
        ("smtprig client, send_messages", "our client, 1 connection, 1 KB messages"),
        ("smtprig client, send_message each", "our client, send_message one by one"),
    ):
        row(what, "messages/s", measured.client.get(name, []), "smtplib", smtplib)
    return [*lines, ""]
