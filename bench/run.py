"""``make bench``: every benchmark, side by side with its reference, into BENCHMARKS.md.

These machines are shared and noisy, so nothing here is an absolute figure to trust alone:
each row is measured in interleaved rounds against a reference run in the same rounds
(A B A B ...), and the ratio of medians is what to compare. Nothing here is a test: no
figure can fail ``make test``.

The rows:

- ingest over implicit TLS after one AUTH per connection, ~1 KB messages: one connection
  sending 2,000, and 50 connections sending 40 each. The load generator (bench/loadgen.py)
  runs in its own process and pipelines when the server offers PIPELINING, as Gmail does;
  the fake is also measured one command at a time. Reference: stock aiosmtpd with implicit
  TLS, an authenticator and its Sink handler, in its own process (bench/servers.py);
- TLS + AUTH session rate with 20 concurrent clients, on both the implicit-TLS and the
  STARTTLS port (reference: aiosmtpd, implicit TLS);
- the pytest fixture's cost per test (bench/fixture.py);
- start-up: in-process with both TLS listeners, and ``fakeserver serve`` to its ready line
  (reference: aiosmtpd's Controller with implicit TLS);
- memory held per 1,000 captured 1 KB messages;
- our client's messages per second on one connection against smtplib (bench/client.py).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import client as client_bench
from bench import fixture as fixture_bench
from bench.servers import Running, running


@dataclass
class Row:
    """One line of the table: a subject against a reference, over rounds."""

    what: str
    unit: str
    subject: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    reference_name: str = ""
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if not self.reference:
            return None
        subject, reference = statistics.median(self.subject), statistics.median(self.reference)
        return subject / reference if self.higher_is_better else reference / subject


def _summary(values: Sequence[float]) -> str:
    if not values:
        return "-"
    median = statistics.median(values)
    digits = 0 if median >= 100 else 2 if median < 10 else 1
    return f"{median:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load(server: Running, *arguments: str, tls: str = "implicit") -> dict[str, float]:
    port = server.smtps_port if tls == "implicit" else server.submission_port
    before = _cpu_seconds(server.pid)
    finished = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", "--host", server.host, "--port", str(port),
         "--cafile", server.cafile, "--tls", tls, *arguments],
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(finished.stdout)
    result["server_cpu_s"] = _cpu_seconds(server.pid) - before
    if result["errors"]:
        raise RuntimeError(f"the load generator saw {result['errors']} errors on {server.name}")
    return result


def ingest_and_sessions(rounds: int, scale: float, certs: Path) -> list[Row]:
    """The server rows, measured in interleaved rounds against stock aiosmtpd."""
    one = ["--mode", "ingest", "--connections", "1", "--messages", str(int(2000 * scale))]
    many = ["--mode", "ingest", "--connections", "50", "--messages", str(max(1, int(40 * scale)))]
    sessions = ["--mode", "sessions", "--connections", "20", "--sessions", str(int(800 * scale))]
    rows = {
        "one": Row("ingest, 1 connection x 2,000 messages (pipelined)", "messages/s"),
        "one_lockstep": Row("ingest, 1 connection, one command at a time", "messages/s"),
        "many": Row("ingest, 50 connections x 40 messages (pipelined)", "messages/s"),
        "cpu": Row(
            "server CPU per message (1 connection, pipelined)", "us", higher_is_better=False
        ),
        "sessions": Row("TLS + AUTH sessions, 20 clients, implicit TLS", "sessions/s"),
        "sessions_starttls": Row("TLS + AUTH sessions, 20 clients, STARTTLS", "sessions/s"),
    }
    for row in rows.values():
        row.reference_name = "aiosmtpd, implicit TLS"
    with running("fake", certs) as fake, running("aiosmtpd", certs) as reference:
        _load(fake, *one[:4], "--messages", "50")  # warm both up
        _load(reference, *one[:4], "--messages", "50")
        for _ in range(rounds):
            for server, side in ((fake, "subject"), (reference, "reference")):
                result = _load(server, *one)
                getattr(rows["one"], side).append(result["messages"] / result["seconds"])
                cpu_us = result["server_cpu_s"] / result["messages"] * 1e6
                getattr(rows["cpu"], side).append(cpu_us)
                if server is fake:
                    lockstep = _load(server, *one, "--pipelining", "off")
                    rows["one_lockstep"].subject.append(lockstep["messages"] / lockstep["seconds"])
                else:
                    rows["one_lockstep"].reference.append(result["messages"] / result["seconds"])
                result = _load(server, *many)
                getattr(rows["many"], side).append(result["messages"] / result["seconds"])
                result = _load(server, *sessions)
                getattr(rows["sessions"], side).append(result["sessions"] / result["seconds"])
                if server is fake:
                    result = _load(server, *sessions, tls="starttls")
                    rows["sessions_starttls"].subject.append(result["sessions"] / result["seconds"])
                else:
                    rows["sessions_starttls"].reference.append(
                        result["sessions"] / result["seconds"]
                    )
    return list(rows.values())


def startup(rounds: int, certs: Path) -> list[Row]:
    """In-process start with both TLS listeners, and `fakeserver serve` to its ready line."""
    from aiosmtpd.controller import Controller

    from fakeserver.server.fake import FakeGmail, ServerOptions
    from fakeserver.transport.tls import load_or_create, server_context

    certificates, _, _ = load_or_create(certs)
    in_process = Row("in-process start, both TLS listeners", "ms", higher_is_better=False)
    in_process.reference_name = "aiosmtpd Controller, implicit TLS"
    serve = Row("`fakeserver serve` to its ready line", "ms", higher_is_better=False)
    serve.reference_name = "(none)"
    context = server_context(certificates)
    for _ in range(rounds * 10):
        started = time.perf_counter()
        gmail = FakeGmail(ServerOptions(certificates=certificates)).start()
        in_process.subject.append((time.perf_counter() - started) * 1000)
        gmail.stop()
        # The Controller cannot take port 0 (aiosmtpd#388): give it a free port, as its
        # users must.
        controller = Controller(
            _Sink(), hostname="127.0.0.1", port=_free_port(), ssl_context=context,
            server_hostname="localhost",
        )  # fmt: skip
        started = time.perf_counter()
        controller.start()
        in_process.reference.append((time.perf_counter() - started) * 1000)
        controller.stop()
    for _ in range(rounds * 3):
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "fakeserver", "serve", "--json", "--smtps-port", "0",
             "--submission-port", "0", "--http", "127.0.0.1:0", "--certs-dir", str(certs)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        process.stdout.readline()
        serve.subject.append((time.perf_counter() - started) * 1000)
        process.terminate()
        process.wait(30)
        process.stdout.close()
    return [in_process, serve]


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def memory() -> list[Row]:
    """Bytes held per captured 1 KB message, over 1,000 messages (tracemalloc)."""
    from fakeserver.server.fake import FakeGmail, ServerOptions

    message = b"Subject: benchmark\r\n\r\n" + (b"x" * 68 + b"\r\n") * 14
    what = f"memory held per captured {len(message)}-byte message"
    row = Row(what, "bytes", higher_is_better=False)
    with FakeGmail(ServerOptions(record_transcripts=False)) as gmail:
        context = gmail.client_context()
        with smtplib.SMTP_SSL(*gmail.smtps, context=context) as smtp:
            smtp.login(*gmail.credentials)
            smtp.sendmail("tester@gmail.com", ["a@example.org"], message)
            gmail.outbox.wait_for(1)
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.take_snapshot()
            for _ in range(1000):
                smtp.sendmail("tester@gmail.com", ["a@example.org"], message)
            gmail.outbox.wait_for(1001)
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    row.subject.append(held / 1000)
    return [row]


def fixture(scale: float) -> list[Row]:
    rows = []
    for comparison in fixture_bench.run(max(50, int(300 * scale))):
        title = comparison.title
        if comparison.reference == "empty":
            row = Row(f"pytest: {title}", "ms per test", higher_is_better=False)
            row.subject = [comparison.added_ms]
            row.reference_name = "added to an empty test (median)"
        else:
            row = Row(f"pytest: {title}", "ms per test", higher_is_better=False)
            row.subject = comparison.subject_ms
            row.reference = comparison.reference_ms
            row.reference_name = comparison.reference
        rows.append(row)
    return rows


def client(rounds: int, scale: float) -> list[Row]:
    rates = client_bench.run(max(50, int(500 * scale)), rounds)
    rows = []
    for name, what in (
        ("smtprig client, send_messages", "our client, 1 connection, 1 KB messages"),
        ("smtprig client, send_message each", "our client, send_message one by one"),
    ):
        row = Row(what, "messages/s")
        row.subject = rates[name]
        row.reference = rates["smtplib"]
        row.reference_name = "smtplib"
        rows.append(row)
    return rows


def _find(rows: list[Row], start: str) -> Row:
    return next(row for row in rows if row.what.startswith(start))


def targets(rows: list[Row]) -> list[tuple[str, str, str]]:
    """(target, figure, verdict) for each target of issue 7."""
    one = _find(rows, "ingest, 1 connection x")
    sessions = _find(rows, "TLS + AUTH sessions, 20 clients, implicit")
    per_test = _find(rows, "pytest: a test that takes fake_gmail")
    start = _find(rows, "in-process start")
    held = _find(rows, "memory held")
    ours = _find(rows, "our client, 1 connection")
    checks = [
        ("ingest over TLS after AUTH >= 2x aiosmtpd", one.ratio, 2.0, "x"),
        ("TLS + AUTH sessions per second >= 1.0x aiosmtpd", sessions.ratio, 1.0, "x"),
        ("per-test overhead <= 0.5 ms median", statistics.median(per_test.subject), 0.5, " ms"),
        (
            "in-process start, both TLS listeners <= 5 ms",
            statistics.median(start.subject),
            5,
            " ms",
        ),
        ("memory per captured 1 KB message <= 1.5 KB", statistics.median(held.subject), 1536, " B"),
        ("client on one connection >= 1.5x smtplib", ours.ratio, 1.5, "x"),
    ]
    verdicts = []
    for name, value, bound, unit in checks:
        if value is None:
            verdicts.append((name, "-", "not measured"))
            continue
        at_least = ">=" in name
        met = value >= bound if at_least else value <= bound
        verdicts.append((name, f"{value:.2f}{unit}", "met" if met else "MISSED"))
    return verdicts


NOTES = """## What each target rests on

