"""``fakeserver serve --scenario FILE.toml`` as a user runs it: the scenario takes effect,
and a bad file stops the command with its line and what would do instead."""

from __future__ import annotations

import json
import smtplib
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.serveproc import EPHEMERAL, ServeProcess

SCENARIO = """\
seed = 7

[[step]]
on = "rcpt"
matching = "nobody@"
reply = {code = 550, status = "5.1.1", text = "The email account does not exist."}

[[step]]
on = "data"
nth = 1
reply = "rate_limited"
"""


def test_a_served_scenario_takes_effect(tmp_path: Path) -> None:
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    arguments = (*EPHEMERAL, "--json", "--scenario", "scenario.toml")
    with ServeProcess(*arguments, cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        context = ssl.create_default_context(cafile=ready["cafile"])
        port = ready["smtps"]["port"]
        with smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=5) as smtp:
            smtp.login("tester@gmail.com", "app-password")
            assert smtp.mail("tester@gmail.com")[0] == 250
            code, text = smtp.rcpt("nobody@example.org")
            assert code == 550
            assert text.startswith(b"5.1.1 The email account does not exist.")
            assert smtp.rcpt("friend@example.org")[0] == 250
            with pytest.raises(smtplib.SMTPDataError) as refused:
                smtp.data(b"Subject: first\r\n\r\nhi\r\n")
        assert refused.value.smtp_code == 421
        with smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=5) as smtp:
            smtp.login("tester@gmail.com", "app-password")
            smtp.sendmail("tester@gmail.com", ["friend@example.org"], b"Subject: 2nd\r\n\r\nhi\r\n")
        events = [json.loads(server.expect(r'"event": "message"').string)]
        assert server.stop() == 0
    assert [event["subject"] for event in events] == ["2nd"], "the 421 stored nothing"


def test_a_bad_scenario_exits_2_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('seed = 1\n\n[[step]]\non = "rcpt"\nreply = "rate_limted"\n')
    result = subprocess.run(
        [sys.executable, "-m", "fakeserver", "serve", *EPHEMERAL, "--scenario", "bad.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("fakeserver: error: bad.toml, line 5: not a situation name")
    assert "rate_limited" in result.stderr
    assert "Traceback" not in result.stderr
