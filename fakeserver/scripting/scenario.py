"""Scenarios: a script of replies and faults, as a TOML file.

A scenario is what ``gmail.script.on(...)`` does in a test, written down so that
``fakeserver serve --scenario FILE.toml`` and fault experiments can use it too::

    seed = 7                         # draws of `probability`, and session ids
    idle_timeout_s = 30              # optional: silence before 451 4.4.2 and a close

    [[step]]
    on = "rcpt"                      # a step name (scripting.script.Step), or a list
    nth = 2                          # optional: times = K | nth = N, matching = "text",
    reply = "451 4.3.0 Try again"    #   probability = 0.5

    [[step]]
    on = "data"
    replies = ["rate_limited", {code = 550, status = "5.7.1", text = "Not today"}]

    [[step]]
    on = ["greeting", "ehlo"]
    faults = [{fault = "delay", delay_s = 2}, "bare_lf", {fault = "close", when = "after"}]

Each ``[[step]]`` table becomes one ``script.on(...)`` call per step it names (so ``times``
and ``nth`` count each step on its own), finished with ``.reply``, ``.replies`` and/or
``.fault`` (:mod:`fakeserver.scripting.script` says what those do). A reply is a persona situation
(``"rate_limited"``; one the server's persona has no evidence for is refused when the scenario
is applied to it), raw reply lines (``"451 4.3.0 Try again"``; a multi-line reply is one
string with newlines), or a table ``{code, status, text}`` rendered in the persona's house
style.
A fault is its name in :data:`fakeserver.scripting.faults.FAULTS`, as a string when it takes no
arguments or as a table ``{fault = NAME, ...}`` whose other keys are the fault's fields;
``bytes`` fields (``garbage``'s ``data``) are strings of characters U+0000 to U+00FF, one byte
each, so ``"\\u00ff"`` is the byte 0xff.

Choices:

- Errors name the file, the line and the allowed values. ``tomllib`` keeps no positions, so
  the line is found in the text: the n-th ``[[step]]`` header, then the key's line inside it
  (or the header's, when the key cannot be found, e.g. in an inline table split over lines).
- Everything is checked when the file is loaded, by building the expectations on a scratch
  script, so a bad file fails before a server starts rather than halfway through a run.
- A fault is checked against its step: TLS faults only on ``tls``, ``disconnect`` only on
  ``body``, the others (which change how a reply is written) on any step with a reply.
- ``seed`` and ``idle_timeout_s`` are server settings; for ``fakeserver serve`` a ``--seed``
  or ``--idle-timeout`` given on the command line wins over the file.

The same ``[[step]]`` tables make up a case of an experiment matrix
(:mod:`fakeserver.experiments.matrix`), which is why the parsing here works on a table and a
:class:`Locator`.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakeserver.errors import ScriptError
from fakeserver.personas.vocabulary import Situation
from fakeserver.scripting.faults import Fault
from fakeserver.scripting.script import ALIASES, Script, Step, plan_kind, steps_for
from fakeserver.scripting.tomlfile import (
    Locator,
    ScenarioError,
    fault_from,
    no_unknown_keys,
    optional,
    parse_toml,
    read_toml_text,
)

__all__ = [
    "SCENARIO_KEYS",
    "STEP_KEYS",
    "Locator",
    "Rule",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_rules",
    "parse_scenario",
    "parse_toml",
    "read_toml_text",
]

SCENARIO_KEYS = ("seed", "idle_timeout_s", "step")
"""The top-level keys of a scenario file."""

STEP_KEYS = ("on", "times", "nth", "matching", "probability", "reply", "replies", "faults")
"""The keys of a ``[[step]]`` table."""

ReplySpec = str | tuple[int, str | None, str]
"""A reply as written: a situation name or raw lines, or ``(code, status, text)``."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``[[step]]`` table: which steps, which occurrences, and what to do instead.

    Attributes:
        steps: the steps it applies to (one expectation each).
        reply: one reply for every matching occurrence, or None.
        replies: a reply per occurrence, in order (then the persona's again), or empty.
        faults: applied in order to each matching occurrence.
        times: only the first ``times`` matching occurrences.
        nth: only the ``nth`` matching occurrence.
        matching: only commands whose argument contains this text.
        probability: the chance each eligible occurrence is changed.
        line: where the table starts in its file.
    """

    steps: tuple[Step, ...]
    reply: ReplySpec | None = None
    replies: tuple[ReplySpec, ...] = ()
    faults: tuple[Fault[Any], ...] = ()
    times: int | None = None
    nth: int | None = None
    matching: str | None = None
    probability: float = 1.0
    line: int | None = None

    def apply(self, script: Script) -> None:
        """Adds this rule's expectations to ``script``.

        Raises:
            ScriptError: the script refuses the rule (not for a rule that loaded).
        """
        for step in self.steps:
            expectation = script.on(
                step,
                matching=self.matching,
                times=self.times,
                nth=self.nth,
                probability=self.probability,
            )
            if self.replies:
                # Situation names are left to the script, which knows what its persona has.
                expectation.replies(
                    *(spec if isinstance(spec, str) else _scripted(spec) for spec in self.replies)
                )
            elif self.reply is not None:
                expectation.reply(*_arguments(self.reply))
            if self.faults:
                expectation.fault(*self.faults)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A loaded scenario: rules plus the server settings the file gives.

    Attributes:
        rules: the ``[[step]]`` tables, in file order (the first that fires wins).
        seed: seeds the script's draws and the session ids; None: not set by the file.
        idle_timeout_s: the server's idle timeout; None: not set by the file.
        source: where it came from, for messages.
    """

    rules: tuple[Rule, ...] = ()
    seed: int | None = None
    idle_timeout_s: float | None = None
    source: str = "<string>"

    def apply(self, script: Script) -> None:
        """Adds the rules to ``script`` (reseeding it first when the file gives a seed).

        Raises:
            ScriptError: a rule names a reply the script's persona does not have (the file
                and line are named).
        """
        if self.seed is not None:
            script.reseed(self.seed)
        for rule in self.rules:
            try:
                rule.apply(script)
            except ScriptError as error:
                where = f"{self.source}, line {rule.line}" if rule.line else self.source
                raise ScriptError(where, error.problem) from error


def load_scenario(path: str | Path) -> Scenario:
    """Reads a scenario file.

    Raises:
        ScenarioError: the file cannot be read, is not TOML, or says something that cannot
            work; the message names the line and the allowed values.
    """
    return parse_scenario(read_toml_text(path), str(path))


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parses a scenario from TOML text; see the module docstring for the format.

    Raises:
        ScenarioError: as :func:`load_scenario`.
    """
    data = parse_toml(text, source)
    where = Locator(text, source)
    no_unknown_keys(data, SCENARIO_KEYS, where, None, "at the top of a scenario")
    seed = optional(data, "seed", int, where, None)
    idle = optional(data, "idle_timeout_s", float, where, None)
    if idle is not None and not idle > 0:
        raise where.error(where.key("idle_timeout_s"), "idle_timeout_s must be above 0 seconds")
    rules = parse_rules(data.get("step", []), where, "step", first=0)
    return Scenario(rules, seed, idle, source)


def parse_rules(tables: object, where: Locator, header: str, *, first: int) -> tuple[Rule, ...]:
    """Parses an array of ``[[header]]`` step tables (the ``first``-th in the file first)."""
    if not isinstance(tables, list) or not all(isinstance(item, dict) for item in tables):
        line = where.key(header.rpartition(".")[2])
        raise where.error(line, f"write each step as a [[{header}]] table")
    return tuple(
        _rule(table, where, where.table(header, first + index))
        for index, table in enumerate(tables)
    )


def _rule(table: dict[str, typing.Any], where: Locator, line: int | None) -> Rule:
    no_unknown_keys(table, STEP_KEYS, where, line, "in a step table")
    if "on" not in table:
        raise where.error(line, f"a step table needs `on`, one of {_names(Step)}")
    names = table["on"] if isinstance(table["on"], list) else [table["on"]]
    steps = tuple(_step(name, where, where.key("on", line)) for name in names)
    if not steps:
        raise where.error(where.key("on", line), f"`on` names no step; use some of {_names(Step)}")
    replies = _replies(table, where, line)
    rule = Rule(
        steps,
        reply=_reply(table["reply"], where, where.key("reply", line)) if "reply" in table else None,
        replies=replies,
        faults=_faults(table.get("faults", []), steps, where, where.key("faults", line)),
        times=optional(table, "times", int, where, line),
        nth=optional(table, "nth", int, where, line),
        matching=optional(table, "matching", str, where, line),
        probability=optional(table, "probability", float, where, line, default=1.0),
        line=line,
    )
    if rule.reply is None and not rule.replies and not rule.faults:
        raise where.error(line, "a step table needs `reply`, `replies` or `faults`")
    if "reply" in table and replies:
        raise where.error(line, "give `reply` (every time) or `replies` (in turn), not both")
    if replies and (rule.times is not None or rule.nth is not None):
        raise where.error(line, "`replies` sets its own lifetime (one per reply): drop times/nth")
    if rule.times is not None and rule.nth is not None:
        raise where.error(line, "give `times` (the first K) or `nth` (the N-th), not both")
    for key, count in (("times", rule.times), ("nth", rule.nth)):
        if count is not None and count < 1:
            raise where.error(where.key(key, line), f"{key} counts from 1, not {count}")
    if not 0.0 < rule.probability <= 1.0:
        problem = f"probability must be above 0 and at most 1, not {rule.probability}"
        raise where.error(where.key("probability", line), problem)
    try:  # and whatever else the script itself checks, on a scratch script
        rule.apply(Script())
    except ScriptError as error:
        raise where.error(line, error.problem) from error
    return rule


def _step(name: object, where: Locator, line: int | None) -> Step:
    if isinstance(name, str) and name in {step.value for step in Step}:
        return Step(name)
    raise where.error(line, f"unknown step {name!r}; use one of {_names(Step)}")


def _replies(
    table: dict[str, typing.Any], where: Locator, line: int | None
) -> tuple[ReplySpec, ...]:
    if "replies" not in table:
        return ()
    line = where.key("replies", line)
    items = table["replies"]
    if not isinstance(items, list) or not items:
        raise where.error(line, "`replies` must be a non-empty array of replies")
    return tuple(_reply(item, where, line) for item in items)


def _reply(value: object, where: Locator, line: int | None) -> ReplySpec:
    if isinstance(value, dict):
        no_unknown_keys(value, ("code", "status", "text"), where, line, "in a reply table")
        code, status, text = value.get("code"), value.get("status"), value.get("text")
        if not isinstance(code, int) or isinstance(code, bool) or not 200 <= code <= 599:
            raise where.error(
                line, f"a reply's code must be a number from 200 to 599, not {code!r}"
            )
        if status is not None and not isinstance(status, str):
            raise where.error(
                line, f"a reply's status must be a string like '5.1.1', not {status!r}"
            )
        if not isinstance(text, str):
            raise where.error(line, "a reply table needs `text`, a string")
        spec: ReplySpec = (code, status, text)
    elif isinstance(value, str):
        spec = value
    else:
        raise where.error(
            line, f"a reply is a string or a {{code, status, text}} table, not {value!r}"
        )
    try:
        _scripted(spec)
    except ScriptError as error:
        situations = sorted({*(item.value for item in Situation), *ALIASES})
        raise where.error(line, f"{error.problem}; situations: {', '.join(situations)}") from error
    return spec


def _faults(
    items: object, steps: tuple[Step, ...], where: Locator, line: int | None
) -> tuple[Fault[Any], ...]:
    if not isinstance(items, list):
        raise where.error(line, '`faults` must be an array: ["stall"] or [{fault = "delay", ...}]')
    faults = tuple(fault_from(item, where, line) for item in items)
    for fault in faults:
        wrong = [step.value for step in steps if plan_kind(step) is not fault.shapes]
        if wrong:
            allowed = ", ".join(sorted(step.value for step in steps_for(fault.shapes)))
            raise where.error(
                line,
                f"fault {fault.name!r} does nothing at {', '.join(wrong)}; use it on {allowed}",
            )
    return faults


def _names(kind: type[Step]) -> str:
    return ", ".join(item.value for item in kind)


def _arguments(spec: ReplySpec) -> tuple[str] | tuple[int, str | None, str]:
    return (spec,) if isinstance(spec, str) else spec


def _scripted(spec: ReplySpec) -> typing.Any:
    # The script's public API is the one parser of replies: build it on a scratch
    # expectation and take the value, so a scenario means exactly what a test's call means.
    return Script().on(Step.NOOP).reply(*_arguments(spec)).sequence[0]
