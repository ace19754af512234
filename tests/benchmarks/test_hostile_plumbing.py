"""The hostile-client checks of ``make soak`` (bench/hostile.py) in miniature, so that they keep
working between real runs: every flood, body, dripping client and large message goes to
``fakeserver serve`` in a child process and comes back as a figure, the JSON holds them all,
and the verdicts can fail. No figure is checked against a target here: speed and memory
belong to the benchmark, and at this scale they mean nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import floods, hostile, largemessages
from bench.drips import Drip
from bench.floods import FloodPlan, FloodRun
from bench.hostilereport import Figures, Settings, verdicts
from bench.largemessages import PeakGrowth

TINY = Settings(
    rounds=1,
    drip_rounds=1,
    memory_rounds=1,
    flood_plan=FloodPlan(noops=2000, ehlos=100, body_octets=40_000, under_way_bound_s=0.2),
    idle_timeout_s=0.5,
    drip_interval_s=0.1,
    drip_bound_s=5.0,
    message_octets=300_001,
    one_line_octets=200_000,
)


def test_a_tiny_run_measures_every_check_and_writes_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "hostile.json"
    status = hostile.run(TINY, output)
    document = json.loads(output.read_text())
    assert status == (0 if document["all_met"] else 1)
    figures = document["figures"]
    assert [run["flood"] for run in figures["floods"]] == list(floods.FLOODS)
    for run in figures["floods"]:
        assert run["bystander_s"] is not None, run["problem"]
    assert set(figures["body_cpu_s"]) == {"dot lines", "998-octet lines"}
    assert sorted(drip["where"] for drip in figures["drips"]) == ["body", "command"]
    for drip in figures["drips"]:
        assert drip["reply"].startswith("451 4.4.2 "), drip
        assert drip["cut_s"] is not None
        assert drip["closed"]
    cases = {run["case"]: run for run in figures["memory"]}
    assert [(run["messages"], run["octets"]) for run in cases.values()] == [
        (1, 300_001),
        (3, 300_001),
        (1, 200_000),
    ]
    for run in cases.values():
        assert run["reply"].startswith("250 "), run
        assert run["rss_before"] > 0
    assert len(figures["load_average"]) == 2
    shown = capsys.readouterr().out
    for verdict in document["verdicts"]:
        assert verdict["target"] in shown
    assert "sends NOOP x 2,000 in one write, never reads" in shown


def test_the_server_size_limit_is_read_from_its_ehlo(tmp_path: Path) -> None:
    from bench.servers import SERVE, running

    with running(SERVE, tmp_path) as server:
        assert largemessages.size_limit(server) == 35_882_577  # Gmail's SIZE


def test_a_large_message_has_exactly_the_size_asked_for() -> None:
    # Every remainder of the body over whole 1000-octet lines, and Gmail's SIZE.
    for octets in [*range(3_000, 4_001), 35_882_577]:
        message = largemessages.message(octets, one_line=False)
        lines = message.split(b"\r\n")
        assert (len(message), lines[-1]) == (octets, b""), octets
        assert max(len(line) for line in lines) <= 998, octets  # RFC 5321 §4.5.3.1.6
        assert not any(line.startswith(b".") for line in lines), "it would need stuffing"


def test_a_one_line_message_has_exactly_the_size_asked_for() -> None:
    message = largemessages.message(200_000, one_line=True)
    _, body = message.split(b"\r\n\r\n")
    assert len(message) == 200_000
    assert body.endswith(b"\r\n")
    assert b"\r\n" not in body[:-2]


def test_the_two_bodies_have_the_same_size_on_the_wire() -> None:
    assert len(floods.dot_lines(2_000_000)) == len(floods.long_lines(2_000_000)) == 2_000_000
    assert set(floods.dot_lines(400).split(b"\r\n")) == {b"..", b""}


def _figures(
    *, bystander_s: float | None = 0.01, cut_s: float | None = 3.0, times: float = 1.5
) -> Figures:
    octets = 1_000_000
    one = PeakGrowth("one message", 1, octets, False, 50_000_000, int(times * octets), "VmHWM", "")
    three = PeakGrowth("three at once", 3, octets, False, 50_000_000, 9 * octets, "VmHWM", "")
    return Figures(
        Settings(),
        floods=[FloodRun(flood, bystander_s, True, 0.5) for flood in floods.FLOODS],
        drips=[Drip("body", cut_s, "451 4.4.2 ", True), Drip("command", 3.0, "451 ", True)],
        memory=[one, three],
    )


def test_figures_within_the_targets_meet_them_all() -> None:
    # Three at once at 3x is no miss: the target is for one message at a time.
    assert all(verdict.met for verdict in verdicts(_figures()))


@pytest.mark.parametrize(
    ("figures", "missed"),
    [
        (_figures(bystander_s=None), "a bystander is served within 5 s under every flood"),
        (_figures(bystander_s=5.5), "a bystander is served within 5 s under every flood"),
        (_figures(cut_s=None), "a dripped body is cut within 10 s"),
        (_figures(cut_s=14.0), "a dripped body is cut within 10 s"),
        (_figures(times=2.1), "peak RSS rise <= 2x the message, one message at a time"),
    ],
    ids=["not-served", "served-late", "never-cut", "cut-late", "memory"],
)
def test_a_figure_past_its_target_misses_it(figures: Figures, missed: str) -> None:
    judged = {verdict.target: verdict.met for verdict in verdicts(figures)}
    assert [target for target, met in judged.items() if not met] == [missed]
