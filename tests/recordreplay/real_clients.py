"""Real mail clients sending a real application's message, for the cassette tests: smtplib,
aiosmtplib, swaks, nodemailer and Jakarta Mail.

Each sends a :class:`Mail` over STARTTLS with AUTH, checking the server's certificate against the
in-memory test CA (the Python clients) or its PEM file (the others), and builds the message the
way an application using it would, so each run has the client's own fresh Date, Message-ID and
MIME boundaries. smtplib, aiosmtplib and swaks are always there (``.ci/run`` installs swaks);
nodemailer (``npm ci`` in ``clients/``) and Jakarta Mail (Debian's ``libjakarta-mail-java`` and a
JDK) may be missing on a developer's machine: ``missing_nodemailer`` and ``missing_jakarta`` say
why, for a skip; ``.ci/run`` installs both.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import smtplib
import ssl
import subprocess
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import aiosmtplib

from tests.recordreplay.conftest import PASSWORD, USER, WAIT_S

CLIENTS = Path(__file__).resolve().parent / "clients"
JAKARTA_JARS = (
    Path("/usr/share/java/jakarta-mail.jar"),
    Path("/usr/share/java/jakarta-activation.jar"),
)
PROCESS_TIMEOUT_S = 60.0
"""A generous bound for a client process: a JVM's start on a busy 2-core machine included."""

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"


@dataclass(frozen=True, slots=True)
class Mail:
    """What an application sends: a text and an HTML version, and an optional attachment."""

    recipient: str = "friend@example.org"
    subject: str = "Your invoice"
    text: str = "Hello Ann,\nyour invoice is attached.\nThanks!\n"
    html: str = "<p>Hello Ann,</p>\n<p>your invoice is attached.</p>\n<p>Thanks!</p>\n"
    attachment: tuple[str, bytes] | None = ("invoice.pdf", PDF)
    sender: str = USER

    def but(self, **changes: object) -> Mail:
        """A copy with some fields changed (the negative twins)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def email_message(mail: Mail) -> EmailMessage:
    """The message as a Python application builds it with ``email``."""
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="app.example")
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    if mail.attachment is not None:
        name, content = mail.attachment
        message.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return message


def send_smtplib(address: tuple[str, int], context: ssl.SSLContext, mail: Mail) -> None:
    with smtplib.SMTP(*address, timeout=WAIT_S) as client:
        client.starttls(context=context)
        client.login(USER, PASSWORD)
        client.send_message(email_message(mail))


def send_aiosmtplib(address: tuple[str, int], context: ssl.SSLContext, mail: Mail) -> None:
    sending = aiosmtplib.send(
        email_message(mail),
        hostname=address[0],
        port=address[1],
        username=USER,
        password=PASSWORD,
        start_tls=True,
        tls_context=context,
        timeout=WAIT_S,
    )
    asyncio.run(sending)


def send_swaks(address: tuple[str, int], cafile: Path, mail: Mail, folder: Path) -> None:
    """swaks as people run it: its own Date, Message-Id, ``Subject: test <date>`` unless told,
    and a MIME message with its own boundaries once something is attached."""
    command = [
        "swaks", "--server", f"{address[0]}:{address[1]}", "--tls", "--tls-ca-path", str(cafile),
        "--auth", "LOGIN", "--auth-user", USER, "--auth-password", PASSWORD,
        "--from", mail.sender, "--to", mail.recipient, "--body", mail.text,
        "--timeout", str(int(WAIT_S)),
    ]  # fmt: skip
    if mail.attachment is not None:
        name, content = mail.attachment
        path = folder / name
        path.write_bytes(content)
        command += ["--attach-type", "application/pdf", "--attach", f"@{path}"]
    _run(command, "swaks")


def missing_nodemailer() -> str | None:
    """Why nodemailer cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not (CLIENTS / "node_modules" / "nodemailer").is_dir():
        return f"nodemailer is not installed: run npm ci in {CLIENTS} (.ci/run does)"
    return None


def send_nodemailer(address: tuple[str, int], cafile: Path, mail: Mail) -> None:
    settings: dict[str, object] = {
        "host": address[0], "port": address[1], "user": USER, "password": PASSWORD,
        "cafile": str(cafile), "sender": mail.sender, "recipient": mail.recipient,
        "subject": mail.subject, "text": mail.text, "html": mail.html, "attachment": None,
    }  # fmt: skip
    if mail.attachment is not None:
        name, content = mail.attachment
        settings["attachment"] = {"name": name, "base64": base64.b64encode(content).decode()}
    _run(["node", str(CLIENTS / "send_nodemailer.mjs"), json.dumps(settings)], "nodemailer")


def missing_jakarta() -> str | None:
    """Why Jakarta Mail cannot run here, or None."""
    if shutil.which("java") is None or shutil.which("javac") is None:
        return "a JDK is not installed (apt-get install default-jdk-headless)"
    missing = [str(jar) for jar in JAKARTA_JARS if not jar.is_file()]
    if missing:
        return (
            f"Jakarta Mail is not installed ({', '.join(missing)}): apt-get install "
            "libjakarta-mail-java (.ci/run does; Maven Central is out of reach here)"
        )
    return None


def compile_jakarta(folder: Path) -> Path:
    """Compiles the Jakarta Mail client once into ``folder`` (a JVM compiling the source on
    every run takes seconds); returns the folder, for ``send_jakarta``."""
    classpath = ":".join(str(jar) for jar in JAKARTA_JARS)
    _run(["javac", "-cp", classpath, "-d", str(folder), str(CLIENTS / "SendJakarta.java")], "javac")
    return folder


def send_jakarta(
    address: tuple[str, int], cafile: Path, mail: Mail, folder: Path, classes: Path
) -> None:
    classpath = ":".join(str(path) for path in (*JAKARTA_JARS, classes))
    # Jakarta Mail 2.0 checks the certificate against host names only, not IP addresses: it
    # connects to localhost, which must then be 127.0.0.1, where the cassette listens.
    command = [
        "java", "-Djava.net.preferIPv4Stack=true", "-cp", classpath, "SendJakarta",
        "localhost", str(address[1]), USER, PASSWORD, str(cafile), mail.sender, mail.recipient,
        mail.subject, mail.text, mail.html,
    ]  # fmt: skip
    if mail.attachment is not None:
        name, content = mail.attachment
        path = folder / name
        path.write_bytes(content)
        command += [name, str(path)]
    _run(command, "Jakarta Mail")


def _run(command: list[str], name: str) -> None:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise ClientFailed(f"{name} exited {done.returncode}:\n{done.stdout}{done.stderr}")


class ClientFailed(Exception):
    """A client process failed to send (a replay server's 554 makes it fail, too)."""
