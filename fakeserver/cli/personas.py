"""``fakeserver personas``: the shipped personas, and what each one's replies rest on.

::

    fakeserver personas                 # one line per persona
    fakeserver personas office365 ses   # per persona: ports, behaviour, and every reply, seen,
                                        # documented or guessed, with its evidence
    fakeserver personas --all --json    # the same as JSON

``fakeserver serve --persona NAME --explain`` prints the same for the persona it would serve
(which may be a TOML file) and exits. Kept apart from :mod:`fakeserver.cli.main` so that adding
this verb there takes two lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fakeserver.personas.explain import explanation, explanation_text
from fakeserver.personas.loader import load_persona, shipped_personas
from fakeserver.personas.model import Exactness

__all__ = ["add_parser", "explain", "run"]


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``personas`` verb to ``fakeserver``'s sub-commands."""
    personas = verbs.add_parser(
        "personas", help="list the personas, and what each reply rests on (seen or guessed)"
    )
    personas.set_defaults(run=run)
    personas.add_argument(
        "names", nargs="*", metavar="NAME", help="personas (or TOML files) to explain in full"
    )
    personas.add_argument("--all", action="store_true", help="explain every shipped persona")
    personas.add_argument("--json", action="store_true", help="print JSON")


def run(arguments: argparse.Namespace) -> int:
    """Lists or explains personas; returns the exit status."""
    names = shipped_personas() if arguments.all else arguments.names
    if not names:
        for name in shipped_personas():
            persona = load_persona(name)
            counts = explanation(persona)["replies"]
            seen = len(counts[Exactness.SEEN.value])
            guessed = len(counts[Exactness.GUESSED.value]) + len(counts[Exactness.DOCUMENTED.value])
            sys.stdout.write(
                f"{name:<11} {seen:>2} seen, {guessed:>2} documented or guessed, "
                f"{len(counts[Exactness.NONE.value]):>2} absent  {persona.description}\n"
            )
        return 0
    for index, name in enumerate(names):
        separator = "\n" if index and not arguments.json else ""
        sys.stdout.write(separator + explain(name, arguments.json))
    return 0


def explain(name: str, as_json: bool = False) -> str:
    """The explanation of the persona ``name`` (a shipped name or a TOML file)."""
    persona = load_persona(Path(name) if name.endswith(".toml") else name)
    return json.dumps(explanation(persona)) + "\n" if as_json else explanation_text(persona)
