"""``python -m bench.http``: the HTTP API's two figures, measured, not guessed.

1. From starting ``fakeserver serve`` (a new process) to ``GET /readyz`` answering 200, and
   to its ready line (printed once both SMTP and HTTP listen), over ``--runs`` starts.
2. How long ``GET /api/v1/messages/wait`` takes to answer after the client received its 250:
   a wait is opened (and left a moment to be waiting on the server), a message is sent with
   smtplib on a kept connection, and the time from ``data()`` returning (the 250) to the
   wait's answer being read is taken; median of ``--messages``. A negative figure means the
   answer came first: the fake wakes the wait before it writes the 250.

Nothing here is a test; the machine is shared, so read medians, not single runs. All traffic
is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from fakeserver.http import HttpOptions
from fakeserver.server.fake import FakeGmail, ServerOptions

_READY_WAIT_S = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ready(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def start_up(runs: int) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds from Popen to /readyz answering 200, to the ready line, and (for
    comparison) to the ready line of ``serve --no-http``, in alternating starts."""
    to_readyz, to_line, without_http = [], [], []
    with tempfile.TemporaryDirectory() as certs:
        for _ in range(runs):
            port = free_port()
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "fakeserver", "serve", "--json", "--smtps-port", "0",
                 "--submission-port", "0", "--http", f"127.0.0.1:{port}", "--certs-dir", certs],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                deadline = started + _READY_WAIT_S
                while not _ready(port):
                    if time.perf_counter() > deadline:
                        raise RuntimeError("fakeserver serve did not become ready")
                    time.sleep(0.0005)
                to_readyz.append((time.perf_counter() - started) * 1000)
                assert process.stdout is not None
                process.stdout.readline()
                to_line.append((time.perf_counter() - started) * 1000)
            finally:
                process.terminate()
                process.wait(30)
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "fakeserver", "serve", "--json", "--smtps-port", "0",
                 "--submission-port", "0", "--no-http", "--certs-dir", certs],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert process.stdout is not None
            process.stdout.readline()
            without_http.append((time.perf_counter() - started) * 1000)
            process.terminate()
            process.wait(30)
    return to_readyz, to_line, without_http


def wait_latency(messages: int) -> list[float]:
    """Milliseconds from the 250 to the wait's answer, one per message."""
    latencies = []
    with FakeGmail(ServerOptions(http=HttpOptions())) as gmail:
        assert gmail.http is not None
        api = http.client.HTTPConnection(urllib.parse.urlsplit(gmail.http.url).netloc, timeout=10)
        with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context()) as smtp:
            smtp.login(*gmail.credentials)
            for number in range(messages):
                answered: list[float] = []

                def wait(after: int = number, answered: list[float] = answered) -> None:
                    api.request("GET", f"/api/v1/messages/wait?after={after}&timeout_s=10")
                    response = api.getresponse()
                    response.read()
                    answered.append(time.perf_counter())
                    assert response.status == 200

                waiter = threading.Thread(target=wait)
                waiter.start()
                time.sleep(0.01)  # let the wait reach the server and wait there
                smtp.mail("tester@gmail.com")
                smtp.rcpt("friend@example.org")
                smtp.data(b"Subject: bench\r\n\r\nx\r\n")
                got_250 = time.perf_counter()
                waiter.join(10)
                latencies.append((answered[0] - got_250) * 1000)
        api.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="starts of fakeserver serve")
    parser.add_argument("--messages", type=int, default=100, help="waits to time")
    arguments = parser.parse_args()
    to_readyz, to_line, without_http = start_up(arguments.runs)
    latencies = wait_latency(arguments.messages)
    print(
        f"fakeserver serve to /readyz 200: median {statistics.median(to_readyz):.1f} ms "
        f"(min {min(to_readyz):.1f}, max {max(to_readyz):.1f}, {len(to_readyz)} starts)"
    )
    print(
        f"fakeserver serve to its ready line: median {statistics.median(to_line):.1f} ms; "
        f"with --no-http: median {statistics.median(without_http):.1f} ms"
    )
    print(
        f"messages/wait answer after the 250: median {statistics.median(latencies):.3f} ms "
        f"(min {min(latencies):.3f}, max {max(latencies):.3f}, {len(latencies)} messages)"
    )


if __name__ == "__main__":
    main()
