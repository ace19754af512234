"""Personas: what a fake server says and how it behaves, as data (the ``*.toml`` files here:
``gmail``, today's Gmail, and ``gmail-2024``; ``office365``, ``ses`` and ``sendgrid``), and the
code that loads, renders and explains them."""

from __future__ import annotations

from fakeserver.personas.loader import load_persona, shipped_personas
from fakeserver.personas.model import (
    Behaviour,
    Exactness,
    Grade,
    Listener,
    Persona,
    ReplyTemplate,
    Situation,
)

__all__ = [
    "Behaviour",
    "Exactness",
    "Grade",
    "Listener",
    "Persona",
    "ReplyTemplate",
    "Situation",
    "load_persona",
    "shipped_personas",
]
