"""Personas: what a fake server says and how it behaves, as data (the ``*.toml`` files here:
``gmail``, today's Gmail, and ``gmail-2024``), and the code that loads and renders them."""

from __future__ import annotations

from fakeserver.personas.loader import load_persona, shipped_personas
from fakeserver.personas.model import Behaviour, Listener, Persona, ReplyTemplate, Situation

__all__ = [
    "Behaviour",
    "Listener",
    "Persona",
    "ReplyTemplate",
    "Situation",
    "load_persona",
    "shipped_personas",
]
