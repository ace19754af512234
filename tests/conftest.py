"""Fixtures shared by the whole suite.

Servers bind port 0 on 127.0.0.1 and use the per-process in-memory CA, so tests never touch
``certs/`` and can run in parallel (pytest -n 2).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakeserver.server.fake import FakeGmail, ServerOptions


@pytest.fixture
def gmail() -> Iterator[FakeGmail]:
    """A fresh fake Gmail per test; errors from its thread fail the test."""
    with FakeGmail(ServerOptions(seed=1)) as server:
        yield server
        server.check()


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    yield
    import gc

    gc.collect()
