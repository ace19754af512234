"""Hostile clients (issue 16, findings 1, 2, 6 and 7), measured: the part of ``make soak`` that
times a bystander under floods, prices a body of dot lines, waits for dripping clients to be
cut, and measures the memory a large message costs.

Every figure comes from ``fakeserver serve --json`` in a child process, as users run it
(bench/servers.py: ports 0, HTTP on a free port, this run's own certs dir), in a few rounds,
reported as the median and the range:

- bench/floods.py: a fresh client's wait from connect to the end of its EHLO reply, with no
  flood and under each of three floods; and the server's CPU for a 2 MB body of dot lines
  against one of 998-octet lines;
- bench/drips.py: with ``--idle-timeout 3``, a body and a command dripped one octet every
  0.5 s, and how long until the server cuts each with its 451 4.4.2;
- bench/largemessages.py: the peak RSS rise for one message as large as SIZE allows, three
  at once, and 20 MB on one line, each on a server started for it.

The table goes to stdout and every figure to a JSON file (bench/hostilereport.py). The exit
status is 1 when a figure clearly misses its target: a bystander not served within 5 s, a
dripped client not cut within 10 s, or a peak RSS rise above twice the message for one
message at a time.

    python -m bench.hostile                 # about a minute
    python -m bench.hostile --rounds 3 --memory-rounds 1
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import drips, floods, largemessages
from bench.hostilereport import Figures, Settings, table, verdicts, write_json
from bench.servers import SERVE, running
from fakeserver.transport.tls import load_or_create

FIGURES_JSON = Path("reports/hostile.json")


def measure(
    settings: Settings, certs_dir: Path, progress: Callable[[str], None] = lambda text: None
) -> Figures:
    """Runs every check against servers that share ``certs_dir`` and returns the figures."""
    started = time.perf_counter()
    figures = Figures(settings=settings, load_average=[os.getloadavg()])
    plan = settings.flood_plan
    with running(SERVE, certs_dir) as server:
        figures.floods = floods.bystander_rounds(server, plan, settings.rounds)
        progress("the bystander under floods: done")
        figures.body_cpu_s = floods.body_cpu_rounds(server, plan, settings.rounds)
        progress("server CPU per body: done")
        size = settings.message_octets or largemessages.size_limit(server)
    idle = ["--idle-timeout", str(settings.idle_timeout_s)]
    with running(SERVE, certs_dir, idle) as server:
        figures.drips = drips.drip_rounds(
            server,
            settings.drip_rounds,
            interval_s=settings.drip_interval_s,
            bound_s=settings.drip_bound_s,
        )
    progress("dripping clients: done")
    cases = largemessages.cases(size, settings.one_line_octets)
    figures.memory = largemessages.growth_rounds(certs_dir, cases, settings.memory_rounds)
    progress("peak RSS per large message: done")
    figures.load_average.append(os.getloadavg())
    figures.seconds = time.perf_counter() - started
    return figures


def run(settings: Settings, output: Path) -> int:
    """Measures, prints the table, writes the JSON to ``output``; 1 if a target is missed."""
    began = time.perf_counter()

    def progress(text: str) -> None:
        print(f"hostile: [{time.perf_counter() - began:.0f} s] {text}", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="smtprig-hostile-") as folder:
        certs = Path(folder) / "certs"
        load_or_create(certs)  # once, before servers start on it
        figures = measure(settings, certs, progress)
    judged = verdicts(figures)
    print(table(figures, judged), flush=True)
    write_json(figures, judged, output)
    print(f"figures written to {output}")
    return 0 if all(verdict.met for verdict in judged) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hostile", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--rounds", type=int, default=5, help="floods and body CPU")
    parser.add_argument("--drip-rounds", type=int, default=3)
    parser.add_argument("--memory-rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=FIGURES_JSON, help="where the figures go")
    arguments = parser.parse_args(argv)
    if min(arguments.rounds, arguments.drip_rounds, arguments.memory_rounds) < 1:
        parser.error("every --*rounds must be at least 1")
    settings = Settings(
        rounds=arguments.rounds,
        drip_rounds=arguments.drip_rounds,
        memory_rounds=arguments.memory_rounds,
    )
    return run(settings, arguments.json)


if __name__ == "__main__":
    sys.exit(main())
