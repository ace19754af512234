"""The one place a session's replies are rendered: the persona's words for a situation, or the
words a script gives instead, and what a scripted reply means for the connection.

A scripted 4xx or 5xx refuses the command (:func:`refuses`), so it has no effect; a scripted
``421`` also closes the connection, as RFC 5321 §3.8 says (:func:`closes_after`).

A situation the persona lacks is rendered as its stand-in
(:meth:`fakeserver.personas.model.Persona.template`). Replies that show the time (Microsoft
365's greeting date and error suffix) are rendered afresh each time; the others, once per
connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeGuard

from fakeserver.personas.model import CLOCK_FIELDS, Persona, ReplyTemplate, Situation, render_lines
from fakeserver.scripting.script import Action, RawReply, ScriptedReply

__all__ = ["Replies", "closes_after", "refuses"]


class Replies:
    """Renders the replies of one connection.

    Args:
        persona: whose words and house style.
        fields: the connection's own template fields; a reply rendered with exactly these is
            kept, since it cannot change while the connection lasts (unless it shows the time).
        clock: Unix time, for the replies that show it.
    """

    def __init__(
        self,
        persona: Persona,
        fields: Mapping[str, object],
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._persona = persona
        self._fields = fields
        self._clock = clock
        self._kept: dict[Situation, bytes] = {}

    def persona(self, situation: Situation, fields: Mapping[str, object]) -> bytes:
        """The persona's reply for ``situation`` (or its stand-in)."""
        data = self._kept.get(situation) if fields is self._fields else None
        if data is not None:
            return data
        template = self._persona.template(situation)
        data = render_lines(self._persona, template, fields, self._clock)
        if fields is self._fields and not template.fields & CLOCK_FIELDS:
            self._kept[situation] = data
        return data

    def scripted(self, reply: ScriptedReply, fields: Mapping[str, object]) -> bytes:
        """A scripted reply, in the persona's house style where it has one."""
        if isinstance(reply, Situation):
            template = self._persona.template(reply)
            return render_lines(self._persona, template, fields, self._clock)
        if isinstance(reply, RawReply):
            return b"".join(line.encode("utf-8") + b"\r\n" for line in reply.lines)
        return render_lines(self._persona, reply, fields, self._clock)


def _reply_code(persona: Persona, reply: ScriptedReply) -> int:
    if isinstance(reply, Situation):
        return persona.template(reply).code
    return reply.code


def refuses(action: Action | None, persona: Persona) -> TypeGuard[Action]:
    """Whether the script answers with a failure (4xx, 5xx) instead of running the step."""
    return (
        action is not None
        and action.reply is not None
        and _reply_code(persona, action.reply) >= 400
    )


def closes_after(persona: Persona, reply: ScriptedReply) -> bool:
    """Whether the server closes after a scripted reply."""
    if isinstance(reply, Situation):
        return persona.template(reply).closes
    if isinstance(reply, RawReply):
        return reply.code == 421  # RFC 5321 §3.8: 421 announces the close
    template: ReplyTemplate = reply
    return template.closes