Rerun with `make bench` (about 90 s; `python -m bench.run --rounds 1 --scale 0.2` for a quick
look). The verdicts above are this run's; these notes say why each figure is where it is.

- **Ingest.** Replies to pipelined commands go out together, one TLS record and one send for
  MAIL, RCPT and DATA (RFC 2920 §3.2 allows it; `fakeserver/transport/writing.py`); DATA is read
  in large pieces up to the next `.<CRLF>`, not line by line
  (`fakeserver/transport/reading.py`); replies that depend only on the connection are rendered
  once. Gmail offers PIPELINING and stock aiosmtpd does not, so the load generator pipelines
  only to the fake: the "one command at a time" row is the like-for-like cost of the protocol
  work.
- **Sessions.** Most of a session is the TLS handshake and asyncio's TLS layer, the same code
  for both servers, so the margin is thin and moves with the machine: 1.02x to 1.25x on
  implicit TLS across runs; STARTTLS, which costs a round trip and a second EHLO more than
  the reference's implicit TLS, 0.91x to 1.10x. The Python cost per
  connection was cut where profiles (py-spy) showed it: TCP_NODELAY on every socket (a TLS 1.3
  ticket after the handshake met Nagle's delay: 40 ms per connection), aiosmtpd's per-connection
  inspection of the protocol and handler narrowed to their verbs, and aiosmtpd's timer armed
  once instead of at every command.
- **Per-test overhead.** One server per configuration per pytest process, reset between tests:
  no bind, no certificate and no TLS context per test, and no trip to the loop thread when no
  connection is open.
- **Start.** Our own runner binds on the loop thread without aiosmtpd Controller's self-test
  connection (aiosmtpd#388); the CA and leaf are made once per process and kept.
- **Memory.** A captured message is its bytes plus a small envelope; the parsed message is made
  on first use, and the session facts are one object shared by a connection's messages.
- **Client.** `send_messages` sends each message's end of data with the next message's MAIL,
  RCPT and DATA, one round trip per message where smtplib makes four. `send_message` alone
  (the row below it) waits for each end-of-data reply; with DATA the client cannot send a
  message before its 354, so client and server work cannot overlap further without BDAT.
"""


def markdown(rows: list[Row], command: str, seconds: float) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Made by `{command}` on {datetime.date.today()} in {seconds:.0f} s: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}. "
        "The machine is shared, so compare ratios measured in the same rounds, not absolute "
        "figures; medians with min-max over the rounds. The method is in bench/run.py's "
        "docstring.",
        "",
        "| what | unit | smtprig | reference | ratio |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        reference = row.reference_name or "-"
        if row.reference:
            reference = f"{_summary(row.reference)} ({row.reference_name})"
        subject = _summary(row.subject)
        lines.append(f"| {row.what} | {row.unit} | {subject} | {reference} | {ratio} |")
    lines += ["", "## Targets (issue 7)", "", "| target | measured | verdict |", "|---|---|---|"]
    for name, figure, verdict in targets(rows):
        lines.append(f"| {name} | {figure} | {verdict} |")
    lines += ["", NOTES]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="fewer messages when < 1")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="smtprig-bench-") as folder:
        certs = Path(folder)
        rows = ingest_and_sessions(arguments.rounds, arguments.scale, certs)
        rows += startup(arguments.rounds, certs)
    rows += memory()
    rows += fixture(arguments.scale)
    rows += client(arguments.rounds, arguments.scale)
    command = (
        "make bench"
        if arguments.rounds == 3 and arguments.scale == 1.0
        else (f"python -m bench.run --rounds {arguments.rounds} --scale {arguments.scale}")
    )
    text = markdown(rows, command, time.perf_counter() - started)
    arguments.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
