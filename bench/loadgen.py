"""The load generator: a separate process that drives one SMTP server and prints figures.

Each connection does what a well-behaved client does with Gmail: implicit TLS (or STARTTLS),
EHLO, AUTH PLAIN once, then MAIL, RCPT, DATA and a message of ``--size`` bytes (about 1 KB by
default) per message, then QUIT. It parses replies no more than needed: the code of each
reply's last line.

With ``--pipelining auto`` (the default) it pipelines when EHLO offers PIPELINING, as Gmail
does (RFC 2920): MAIL, RCPT and DATA go in one write, and each message's data goes with the
next message's MAIL, RCPT and DATA. A server that does not offer it (aiosmtpd) gets one
command at a time. ``--pipelining off`` is one command at a time for everyone, as smtplib,
nodemailer, swaks and most other clients do.

    python -m bench.loadgen --port P --cafile F --mode ingest --connections 50 --messages 40
    python -m bench.loadgen ... --mode ingest --size 10000000 --messages 2
    python -m bench.loadgen ... --mode sessions --connections 20 --sessions 400

In ``--mode sessions`` each session sends one message: connect, TLS, EHLO, AUTH, one message,
QUIT.

Prints one JSON object: ``{"messages": n, "sessions": n, "seconds": s, "errors": n,
"cpu_s": s, "started": t, "finished": t}``. ``cpu_s`` is the generator's own CPU time, so
that the caller can tell whether the generator, not the server, was the bottleneck;
``started`` and ``finished`` are ``time.monotonic()`` readings (the system-wide
CLOCK_MONOTONIC on Linux), so that the runs of several generator processes can be put on
one time line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import ssl
import time

DEFAULT_SIZE = 1024
LINE = b"x" * 76 + b"\r\n"  # RFC 5322 §2.1.1: lines of at most 78 characters
HEADERS = b"From: load@example.org\r\nTo: sink@example.org\r\nSubject: benchmark\r\n\r\n"
AUTH = b"AUTH PLAIN " + base64.b64encode(b"\0tester@gmail.com\0app-password") + b"\r\n"
ENVELOPE = b"MAIL FROM:<tester@gmail.com>\r\nRCPT TO:<sink@example.org>\r\nDATA\r\n"


def message(size: int = DEFAULT_SIZE) -> bytes:
    """A message of about ``size`` bytes (never less than its headers), with the end-of-data
    line."""
    lines, remainder = divmod(max(0, size - len(HEADERS)), len(LINE))
    last = b"x" * max(0, remainder - 2) + b"\r\n" if remainder else b""
    return HEADERS + LINE * lines + last + b".\r\n"


class Failed(Exception):
    pass


async def reply(reader: asyncio.StreamReader) -> int:
    return (await reply_lines(reader))[0]


async def reply_lines(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    lines = b""
    while True:
        line = await reader.readline()
        if len(line) < 4:
            raise Failed(f"connection closed or bad line {line!r}")
        lines += line
        if line[3:4] != b"-":
            return int(line[:3]), lines


async def expect(reader: asyncio.StreamReader, *codes: int) -> None:
    for wanted in codes:
        code = await reply(reader)
        if code != wanted:
            raise Failed(f"got {code}, expected {wanted}")


async def command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes, expect: int
) -> None:
    writer.write(data)
    code = await reply(reader)
    if code != expect:
        raise Failed(f"{data[:20]!r} got {code}, expected {expect}")


async def session(
    host: str,
    port: int,
    context: ssl.SSLContext,
    starttls: bool,
    messages: int,
    pipelining: bool,
    body: bytes,
) -> int:
    if starttls:
        reader, writer = await asyncio.open_connection(host, port)
    else:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=context, server_hostname="localhost"
        )
    try:
        await reply(reader)
        writer.write(b"EHLO loadgen.example\r\n")
        _, offered = await reply_lines(reader)
        if starttls:
            await command(reader, writer, b"STARTTLS\r\n", 220)
            await writer.start_tls(context, server_hostname="localhost")
            writer.write(b"EHLO loadgen.example\r\n")
            _, offered = await reply_lines(reader)
        await command(reader, writer, AUTH, 235)
        if messages and pipelining and b"PIPELINING" in offered:
            # RFC 2920: the envelope in one write, and the data with the next envelope.
            writer.write(ENVELOPE)
            await expect(reader, 250, 250, 354)
            for _ in range(messages - 1):
                writer.write(body + ENVELOPE)
                await expect(reader, 250, 250, 250, 354)
            writer.write(body)
            await expect(reader, 250)
        else:
            for _ in range(messages):
                await command(reader, writer, b"MAIL FROM:<tester@gmail.com>\r\n", 250)
                await command(reader, writer, b"RCPT TO:<sink@example.org>\r\n", 250)
                await command(reader, writer, b"DATA\r\n", 354)
                await command(reader, writer, body, 250)
        await command(reader, writer, b"QUIT\r\n", 221)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()
    return messages


async def run(arguments: argparse.Namespace) -> dict[str, float]:
    context = ssl.create_default_context(cafile=arguments.cafile)
    body = message(arguments.size)
    errors = 0
    done_messages = 0
    done_sessions = 0
    starttls = arguments.tls == "starttls"

    async def worker(sessions: int, per_session: int) -> None:
        nonlocal errors, done_messages, done_sessions
        for _ in range(sessions):
            try:
                sent = await session(
                    arguments.host,
                    arguments.port,
                    context,
                    starttls,
                    per_session,
                    arguments.pipelining == "auto",
                    body,
                )
                done_messages += sent
                done_sessions += 1
            except (Failed, OSError, ssl.SSLError, asyncio.IncompleteReadError):
                errors += 1

    connections = arguments.connections
    if arguments.mode == "ingest":
        jobs = [worker(1, arguments.messages) for _ in range(connections)]
    else:
        per_worker = max(1, arguments.sessions // connections)
        jobs = [worker(per_worker, 1) for _ in range(connections)]  # one message each
    cpu_before = time.process_time()
    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*jobs), timeout=arguments.timeout)
    finished = time.monotonic()
    return {
        "messages": done_messages,
        "sessions": done_sessions,
        "seconds": finished - started,
        "errors": errors,
        "cpu_s": time.process_time() - cpu_before,
        "started": started,
        "finished": finished,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--tls", choices=["implicit", "starttls"], default="implicit")
    parser.add_argument("--mode", choices=["ingest", "sessions"], default="ingest")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--messages", type=int, default=100, help="per connection")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="bytes per message")
    parser.add_argument("--sessions", type=int, default=200, help="in all, --mode sessions")
    parser.add_argument("--pipelining", choices=["auto", "off"], default="auto")
    parser.add_argument("--timeout", type=float, default=300.0)
    print(json.dumps(asyncio.run(run(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
