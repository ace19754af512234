"""What ``fakeserver serve`` prints once it listens: the banner for people, or the ready line
(JSON) for programs. Both name the persona and every listener it bound, so a test suite in any
language knows which ports the provider has (Microsoft 365 has no implicit-TLS port)."""

from __future__ import annotations

import json
import urllib.parse

from fakeserver.http.options import masked
from fakeserver.personas.model import Listener
from fakeserver.server.fake import FakeGmail
from fakeserver.transport.tls import SERVER_NAMES, CertificatePaths

__all__ = ["banner", "ready_json"]

_LABELS = {
    Listener.SMTPS: "implicit TLS (like 465)",
    Listener.SUBMISSION: "STARTTLS     (like 587)",
    Listener.PLAIN: "like port 25          ",
}


def banner(server: FakeGmail, where: CertificatePaths) -> str:
    """How to connect, which CA to trust, and who may log in, for people."""
    persona = server.persona
    started_ms = (server.started_in_s or 0.0) * 1000
    lines = [f"Fake {persona.hostname} (persona {persona.name}: {persona.description})"]
    for listener, address in server.listeners.items():
        lines.append(f"  {_LABELS[listener]}: {address.host} port {address.port}")
    if Listener.SMTPS not in persona.listeners:
        lines.append(f"  no implicit-TLS port: the {persona.name} persona's provider has none")
    lines += [
        f"Trust this CA: {where.ca}  (swaks --tls-ca-path {where.ca}; curl --cacert {where.ca};",
        f"  Python ssl.create_default_context(cafile={str(where.ca)!r}))",
        f"  {_names(server.certificates.server_names, persona.hostname)}",
    ]
    for account in server.options.accounts:
        extra = "  (answers 534: needs an app password)" if account.requires_app_password else ""
        lines.append(f"Account: {account.username}  password: {account.password}{extra}")
        for token in sorted(account.oauth_tokens):
            lines.append(f"  XOAUTH2/OAUTHBEARER token: {token}")
    if server.http is not None:
        lines.append(f"Inbox and HTTP API: {server.http.url}  (API under /api/v1)")
        # HttpOptions has a token; other ways of serving need not (and this module does not
        # import the web stack: it would lengthen the import chain).
        api_token = getattr(server.options.http, "token", None)
        if api_token is not None:
            lines.append(f"  every request needs the token {masked(api_token)}")
    lines.append(f"Ready in {started_ms:.1f} ms. Ctrl-C stops. Nothing is ever delivered.")
    return "\n".join(lines) + "\n\n"


def ready_json(server: FakeGmail, where: CertificatePaths) -> str:
    """The first line of ``--json`` output: ``{"event": "ready", "persona": ..., "listeners":
    {...}, ...}``, with each bound listener also at the top level (``"smtps"``...)."""
    listeners = {
        listener.value: {"host": address.host, "port": address.port}
        for listener, address in server.listeners.items()
    }
    ready: dict[str, object] = {
        "event": "ready",
        "persona": server.persona.name,
        "listeners": listeners,
        **listeners,
        "cafile": str(where.ca.resolve()),
        "accounts": [account.username for account in server.options.accounts],
    }
    if server.http is not None:
        url = urllib.parse.urlsplit(server.http.url)
        ready["http"] = {"host": url.hostname, "port": url.port, "url": server.http.url}
    return json.dumps(ready) + "\n"


def _names(names: tuple[str, ...], hostname: str) -> str:
    """The names a client may check: the persona's host name first, when it is one of them,
    and any asked for with ``--cert-name``."""
    shown = [name for name in (hostname, "localhost", "127.0.0.1", "::1") if name in names]
    added = [name for name in names if name not in SERVER_NAMES and name not in shown]
    also = f"; also {', '.join(added)}" if added else ""
    if not shown:
        return f"The certificate is valid for {', '.join(names)}."
    said = f"The certificate is valid for {', '.join(shown[:-1])} and {shown[-1]}"
    if hostname not in names:
        return f"{said}, not {hostname}{also}."
    others = len(names) - len(shown) - len(added)
    if others:
        return f"{said} (and {others} other personas' host names){also}."
    return f"{said}{also}."
