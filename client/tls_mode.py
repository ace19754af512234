"""How a connection uses TLS: the one word for it on both sides of smtprig.

A leaf module (it imports nothing of smtprig's), so that the client, the transcript headers and
the fake server's ports can all name it without pulling anything else in.
"""

from __future__ import annotations

import enum

__all__ = ["TLSMode"]


class TLSMode(enum.StrEnum):
    """How the connection is protected."""

    NONE = "none"
    """Clear text throughout; for test servers only."""
    IMPLICIT = "implicit"
    """TLS from the first byte (RFC 8314 §3.3; port 465)."""
    STARTTLS = "starttls"
    """Clear text, then STARTTLS (RFC 3207; port 587). Refused locally if not offered."""
