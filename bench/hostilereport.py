"""What one run of the hostile-client checks (bench/hostile.py) was asked to do and measured,
and what is made of it: the verdicts against issue 16's targets, a table, and a JSON file.

Figures over rounds are given as the median and the range (min-max). MB are 10^6 octets, as
in "a 35.9 MB message". A verdict is judged on the worst round for what must never happen
(a bystander not served within 5 s, a dripping client not cut within 10 s) and on the median
for the memory target, which the issue set as a ratio.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.drips import Drip
from bench.figures import summary
from bench.floods import FLOODS, FloodPlan, FloodRun
from bench.largemessages import PeakGrowth

BYSTANDER_TARGET_S = 5.0
CUT_TARGET_S = 10.0
PEAK_TARGET_TIMES = 2.0


@dataclass(frozen=True)
class Settings:
    """How much of everything one run does; the defaults are issue 16's probes.

    Attributes:
        rounds: rounds of the bystander under each flood, and of the two bodies' CPU.
        drip_rounds: rounds of the two dripping clients.
        memory_rounds: rounds of each large-message case.
        flood_plan: the floods' sizes and when the bystander starts.
        idle_timeout_s: the server's ``--idle-timeout`` for the dripping clients.
        drip_interval_s: the time between two dripped octets.
        drip_bound_s: how long a dripping client waits to be cut.
        message_octets: each large message's size; None: the server's SIZE.
        one_line_octets: the size of the message that is one line.
    """

    rounds: int = 5
    drip_rounds: int = 3
    memory_rounds: int = 3
    flood_plan: FloodPlan = field(default_factory=FloodPlan)
    idle_timeout_s: float = 3.0
    drip_interval_s: float = 0.5
    drip_bound_s: float = CUT_TARGET_S
    message_octets: int | None = None
    one_line_octets: int = 20_000_000


@dataclass
class Figures:
    """Every figure of one run, with the machine's load average (1, 5 and 15 minutes) at the
    start and at the end."""

    settings: Settings
    load_average: list[tuple[float, float, float]] = field(default_factory=list)
    floods: list[FloodRun] = field(default_factory=list)
    body_cpu_s: dict[str, list[float]] = field(default_factory=dict)
    drips: list[Drip] = field(default_factory=list)
    memory: list[PeakGrowth] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """One target, and whether the run met it."""

    target: str
    measured: str
    met: bool


def verdicts(figures: Figures) -> list[Verdict]:
    """Issue 16's targets, judged on ``figures``."""
    judged = []
    waits = [run.bystander_s for run in figures.floods]
    served = [wait for wait in waits if wait is not None]
    slowest = f"slowest {max(served):.3f} s" if served else "no bystander measured"
    missed = len(waits) - len(served)
    judged.append(
        Verdict(
            f"a bystander is served within {BYSTANDER_TARGET_S:.0f} s under every flood",
            slowest + (f"; {missed} not served" if missed else ""),
            bool(waits) and not missed and max(served) <= BYSTANDER_TARGET_S,
        )
    )
    for where in ("body", "command"):
        cuts = [drip.cut_s for drip in figures.drips if drip.where == where]
        done = [cut for cut in cuts if cut is not None]
        judged.append(
            Verdict(
                f"a dripped {where} is cut within {CUT_TARGET_S:.0f} s",
                (f"slowest {max(done):.2f} s" if done else "never cut")
                + (f"; {len(cuts) - len(done)} not cut" if len(done) < len(cuts) else ""),
                bool(cuts) and len(done) == len(cuts) and max(done) <= CUT_TARGET_S,
            )
        )
    ones = {run.case: run for run in figures.memory if run.messages == 1}
    medians = {
        case: statistics.median(r.times_message for r in figures.memory if r.case == case)
        for case in ones
    }
    judged.append(
        Verdict(
            f"peak RSS rise <= {PEAK_TARGET_TIMES:.0f}x the message, one message at a time",
            ", ".join(f"{case} {times:.2f}x" for case, times in medians.items()) or "none",
            bool(medians) and max(medians.values()) <= PEAK_TARGET_TIMES,
        )
    )
    return judged


def _flood_text(flood: str, plan: FloodPlan) -> str:
    return {
        "none": "does nothing (the baseline)",
        "unread NOOPs": f"sends NOOP x {plan.noops:,} in one write, never reads",
        "read EHLOs": f"sends EHLO a x {plan.ehlos:,} in one write, reads the replies",
        "dot-line body": f"sends a {plan.body_octets:,}-octet DATA body of '..' lines",
    }[flood]


