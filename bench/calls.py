"""Function calls per message on the fake's event-loop thread: the one figure of ``make bench``
that a loaded machine does not move.

In process, a ``FakeGmail`` set up as ``fakeserver serve`` sets it up (the outbox, a transcript
per connection), with the JSON log or the live log writing to /dev/null, while the load
generator (bench/loadgen.py, its own process) sends 1 x N messages of 1 KB over implicit TLS
after AUTH, one command at a time. cProfile counts every call made on the loop thread
(Python functions and builtins alike) from the connection's opening to its close, so the
handshake, AUTH and QUIT are shared by the N messages. The count moves when the code does, and
by a few when TLS records happen to arrive together. Calls differ in cost, so it guides work
done; it is not a speed. (The HTTP API is left out: it counts no calls per message.)

    python -m bench.calls [MESSAGES]
"""

from __future__ import annotations

import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from fakeserver.cli.live import HumanLog, JsonLog, LiveOutput
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.server.observers import BaseObserver
from fakeserver.session.records import SessionRecord, SessionView

MESSAGES = 500
LOGS = ("json", "live")
_TIMEOUT_S = 300


class _Profiled(BaseObserver):
    """Counts calls on the loop thread (where observers are called) while a connection is
    open."""

    def __init__(self) -> None:
        self.profile = cProfile.Profile()

    def on_open(self, session: SessionView) -> None:
        self.profile.enable()

    def on_close(self, session: SessionView, record: SessionRecord) -> None:
        self.profile.disable()


def calls_per_message(log: str, messages: int = MESSAGES) -> float:
    """Calls on the loop thread per message, with the JSON log (``"json"``, as ``serve
    --json``) or the live log (``"live"``, as ``serve``)."""
    profiled = _Profiled()
    with open(os.devnull, "w") as sink, tempfile.TemporaryDirectory() as folder:
        output = LiveOutput(sink)
        output.open("")
        watcher = JsonLog(output) if log == "json" else HumanLog(output)
        with FakeGmail(ServerOptions(), observers=[watcher, profiled]) as fake:
            cafile = Path(folder, "ca.pem")
            cafile.write_bytes(fake.ca_pem)
            command = [sys.executable, "-m", "bench.loadgen", "--port", str(fake.smtps.port),
                       "--cafile", str(cafile), "--messages", str(messages),
                       "--pipelining", "off"]  # fmt: skip
            finished = subprocess.run(command, capture_output=True, timeout=_TIMEOUT_S, check=False)
            if finished.returncode != 0:
                raise RuntimeError(f"the load generator failed: {finished.stderr[-2000:]!r}")
            fake.wait_for_sessions(1)
            fake.check()
    return pstats.Stats(profiled.profile).total_calls / messages  # type: ignore[attr-defined,no-any-return]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else MESSAGES
    for name in LOGS:
        print(f"{name}: {calls_per_message(name, count):.1f} calls per message")
