"""The fuzz targets in the default test run: the same checks as ``make fuzz``, a few inputs each.

Bounded and deterministic: a fixed seed and a fixed count per target. ``make fuzz`` runs the
same targets for tens of thousands of inputs (see the README's Reliability section).
"""

from __future__ import annotations

import pytest

from fuzz.__main__ import TARGETS
from fuzz.engine import KNOWN_BUGS, KnownBug, run

INPUTS = {"session": 30, "burst": 30, "messages": 20}
"""The live targets cost a connection per input, messages a few parses; the pure ones run 60."""


@pytest.mark.parametrize("name", TARGETS)
def test_fuzz_target_keeps_its_invariants(name: str) -> None:
    result = run(TARGETS[name], inputs=INPUTS.get(name, 60), seed_value=0)
    assert result.inputs >= INPUTS.get(name, 60)
    assert set(result.known_bugs) <= set(KNOWN_BUGS)


def test_a_known_bug_must_be_one_that_is_recorded() -> None:
    with pytest.raises(ValueError, match="not in KNOWN_BUGS"):
        KnownBug("a bug nobody wrote down")


def test_every_known_bug_names_an_xfail_test_that_exists() -> None:
    from pathlib import Path

    root = Path(__file__).parents[2]
    for node in KNOWN_BUGS.values():
        path, _, rest = node.partition("::")
        function = rest.split("[")[0]
        assert f"def {function}(" in (root / path).read_text(), node
