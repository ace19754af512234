"""Node smtp-server, the second reference, installed into bench/node/ on first use.

It is never a dependency of smtprig: bench/node/package.json pins smtp-server and
package-lock.json everything under it; ``npm ci`` puts them in bench/node/node_modules (which
git ignores). When node or npm is missing, or the install fails, :func:`command` raises
:class:`NotMeasured` with the reason, and the benchmark's Node rows say "not measured" and why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "node"
SERVER = FOLDER / "server.cjs"
_INSTALL_TIMEOUT_S = 300


class NotMeasured(Exception):
    """A reference cannot run on this machine; the message says why."""


def command(key: Path, chain: Path, cafile: Path) -> list[str]:
    """The command that runs Node smtp-server with this certificate, installing it if needed.

    Raises:
        NotMeasured: node or npm is not on PATH, or ``npm ci`` failed.
    """
    node = shutil.which("node")
    if node is None:
        raise NotMeasured("node is not on PATH")
    _install()
    return [node, str(SERVER), str(key), str(chain), str(cafile)]


def version() -> str:
    """The installed smtp-server's version, e.g. ``"3.21.6"``; empty when not installed."""
    installed = FOLDER / "node_modules" / "smtp-server" / "package.json"
    try:
        found: str = json.loads(installed.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return ""
    return found


def _install() -> None:
    wanted = json.loads((FOLDER / "package.json").read_text())["dependencies"]["smtp-server"]
    if version() == wanted:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise NotMeasured("npm is not on PATH (node is), so smtp-server cannot be installed")
    try:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=FOLDER, check=True, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.CalledProcessError as error:
        last = (error.stderr or error.stdout or "").strip().splitlines()[-1:] or ["no output"]
        raise NotMeasured(f"npm ci failed in {FOLDER}: {last[0]}") from error
    except subprocess.TimeoutExpired as error:
        raise NotMeasured(f"npm ci took over {_INSTALL_TIMEOUT_S} s in {FOLDER}") from error
    if version() != wanted:
        raise NotMeasured(f"npm ci did not install smtp-server {wanted} in {FOLDER}")
