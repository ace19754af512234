"""Certificates from trustme, and the TLS contexts built on them.

A :class:`Certificates` bundle is a throw-away CA plus a server certificate for the host name
of every built-in persona (``smtp.gmail.com``, ``smtp.office365.com``...), ``localhost``,
``127.0.0.1`` and ``::1``, so that a client can verify the fake exactly as it verifies the
provider (chain *and* name), when its name resolves to the fake. Tests use
:func:`default_certificates`, made once per process in memory; ``fakeserver serve`` keeps a
bundle in ``certs/`` so that external clients (swaks, curl) can be pointed at its ``ca.pem``
across runs. A bundle that lacks a name asked for (an older smtprig's, or a ``--cert-name``
added since) gets a new server certificate from the same CA, for its names and the new ones.

Private keys are written with mode 0600 and replaced atomically, so a reader never sees a
half-written key and no other user can read one.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import ipaddress
import json
import os
import re
import ssl
import tempfile
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fakeserver.errors import CertificateError
from fakeserver.scripting.faults import HandshakePlan
from fakeserver.session.events import TLSFailed, TLSStarted

__all__ = [
    "SERVER_NAMES",
    "CertificatePaths",
    "Certificates",
    "client_context",
    "default_certificates",
    "failed_handshake",
    "fault_context",
    "generate",
    "handshake_failure",
    "handshake_finished",
    "load_or_create",
    "server_context",
    "server_name",
    "with_names",
    "write",
]

SERVER_NAMES = (
    "smtp.gmail.com",
    "smtp.office365.com",
    "email-smtp.amazonaws.com",
    "smtp.sendgrid.net",
    "localhost",
    "127.0.0.1",
    "::1",
)
"""The names the server certificate is valid for: each built-in persona's host name (a test
holds them to the persona files), then loopback's."""

_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")

_FORMAT_VERSION = 1
_METADATA = "smtprig-certs.json"


@dataclass(frozen=True, slots=True)
class Certificates:
    """A CA and one server certificate it signed, all PEM-encoded.

    Attributes:
        ca_pem: the CA certificate clients trust.
        ca_key_pem: the CA's private key (needed to mint certificates for TLS faults).
        server_chain_pem: the server certificate followed by the chain up to the CA.
        server_key_pem: the server certificate's private key.
        server_names: the names the server certificate is valid for.
    """

    ca_pem: bytes
    ca_key_pem: bytes
    server_chain_pem: bytes
    server_key_pem: bytes
    server_names: tuple[str, ...]

    def issue(
        self,
        *names: str,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
    ) -> Certificates:
        """Returns a bundle with a new server certificate from the same CA.

        Args:
            names: the names it is valid for (for a wrong-name fault, others than the host's).
            not_before: start of validity; the default is trustme's (2000-01-01).
            not_after: end of validity; a past date gives an expired certificate.
        """
        import trustme  # imported when needed: it costs ~40 ms at start-up (cryptography)

        ca = trustme.CA.from_pem(self.ca_pem, self.ca_key_pem)
        leaf = ca.issue_cert(*names, not_before=not_before, not_after=not_after)
        return Certificates(
            self.ca_pem,
            self.ca_key_pem,
            b"".join(blob.bytes() for blob in leaf.cert_chain_pems),
            leaf.private_key_pem.bytes(),
            names,
        )


@dataclass(frozen=True, slots=True)
class CertificatePaths:
    """Where a bundle was written."""

    directory: Path
    ca: Path
    ca_key: Path
    server_chain: Path
    server_key: Path


def generate(server_names: tuple[str, ...] = SERVER_NAMES) -> Certificates:
    """Makes a new CA and a server certificate for ``server_names``."""
    import trustme  # imported when needed: it costs ~40 ms at start-up (cryptography)

    ca = trustme.CA(organization_name="smtprig test CA (not for real mail)")
    leaf = ca.issue_cert(*server_names, common_name=server_names[0])
    return Certificates(
        ca.cert_pem.bytes(),
        ca.private_key_pem.bytes(),
        b"".join(blob.bytes() for blob in leaf.cert_chain_pems),
        leaf.private_key_pem.bytes(),
        server_names,
    )


