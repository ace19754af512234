"""Memory figures: bytes held per captured message, and RSS while large messages stream in.

- :func:`held_per_message`: in process, with tracemalloc, the bytes a ``FakeGmail`` holds per
  captured ~1 KB message after 1,000 of them on one connection (the outbox; and with
  ``transcripts`` the conversation too), after a full garbage collection.
- :func:`streaming`: a fresh server process (bench/servers.py) is sent messages of
  ``size_bytes`` one connection at a time; before each, its peak RSS is reset (``5`` written to
  /proc/PID/clear_refs, proc(5)), and after it VmHWM is read from /proc/PID/status. The rise
  of that peak above the RSS the message found is what streaming the message cost at its
  worst, its kept copy included. Where clear_refs cannot be written, VmRSS is sampled every
  millisecond instead (and may miss a short peak; the result says which method it used).
  :func:`peak_during` is that reading, for any run against any process (bench/largemessages.py
  uses it too).
"""

from __future__ import annotations

import gc
import smtplib
import threading
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Workload, load
from bench.servers import running


def held_per_message(*, transcripts: bool, count: int = 1000) -> tuple[int, float]:
    """The message's size and the bytes held per captured message (tracemalloc)."""
    from fakeserver.server.fake import FakeGmail, ServerOptions

    message = b"Subject: benchmark\r\n\r\n" + (b"x" * 68 + b"\r\n") * 14
    with FakeGmail(ServerOptions(record_transcripts=transcripts)) as gmail:
        context = gmail.client_context()
        with smtplib.SMTP_SSL(*gmail.smtps, context=context) as smtp:
            smtp.login(*gmail.credentials)
            smtp.sendmail("tester@gmail.com", ["a@example.org"], message)
            gmail.outbox.wait_for(1)
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.take_snapshot()
            for _ in range(count):
                smtp.sendmail("tester@gmail.com", ["a@example.org"], message)
            gmail.outbox.wait_for(count + 1)
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return len(message), held / count


@dataclass(frozen=True)
class Streaming:
    """RSS figures of one server while messages of ``size_bytes`` stream in.

    Attributes:
        server: which server.
        size_bytes: the size of each message.
        idle_rss: RSS after start and one small message, before the large ones.
        rises: per large message, its peak RSS above the RSS it found.
        kept_per_message: RSS after all of them above idle, per message (what stays).
        method: ``"VmHWM"`` (exact peak) or ``"sampled VmRSS"``.
    """

    server: str
    size_bytes: int
    idle_rss: int
    rises: list[int]
    kept_per_message: float
    method: str


def streaming(name: str, certs_dir: Path, size_bytes: int, count: int) -> Streaming:
    """Sends ``count`` messages of ``size_bytes``, one connection each, to a fresh ``name``."""
    one = Workload("memory", "implicit", "ingest", connections=1, count=1, size_bytes=size_bytes)
    with running(name, certs_dir) as server:
        load(server, Workload("warm-up", "implicit", "ingest", connections=1, count=1))
        idle = status_bytes(server.pid, "VmRSS")
        rises = []
        methods: set[str] = set()
        for _ in range(count):
            before = status_bytes(server.pid, "VmRSS")
            peak, method = peak_during(server.pid, lambda: load(server, one))
            rises.append(peak - before)
            methods.add(method)
        kept = (status_bytes(server.pid, "VmRSS") - idle) / count
    method = "VmHWM" if methods == {"VmHWM"} else "sampled VmRSS"
    return Streaming(name, size_bytes, idle, rises, kept, method)


def status_bytes(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/PID/status (``VmRSS``, ``VmHWM``), in bytes."""
    status = Path(f"/proc/{pid}/status")
    for line in status.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{status} has no {field}")


def peak_during(pid: int, run: Callable[[], object]) -> tuple[int, str]:
    """Process ``pid``'s peak RSS, in bytes, while ``run()`` runs, and how it was read.

    The peak is reset first (``5`` written to /proc/PID/clear_refs, proc(5)) and read from
    VmHWM afterwards: ``"VmHWM"``, exact. Where clear_refs cannot be written, VmRSS is
    sampled every millisecond instead: ``"sampled VmRSS"``, which may miss a short peak.
    """
    if _reset_peak(pid):
        run()
        return status_bytes(pid, "VmHWM"), "VmHWM"
    return _sampled_peak(pid, run), "sampled VmRSS"


def _reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _sampled_peak(pid: int, run: Callable[[], object]) -> int:
    done = threading.Event()
    peak = [status_bytes(pid, "VmRSS")]

    def sample() -> None:
        while not done.wait(0.001):
            peak[0] = max(peak[0], status_bytes(pid, "VmRSS"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run()
    finally:
        done.set()
        sampler.join(5)
    return peak[0]
