"""``smtpclient`` run in-process against stock aiosmtpd."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import trustme

from client.cli import main
from client.transcript import Direction, read
from tests.support.client_testkit import PASSWORD, USERNAME, WAIT_S, AiosmtpdServer


@pytest.fixture(scope="module")
def cafile(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(path)
    return str(path)


def send_args(server: AiosmtpdServer, *extra: str, tls: str = "starttls") -> list[str]:
    return [
        "send",
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
        "--tls",
        tls,
        "--timeout",
        str(WAIT_S),
        "--from",
        "alice@example.test",
        "--to",
        "bob@example.test",
        "--to",
        "carol@example.test",
        "--subject",
        "Grüße",
        *extra,
    ]


def test_send_prints_every_line_with_secrets_redacted(
    starttls_server: AiosmtpdServer,
    cafile: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    status = main(
        send_args(
            starttls_server,
            "--cafile",
            cafile,
            "--user",
            USERNAME,
            "--password-env",
            "SMTP_PASSWORD",
            "--auth",
            "login",
            "--body",
            ".a line with a dot\nand another",
        )
    )
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("S: 220 ")
    assert "C: STARTTLS" in lines
    assert any(line.startswith("# --- TLS handshake TLSv1.") for line in lines)
    assert lines.count("C: <redacted>") == 2
    assert "C: ..a line with a dot" in lines
    assert lines[-1] == "# --- closed ---"
    assert PASSWORD not in out
    (envelope,) = starttls_server.handler.envelopes
    assert envelope.rcpt_tos == ["bob@example.test", "carol@example.test"]


def test_send_failure_exits_non_zero_with_the_server_reply(
    implicit_tls_server: AiosmtpdServer,
    cafile: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    status = main(
        send_args(
            implicit_tls_server,
            "--cafile",
            cafile,
            "--user",
            USERNAME,
            "--password-env",
            "SMTP_PASSWORD",
            tls="implicit",
        )
    )
    _, err = capsys.readouterr()
    assert status == 1
    assert "535 5.7.8 Authentication credentials invalid" in err
    assert implicit_tls_server.handler.envelopes == []


def test_send_with_an_untrusted_certificate_fails(
    implicit_tls_server: AiosmtpdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with trustme.CA().cert_pem.tempfile() as other_ca:
        status = main(send_args(implicit_tls_server, "--cafile", other_ca, tls="implicit"))
    assert status == 1
    assert "TLS handshake" in capsys.readouterr().err


def test_quiet_and_transcript(
    plain_server: AiosmtpdServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript = tmp_path / "conversation.txt"
    body = tmp_path / "body.txt"
    body.write_text("from a file\n", encoding="utf-8")
    status = main(
        send_args(
            plain_server,
            "--quiet",
            "--transcript",
            str(transcript),
            "--body-file",
            str(body),
            tls="none",
        )
    )
    assert status == 0
    assert capsys.readouterr() == ("", "")
    recorded = read(transcript)
    first = recorded.lines[0]
    assert (first.direction, first.data[:4]) == (Direction.SERVER, b"220 ")
    assert any(line.data == b"from a file\r\n" for line in recorded.lines)
    assert len(plain_server.handler.envelopes) == 1


def test_quit_after_a_step(
    plain_server: AiosmtpdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([*send_args(plain_server, tls="none"), "--quit-after", "rcpt"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert "C: RCPT TO:<carol@example.test>" in lines
    assert lines[-3:] == ["C: QUIT", "S: 221 Bye", "# --- closed ---"]
    assert "C: DATA" not in lines
    assert plain_server.handler.envelopes == []


def test_drop_after_a_step(
    plain_server: AiosmtpdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([*send_args(plain_server, tls="none"), "--drop-after", "data"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[-2:] == ["S: 354 End data with <CR><LF>.<CR><LF>", "# --- closed ---"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--user", USERNAME], "--password-env"),
        (["--user", USERNAME, "--password-env", "SMTPRIG_TEST_UNSET"], "is not set"),
    ],
)
def test_usage_errors(
    plain_server: AiosmtpdServer,
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*send_args(plain_server, tls="none"), *extra]) == 2
    assert message in capsys.readouterr().err


def raw_args(server: AiosmtpdServer, *extra: str) -> list[str]:
    return ["raw", "--host", "127.0.0.1", "--port", str(server.port), "--timeout", "2", *extra]


def test_raw_lines_from_the_command_line(
    plain_server: AiosmtpdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["MAIL FROM:<a@example.test>", "EHLO raw.example", "MAIL FROM:<a@example.test>"]
    lines += ["RCPT TO:<b@example.test>", "DATA", ".hidden", "RCPT is text here", ".", "QUIT"]
    status = main(raw_args(plain_server, *lines))
    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert out[1:3] == ["C: MAIL FROM:<a@example.test>", "S: 503 Error: send HELO first"]
    assert "C: .hidden" in out
    assert out[-3:] == ["C: QUIT", "S: 221 Bye", "# --- closed ---"]
    (envelope,) = plain_server.handler.envelopes
    assert envelope.content == b"hidden\r\nRCPT is text here\r\n"


def test_raw_lines_from_standard_input_with_bare_lf(
    plain_server: AiosmtpdServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("EHLO lf.example\nNOOP\nQUIT\n"))
    assert main(raw_args(plain_server, "--bare-lf")) == 0
    out = capsys.readouterr().out.splitlines()
    assert "C~ EHLO lf.example\\n" in out
    assert "S: 221 Bye" in out


def test_raw_pipeline(plain_server: AiosmtpdServer, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(raw_args(plain_server, "--pipeline", "EHLO p.example", "NOOP", "NOOP", "QUIT"))
    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert [line[:2] for line in out[1:5]] == ["C:"] * 4
    assert out[-2] == "S: 221 Bye"


def test_raw_starttls(
    starttls_server: AiosmtpdServer, cafile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["EHLO tls.example", "STARTTLS", "EHLO tls.example", "AUTH PLAIN AGFsaWNlAHg=", "QUIT"]
    assert main(raw_args(starttls_server, "--cafile", cafile, *lines)) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("# --- TLS handshake") for line in out)
    assert "S: 250-AUTH LOGIN PLAIN XOAUTH2" in out
    assert "C: AUTH PLAIN <redacted>" in out
    assert "AGFsaWNlAHg=" not in "\n".join(out)


def test_raw_waits_for_a_reply_only_within_the_bound(
    plain_server: AiosmtpdServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Transcript 19: a "." ended by a bare LF does not end the data, so no reply comes.
    lines = ["EHLO x.example", "MAIL FROM:<a@example.test>", "RCPT TO:<b@example.test>"]
    status = main(raw_args(plain_server, "--bare-lf", "--timeout", "0.2", *lines, "DATA", "."))
    out, err = capsys.readouterr()
    assert status == 0
    assert out.splitlines()[-2:] == ["C~ .\\n", "# --- closed ---"]
    assert "no reply" in err
    assert plain_server.handler.envelopes == []
