"""The client's state machine as data: its states, and what each reply leads to.

``TRANSITIONS`` holds, for each (state, verb) a command may be sent in, the state each class of
reply leads to; a reply class missing from an entry is a protocol violation by the server.
``client.protocol.connection.ClientProtocol`` runs the table; nothing else decides a
transition. ``state_diagram()`` draws it, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from client.protocol.events import ReplyKind, Verb

__all__ = ["TRANSITIONS", "ClientState", "state_diagram"]


class ClientState(enum.Enum):
    """Where the client is in the conversation."""

    CONNECTED = "connected"
    """Connected; the greeting has not arrived yet (RFC 5321 §3.1: wait for it)."""
    GREETED = "greeted"
    """Greeted (or TLS just started): EHLO or HELO comes next."""
    REFUSED = "refused"
    """The greeting refused service (RFC 5321 §3.1, 554); only QUIT makes sense."""
    READY = "ready"
    """Identified, no mail transaction open."""
    TLS_STARTING = "tls starting"
    """STARTTLS was accepted; the TLS handshake must happen before anything else."""
    AUTH_CHALLENGED = "auth challenged"
    """A 334 challenge waits for a SASL response line (RFC 4954 §4)."""
    MAIL = "mail"
    """The sender was accepted; recipients come next."""
    RCPT = "rcpt"
    """At least one recipient was accepted."""
    DATA = "data"
    """A 354 reply came; the message data comes next."""
    CLOSED = "closed"
    """The conversation is over (QUIT, a 421 reply, or the server closed)."""
    ERROR = "error"
    """A protocol error happened; nothing more can be sent."""
    RAW = "raw"
    """The caller took over the wire; the state machine no longer follows the conversation."""


_S = ClientState
_V = Verb
_DONE, _MORE, _LATER, _NEVER = (
    ReplyKind.COMPLETION,
    ReplyKind.INTERMEDIATE,
    ReplyKind.TRANSIENT,
    ReplyKind.PERMANENT,
)


def _refusable(accepted: ClientState, refused: ClientState) -> dict[ReplyKind, ClientState]:
    return {_DONE: accepted, _LATER: refused, _NEVER: refused}


_IN_SESSION: Final = (_S.READY, _S.MAIL, _S.RCPT)

TRANSITIONS: Final[Mapping[tuple[ClientState, Verb], Mapping[ReplyKind, ClientState]]] = {
    (_S.CONNECTED, _V.GREETING): _refusable(_S.GREETED, _S.REFUSED),
    (_S.GREETED, _V.EHLO): _refusable(_S.READY, _S.GREETED),
    (_S.GREETED, _V.HELO): _refusable(_S.READY, _S.GREETED),
    # RFC 5321 §4.1.4: a later EHLO or HELO also resets any open mail transaction.
    **{(state, _V.EHLO): _refusable(_S.READY, state) for state in _IN_SESSION},
    **{(state, _V.HELO): _refusable(_S.READY, state) for state in _IN_SESSION},
    (_S.READY, _V.STARTTLS): _refusable(_S.TLS_STARTING, _S.READY),
    # RFC 3207 §4.2: after the handshake the client knows nothing and must EHLO again.
    (_S.TLS_STARTING, _V.TLS_HANDSHAKE): {_DONE: _S.GREETED},
    (_S.READY, _V.AUTH): {**_refusable(_S.READY, _S.READY), _MORE: _S.AUTH_CHALLENGED},
    (_S.AUTH_CHALLENGED, _V.SASL_RESPONSE): {
        **_refusable(_S.READY, _S.READY),
        _MORE: _S.AUTH_CHALLENGED,
    },
    (_S.READY, _V.MAIL): _refusable(_S.MAIL, _S.READY),
    (_S.MAIL, _V.RCPT): _refusable(_S.RCPT, _S.MAIL),
    (_S.RCPT, _V.RCPT): _refusable(_S.RCPT, _S.RCPT),
    (_S.RCPT, _V.DATA): {_MORE: _S.DATA, _LATER: _S.RCPT, _NEVER: _S.RCPT},
    # RFC 5321 §4.1.1.4: whatever the reply to the end of data, the transaction is over.
    (_S.DATA, _V.END_OF_DATA): _refusable(_S.READY, _S.READY),
    (_S.GREETED, _V.RSET): _refusable(_S.GREETED, _S.GREETED),
    **{(state, _V.RSET): _refusable(_S.READY, state) for state in _IN_SESSION},
    **{(state, _V.NOOP): _refusable(state, state) for state in (_S.GREETED, *_IN_SESSION)},
    **{
        (state, _V.QUIT): _refusable(_S.CLOSED, _S.CLOSED)
        for state in (_S.GREETED, _S.REFUSED, *_IN_SESSION)
    },
}


def state_diagram() -> str:
    """``TRANSITIONS`` as a Mermaid state diagram, one arrow per (state, verb, reply class)."""
    lines = ["stateDiagram-v2"]
    for (state, verb), outcomes in TRANSITIONS.items():
        for kind, target in outcomes.items():
            lines.append(f"    {state.name} --> {target.name}: {verb.value} {kind.value}yz")
    return "\n".join(lines) + "\n"
