"""The soak (``make soak``) in miniature, so that it keeps working between real runs: a few
hundred messages, some abandoned mid-DATA, every one accounted for, with and without faults."""

from __future__ import annotations

from bench.soak import FAULTS, soak
from bench.soakserver import served


def test_a_small_soak_loses_nothing_and_keeps_nothing_unacknowledged() -> None:
    with served() as server:
        result = soak(server, messages=200, connections=20, abandon=0.1, seed=3)
    assert result.outcomes["acknowledged"] + result.outcomes["abandoned"] == 200
    assert result.outcomes["abandoned"] > 0
    assert result.errors == []
    assert result.faults.total() == 0
    assert result.in_outbox.total() == result.outcomes["acknowledged"]
    assert (result.lost, result.duplicated, result.phantom, result.lost_250) == ([], [], [], [])
    assert result.ok


def test_a_small_soak_under_faults_accounts_for_every_message() -> None:
    with served(FAULTS) as server:
        result = soak(server, messages=600, connections=20, abandon=0.02, seed=3)
    assert result.outcomes.total() == 600
    assert result.faults.total() > 0
    assert result.outcomes["acknowledged"] > 0
    assert (result.lost, result.duplicated, result.phantom) == ([], [], [])
    stored = result.in_outbox.total()
    assert stored == result.outcomes["acknowledged"] + len(result.lost_250)
    assert result.ok
