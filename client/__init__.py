"""A raw-socket SMTP client that shows every line, and the wire vocabulary smtprig shares.

Standard library only. ``fakeserver`` builds on this package; this package never imports it.
"""

from __future__ import annotations

__all__: list[str] = []
