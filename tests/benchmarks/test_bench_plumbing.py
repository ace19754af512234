"""``make bench``'s plumbing, in miniature, so that it keeps working between real runs: every
served variant is started as the benchmark starts it and takes load on both ports, the load
generator sends what it is asked to (sizes, several processes), and the report says why a
reference was not measured. No figure is checked: speed belongs to the benchmark."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from bench import calls, loadgen
from bench.figures import Measured, ratio, summary
from bench.measure import Result, Workload, load
from bench.report import markdown
from bench.rounds import IMPLICIT
from bench.servers import (
    AIOSMTPD,
    AIOSMTPD_UNPARSED,
    FLOOR,
    NODE,
    SERVE,
    SERVE_LIVE,
    SERVE_NO_TRANSCRIPTS,
    reset,
    running,
)
from fakeserver.transport.tls import load_or_create


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    load_or_create(folder)  # once, as bench/run.py does before starting servers on it
    return folder


@pytest.mark.parametrize(
    "name", [SERVE, SERVE_NO_TRANSCRIPTS, SERVE_LIVE, AIOSMTPD, AIOSMTPD_UNPARSED, FLOOR]
)
def test_each_server_reports_its_ports_and_takes_load_on_both(name: str, certs: Path) -> None:
    with running(name, certs) as server:
        for tls in ("implicit", "starttls"):
            result = load(server, Workload("t", tls, "ingest", connections=2, count=3))
            assert (result.messages, result.sessions) == (6, 2)
        assert server.smtps_port != server.submission_port
        assert Path(server.cafile) == certs / "ca.pem"
        if name in (AIOSMTPD, AIOSMTPD_UNPARSED, FLOOR):
            assert server.http_url is None
            return
        assert server.http_url is not None
        assert len(_messages(server.http_url)) == 12
        reset(server)
        assert _messages(server.http_url) == [], "each run starts on an empty fake"


def test_the_floor_answers_the_first_lines_under_starttls_on_the_tls_transport(
    certs: Path,
) -> None:
    # The client's EHLO can arrive with its last handshake record, before start_tls() has
    # returned the transport to answer on; answered in clear text, it broke 6 runs in 20.
    with running(FLOOR, certs) as server:
        for _ in range(10):
            result = load(server, Workload("t", "starttls", "ingest", connections=2, count=25))
            assert result.messages == 50


def test_calls_per_message_are_counted_on_the_loop_thread() -> None:
    json_log, live_log = (calls.calls_per_message(log, messages=20) for log in calls.LOGS)
    # A message is four commands, each a TLS record read and written: hundreds of calls.
    assert 100 < json_log < 10_000
    assert 100 < live_log < 10_000


def _messages(http_url: str) -> list[object]:
    with urllib.request.urlopen(f"{http_url}api/v1/messages?limit=100", timeout=10) as answer:
        items: list[object] = json.load(answer)["items"]
    return items


def test_sessions_sizes_and_several_generators_add_up(certs: Path) -> None:
    with running(SERVE, certs) as server:
        shared = Workload("t", "implicit", "ingest", connections=5, count=2, generators=2)
        assert load(server, shared).messages == 10
        sessions = Workload("t", "starttls", "sessions", connections=3, count=6, generators=2)
        assert load(server, sessions).sessions == 6
        large = Workload("t", "implicit", "ingest", connections=1, count=1, size_bytes=300_000)
        assert load(server, large).messages == 1


@pytest.mark.parametrize("size", [1024, 100_000, 1_000_001])
def test_a_generated_message_has_the_size_asked_for(size: int) -> None:
    message = loadgen.message(size)
    assert message.endswith(b"\r\n.\r\n")
    assert len(message) - len(b".\r\n") in (size, size + 1)
    assert max(len(line) for line in message.split(b"\r\n")) <= 78  # RFC 5322 §2.1.1


def test_ratios_are_of_medians_with_the_rounds_range() -> None:
    found = ratio([10.0, 30.0, 20.0], [10.0, 10.0, 20.0])
    assert found is not None
    assert (found.value, found.low, found.high) == (2.0, 1.0, 3.0)
    assert ratio([1.0], []) is None
    assert summary([3.0, -1.0, 2.0]) == "2.00 (-1.00 to 3.00)"


def test_a_reference_that_cannot_run_is_reported_as_not_measured_and_why() -> None:
    measured = Measured(command="test", rounds=1, unavailable={NODE: "node is not on PATH"})
    text = markdown(measured)
    assert "| the same: >= 1.1x Node smtp-server" in text
    assert "not measured: node is not on PATH" in text
    assert "MISSED" not in text, "no figure, no verdict"
    assert "| met |" not in text


def test_each_rate_target_shows_what_the_floor_makes_in_the_same_rounds() -> None:
    measured = Measured(command="test", rounds=2)
    for seconds, cpu_s in ((2.0, 1.0), (2.2, 1.2)):  # two rounds
        measured.runs.add(IMPLICIT, AIOSMTPD, Result(2000, 1, seconds, cpu_s, 0.5))
        measured.runs.add(IMPLICIT, SERVE, Result(2000, 1, seconds / 1.5, cpu_s / 1.4, 0.5))
        measured.runs.add(IMPLICIT, FLOOR, Result(2000, 1, seconds / 2.1, cpu_s / 3, 0.5))
    first_row = next(
        line for line in markdown(measured).splitlines() if line.startswith("| `serve --json`")
    )
    cells = [cell.strip() for cell in first_row.strip("|").split("|")]
    assert cells[1:3] == ["1.50x", "MISSED"]
    assert cells[4] == "2.10x", "the floor against the same reference, in the same rounds"
