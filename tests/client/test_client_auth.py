"""SASL encoders: the exact bytes each mechanism produces."""

from __future__ import annotations

import base64

import pytest

from client import Login, Plain, XOAuth2


def test_plain_is_authzid_nul_user_nul_password() -> None:
    # RFC 4616 §4 example: "\0tim\0tanstaaftanstaaf" encodes to this.
    mechanism = Plain("tim", "tanstaaftanstaaf")
    assert base64.b64encode(mechanism.initial_response()) == b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
    assert mechanism.respond(0, b"") is None


def test_plain_with_an_authorization_identity_and_utf8() -> None:
    mechanism = Plain("jürgen", "pässword", authorization_id="admin")
    assert mechanism.initial_response() == "admin\0jürgen\0pässword".encode()


def test_plain_refuses_nul_in_credentials() -> None:
    with pytest.raises(ValueError, match="NUL"):
        Plain("tim\0admin", "x")


def test_login_answers_two_prompts_in_order_whatever_they_say() -> None:
    mechanism = Login("alice", "secret")
    assert mechanism.initial_response() is None
    # Gmail's prompt, then aiosmtpd's: the text does not matter.
    assert mechanism.respond(0, b"Username:") == b"alice"
    assert mechanism.respond(1, b"Password\0") == b"secret"
    assert mechanism.respond(2, b"More?") is None


def test_xoauth2_message_and_error_challenge() -> None:
    mechanism = XOAuth2("alice@example.test", "ya29.token")
    assert mechanism.initial_response() == (
        b"user=alice@example.test\x01auth=Bearer ya29.token\x01\x01"
    )
    # Google: answer the JSON error challenge with an empty line to get the final reply.
    assert mechanism.respond(0, b'{"status":"400"}') == b""
    assert mechanism.respond(1, b"again") is None


def test_xoauth2_refuses_the_separator_in_fields() -> None:
    with pytest.raises(ValueError, match="0x01"):
        XOAuth2("alice", "tok\x01en")


def test_secrets_stay_out_of_repr() -> None:
    assert "secret" not in repr(Login("alice", "secret"))
    assert "secret" not in repr(Plain("alice", "secret"))
    assert "ya29" not in repr(XOAuth2("alice", "ya29.token"))
