"""The README's experiment clients as commands for tests: our client, an smtplib application,
and the seed's naive client (``examples/clients/``)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "clients"
PYTHON = shlex.quote(sys.executable)
ACCOUNT = "--user {user} --password-env SMTPRIG_PASSWORD --from {user} --to friend@example.org"
WHERE = "--host {host} --port {port} --tls {tls} --cafile {cafile}"
CLIENTS = {
    "smtpclient": f"{PYTHON} -m client.cli send {WHERE} {ACCOUNT} --timeout {{timeout}} "
    "--transcript {transcript} --quiet",
    "smtplib": f"{PYTHON} {shlex.quote(str(EXAMPLES / 'smtplib_client.py'))} {WHERE} {ACCOUNT} "
    "--timeout {timeout}",
    "naive": f"{PYTHON} {shlex.quote(str(EXAMPLES / 'naive_seed_client.py'))} {WHERE} {ACCOUNT}",
}
