"""Reading the arguments of MAIL and RCPT (RFC 5321 §4.1.2), as leniently as Gmail does."""

from __future__ import annotations

import re

from fakeserver.personas.vocabulary import Situation

__all__ = ["forward_path", "is_mailbox", "mail_parameters_refusal", "reverse_path"]

_MAIL_ARGUMENT = re.compile(r"FROM:\s*<([^<>]*)>(.*)", re.IGNORECASE | re.DOTALL)
_RCPT_ARGUMENT = re.compile(r"TO:\s*<([^<>]*)>(.*)", re.IGNORECASE | re.DOTALL)
# Without angle brackets (``MAIL FROM: a@b.example``), which some providers take (SES, SendGrid).
_BARE_MAIL_ARGUMENT = re.compile(r"FROM:\s*([^\s<>]+)(.*)", re.IGNORECASE | re.DOTALL)
_BARE_RCPT_ARGUMENT = re.compile(r"TO:\s*([^\s<>]+)(.*)", re.IGNORECASE | re.DOTALL)
# A lenient mailbox check (RFC 5321 §4.1.2): a local part without spaces or brackets (or a
# quoted one), "@", and a domain of non-empty labels (UTF-8 allowed for SMTPUTF8) or an
# address literal. Gmail refuses "x@.com" and bare words (replies.md §9) but took
# "youremailaddress@localhost" (transcript 30), so one label is enough.
_MAILBOX = re.compile(
    r'(?:"[^"\r\n]+"|[^\s"<>()\[\]\\,;:@]+)'
    r"@(?:\[[^\[\]\s]+\]|(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)*[^\W_](?:[\w-]{0,61}[^\W_])?)",
)
_MAIL_PARAMETERS = {"SIZE", "BODY", "SMTPUTF8", "AUTH"}
_BODY_TYPES = {"7BIT", "8BITMIME"}


def reverse_path(argument: str, *, bare: bool = False) -> tuple[str, list[str]] | None:
    """``FROM:<path> [parameters]``: the path and the parameters, or None (a 555).

    With ``bare``, ``FROM:path [parameters]`` without angle brackets is taken too.
    """
    match = _MAIL_ARGUMENT.fullmatch(argument)
    if match is None and bare:
        match = _BARE_MAIL_ARGUMENT.fullmatch(argument)
    if match is None:
        return None
    return match.group(1).strip(), match.group(2).split()


def forward_path(argument: str, *, bare: bool = False) -> tuple[str, str] | None:
    """``TO:<path> [parameters]``: the path and what follows it, or None (a 555).

    With ``bare``, ``TO:path`` without angle brackets is taken too.
    """
    match = _RCPT_ARGUMENT.fullmatch(argument)
    if match is None and bare:
        match = _BARE_RCPT_ARGUMENT.fullmatch(argument)
    if match is None:
        return None
    return match.group(1).strip(), match.group(2).strip()


def is_mailbox(address: str) -> bool:
    """Whether ``address`` is a mailbox Gmail would take (see ``_MAILBOX``)."""
    return _MAILBOX.fullmatch(address) is not None


def mail_parameters_refusal(parameters: list[str], size_limit: int) -> Situation | None:
    """Why MAIL's parameters are refused, or None. Gmail offers SIZE (RFC 1870), 8BITMIME
    (RFC 6152) and SMTPUTF8 (RFC 6531); AUTH= (RFC 4954 §5) is taken too; others are 555."""
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        key = key.upper()
        if key not in _MAIL_PARAMETERS:
            return Situation.SYNTAX_ERROR
        if key == "SIZE":
            if not value.isdigit():
                return Situation.SYNTAX_ERROR
            if int(value) > size_limit:
                return Situation.MESSAGE_TOO_BIG
        elif key == "BODY" and value.upper() not in _BODY_TYPES:
            return Situation.SYNTAX_ERROR
    return None
