"""The idle crowd, the soak's second part: how long a fresh client's whole submission takes
(STARTTLS, AUTH, one message, QUIT) without and with a crowd of idle connections open, in
alternating rounds against the same server (no faults there). It measures what the
slow-client test only asserts: idle connections cost the others nothing.
"""

from __future__ import annotations

import socket
import statistics
import time

from bench.soakserver import USER, WAIT_S, Server, connect, message


def one_send(server: Server) -> float:
    """Seconds for a fresh client's whole submission over STARTTLS."""
    started = time.perf_counter()
    with connect(server, 1) as client:
        client.send_message(message("idle crowd"), sender=USER, recipients=["a@example.org"])
    return time.perf_counter() - started


def idle_crowd(server: Server, idle: int, rounds: int, sends: int) -> dict[str, list[float]]:
    """Send latencies without and with ``idle`` idle connections, in alternating rounds."""
    times: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(rounds):
        times["without"].extend(one_send(server) for _ in range(sends))
        crowd = [
            socket.create_connection(server.address("submission"), WAIT_S) for _ in range(idle)
        ]
        try:
            for sock in crowd:
                sock.recv(1024)  # the greeting: the server has taken the connection
            times["with"].extend(one_send(server) for _ in range(sends))
        finally:
            for sock in crowd:
                sock.close()
    return times


def crowd_report(times: dict[str, list[float]], idle: int) -> str:
    def summary(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        return f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"

    return (
        f"idle crowd: a fresh client's whole send (STARTTLS, AUTH, one message, QUIT), "
        f"{len(times['with'])} sends each way, alternating rounds\n"
        f"  without idle connections: {summary(times['without'])}\n"
        f"  with {idle} idle connections open: {summary(times['with'])}"
    )
