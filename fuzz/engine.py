"""Runs a fuzz target for a fixed number of inputs from a fixed seed, and counts what it saw.

A :class:`Target` is a Hypothesis strategy, a check that raises ``AssertionError`` when an
invariant breaks, and a way to set up what the check needs (a running server). The engine
drives it with Hypothesis (``max_examples`` inputs, a fixed seed, no example database, so a run
is the same run every time) or, when asked and installed, with atheris, which feeds Hypothesis
through ``fuzz_one_input`` and adds coverage guidance.

Known bugs are recorded as strict xfail tests in ``tests/reliability``. A check that hits one
raises :class:`KnownBug` instead of failing, and the run counts the hits, so a fuzz run finds
new bugs without failing forever on ones already written down.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

__all__ = ["KNOWN_BUGS", "KnownBug", "Result", "Target", "run", "run_atheris"]

KNOWN_BUGS: dict[str, str] = {}
"""Bugs a check may meet, each with the xfail test that records it (none open now)."""


class KnownBug(Exception):
    """Raised by a check that met a bug already recorded in ``KNOWN_BUGS``."""

    def __init__(self, name: str) -> None:
        if name not in KNOWN_BUGS:
            raise ValueError(f"{name!r} is not in KNOWN_BUGS")
        super().__init__(name)
        self.name = name


Check = Callable[[Any], None]


@dataclass(frozen=True)
class Target:
    """One thing to fuzz.

    Attributes:
        name: short, for the command line and the figures.
        about: one line saying which invariants are checked.
        strategy: generates one input.
        prepare: a context manager that yields the check (with whatever it needs running).
        inputs: how many inputs ``make fuzz`` runs.
    """

    name: str
    about: str
    strategy: st.SearchStrategy[Any]
    prepare: Callable[[], AbstractContextManager[Check]]
    inputs: int


def pure(check: Check) -> Callable[[], AbstractContextManager[Check]]:
    """``prepare`` for a check that needs nothing set up."""
    return lambda: contextlib.nullcontext(check)


@dataclass
class Result:
    """What one run saw."""

    target: str
    inputs: int = 0
    seconds: float = 0.0
    known_bugs: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        known = ", ".join(f"{name} x{count}" for name, count in sorted(self.known_bugs.items()))
        return (
            f"{self.target:<12} {self.inputs:>7} inputs in {self.seconds:6.1f} s"
            f"{'   known bugs hit: ' + known if known else ''}"
        )


def _counting(check: Check, result: Result) -> Check:
    def counted(value: Any) -> None:
        result.inputs += 1
        try:
            check(value)
        except KnownBug as hit:
            result.known_bugs[hit.name] += 1

    return counted


def _settings(inputs: int) -> settings:
    return settings(
        max_examples=inputs,
        deadline=None,
        database=None,  # no replay of earlier failures: the same seed is the same run
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def run(target: Target, *, inputs: int | None = None, seed_value: int = 0) -> Result:
    """Runs ``target`` on ``inputs`` generated inputs (its own count by default).

    Raises:
        AssertionError: (or any other exception) an invariant broke; Hypothesis has shrunk
            the input and printed how to reproduce it.
    """
    result = Result(target.name)
    started = time.perf_counter()
    with target.prepare() as check:
        test = given(target.strategy)(_counting(check, result))
        seed(seed_value)(_settings(inputs or target.inputs)(test))()
    result.seconds = time.perf_counter() - started
    return result


def run_atheris(target: Target, libfuzzer_args: list[str]) -> None:
    """Hands ``target`` to atheris (coverage-guided); ``-runs=N`` bounds it. Never returns.

    Raises:
        SystemExit: atheris is not installed (``pip install atheris``; Linux and macOS).
    """
    try:
        atheris: Any = importlib.import_module("atheris")
    except ImportError:
        raise SystemExit("atheris is not installed: pip install atheris") from None
    result = Result(target.name)
    with _closing_on_exit(target.prepare()) as check:
        test = given(target.strategy)(_counting(check, result))
        fuzzed: Any = _settings(10**9)(test)
        atheris.instrument_all()  # coverage of every module loaded so far: smtprig's included
        atheris.Setup([sys.argv[0], *libfuzzer_args], fuzzed.hypothesis.fuzz_one_input)
        atheris.Fuzz()


@contextlib.contextmanager
def _closing_on_exit(manager: AbstractContextManager[Check]) -> Iterator[Check]:
    # atheris.Fuzz() ends the process itself; close what the target opened first.
    import atexit

    check = manager.__enter__()
    atexit.register(manager.__exit__, None, None, None)
    yield check
