"""Messages per second on one connection: smtprig's client against smtplib.

Both send the same ~1 KB message N times over one implicit-TLS connection, logged in once,
to the same ``fakeserver serve --json`` in its own process (bench/servers.py). Rounds
alternate (smtprig, smtplib, smtprig, ...) so that both see the same machine; the table
gives medians over the rounds. smtprig's client pipelines MAIL, RCPT and DATA when the server
offers PIPELINING, as Gmail does, and ``send_messages`` also pipelines each end of data with
the next envelope (one round trip per message); smtplib waits for each reply.
"""

from __future__ import annotations

import smtplib
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.servers import SERVE, running
from client import SendResult, SMTPClient

MESSAGE = b"Subject: benchmark\r\n\r\n" + (b"x" * 68 + b"\r\n") * 14
RECIPIENTS = ["friend@example.org"]


@dataclass(frozen=True)
class Served:
    host: str
    port: int
    context: ssl.SSLContext


@contextmanager
def served() -> Iterator[Served]:
    """``fakeserver serve --json`` in its own process, with its own certificates."""
    with (
        tempfile.TemporaryDirectory(prefix="smtprig-bench-") as folder,
        running(SERVE, Path(folder)) as server,
    ):
        context = ssl.create_default_context(cafile=server.cafile)
        yield Served(server.host, server.smtps_port, context)


def smtprig_batch(server: Served, count: int) -> float:
    started = time.perf_counter()
    with SMTPClient.connect(
        server.host, server.port, implicit_tls=True, ssl_context=server.context
    ) as client:
        client.ehlo()
        client.auth_plain("tester@gmail.com", "app-password")
        results = client.send_messages(
            [MESSAGE] * count, sender="tester@gmail.com", recipients=RECIPIENTS
        )
    seconds = time.perf_counter() - started
    failed = [result for result in results if not isinstance(result, SendResult)]
    if failed:
        raise RuntimeError(f"{len(failed)} messages failed, e.g. {failed[0]!r}")
    return count / seconds


def smtprig_one_by_one(server: Served, count: int) -> float:
    started = time.perf_counter()
    with SMTPClient.connect(
        server.host, server.port, implicit_tls=True, ssl_context=server.context
    ) as client:
        client.ehlo()
        client.auth_plain("tester@gmail.com", "app-password")
        for _ in range(count):
            client.send_message(MESSAGE, sender="tester@gmail.com", recipients=RECIPIENTS)
    return count / (time.perf_counter() - started)


def smtplib_client(server: Served, count: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP_SSL(server.host, server.port, context=server.context) as client:
        client.login("tester@gmail.com", "app-password")
        for _ in range(count):
            client.sendmail("tester@gmail.com", RECIPIENTS, MESSAGE)
    return count / (time.perf_counter() - started)


CLIENTS: dict[str, Callable[[Served, int], float]] = {
    "smtprig client, send_messages": smtprig_batch,
    "smtprig client, send_message each": smtprig_one_by_one,
    "smtplib": smtplib_client,
}


def run(messages: int = 500, rounds: int = 7) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {name: [] for name in CLIENTS}
    with served() as server:
        for send in CLIENTS.values():
            send(server, 20)  # warm up both (imports, TLS session caches)
        for _ in range(rounds):
            for name, send in CLIENTS.items():
                rates[name].append(send(server, messages))
    return rates


def table(rates: dict[str, list[float]]) -> str:
    reference = statistics.median(rates["smtplib"])
    rows = [
        "| client, one connection | messages/s median (min-max) | ratio to smtplib |",
        "|---|---|---|",
    ]
    for name, values in rates.items():
        median = statistics.median(values)
        rows.append(
            f"| {name} | {median:.0f} ({min(values):.0f}-{max(values):.0f}) "
            f"| {median / reference:.2f}x |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 500)))
