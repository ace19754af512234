"""A scriptable fake of Gmail's submission server, built on aiosmtpd."""

from __future__ import annotations

__all__: list[str] = []
