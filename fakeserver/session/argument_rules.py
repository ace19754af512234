"""How strictly a provider reads command arguments where providers differ: the EHLO/HELO
argument, and the DSN parameters of MAIL and RCPT. The persona's
:class:`~fakeserver.personas.model.Behaviour` says which rule applies; the
:class:`~fakeserver.session.dialogue.Dialogue` asks here.
"""

from __future__ import annotations

import re

from fakeserver.personas.vocabulary import Situation

__all__ = ["helo_refusal", "rcpt_parameters_taken", "without_dsn_parameters"]

# RFC 5321 §4.1.1.1: EHLO takes a Domain or an address literal. Underscores are let through,
# since many hosts have them in their names and no capture shows a provider refusing one.
_HELO_DOMAIN = re.compile(r"\[[^\[\]\s]+\]|[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
# RFC 3461 §4.1-4.4: the DSN parameters, taken where the persona offers DSN.
_DSN_MAIL_PARAMETERS = frozenset({"RET", "ENVID"})
_DSN_RCPT_PARAMETERS = frozenset({"NOTIFY", "ORCPT"})


def helo_refusal(rule: str, argument: str) -> Situation | None:
    """Why the EHLO/HELO ``argument`` is refused under ``rule`` (one of
    :data:`~fakeserver.personas.model.HELO_ARGUMENT_RULES`), or None."""
    if not argument:
        return None if rule == "optional" else Situation.HELO_EMPTY
    if rule == "no_spaces" and any(character.isspace() for character in argument):
        return Situation.HELO_INVALID
    if rule == "domain" and _HELO_DOMAIN.fullmatch(argument) is None:
        return Situation.HELO_INVALID
    return None


def without_dsn_parameters(parameters: list[str]) -> list[str]:
    """MAIL's parameters less ``RET=`` and ``ENVID=``, for a persona that offers DSN."""
    return [item for item in parameters if _key(item) not in _DSN_MAIL_PARAMETERS]


def rcpt_parameters_taken(rest: str, *, dsn: bool) -> bool:
    """Whether RCPT's parameters (``rest``, after the path) are all offered: ``NOTIFY=`` and
    ``ORCPT=`` with DSN, none without (Gmail's EHLO has no DSN)."""
    allowed = _DSN_RCPT_PARAMETERS if dsn else frozenset()
    return all(_key(item) in allowed for item in rest.split())


def _key(parameter: str) -> str:
    """The keyword of an ESMTP parameter (RFC 5321 §4.1.2: ``esmtp-keyword["="value]``)."""
    return parameter.partition("=")[0].upper()
