"""What a strict JSON parser in another language makes of our JSON (RFC 8259 §8.2)."""

from __future__ import annotations

import json
from typing import Any


def strictly(body: bytes) -> Any:
    """What a strict parser makes of ``body``: UTF-8 that decodes, then JSON whose strings are
    all Unicode scalar values (a lone surrogate, even escaped, fails)."""
    value = json.loads(body.decode("utf-8", errors="strict"))
    no_lone_surrogates(value)
    return value


def no_lone_surrogates(value: object) -> None:
    """Fails on any string in ``value`` (keys too) that is not all Unicode scalar values."""
    if isinstance(value, str):
        value.encode("utf-8", errors="strict")  # raises on a lone surrogate
    elif isinstance(value, dict):
        for key, item in value.items():
            no_lone_surrogates(key)
            no_lone_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            no_lone_surrogates(item)