@functools.cache
def default_certificates() -> Certificates:
    """The process-wide in-memory bundle; made on first use (a few milliseconds)."""
    return generate()


@functools.lru_cache(maxsize=16)
def with_names(certificates: Certificates, names: tuple[str, ...]) -> Certificates:
    """``certificates``, or when they lack one of ``names``, a bundle whose server certificate
    (from the same CA, so what trusts the CA still does) holds its names and those."""
    wanted = tuple(dict.fromkeys((*certificates.server_names, *names)))
    if wanted == certificates.server_names:
        return certificates
    return certificates.issue(*wanted)


def paths(directory: Path) -> CertificatePaths:
    """The file names of a bundle in ``directory``."""
    return CertificatePaths(
        directory,
        directory / "ca.pem",
        directory / "ca.key",
        directory / "server.pem",
        directory / "server.key",
    )


def write(certificates: Certificates, directory: Path) -> CertificatePaths:
    """Writes ``certificates`` to ``directory`` (created if needed); keys get mode 0600.

    Raises:
        CertificateError: the directory or a file cannot be written.
    """
    where = paths(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write_atomically(where.ca, certificates.ca_pem, 0o644)
        _write_atomically(where.server_chain, certificates.server_chain_pem, 0o644)
        _write_atomically(where.ca_key, certificates.ca_key_pem, 0o600)
        _write_atomically(where.server_key, certificates.server_key_pem, 0o600)
        metadata = {"version": _FORMAT_VERSION, "server_names": list(certificates.server_names)}
        _write_atomically(directory / _METADATA, json.dumps(metadata).encode(), 0o644)
    except OSError as error:
        raise CertificateError(
            str(directory), f"cannot write certificates: {error.strerror}; pick another --certs-dir"
        ) from error
    return where


def server_name(name: str) -> str:
    """``name``, if a server certificate can hold it: an IP address, or a DNS name whose first
    label may be ``*``.

    Raises:
        ValueError: it is neither, with an example of what would do.
    """
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    labels = name.removeprefix("*.").split(".")
    # A name whose last label is all digits is a mistyped address (RFC 3696 §2).
    if (
        len(name) <= 253
        and all(_DNS_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    ):
        return name.lower()
    raise ValueError(
        f"{name!r} is not a host name or IP address a certificate can hold; give one like"
        " email-smtp.us-east-1.amazonaws.com, *.example.test or 10.0.0.5 (a non-ASCII name"
        " in its xn-- form)"
    )


def load_or_create(
    directory: Path, *, server_names: tuple[str, ...] = SERVER_NAMES, force: bool = False
) -> tuple[Certificates, CertificatePaths, bool]:
    """Reuses the bundle in ``directory`` when it is usable and holds ``server_names``, else
    makes one.

    Returns:
        The bundle, where it lives, and whether it was newly made.
    """
    where = paths(directory)
    if not force:
        existing = _read(where)
        if existing is not None and set(server_names) <= set(existing.server_names):
            return existing, where, False
        if existing is not None:
            # A name is missing: a new server certificate from the same CA, so that clients
            # that trust the CA file go on trusting it. It keeps the names it had, so that
            # runs asking for different extra names do not take turns replacing it.
            kept = tuple(name for name in existing.server_names if name not in server_names)
            try:
                certificates = existing.issue(*server_names, *kept)
            except ValueError:  # the CA's key does not load: start afresh
                pass
            else:
                return certificates, write(certificates, directory), True
    certificates = generate(server_names)
    return certificates, write(certificates, directory), True


def _read(where: CertificatePaths) -> Certificates | None:
    try:
        metadata = json.loads((where.directory / _METADATA).read_text())
        if metadata.get("version") != _FORMAT_VERSION:
            return None
        certificates = Certificates(
            where.ca.read_bytes(),
            where.ca_key.read_bytes(),
            where.server_chain.read_bytes(),
            where.server_key.read_bytes(),
            tuple(metadata["server_names"]),
        )
        server_context(certificates)  # the key must match the certificate
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ssl.SSLError):
        return None
    for key in (where.ca_key, where.server_key):
        # Tighten keys that someone loosened; never serve with a world-readable key.
        if key.stat().st_mode & 0o077:
            key.chmod(0o600)
    return certificates


FAULT_NAME = "mail.example.net"
"""The only name on the ``wrong_name`` fault's certificate."""


_FAULT_KINDS: weakref.WeakKeyDictionary[ssl.SSLContext, str] = weakref.WeakKeyDictionary()
"""The kind of bad certificate each :func:`fault_context` presents."""

_REFUSED: weakref.WeakSet[ssl.SSLObject] = weakref.WeakSet()
"""The handshakes a script's ``AbortHandshake`` refused (see :func:`plan_handshakes`)."""


def handshake_finished(transport: asyncio.BaseTransport, discarded: int = 0) -> TLSStarted:
    """What a session is told of a finished handshake: version, cipher, and the kind of bad
    certificate a fault presented (its context was swapped for a :func:`fault_context`).

    Args:
        transport: the connection, now under TLS.
        discarded: octets of clear text thrown away after STARTTLS.
    """
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return TLSStarted(None, None, discarded)
    cipher = ssl_object.cipher()
    return TLSStarted(
        ssl_object.version(),
        cipher[0] if cipher else None,
        discarded,
        _FAULT_KINDS.get(ssl_object.context),
    )


# OpenSSL's reasons for the failures a test most often meets, said as what to check.
_FAILURES = {
    "TLSV1_ALERT_UNKNOWN_CA": "the client does not trust the CA (give it the fake's ca.pem)",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "the client refused the certificate "
    "(does it trust the fake's ca.pem, and connect by a name the certificate holds?)",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the client refused the certificate "
    "(does it trust the fake's ca.pem, and connect by a name the certificate holds?)",
    "WRONG_VERSION_NUMBER": "the client did not speak TLS "
    "(plain SMTP on the implicit-TLS port? use STARTTLS on the submission port)",
    "HTTP_REQUEST": "the client spoke HTTP, not TLS",
    "UNSUPPORTED_PROTOCOL": "the client offered no TLS version the fake accepts (1.2 or newer)",
    "NO_SHARED_CIPHER": "the client offered no cipher the fake accepts",
}


def failed_handshake(
    error: BaseException | None,
    ssl_object: ssl.SSLObject | None,
    timeout_s: float | None = None,
) -> TLSFailed:
    """What a session is told of a failed handshake: why, and what a script's fault did.

    Args:
        error: what the handshake raised (or the connection was lost with; None: it closed).
        ssl_object: the handshake's TLS object, when the transport has it.
        timeout_s: the handshake's time limit, for a handshake that timed out.
    """
    if ssl_object is not None and ssl_object in _REFUSED:
        return TLSFailed("the fake refused the handshake, as the script asked", scripted=True)
    kind = _FAULT_KINDS.get(ssl_object.context) if ssl_object is not None else None
    if kind is not None and isinstance(error, ssl.SSLError):
        # Not the usual advice: the client was right to refuse what the script presented.
        said = f"the client refused the {kind} certificate the script presented [{error.reason}]"
        return TLSFailed(said)
    return TLSFailed(handshake_failure(error, timeout_s))


def handshake_failure(error: BaseException | None, timeout_s: float | None = None) -> str:
    """Says why a server-side handshake failed, in a line for the session's record.

    Args:
        error: what the handshake raised (or the connection was lost with; None: it closed).
        timeout_s: the handshake's time limit, for a handshake that timed out.
    """
    if isinstance(error, ssl.SSLError):
        reason = error.reason or ""
        said = _FAILURES.get(reason)
        if said is not None:
            return f"{said} [{reason}]"
        if reason.startswith(("SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV13_ALERT_")):
            alert = reason.split("_ALERT_", 1)[1].lower().replace("_", " ")
            return f"the client sent the alert '{alert}' [{reason}]"
        return f"{reason.lower().replace('_', ' ') or error} [{reason or type(error).__name__}]"
    # asyncio aborts a handshake that takes too long with this error (a connection the server
    # itself drops never gets this far: it is "aborted").
    if isinstance(error, TimeoutError | ConnectionAbortedError):
        within = f" within {timeout_s:g} s" if timeout_s is not None else ""
        return f"the client did not finish the handshake{within}"
    return "the client closed the connection during the handshake"


def fault_context(certificates: Certificates, kind: str) -> ssl.SSLContext:
    """A server context that presents a bad certificate, made once per bundle and kind.

    Args:
        certificates: the bundle clients trust.
        kind: ``"untrusted"`` (same names, another CA), ``"wrong_name"`` (this CA, but only
            for ``mail.example.net``) or ``"expired"`` (this CA, the right names, valid
            until yesterday).
    """
    context = _fault_context(certificates, kind)
    _FAULT_KINDS[context] = kind
    return context


@functools.lru_cache(maxsize=16)
def _fault_context(certificates: Certificates, kind: str) -> ssl.SSLContext:
    if kind == "untrusted":
        return server_context(generate(certificates.server_names))
    if kind == "wrong_name":
        return server_context(certificates.issue(FAULT_NAME))
    if kind == "expired":
        now = datetime.datetime.now(datetime.UTC)
        expired = certificates.issue(
            *certificates.server_names,
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        )
        return server_context(expired)
    raise ValueError(f"unknown certificate fault {kind!r}; use untrusted, wrong_name or expired")


def plan_handshakes(
    context: ssl.SSLContext,
    certificates: Certificates,
    plan_for: Callable[[str], HandshakePlan],
    on_error: Callable[[BaseException], None],
) -> None:
    """Makes every handshake on ``context`` go as ``plan_for(server_name)`` says.

    OpenSSL's servername callback runs for every ClientHello, with or without SNI, before the
    certificate is chosen, so a plan can still swap it or refuse the handshake.
    """

    def on_client_hello(
        ssl_object: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext
    ) -> int | None:
        try:
            plan = plan_for(server_name or "")
            if plan.abort:
                _REFUSED.add(ssl_object)  # so that the session's record says who refused
                return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
            if plan.certificate is not None:
                ssl_object.context = fault_context(certificates, plan.certificate)
        except Exception as error:  # never let a plan break the server thread
            on_error(error)
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None

    context.sni_callback = on_client_hello


def server_context(certificates: Certificates) -> ssl.SSLContext:
    """A server-side context that presents the bundle's server certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Keep OpenSSL's TLS 1.3 session tickets (num_tickets stays 2): written right after
    # the handshake, they carry the ACK of the client's Finished. Without them a client that
    # leaves Nagle on (smtplib) holds its EHLO for the server's delayed ACK, ~40 ms.
    with _temporary_pem(certificates.server_key_pem + certificates.server_chain_pem) as path:
        context.load_cert_chain(path)
    return context


def client_context(certificates: Certificates) -> ssl.SSLContext:
    """A client-side context that trusts only the bundle's CA and checks host names."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=certificates.ca_pem.decode("ascii"))
    return context


@contextmanager
def _temporary_pem(data: bytes) -> Iterator[str]:
    # ssl.SSLContext.load_cert_chain reads only files (bpo-16487); the file is private and
    # removed at once.
    descriptor, name = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        yield name
    finally:
        os.unlink(name)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(descriptor, mode)  # the umask must not widen or narrow it
        handle.write(data)
    os.replace(temporary, path)
