"""Reading the arguments of MAIL and RCPT (RFC 5321 §4.1.2), as leniently as Gmail does.

What Gmail never takes, however lenient: an address with a control character in it (a CR, a
NUL...) or bytes that are not UTF-8. RFC 5321 §4.1.2 allows neither (atext and qtextSMTP are
printable ASCII; RFC 6531 §3.3 adds UTF-8 only); such an address gets the persona's invalid
address reply, so it is never stored, logged or sent on as an envelope.
"""

from __future__ import annotations

import re

from fakeserver.personas.vocabulary import Situation

__all__ = [
    "forward_path",
    "is_mailbox",
    "is_reverse_path",
    "mail_parameters_refusal",
    "reverse_path",
]

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
# Controls (C0 and DEL) and lone surrogates, which stand for bytes that were not UTF-8 (the
# adapter decodes with surrogateescape).
_NEVER_IN_AN_ADDRESS = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# A SIZE value is ASCII digits (RFC 1870 §3), which ``str.isdigit()`` and ``int()`` do not
# check: they take any script's digits. (Longer than RFC 1870's 20 digits is too big, not
# a syntax error: that is how the fake has answered, and Gmail was not seen either way.)
_SIZE_VALUE = re.compile(r"[0-9]+")
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
    return _MAILBOX.fullmatch(address) is not None and not _NEVER_IN_AN_ADDRESS.search(address)


def is_reverse_path(address: str) -> bool:
    """Whether Gmail takes ``address`` as the sender of MAIL FROM.

    The null path (``<>``, RFC 5321 §4.5.5) is taken. Otherwise the last word must be a
    mailbox: Gmail refused ``<(any@instagram.com>`` and ``<www-data>`` with ``553 5.1.7``
    (replies.md §8; nextcloud/mail#5213), yet answered 250 to ``<Test Address Display
    yourgmailaddress@gmail.com>`` (transcript 30), which only its last word makes an address.
    """
    if not address:
        return True
    return is_mailbox(address.split()[-1]) and not _NEVER_IN_AN_ADDRESS.search(address)


def mail_parameters_refusal(parameters: list[str], size_limit: int) -> Situation | None:
    """Why MAIL's parameters are refused, or None. Gmail offers SIZE (RFC 1870), 8BITMIME
    (RFC 6152) and SMTPUTF8 (RFC 6531); AUTH= (RFC 4954 §5) is taken too; others are 555."""
    for parameter in parameters:
        if _NEVER_IN_AN_ADDRESS.search(parameter):
            return Situation.SYNTAX_ERROR
        key, _, value = parameter.partition("=")
        key = key.upper()
        if key not in _MAIL_PARAMETERS:
            return Situation.SYNTAX_ERROR
        if key == "SIZE":
            if not _SIZE_VALUE.fullmatch(value):
                return Situation.SYNTAX_ERROR
            if int(value) > size_limit:
                return Situation.MESSAGE_TOO_BIG
        elif key == "BODY" and value.upper() not in _BODY_TYPES:
            return Situation.SYNTAX_ERROR
    return None
