"""The public surface: what ``client``, ``client.protocol`` and ``client.transcript`` export,
and that they need nothing outside the stdlib."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest

import client
import client.protocol
import client.transcript
from client.transcript import ReplayResult, Transcript

PUBLIC = {
    "DEFAULT_TIMEOUT_S",
    "Capabilities",
    "ClientState",
    "ConnectionLostError",
    "EnhancedStatus",
    "LocalProtocolError",
    "Login",
    "PermanentReplyError",
    "Plain",
    "ProtocolError",
    "RemoteProtocolError",
    "Reply",
    "ReplyError",
    "ReplyKind",
    "SASLMechanism",
    "SMTPClient",
    "SMTPError",
    "SMTPTimeoutError",
    "SendResult",
    "StopPoint",
    "Submission",
    "TLSMode",
    "TLSNegotiationError",
    "TranscriptSink",
    "TransientReplyError",
    "XOAuth2",
    "submit",
}


PROTOCOL = {
    "NEED_DATA",
    "Capabilities",
    "ClientProtocol",
    "ClientState",
    "Command",
    "ConnectionClosed",
    "EnhancedStatus",
    "EnvelopeVerdict",
    "Exchange",
    "Login",
    "NeedData",
    "Plain",
    "PreparedMessage",
    "Reply",
    "ReplyKind",
    "ReplyReader",
    "SASLConversation",
    "SASLMechanism",
    "SendResult",
    "Verb",
    "XOAuth2",
    "dot_stuff",
    "encode_command_line",
    "encode_message_data",
    "judge_envelope",
    "prepare_message",
    "state_diagram",
}

TRANSCRIPT = {
    "FORMAT_VERSION",
    "NORMALISERS",
    "REDACTED",
    "VERSION_HEADER",
    "Comment",
    "Direction",
    "Entry",
    "Event",
    "Line",
    "MatchLevel",
    "Matching",
    "MessageDifference",
    "Mismatch",
    "Normaliser",
    "Placeholder",
    "Recorder",
    "ReplayResult",
    "SecretRedactor",
    "Transcript",
    "TranscriptFormatError",
    "TranscriptMismatch",
    "assert_match",
    "compare",
    "compare_messages",
    "drop_headers",
    "dump",
    "filter_messages",
    "format_line",
    "load",
    "normalise",
    "read",
    "redact",
    "write",
}


@pytest.mark.parametrize(
    ("package", "names"),
    [(client, PUBLIC), (client.protocol, PROTOCOL), (client.transcript, TRANSCRIPT)],
    ids=["client", "client.protocol", "client.transcript"],
)
def test_all_is_pinned(package: ModuleType, names: set[str]) -> None:
    assert set(package.__all__) == names
    assert len(package.__all__) == len(names)
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_one_replay_result_for_both_directions() -> None:
    result = ReplayResult(transcript=Transcript((), ()), mismatch=None)
    assert (result.connection, result.peer, result.passed) == (1, None, True)


def test_the_error_tree() -> None:
    assert issubclass(client.LocalProtocolError, client.ProtocolError)
    assert issubclass(client.RemoteProtocolError, client.ProtocolError)
    assert issubclass(client.TransientReplyError, client.ReplyError)
    assert issubclass(client.PermanentReplyError, client.ReplyError)
    assert issubclass(client.SMTPTimeoutError, TimeoutError)
    for error in (
        client.ProtocolError,
        client.ReplyError,
        client.ConnectionLostError,
        client.SMTPTimeoutError,
        client.TLSNegotiationError,
    ):
        assert issubclass(error, client.SMTPError)


def third_party_modules(statement: str) -> list[str]:
    """Top-level modules outside the standard library that ``statement`` loads, in a fresh
    interpreter; site-packages hooks loaded before it do not count."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"{statement}\n"
        "names = {name.partition('.')[0] for name in set(sys.modules) - before}\n"
        "print('\\n'.join(sorted(names - set(sys.stdlib_module_names))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.split()


def test_importing_client_loads_only_the_standard_library() -> None:
    assert third_party_modules("import client, client.cli") == ["client"]


def test_the_check_would_see_a_third_party_import() -> None:
    assert "trustme" in third_party_modules("import client, trustme")
