"""The public surface: what ``client`` exports, and that it needs nothing outside the stdlib."""

from __future__ import annotations

import subprocess
import sys

import client

PUBLIC = {
    "DEFAULT_TIMEOUT_S",
    "Capabilities",
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


def test_all_is_pinned() -> None:
    assert set(client.__all__) == PUBLIC
    assert len(client.__all__) == len(PUBLIC)
    for name in client.__all__:
        assert getattr(client, name) is not None


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
