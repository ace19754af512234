"""What the hostile-client checks (bench/hostile.py) share: a logged-in client stopped at DATA,
the bystander whose wait is the figure, and the server's CPU time, read from /proc, to tell
when the server is working on a flood and when it has stopped.

Every wait here is bounded, and every client is smtprig's own (``client.SMTPClient``).
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass

from bench.measure import cpu_seconds
from bench.servers import Running
from client import SMTPClient, SMTPError
from fakeserver.session.accounts import DEFAULT_ACCOUNT

WAIT_S = 120.0
"""The bound on any one operation of a flood or a large message (36 MB over TLS on a busy
machine takes seconds, never minutes)."""

BYSTANDER_TIMEOUT_S = 10.0
"""How long the bystander waits for each reply before it counts as not served."""

SENDER = DEFAULT_ACCOUNT.username
RECIPIENT = "friend@example.org"


def tls_context(server: Running) -> ssl.SSLContext:
    """A client context that trusts the server's CA."""
    return ssl.create_default_context(cafile=server.cafile)


def at_data(server: Running, *, timeout_s: float = WAIT_S) -> SMTPClient:
    """A client on the implicit-TLS port, logged in, past MAIL and RCPT, with DATA's 354 read,
    and in raw mode: the caller sends the message data (stuffed, with its end) as bytes.

    Raises:
        SMTPError, OSError: the server refused or the connection broke.
    """
    client = SMTPClient.connect(
        server.host, server.smtps_port, implicit_tls=True, ssl_context=tls_context(server),
        tls_hostname="localhost", timeout_s=timeout_s, local_hostname="hostile.example",
    )  # fmt: skip
    try:
        client.ehlo()
        client.auth_plain(SENDER, DEFAULT_ACCOUNT.password)
        client.mail(SENDER)
        client.rcpt(RECIPIENT)
        client.data()
        client.take_over()
    except BaseException:
        client.close()
        raise
    return client


@dataclass(frozen=True)
class Bystander:
    """A fresh client's wait: connect, read the greeting, send EHLO, read the whole reply.

    Attributes:
        seconds: from before the connect to the last line of the EHLO reply; None when it
            was not served (``problem`` says why).
        problem: the error, when there was one.
    """

    seconds: float | None
    problem: str = ""


def bystander(server: Running) -> Bystander:
    """A fresh client on the STARTTLS port, as issue 16 timed it: greeting, then EHLO."""
    started = time.perf_counter()
    try:
        client = SMTPClient.connect(
            server.host, server.submission_port, timeout_s=BYSTANDER_TIMEOUT_S,
            local_hostname="bystander.example",
        )  # fmt: skip
    except (SMTPError, OSError) as error:
        return Bystander(None, repr(error))
    try:
        client.ehlo()
        return Bystander(time.perf_counter() - started)
    except (SMTPError, OSError) as error:
        return Bystander(None, repr(error))
    finally:
        client.close()  # no QUIT: the figure is taken, and a flood may be in its way


def busy(pid: int, since_cpu_s: float, *, cpu_s: float, bound_s: float) -> bool:
    """Waits until process ``pid`` has used ``cpu_s`` of CPU beyond ``since_cpu_s``: it is
    working on what was sent since. False when that did not happen within ``bound_s``."""
    deadline = time.monotonic() + bound_s
    while cpu_seconds(pid) - since_cpu_s < cpu_s:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)
    return True


QUIET_SHARE = 0.1
"""Below this share of one core over an interval, the server is taken to be idle (its clock
ticks are 10 ms, so one tick in 200 ms is not work)."""


def until_quiet(pid: int, *, interval_s: float = 0.2, bound_s: float = WAIT_S) -> float:
    """Waits until process ``pid`` uses next to no CPU over ``interval_s`` (or ``bound_s``
    passes), and returns its CPU time then, in seconds."""
    deadline = time.monotonic() + bound_s
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(interval_s)
        now = cpu_seconds(pid)
        if now - last < QUIET_SHARE * interval_s:
            return now
        last = now
    return last
