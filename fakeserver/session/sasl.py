"""Decoding SASL payloads: base64 (RFC 4648), PLAIN (RFC 4616), XOAUTH2 and OAUTHBEARER
(RFC 7628). Pure functions; ``None`` means "Gmail cannot decode this" (its 501 5.5.2).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

__all__ = ["LoginAttempt", "decode_base64", "parse_oauthbearer", "parse_plain", "parse_xoauth2"]


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """What a client claimed: a login and the secret that goes with it (a password or a bearer
    token), and for PLAIN the identity it asked to act as (RFC 4616 §2's authzid; ``""``
    when it gave none, which means the login's own)."""

    login: str
    secret: str
    authorization: str = ""


def decode_base64(line: bytes) -> bytes | None:
    """Decodes one SASL response or initial response; None when it is not strict base64."""
    try:
        return base64.b64decode(line.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _text(raw: bytes) -> str:
    # A login that is not UTF-8 can never match an account; surrogateescape keeps it
    # comparable without raising.
    return raw.decode("utf-8", errors="surrogateescape")


def parse_plain(blob: bytes) -> LoginAttempt | None:
    """``[authzid] NUL authcid NUL passwd`` (RFC 4616 §2)."""
    parts = blob.split(b"\x00")
    if len(parts) != 3:
        return None
    return LoginAttempt(_text(parts[1]), _text(parts[2]), _text(parts[0]))


def parse_xoauth2(blob: bytes) -> LoginAttempt | None:
    """``user=U ^A auth=Bearer T ^A ^A`` (Google's XOAUTH2 protocol)."""
    if not blob.endswith(b"\x01\x01"):
        return None
    fields = dict(_key_values(blob[:-2].split(b"\x01")))
    return _bearer(fields.get("user"), fields.get("auth"))


def parse_oauthbearer(blob: bytes) -> LoginAttempt | None:
    """``n,a=U, ^A host=H ^A port=P ^A auth=Bearer T ^A ^A`` (RFC 7628 §3.1)."""
    header, separator, rest = blob.partition(b"\x01")
    if not separator or not rest.endswith(b"\x01\x01"):
        return None
    login = None
    for part in header.split(b","):
        if part.startswith(b"a="):
            # RFC 5801 §4 escapes ',' and '=' in the authzid as =2C and =3D.
            login = _text(part[2:]).replace("=2C", ",").replace("=3D", "=")
    fields = dict(_key_values(rest[:-2].split(b"\x01")))
    return _bearer(login, fields.get("auth"))


def _key_values(parts: list[bytes]) -> list[tuple[str, str]]:
    pairs = []
    for part in parts:
        key, equals, value = part.partition(b"=")
        if equals:
            pairs.append((_text(key), _text(value)))
    return pairs


def _bearer(login: str | None, auth: str | None) -> LoginAttempt | None:
    if not login or auth is None:
        return None
    scheme, _, token = auth.partition(" ")
    if scheme.casefold() != "bearer" or not token:
        return None
    return LoginAttempt(login, token)
