"""The envelope of an accepted message: who sent it to whom (RFC 5321 §2.3.1)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Envelope"]


@dataclass(frozen=True, slots=True)
class Envelope:
    """The envelope of an accepted message.

    Attributes:
        mail_from: the reverse-path, without angle brackets ("" for the null sender).
        recipients: the forward-paths accepted, in order.
        mail_options: the MAIL command's parameters (``SIZE=1234``...).
    """

    mail_from: str
    recipients: tuple[str, ...]
    mail_options: tuple[str, ...] = ()
