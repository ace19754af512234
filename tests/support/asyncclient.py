"""Running an asyncio mail client (aiosmtplib) from a synchronous test."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Coroutine
from typing import Any


def run_client(coroutine: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run(coroutine)``, then collect what the client's loop left behind.

    asyncio.run closes its loop as soon as the coroutine returns, while a TLS transport the
    client closed may still be waiting for the server's close_notify; its socket transport is
    then garbage and warns "unclosed transport" whenever it is collected, in some later test.
    It is the client's loop's, not the server's, so it is collected here, quietly.
    """
    try:
        asyncio.run(coroutine)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