def _ms(values: Sequence[float]) -> str:
    return summary([value * 1000 for value in values]) + " ms" if values else "-"


def _floods_table(figures: Figures) -> list[str]:
    plan = figures.settings.flood_plan
    lines = [
        "a fresh client's connect, greeting and EHLO on the STARTTLS port, while another client...",
        f"  {'':<62} {'median (range)':<26} server CPU the flood still took after",
    ]
    for flood in FLOODS:
        runs = [run for run in figures.floods if run.flood == flood]
        waits = [run.bystander_s for run in runs if run.bystander_s is not None]
        after = "" if flood == "none" else summary([run.cpu_after_s for run in runs]) + " s"
        late = sum(1 for run in runs if not run.under_way)
        if late and flood != "none":
            after += f" (not yet under way in {late} of {len(runs)} rounds)"
        unserved = len(runs) - len(waits)
        wait = _ms(waits) + (f", {unserved} not served" if unserved else "")
        lines.append(f"  {_flood_text(flood, plan):<62} {wait:<26} {after}")
    cpu = figures.body_cpu_s
    lines += [
        f"server CPU for a {plan.body_octets:,}-octet DATA body (clock ticks of 10 ms)",
        f"  of '..' lines (each a single dot, stuffed): {_ms(cpu.get('dot lines', []))}",
        f"  of 998-octet lines: {_ms(cpu.get('998-octet lines', []))}",
    ]
    return lines


def _drips_table(figures: Figures) -> list[str]:
    settings = figures.settings
    lines = [
        f"--idle-timeout {settings.idle_timeout_s:g}, one octet every "
        f"{settings.drip_interval_s:g} s and never a line end: cut after (median, range)"
    ]
    for where, after in (("body", "DATA's 354"), ("command", "EHLO's 250")):
        drips = [drip for drip in figures.drips if drip.where == where]
        cuts = [drip.cut_s for drip in drips if drip.cut_s is not None]
        closed = sum(drip.closed for drip in drips)
        cut = summary(cuts) + " s" if cuts else "never"
        replies = sorted({drip.reply[:9] for drip in drips})
        lines.append(
            f"  a dripped {where} (from {after}): {cut}; {len(cuts)} of {len(drips)} cut "
            f"({', '.join(replies)}), {closed} closed"
        )
    return lines


def _memory_table(figures: Figures) -> list[str]:
    methods = sorted({run.method for run in figures.memory}) or ["-"]
    lines = [
        "peak RSS rise per large message over the RSS before it (transcripts kept, the "
        f"default; a server started for each run; {', '.join(methods)})"
    ]
    for case in dict.fromkeys(run.case for run in figures.memory):
        runs = [run for run in figures.memory if run.case == case]
        first = runs[0]
        what = f"{first.messages} x {first.octets:,} octets" + (
            " on one line" if first.one_line else " in 998-octet lines"
        )
        rises = summary([run.growth / 1e6 for run in runs]) + " MB"
        times = summary([run.times_message for run in runs])
        before = statistics.median(run.rss_before for run in runs) / 1e6
        lines.append(
            f"  {case} ({what}): {rises}, {times} x the data; RSS before {before:.0f} MB; "
            f"{first.reply[:9]}"
        )
    return lines


def table(figures: Figures, judged: Sequence[Verdict]) -> str:
    """The figures as readable text, with the verdicts last."""
    settings = figures.settings
    loads = " -> ".join(f"{load[0]:.2f}" for load in figures.load_average)
    lines = [
        f"hostile clients against fakeserver serve --json; rounds: {settings.rounds} of the "
        f"floods and bodies, {settings.drip_rounds} of the drips, {settings.memory_rounds} of "
        f"the large messages; {figures.seconds:.0f} s; load average (1 min) {loads}",
        "",
        *_floods_table(figures),
        "",
        *_drips_table(figures),
        "",
        *_memory_table(figures),
        "",
        "targets (issue 16):",
    ]
    lines += [
        f"  {'met   ' if verdict.met else 'MISSED'} {verdict.target}: {verdict.measured}"
        for verdict in judged
    ]
    return "\n".join(lines)


def write_json(figures: Figures, judged: Sequence[Verdict], output: Path) -> None:
    """Every figure, as measured (seconds and octets), and the verdicts, to ``output``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "figures": asdict(figures),
        "verdicts": [asdict(verdict) for verdict in judged],
        "all_met": all(verdict.met for verdict in judged),
    }
    output.write_text(json.dumps(document, indent=2) + "\n")
