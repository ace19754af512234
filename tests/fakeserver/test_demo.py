"""``make demo`` runs the seed's conversation and shows what was captured."""

from __future__ import annotations

import subprocess
import sys


def test_the_demo_runs_the_seeds_conversation() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fakeserver.demo"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "# --- TLS handshake TLSv1.3",
        "C: HELO Ken\nS: 250 smtp.gmail.com at your service\n",
        "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: <redacted>\nS: 334 UGFzc3dvcmQ6\nC: <redacted>\n",
        "S: 235 2.7.0 Accepted\n",
        "C: Hello, world\nC: .\nS: 250 2.0.0 OK  ",
        "C: QUIT\nS: 221 2.0.0 closing connection ",
        "  over TLSv1.3 as tester@gmail.com (LOGIN)",
        "  | Hello, world",
    ):
        assert expected in out
    assert "app-password" not in out
    assert "YXBwLXBhc3N3b3Jk" not in out
