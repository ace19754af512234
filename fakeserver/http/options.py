"""How the HTTP API and inbox are served: address, token and allowed origins, checked.

Every module of the HTTP side reads these :class:`HttpSettings`; the public
:class:`fakeserver.http.HttpOptions` (:mod:`fakeserver.http.serving`) adds how to start serving.

Invariants checked here, before anything is bound:

- an address other than loopback needs a token (a fake that shows every captured mail and
  takes scripted faults must not be open to a whole network);
- a token is at least 16 characters, and is never part of ``repr`` (so never in a log).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fakeserver.errors import ConfigurationError

__all__ = [
    "DEFAULT_ADDRESS",
    "TOKEN_ENVIRONMENT_VARIABLE",
    "HttpSettings",
    "is_loopback",
    "masked",
]

DEFAULT_ADDRESS = "127.0.0.1:8025"
"""Where ``fakeserver serve`` serves HTTP unless told otherwise (Mailpit's and MailHog's port)."""

TOKEN_ENVIRONMENT_VARIABLE = "SMTPRIG_HTTP_TOKEN"
"""Where ``fakeserver serve`` looks for the token when ``--http-token-file`` is not given."""

_MINIMUM_TOKEN_LENGTH = 16
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is loopback."""
    bare = host.strip().removeprefix("[").removesuffix("]").casefold()
    if bare in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def masked(token: str) -> str:
    """What may be shown of a token: its first four characters."""
    return f"{token[:4]}… ({len(token)} characters)"


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """How the HTTP API and the web inbox are served.

    Attributes:
        host: the address to listen on; loopback unless a token is given.
        port: the port; 0 picks a free one.
        token: every request must carry it (``Authorization: Bearer``, or once as ``?token=``
            in a browser, which then keeps it in a cookie); None: no token asked for.
        cors_origins: origins (``https://app.example:3000``) whose pages may call the API
            from a browser; none by default.

    Raises:
        ConfigurationError: a port out of range, a short token, a malformed origin, or an
            address other than loopback without a token.
    """

    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "cors_origins", tuple(self.cors_origins))
        if not 0 <= self.port <= 65535:
            raise ConfigurationError("--http", f"{self.port} is not a port number (0-65535)")
        if self.token is not None and len(self.token) < _MINIMUM_TOKEN_LENGTH:
            raise ConfigurationError(
                "--http-token-file",
                f"the token has {len(self.token)} characters; use at least "
                f"{_MINIMUM_TOKEN_LENGTH}, e.g. from `openssl rand -hex 16`",
            )
        if self.token is None and not is_loopback(self.host):
            raise ConfigurationError(
                "--http",
                f"{self.host} is not loopback: every mail and fault would be open to the "
                f"network; give a token with --http-token-file or {TOKEN_ENVIRONMENT_VARIABLE}",
            )
        for origin in self.cors_origins:
            parts = urlsplit(origin)
            if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path:
                raise ConfigurationError(
                    "--cors-origin", f"{origin!r} is not an origin like https://app.example:3000"
                )
