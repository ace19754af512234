"""SASL encoders: the exact bytes each mechanism produces."""

from __future__ import annotations

import base64

import pytest

from client import Login, Plain, Reply, XOAuth2
from client.protocol.sasl import MAX_SASL_CHALLENGES, SASLConversation


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


def challenge(text: str) -> Reply:
    return Reply(334, (text,))


def test_a_conversation_puts_a_short_initial_response_on_the_auth_line() -> None:
    conversation = SASLConversation(Plain("tim", "tanstaaftanstaaf"))
    assert conversation.initial_response == b"\0tim\0tanstaaftanstaaf"
    assert conversation.answer(challenge("")) is None


def test_a_conversation_sends_a_long_initial_response_after_the_empty_challenge() -> None:
    # RFC 4954 §4: the AUTH line must stay within 512 octets.
    mechanism = XOAuth2("alice@example.test", "t" * 600)
    conversation = SASLConversation(mechanism)
    assert conversation.initial_response is None
    assert conversation.answer(challenge("")) == mechanism.initial_response()
    # The error challenge that may follow is the mechanism's first.
    assert conversation.answer(challenge("eyJzdGF0dXMiOiI0MDAifQ==")) == b""


def test_a_conversation_without_initial_response_when_asked() -> None:
    conversation = SASLConversation(Plain("a", "b"), send_initial_response=False)
    assert conversation.initial_response is None
    assert conversation.answer(challenge("")) == b"\0a\0b"


def test_login_conversation_decodes_challenges_and_tolerates_bad_base64() -> None:
    conversation = SASLConversation(Login("alice", "secret"))
    assert conversation.initial_response is None
    assert conversation.answer(challenge("VXNlcm5hbWU6")) == b"alice"
    # Transcript 33: a masked prompt that is not base64 is answered all the same.
    assert conversation.answer(challenge("xxxxxxxxxs")) == b"secret"
    assert conversation.answer(challenge("UGFzc3dvcmQ6")) is None


def test_a_conversation_gives_up_after_too_many_challenges() -> None:
    class Chatty:
        name = "CHATTY"

        def initial_response(self) -> bytes | None:
            return None

        def respond(self, step: int, challenge: bytes) -> bytes | None:
            return b"more"

    conversation = SASLConversation(Chatty())
    answers = [conversation.answer(challenge("")) for _ in range(MAX_SASL_CHALLENGES + 1)]
    assert answers[-1] is None
    assert answers[:-1] == [b"more"] * MAX_SASL_CHALLENGES
