"""Load with faults, nothing lost: thousands of messages over hundreds of concurrent
connections, random faults on the server side, and then an account of every message.

``fakeserver serve --json --maildir DIR --scenario bench/soak_faults.toml`` runs in its own
process, as a user runs it, injecting faults at random from a fixed seed: replies split,
dripped or with bare LFs, a late greeting, 451 and 421 refusals, resets and drops mid-message,
and the lost 250 (the message is stored, then the connection goes before or as the 250 goes
out). The soak opens CONNECTIONS connections at once (half implicit TLS, half STARTTLS; AUTH
PLAIN on each), holds them all open, then sends MESSAGES messages through them with smtprig's
own client, each with a unique Subject and each sent once, never retried. A seeded share is
abandoned in the middle of DATA on purpose. A connection that breaks is replaced. Then:

- every message that got a 250 is in the outbox (the Maildir) exactly once;
- no message that did not get a 250 is there, unless the server reported a fault on its
  connection right after storing it (a lost 250, as the scenario asks); those are counted;
- the JSON event stream reported the same messages as the Maildir holds.

The figures are printed, and the exit status is 1 if any of the three fails.

The second part measures what the slow-client test only asserts: how long a fresh client's
whole submission takes (STARTTLS, AUTH, one message, QUIT) without and with IDLE idle
connections open, in alternating rounds against the same server (no faults there)
(bench/crowd.py).

The third part is the hostile clients of issue 16 (bench/hostile.py, which runs alone too): a
bystander's wait under three floods, a body of dot lines against one of long lines, dripping
clients cut by the idle timeout, and the peak memory of large messages. It writes its figures
to reports/hostile.json, and the exit status is 1 too if one of them misses its target.

    python -m bench.soak                    # 10,000 messages, 200 connections, 1,000 idle
    python -m bench.soak --messages 2000 --connections 50 --idle 200 --no-faults --no-hostile
"""

from __future__ import annotations

import argparse
import mailbox
import random
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import crowd, hostile
from bench.hostilereport import Settings
from bench.soakserver import USER, WAIT_S, Server, connect, message, served
from client import ReplyError, SMTPClient, SMTPError

FAULTS = Path(__file__).with_name("soak_faults.toml")


CONNECT_ATTEMPTS = 5
"""A fault may break a fresh connection too (a split greeting is fine, a 421 is not)."""


@dataclass
class Worker:
    """One of the concurrent connections, and what happened to each of its messages."""

    index: int
    plan: list[tuple[str, bool]]  # (subject, abandon mid-DATA)
    outcomes: dict[str, str] = field(default_factory=dict)
    connections: int = 0
    errors: list[str] = field(default_factory=list)

    def run(self, server: Server, start: threading.Barrier) -> None:
        client: SMTPClient | None = None
        try:
            client = self._connect(server)
            start.wait(WAIT_S)  # every connection is open before any message is sent
            for subject, abandon in self.plan:
                client = client or self._connect(server)
                if client is None:
                    self.outcomes[subject] = "not sent"
                    continue
                client = self._send(client, subject, abandon)
            if client is not None:
                client.quit()
        except (SMTPError, OSError, threading.BrokenBarrierError) as error:
            self.errors.append(f"connection {self.index}: {error!r}")
        finally:
            if client is not None:
                client.close()

    def _connect(self, server: Server) -> SMTPClient | None:
        for _ in range(CONNECT_ATTEMPTS):
            self.connections += 1
            try:
                return connect(server, self.index)
            except (SMTPError, OSError) as error:
                self.errors.append(f"connection {self.index}: {error!r}")
        return None

    def _send(self, client: SMTPClient, subject: str, abandon: bool) -> SMTPClient | None:
        try:
            if abandon:
                client.mail(USER)
                client.rcpt("friend@example.org")
                client.data()
                client.take_over()  # raw: half the message, then the connection is dropped
                client.send_bytes(message(subject)[:300])
                client.close()
                self.outcomes[subject] = "abandoned"
                return None
            client.send_message(message(subject), sender=USER, recipients=["friend@example.org"])
            self.outcomes[subject] = "acknowledged"
            return client
        except ReplyError as error:
            self.outcomes[subject] = "refused"
            if error.reply.code == 421:  # the server closes after a 421
                client.close()
                return None
            return client
        except SMTPError:  # the 250 may or may not have been sent: the server's events tell
            self.outcomes[subject] = "broken"
            client.close()
            return None


@dataclass
class Soak:
    messages: int
    connections: int
    seconds: float
    outcomes: Counter[str]
    opened: int
    in_outbox: Counter[str]
    in_events: Counter[str]
    faults: Counter[str]
    lost: list[str]
    duplicated: list[str]
    lost_250: list[str]
    phantom: list[str]
    errors: list[str]
    peak_rss_mb: float | None

    @property
    def ok(self) -> bool:
        return (
            not (self.lost or self.duplicated or self.phantom) and self.in_outbox == self.in_events
        )


def faulted_after_storing(events: list[dict[str, object]]) -> set[str]:
    """Subjects of stored messages whose connection reported a fault before its next message:
    the fault changed the reply to that message (the scenario's lost 250)."""
    explained: set[str] = set()
    stored_last: dict[object, str] = {}  # connection -> subject of its latest message
    for event in events:
        connection = event.get("connection")
        if event["event"] == "message":
            stored_last[connection] = str(event["subject"])
        elif event["event"] == "fault" and connection in stored_last:
            explained.add(stored_last.pop(connection))
    return explained


