"""``HttpOptions``: what ``ServerOptions(http=...)`` takes, and what the command line makes.

:class:`HttpOptions` are the checked :class:`~fakeserver.http.options.HttpSettings` plus
:meth:`HttpOptions.serve`, which :class:`~fakeserver.server.FakeGmail` calls; it imports the
web stack (aiohttp) only then, so a fake without HTTP never loads it, and ``fakeserver.server``
never imports this package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fakeserver.errors import ConfigurationError
from fakeserver.http.options import TOKEN_ENVIRONMENT_VARIABLE, HttpSettings

if TYPE_CHECKING:
    from fakeserver.http.service import HttpService
    from fakeserver.server.fake import FakeGmail

__all__ = ["HttpOptions", "http_options"]


@dataclass(frozen=True, slots=True)
class HttpOptions(HttpSettings):
    """How a fake serves the HTTP API and the web inbox (see :class:`HttpSettings`)::

    FakeGmail(ServerOptions(http=HttpOptions()))          # 127.0.0.1, a free port
    FakeGmail(ServerOptions(http=HttpOptions(port=8025)))
    """

    def serve(self, gmail: FakeGmail) -> HttpService:
        """The HTTP service of ``gmail``; it reads nothing of ``gmail`` until started."""
        from fakeserver.http.service import HttpService

        service = HttpService(self)
        service.attach(gmail)
        return service


def http_options(
    address: str | None,
    *,
    token_file: Path | None = None,
    cors_origins: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
) -> HttpOptions | None:
    """The options the command line asks for; None when HTTP is off (``address`` None).

    Args:
        address: ``HOST:PORT`` (``[::1]:8025`` for IPv6), or None for ``--no-http``.
        token_file: a file whose first line is the token.
        cors_origins: the ``--cors-origin`` values.
        environment: where to find ``SMTPRIG_HTTP_TOKEN`` (default ``os.environ``).

    Raises:
        ConfigurationError: the address or token file cannot be used (see :class:`HttpOptions`).
    """
    if address is None:
        return None
    host, colon, port = address.rpartition(":")
    if not colon or not host or not (port.isascii() and port.isdigit()):
        raise ConfigurationError("--http", f"{address!r}: expected HOST:PORT, e.g. 127.0.0.1:8025")
    token = None
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip().splitlines()[0].strip()
        except (OSError, UnicodeDecodeError, IndexError) as error:
            raise ConfigurationError(
                "--http-token-file", f"cannot read a token from {token_file}: {error}"
            ) from error
    else:
        token = (environment if environment is not None else os.environ).get(
            TOKEN_ENVIRONMENT_VARIABLE
        ) or None
    return HttpOptions(
        host=host.removeprefix("[").removesuffix("]"),
        port=int(port),
        token=token,
        cors_origins=tuple(cors_origins),
    )
