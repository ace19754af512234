"""``make bench``: smtprig as users run it, side by side with its references, into BENCHMARKS.md.

These machines are shared and noisy, so nothing here is an absolute figure to trust alone:
each figure is measured in interleaved rounds (A B C, B C A, ...) against references run in
the same rounds, and ratios of medians are what to compare. Nothing here is a test: no
figure can fail ``make test``.

The servers (bench/servers.py), each its own process, all alive for the whole of the 1 KB
rounds:

- smtprig through its command line, as users run it: ``fakeserver serve --json`` (transcripts
  on, the default), the same with ``--no-transcripts``, and the live log into a pipe that the
  benchmark drains; ports 0, HTTP on a free port, the benchmark's own certs dir;
- stock aiosmtpd (authenticator, Sink) with an implicit-TLS and a STARTTLS listener;
- Node smtp-server with the same two listeners, installed into bench/node/ when node and npm
  are here (bench/nodepeer.py); otherwise its rows say "not measured" and why;
- in the first workload only, steps down from aiosmtpd to show where the cost goes: aiosmtpd
  without its address parser, and the asyncio floor (bench/floor.py), fixed replies over the
  same TLS and nothing else.

The load generator (bench/loadgen.py) is its own asyncio process (two for 200 connections)
and reports its own CPU, so that a table can show it was not the limit. The workloads
(bench/rounds.py): 1 x 2,000 ~1 KB messages over implicit TLS and over STARTTLS, and
50 x 40, one command at a time; the same 1 x 2,000 pipelined; TLS + AUTH sessions on both
ports; 10 x 200 and 200 x 10 for the growth table. Then, on servers started afresh each round,
100 KB and 10 MB messages; on servers started for it alone, peak RSS while 10 MB messages
stream in (bench/memory.py). Then bytes held per captured message (tracemalloc), the pytest
fixture's cost (bench/fixture.py), start-up and the HTTP API's figures (bench/http.py), our
client against smtplib (bench/client.py), and the calls per message on the fake's loop thread
(bench/calls.py), the one figure that the machine's load does not move.

    make bench                                    # about five minutes
    python -m bench.run --rounds 1 --scale 0.2    # a quick look
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import calls, memory, nodepeer, report, rounds
from bench import client as client_bench
from bench import fixture as fixture_bench
from bench import http as http_bench
from bench.figures import Measured
from bench.servers import AIOSMTPD, NODE, SERVE, SERVE_LIVE, SERVE_NO_TRANSCRIPTS
from fakeserver.transport.tls import load_or_create

_STARTED = time.perf_counter()


def _progress(text: str) -> None:
    print(f"bench: [{time.perf_counter() - _STARTED:.0f} s] {text}", file=sys.stderr, flush=True)


def servers_and_rounds(measured: Measured, certs: Path, scale: float) -> None:
    """The interleaved rounds on 1 KB messages, then large messages, then RSS while 10 MB
    messages stream in."""
    steps = [(workload.scaled(scale), names) for workload, names in rounds.plan(rounds.REFERENCES)]
    names = [SERVE, SERVE_NO_TRANSCRIPTS, SERVE_LIVE, AIOSMTPD, NODE, *rounds.STEPS_DOWN]
    with rounds.started(names, certs, measured.unavailable) as servers:
        _progress(f"started {', '.join(servers)}; warming up")
        rounds.warm_up(servers)
        rounds.interleave(servers, steps, measured.rounds, measured.runs, progress=_progress)
    measured.node_version = nodepeer.version()
    large = [rounds.LARGE.scaled(scale), rounds.HUGE.scaled(scale)]
    rounds.interleave_fresh(
        [SERVE, AIOSMTPD, NODE], large, measured.rounds, certs, measured.runs,
        measured.unavailable, progress=_progress,
    )  # fmt: skip
    for name in (SERVE, SERVE_NO_TRANSCRIPTS, AIOSMTPD, NODE):
        if name not in measured.unavailable:
            count = 2 if scale >= 1 else 1
            measured.streams.append(memory.streaming(name, certs, rounds.HUGE.size_bytes, count))
    _progress("RSS while 10 MB messages stream in: done")


def start_up(measured: Measured, certs: Path) -> None:
    """In-process start against aiosmtpd's Controller; ``fakeserver serve`` to /readyz and to
    its ready line; the HTTP API's wait after a 250."""
    from aiosmtpd.controller import Controller

    from fakeserver.server.fake import FakeGmail, ServerOptions
    from fakeserver.transport.tls import server_context

    certificates, _, _ = load_or_create(certs)
    context = server_context(certificates)
    for _ in range(measured.rounds * 10):
        started = time.perf_counter()
        gmail = FakeGmail(ServerOptions(certificates=certificates)).start()
        measured.start_in_process_ms.append((time.perf_counter() - started) * 1000)
        gmail.stop()
        # The Controller cannot take port 0 (aiosmtpd#388): give it a free port, as its
        # users must.
        controller = Controller(
            _Sink(), hostname="127.0.0.1", port=http_bench.free_port(), ssl_context=context,
            server_hostname="localhost",
        )  # fmt: skip
        started = time.perf_counter()
        controller.start()
        measured.start_controller_ms.append((time.perf_counter() - started) * 1000)
        controller.stop()
    to_readyz, _, without_http = http_bench.start_up(measured.rounds * 2)
    measured.serve_to_readyz_ms = to_readyz
    measured.serve_no_http_to_line_ms = without_http
    measured.wait_after_250_ms = http_bench.wait_latency(100)
    _progress("start-up and HTTP figures: done")


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (at least 3 "
                        "for the targets' medians)")  # fmt: skip
    parser.add_argument("--scale", type=float, default=1.0, help="fewer messages when < 1")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    arguments = parser.parse_args(argv)
    if arguments.rounds < 1 or not arguments.scale > 0:
        parser.error("--rounds must be at least 1 and --scale above 0")
    default = arguments.rounds == 3 and arguments.scale == 1.0
    command = "make bench" if default else (
        f"python -m bench.run --rounds {arguments.rounds} --scale {arguments.scale}"
    )  # fmt: skip
    # Stopped with SIGTERM (kill, a CI timeout), unwind as for Ctrl-C: the servers it started
    # are stopped on the way out, not left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    measured = Measured(command=command, rounds=arguments.rounds, scale=arguments.scale)
    measured.load_average.append(os.getloadavg()[0])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="smtprig-bench-") as folder:
        certs = Path(folder) / "certs"
        load_or_create(certs)  # once, before several servers start on it at the same time
        servers_and_rounds(measured, certs, arguments.scale)
        start_up(measured, certs)
    for transcripts in (False, True):
        measured.held[transcripts] = memory.held_per_message(transcripts=transcripts)
    measured.fixture = fixture_bench.run(max(50, int(150 * arguments.scale)))
    _progress("pytest fixture: done")
    measured.client = client_bench.run(max(50, int(500 * arguments.scale)), arguments.rounds)
    _progress("our client against smtplib: done")
    for log in calls.LOGS:
        measured.calls_per_message[log] = calls.calls_per_message(log)
    _progress("calls per message: done")
    measured.seconds = time.perf_counter() - started
    measured.load_average.append(os.getloadavg()[0])
    text = report.markdown(measured)
    arguments.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
