"""Fault matrices: named cases, each a scenario, for ``fakeserver experiment``.

A matrix file is TOML: an optional top-level ``seed``, then one ``[[case]]`` table per case
with its ``[[case.step]]`` tables, written exactly like a scenario's ``[[step]]`` tables
(:mod:`fakeserver.scripting.scenario`)::

    seed = 1

    [[case]]
    name = "lost-250"
    description = "the message is stored, then the connection is reset instead of the 250"
    [[case.step]]
    on = "end_of_data"
    times = 1
    faults = [{fault = "reset", when = "before"}]

    [[case]]
    name = "starttls-withheld"
    listener = "submission"          # smtps (the default, like 465) or submission (like 587)
    [[case.step]]
    on = "ehlo"
    faults = [{fault = "withhold", extension = "STARTTLS"}]

A case's keys: ``name`` (required; letters, digits, ``-`` and ``_``, unique in the file, used
as a directory name), ``description``, ``listener`` (which port the client is given as
``{port}``, and so whether ``{tls}`` is ``implicit`` or ``starttls``), ``seed`` and
``idle_timeout_s`` (as in a scenario; a case's seed wins over the file's), ``persona`` (a
shipped persona's name, or a persona file, relative to the matrix file: the default matrix's
``tls-stripped.toml`` is Gmail seen through a middlebox that strips TLS; without it, the
experiment's ``--persona``), and ``step``.
A case with no steps is a baseline: the fake behaves as Gmail does.

:func:`default_matrix` is ``matrices/default.toml``, shipped with the package: the failure
points worth trying on any client. Errors name the file, the line and the allowed values, as
scenario errors do.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from client.tls_mode import TLSMode
from fakeserver.errors import PersonaError
from fakeserver.personas.loader import load_persona
from fakeserver.personas.model import Persona
from fakeserver.personas.vocabulary import Listener
from fakeserver.scripting.scenario import (
    Locator,
    Scenario,
    parse_rules,
    parse_toml,
    read_toml_text,
)

__all__ = ["CASE_KEYS", "LISTENERS", "Case", "default_matrix", "load_matrix", "parse_matrix"]

CASE_KEYS = ("name", "description", "listener", "seed", "idle_timeout_s", "persona", "step")
"""The keys of a ``[[case]]`` table."""

LISTENERS = {"smtps": Listener.SMTPS, "submission": Listener.SUBMISSION}
"""The ports a case can point the client at."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Case:
    """One cell row of a matrix: what the fake does, and where the client connects.

    Attributes:
        name: short and unique; names the case's output directory.
        description: what the fake does, in a sentence.
        listener: the port the client is given.
        scenario: the replies and faults.
        persona: who the fake is: a shipped persona's name or a loaded persona; None for the
            experiment's (``ExperimentOptions.persona``).
    """

    name: str
    description: str = ""
    listener: Listener = Listener.SMTPS
    scenario: Scenario = field(default_factory=Scenario)
    persona: str | Persona | None = None

    @property
    def tls(self) -> str:
        """How the client should start TLS on this case's port: the ``{tls}`` placeholder."""
        return (TLSMode.IMPLICIT if self.listener.implicit_tls else TLSMode.STARTTLS).value


def default_matrix() -> list[Case]:
    """The built-in matrix (``fakeserver/experiments/matrices/default.toml``)."""
    folder = resources.files("fakeserver.experiments").joinpath("matrices")
    return parse_matrix(
        folder.joinpath("default.toml").read_text(encoding="utf-8"),
        "fakeserver/experiments/matrices/default.toml",
        folder=Path(str(folder)),  # the package is installed as files, never zipped
    )


def load_matrix(path: str | Path) -> list[Case]:
    """Reads a matrix file.

    Raises:
        ScenarioError: the file cannot be read, is not TOML, or describes a case that cannot
            work; the message names the line and the allowed values.
    """
    return parse_matrix(read_toml_text(path), str(path), folder=Path(path).parent)


def parse_matrix(text: str, source: str = "<string>", *, folder: Path | None = None) -> list[Case]:
    """Parses a matrix from TOML text; see the module docstring for the format.

    Args:
        text: the TOML.
        source: where it came from, for messages.
        folder: where a case's persona file is looked for (default: the working directory).
    """
    data = parse_toml(text, source)
    where = Locator(text, source)
    for key in data:
        if key not in ("seed", "case"):
            raise where.error(where.key(key), f"unknown key {key!r} at the top; use seed, case")
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise where.error(where.key("seed"), f"seed must be a whole number, not {seed!r}")
    tables = data.get("case", [])
    if not isinstance(tables, list) or not tables:
        raise where.error(where.key("case"), "a matrix needs at least one [[case]] table")
    cases: list[Case] = []
    steps_before = 0
    for index, table in enumerate(tables):
        line = where.table("case", index)
        case = _case(table, where, line, seed, steps_before, folder or Path())
        if any(earlier.name == case.name for earlier in cases):
            raise where.error(where.key("name", line), f"a second case named {case.name!r}")
        cases.append(case)
        steps_before += len(table.get("step", []))
    return cases


def _case(
    table: dict[str, typing.Any],
    where: Locator,
    line: int | None,
    seed: int | None,
    steps_before: int,
    folder: Path,
) -> Case:
    for key in table:
        if key not in CASE_KEYS:
            raise where.error(
                where.key(key, line), f"unknown key {key!r} in a case; use {', '.join(CASE_KEYS)}"
            )
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise where.error(
            where.key("name", line),
            f"a case needs a name of letters, digits, '-' and '_' (it names a directory), "
            f"not {name!r}",
        )
    description = table.get("description", "")
    if not isinstance(description, str):
        raise where.error(where.key("description", line), "description must be a string")
    listener = table.get("listener", "smtps")
    if listener not in LISTENERS:
        raise where.error(
            where.key("listener", line),
            f"unknown listener {listener!r}; use one of {', '.join(LISTENERS)}",
        )
    case_seed = table.get("seed", seed)
    if case_seed is not None and (not isinstance(case_seed, int) or isinstance(case_seed, bool)):
        problem = f"seed must be a whole number, not {case_seed!r}"
        raise where.error(where.key("seed", line), problem)
    idle = table.get("idle_timeout_s")
    number = isinstance(idle, int | float) and not isinstance(idle, bool)
    if idle is not None and (not number or idle <= 0):
        raise where.error(
            where.key("idle_timeout_s", line), "idle_timeout_s must be a number of seconds above 0"
        )
    rules = parse_rules(table.get("step", []), where, "case.step", first=steps_before)
    scenario = Scenario(
        rules, case_seed, float(idle) if idle is not None else None, f"{where.source} [{name}]"
    )
    persona = _persona(table.get("persona"), where, where.key("persona", line), folder)
    return Case(name, description, LISTENERS[listener], scenario, persona)


def _persona(value: object, where: Locator, line: int | None, folder: Path) -> str | Persona | None:
    """A shipped persona's name, kept as it is; or a persona file, loaded now so that a
    mistake in it stops the experiment before any case runs; None when the case names none."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise where.error(line, f"persona must be a persona's name or a .toml file, not {value!r}")
    try:
        if value.endswith(".toml"):
            return load_persona(folder / value)
        load_persona(value)
    except PersonaError as error:
        raise where.error(line, f"persona {value!r}: {error}") from error
    return value
