"""Normalisers for the providers' per-session values, as their evidence files mark them.

Each replaces one value that differs on every connection (or message) by a fixed token and
leaves every other character alone, as ``client.transcript.normalise`` does for Gmail, so a
comparison stays byte-exact elsewhere:

- Microsoft 365 (office365.md §3): the front end (``BMXPR01CA0083``) in the greeting, EHLO and
  HELO; the greeting's date and hex id; the error suffix ``[<front end FQDN> <time> <hex id>]``
  (and its older host-only form); the client's address; the end-of-data id and mailbox server;
  the login and sender addresses a Send-As refusal names.
- SES (ses.md §3): the greeting's instance and session token; the end-of-data message id.
- SendGrid (sendgrid.md §3): the greeting's front end; the end-of-data queue id.

:data:`SHAPES` are the evidence's shapes of the same values, for checking what the fake draws.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from client.transcript.model import Direction
from client.transcript.normalise import Normaliser

_FRONT_END = r"[A-Z0-9]+CA[0-9]{4}"


def _server(pattern: str, replacement: str, flags: int = 0) -> Normaliser:
    compiled = re.compile(pattern, flags)

    def normalise(direction: Direction, text: str) -> str:
        return compiled.sub(replacement, text) if direction is Direction.SERVER else text

    return normalise


OFFICE365: Mapping[str, Normaliser] = {
    "greeting": _server(
        rf"^(220 ){_FRONT_END}(\.outlook\.office365\.com Microsoft ESMTP MAIL Service ready at )"
        r"\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000( \[)[0-9A-F]{16}(?=\]$)",
        r"\g<1><front-end>\g<2><date>\g<3><id>",
    ),
    "hello": _server(
        rf"^(250[ -]){_FRONT_END}(\.outlook\.office365\.com Hello \[)[^\]]*(?=\]$)",
        r"\g<1><front-end>\g<2><client-ip>",
    ),
    "error_suffix": _server(
        rf" \[{_FRONT_END}\.[A-Za-z0-9.]+ \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z"
        r" [0-9A-F]{16}\]$",
        " [<front-end> <time> <id>]",
    ),
    "old_error_suffix": _server(rf" \[{_FRONT_END}\.[A-Za-z0-9.]+\]$", " [<front-end>]"),
    "message_id": _server(
        r"^(250 2\.0\.0 OK )<[A-Z0-9]+@[A-Za-z0-9.]+> \[Hostname=[A-Za-z0-9.]+\]$",
        r"\g<1><message-id> [Hostname=<mailbox-server>]",
    ),
    "send_as": _server(
        r"^(554 5\.2\.252 SendAsDenied; )\S+( not allowed to send as )\S+;",
        r"\g<1><login>\g<2><sender>;",
    ),
}

SES: Mapping[str, Normaliser] = {
    "greeting": _server(
        r"^(220 email-smtp\.amazonaws\.com ESMTP SimpleEmailService-d-)[A-Z0-9]{9} "
        r"[A-Za-z0-9]{20}$",
        r"\g<1><instance> <session-id>",
    ),
    "message_id": _server(
        r"^(250 Ok )[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        r"-000000$",
        r"\g<1><message-id>",
    ),
}

SENDGRID: Mapping[str, Normaliser] = {
    "greeting": _server(
        r"^(220 SG ESMTP service ready at )ismtpd[0-9]{4}p1[a-z]{3}[0-9]\.sendgrid\.net$",
        r"\g<1><front-end>",
    ),
    "queue_id": _server(r"^(250 Ok: queued as )[A-Za-z0-9_-]{22}$", r"\g<1><queue-id>"),
}

NORMALISERS: Mapping[str, Mapping[str, Normaliser]] = {
    "office365": OFFICE365,
    "ses": SES,
    "sendgrid": SENDGRID,
}

SHAPES: Mapping[str, Mapping[str, re.Pattern[str]]] = {
    "office365": {
        "session_id": re.compile(r"08D[0-9A-F]{13}"),
        "frontend": re.compile(_FRONT_END),
        "mailbox": re.compile(r"[A-Z0-9]+MB[0-9]{4}"),
    },
    "ses": {
        "session_id": re.compile(r"[A-Za-z0-9]{20}"),
        "instance": re.compile(r"[A-Z0-9]{9}"),
    },
    "sendgrid": {"session_id": re.compile(r"ismtpd[0-9]{4}p1[a-z]{3}[0-9]")},
}
"""The shape of each session identifier the fake draws, as the evidence shows it (§3 of each
provider's file)."""