def fault_kinds(events: list[dict[str, object]]) -> Counter[str]:
    """How many of each fault the server injected (``SplitAt(...)`` counts as ``SplitAt``)."""
    kinds: Counter[str] = Counter()
    for event in events:
        if event["event"] == "fault":
            for fault in str(event["detail"]).split("; "):
                kinds[fault.split("(")[0]] += 1
    return kinds


def soak(server: Server, messages: int, connections: int, abandon: float, seed: int) -> Soak:
    rng = random.Random(seed)
    workers = [Worker(index, []) for index in range(connections)]
    for number in range(messages):
        worker = workers[number % connections]
        worker.plan.append((f"soak {worker.index}-{len(worker.plan)}", rng.random() < abandon))
    start = threading.Barrier(connections)
    threads = [threading.Thread(target=w.run, args=(server, start)) for w in workers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 10)
    seconds = time.perf_counter() - started
    opened = sum(worker.connections for worker in workers)
    server.wait_for_closed(opened)
    outcomes = {s: o for worker in workers for s, o in worker.outcomes.items()}
    acked = {subject for subject, outcome in outcomes.items() if outcome == "acknowledged"}
    broken = {subject for subject, outcome in outcomes.items() if outcome == "broken"}
    in_outbox = Counter(str(stored["Subject"]) for stored in mailbox.Maildir(server.maildir))
    in_events = Counter(str(e["subject"]) for e in server.events if e["event"] == "message")
    unacknowledged = set(in_outbox) - acked
    lost_250 = unacknowledged & broken & faulted_after_storing(server.events)
    return Soak(
        messages=messages,
        connections=connections,
        seconds=seconds,
        outcomes=Counter(outcomes.values()),
        opened=opened,
        in_outbox=in_outbox,
        in_events=in_events,
        faults=fault_kinds(server.events),
        lost=sorted(acked - set(in_outbox)),
        duplicated=sorted(subject for subject, count in in_outbox.items() if count > 1),
        lost_250=sorted(lost_250),
        phantom=sorted(unacknowledged - lost_250),
        errors=[error for worker in workers for error in worker.errors],
        peak_rss_mb=server.peak_rss_mb(),
    )


def report(result: Soak) -> str:
    outcomes = result.outcomes
    rss = f"{result.peak_rss_mb:.0f} MB" if result.peak_rss_mb is not None else "n/a"
    faults = ", ".join(f"{kind} {count}" for kind, count in result.faults.most_common())
    lines = [
        f"soak: {result.messages} messages over {result.connections} concurrent connections "
        f"(half implicit TLS, half STARTTLS; AUTH PLAIN)",
        f"  faults injected: {result.faults.total()}" + (f" ({faults})" if faults else ""),
        f"  acknowledged (250): {outcomes['acknowledged']}   refused (4xx/5xx): "
        f"{outcomes['refused']}   broken by a fault: {outcomes['broken']}   "
        f"abandoned mid-DATA on purpose: {outcomes['abandoned']}   "
        f"not sent (no connection): {outcomes['not sent']}",
        f"  in the outbox (Maildir): {result.in_outbox.total()}   "
        f"in the JSON events: {result.in_events.total()}",
        f"  lost (250, not stored): {len(result.lost)}   stored twice: {len(result.duplicated)}"
        f"   stored without a 250: {len(result.phantom)}   "
        f"stored, 250 lost to an injected fault: {len(result.lost_250)}",
        f"  {result.seconds:.1f} s, {result.messages / result.seconds:.0f} messages/s; "
        f"{result.opened} connections opened; {len(result.errors)} connection errors seen by "
        f"clients; server peak RSS {rss}",
    ]
    for problem in (*result.lost[:5], *result.duplicated[:5], *result.phantom[:5]):
        lines.append(f"  PROBLEM: {problem}")
    return "\n".join(lines)


def _enough_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed and (hard == resource.RLIM_INFINITY or hard >= needed):
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))  # the server inherits it


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--abandon", type=float, default=0.01, help="share dropped mid-DATA")
    parser.add_argument("--idle", type=int, default=1000, help="idle connections (0: skip)")
    parser.add_argument("--seed", type=int, default=1, help="which messages are abandoned")
    parser.add_argument(
        "--faults", type=Path, default=FAULTS, metavar="FILE.toml", help="the faults to serve"
    )
    parser.add_argument("--no-faults", action="store_true", help="serve Gmail as it is")
    parser.add_argument("--no-hostile", action="store_true", help="skip the hostile clients")
    arguments = parser.parse_args(argv)
    _enough_files(2 * (arguments.idle + arguments.connections) + 256)
    scenario = None if arguments.no_faults else arguments.faults
    with served(scenario) as server:
        result = soak(
            server, arguments.messages, arguments.connections, arguments.abandon, arguments.seed
        )
        print(report(result), flush=True)
    if arguments.idle:
        with served() as server:
            times = crowd.idle_crowd(server, arguments.idle, 3, 20)
            print(crowd.crowd_report(times, arguments.idle), flush=True)
    hostile_status = 0
    if not arguments.no_hostile:
        hostile_status = hostile.run(Settings(), hostile.FIGURES_JSON)
    return 0 if result.ok and hostile_status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
