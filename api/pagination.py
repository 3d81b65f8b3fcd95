"""Opaque cursors for keyset pagination: the sort key of the last item of a page."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import HTTPException, status


def encode_cursor(*key: Any) -> str:
    text = json.dumps([k if isinstance(k, int | float | str) else str(k) for k in key])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The key an ``encode_cursor`` made; a 422 with a reason for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, list) or len(key) != arity:
            raise ValueError("wrong shape")
        return key
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid cursor: pass the next_cursor of the previous page unchanged",
        ) from exc
