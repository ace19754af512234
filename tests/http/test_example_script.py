"""``examples/http/api-tour.sh``, the other-language suite, runs as a user would run it: bash,
curl and ``fakeserver`` on the PATH, in a folder of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "examples" / "http" / "api-tour.sh"


def test_the_shell_example_passes(tmp_path: Path) -> None:
    environment = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    finished = subprocess.run(
        ["bash", str(SCRIPT)], cwd=tmp_path, env=environment, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert finished.stdout.count("ok: ") == 9
    assert finished.stdout.endswith("all checks passed\n")
