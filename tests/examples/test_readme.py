"""The README's pytest recipes are the tests in this folder, word for word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
README = ROOT.joinpath("README.md").read_text()
SECTION = "\n".join(
    README.split(heading, 1)[1].split("\n## ", 1)[0]
    for heading in ("## In pytest", "## Transcripts")
)
RECIPES = re.findall(r"```python\n(.*?)```", SECTION, re.DOTALL)
EXAMPLES = "\n".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))


def test_the_readme_has_recipes() -> None:
    assert len(RECIPES) >= 3


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda recipe: recipe.split("(")[0][4:])
def test_each_recipe_runs_as_a_test(recipe: str) -> None:
    assert recipe in EXAMPLES
