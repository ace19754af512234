"""Per-test cost of the pytest fixture, measured on a few hundred generated tests.

Three comparisons, each run as one pytest session whose tests alternate A, B, A, B... so that
both sides share the machine's noise (these machines are shared):

- ``fake_gmail`` doing nothing, against an empty test: the fixture's added cost;
- one message over implicit TLS with AUTH through ``fake_gmail``, against the same through a
  bare aiosmtpd ``Controller`` fixture with TLS (the usual hand-written fixture);
- ``fake_gmail`` (one server per configuration, reset per test) against a fresh
  ``FakeGmail`` per test, the other implementation the plugin could have used.

A test's time is pytest's own setup + call + teardown durations for it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CONFTEST = """
import json, socket, ssl, pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from fakeserver import FakeGmail, ServerOptions

DURATIONS = {}

def pytest_runtest_logreport(report):
    DURATIONS[report.nodeid] = DURATIONS.get(report.nodeid, 0.0) + report.duration

def pytest_sessionfinish(session):
    with open("durations.json", "w") as out:
        json.dump(DURATIONS, out)

class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

def free_port():
    # aiosmtpd's Controller cannot bind port 0 (aiosmtpd#388), so pick one the usual way.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

@pytest.fixture
def aiosmtpd_tls(fake_gmail_certificates):
    from fakeserver.transport.tls import server_context
    controller = Controller(
        Sink(), hostname="127.0.0.1", port=free_port(), server_hostname="localhost",
        ssl_context=server_context(fake_gmail_certificates),
        authenticator=lambda *args: AuthResult(success=True), auth_require_tls=False,
    )
    controller.start()
    yield controller
    controller.stop()

@pytest.fixture
def fresh_gmail(fake_gmail_options):
    with FakeGmail(fake_gmail_options) as server:
        yield server
        server.check()
"""

SEND = """
import smtplib

def send(host, port, context):
    with smtplib.SMTP_SSL(host, port, context=context) as smtp:
        smtp.login("tester@gmail.com", "app-password")
        smtp.sendmail("tester@gmail.com", ["a@example.org"], MESSAGE)

MESSAGE = b"Subject: benchmark\\r\\n\\r\\n" + (b"x" * 68 + b"\\r\\n") * 14  # about 1 KB
"""

ARMS = {
    "empty": ("def test_empty_{n}():\n    pass\n"),
    "fake_gmail": ("def test_fake_gmail_{n}(fake_gmail):\n    pass\n"),
    "fresh": ("def test_fresh_{n}(fresh_gmail):\n    pass\n"),
    "send_fake_gmail": (
        "def test_send_fake_gmail_{n}(fake_gmail, fake_gmail_ssl_context):\n"
        "    send(*fake_gmail.smtps, fake_gmail_ssl_context)\n"
        "    fake_gmail.outbox.wait_for(1)\n"
    ),
    "send_aiosmtpd": (
        "def test_send_aiosmtpd_{n}(aiosmtpd_tls, fake_gmail_ssl_context):\n"
        "    send(aiosmtpd_tls.hostname, aiosmtpd_tls.port, fake_gmail_ssl_context)\n"
    ),
}

PAIRS = [
    ("fake_gmail", "empty", "a test that takes fake_gmail and does nothing, vs an empty test"),
    (
        "send_fake_gmail",
        "send_aiosmtpd",
        "one message, implicit TLS + AUTH: fake_gmail vs aiosmtpd",
    ),
    ("fake_gmail", "fresh", "fake_gmail (shared, reset) vs a fresh FakeGmail per test"),
]


@dataclass(frozen=True)
class Comparison:
    title: str
    subject: str
    reference: str
    subject_ms: list[float]
    reference_ms: list[float]

    @property
    def added_ms(self) -> float:
        return statistics.median(self.subject_ms) - statistics.median(self.reference_ms)

    @property
    def speed_ratio(self) -> float:
        """How many times as fast the subject is as the reference (median times)."""
        return statistics.median(self.reference_ms) / statistics.median(self.subject_ms)


def run(tests_per_arm: int = 300) -> list[Comparison]:
    results = []
    for subject, reference, title in PAIRS:
        count = tests_per_arm if "send" not in subject else max(tests_per_arm * 2 // 3, 50)
        durations = _session(subject, reference, count)
        results.append(
            Comparison(
                title,
                subject,
                reference,
                [ms for name, ms in durations.items() if f"test_{subject}_" in name],
                [ms for name, ms in durations.items() if f"test_{reference}_" in name],
            )
        )
    return results


def _session(subject: str, reference: str, count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="smtprig-bench-") as folder:
        root = Path(folder)
        (root / "conftest.py").write_text(CONFTEST)
        body = [SEND]
        for n in range(count):
            body += [ARMS[subject].format(n=n), ARMS[reference].format(n=n)]
        (root / "test_generated.py").write_text("\n\n".join(body))
        finished = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
             "-W", "ignore", "test_generated.py"],
            cwd=root, check=False, capture_output=True, timeout=600, text=True,
        )  # fmt: skip
        if finished.returncode != 0:
            raise RuntimeError(f"the generated tests failed:\n{finished.stdout[-3000:]}")
        raw: dict[str, float] = json.loads((root / "durations.json").read_text())
    return {name: seconds * 1000 for name, seconds in raw.items()}


def table(results: list[Comparison]) -> str:
    rows = [
        "| comparison | subject median (min-max) ms | reference median (min-max) ms "
        "| added ms | speed ratio |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        rows.append(
            f"| {result.title} | {_summary(result.subject_ms)} | {_summary(result.reference_ms)} "
            f"| {result.added_ms:+.3f} | {result.speed_ratio:.2f}x |"
        )
    return "\n".join(rows)


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


if __name__ == "__main__":
    print(table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 300)))
