"""What a persona rests on, for people: which replies were seen, documented or guessed, and which
situations it has no reply for at all (``fakeserver personas``, ``fakeserver serve --explain``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fakeserver.personas.model import FALLBACKS, Exactness, Persona, Situation

__all__ = ["explanation", "explanation_text"]

_LISTENERS = {"smtps": "implicit TLS (like 465)", "submission": "STARTTLS (like 587)"}
_PLAIN = "like 25 (as 587)"


def explanation(persona: Persona) -> dict[str, Any]:
    """The persona as JSON-ready data: its ports and behaviour, each reply with its grade and
    evidence by exactness, and the situations it lacks (a fallback or a stand-in then)."""
    replies: dict[str, list[dict[str, str]]] = {kind.value: [] for kind in Exactness}
    for situation, template in persona.replies.items():
        replies[template.grade.exactness.value].append(
            {
                "situation": situation.value,
                "grade": template.grade.value,
                "reply": f"{template.code}{' ' + template.status if template.status else ''}",
                "evidence": template.evidence,
            }
        )
    lacking = [situation for situation in Situation if not persona.has(situation)]
    replies[Exactness.NONE.value] = [_lacking(persona, situation) for situation in lacking]
    behaviour = persona.behaviour
    return {
        "name": persona.name,
        "description": persona.description,
        "hostname": persona.hostname,
        "evidence": persona.evidence,
        "listeners": [listener.value for listener in persona.listeners],
        "auth_mechanisms": list(persona.auth_mechanisms),
        "size_limit": persona.size_limit,
        "behaviour": {name: getattr(behaviour, name) for name in behaviour.__dataclass_fields__},
        "replies": replies,
    }


def _lacking(persona: Persona, situation: Situation) -> dict[str, str]:
    if situation in FALLBACKS and persona.has(FALLBACKS[situation]):
        reply = f"as {FALLBACKS[situation].value}"
        what = f"answered as {FALLBACKS[situation].value}"
    else:
        template = persona.template(situation)
        reply = f"{template.code}{' ' + template.status if template.status else ''} stand-in"
        what = "a stand-in if a rule needs it; an error if a test scripts it"
    return {"situation": situation.value, "grade": "none", "reply": reply, "evidence": what}


def explanation_text(persona: Persona) -> str:
    """:func:`explanation` as text to read in a terminal."""
    data = explanation(persona)
    ports = ", ".join(_LISTENERS.get(name, _PLAIN) for name in data["listeners"])
    behaviour = ", ".join(f"{name}={value}" for name, value in data["behaviour"].items())
    lines = [
        f"{persona.name}: {persona.description}",
        f"  evidence: {persona.evidence}",
        f"  ports: {ports}",
        f"  AUTH: {' '.join(persona.auth_mechanisms)}; SIZE {persona.size_limit}",
        f"  behaviour: {behaviour}",
    ]
    headings = {
        Exactness.SEEN: "seen (captured from the provider; byte for byte)",
        Exactness.DOCUMENTED: "documented (the provider's documentation only)",
        Exactness.GUESSED: "guessed (its ancestor's code, a fixture, an inference, a choice)",
        Exactness.NONE: "no reply on record (a fallback or smtprig's stand-in; scripting it fails)",
    }
    for kind, heading in headings.items():
        rows = data["replies"][kind.value]
        lines.append(f"  {heading}: {len(rows)}")
        lines.extend(_rows(rows, with_evidence=kind is not Exactness.NONE))
    return "\n".join(lines) + "\n"


def _rows(rows: Iterable[dict[str, str]], *, with_evidence: bool) -> list[str]:
    out = []
    for row in rows:
        text = f"    {row['situation']:<24} {row['grade']:<5} {row['reply']}"
        out.append(f"{text:<52} {row['evidence']}" if with_evidence else text)
    return out
