"""One HTTP attempt: sign, POST through the guarded client, judge the answer.

Any 2xx within the timeout is delivered. Everything else is a failed attempt, logged with
its status, latency and the first bytes of the answer: other status codes (a 3xx too:
redirects are never followed, a redirect to an internal address must not become a way
in), timeouts, refused connections, and targets the SSRF guard refuses. ``410 Gone``
means the receiver asks us to stop: the dispatcher disables the endpoint.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from api.webhooks.signing import signed_headers
from api.webhooks.ssrf import SsrfRefused
from store.webhooks import AttemptResult

USER_AGENT = "Lookout-Webhooks/1"


@dataclass(frozen=True)
class Attempt:
    result: AttemptResult
    retry_after: str | None = None
    gone: bool = False


def _excerpt(content: bytes, limit: int) -> str:
    return content[:limit].decode("utf-8", "replace")


async def attempt(
    client: httpx.AsyncClient,
    *,
    url: str,
    webhook_id: str,
    body: str,
    content_type: str,
    secrets: list[str],
    attempted_at: datetime,
    excerpt_bytes: int,
    timeout_s: float,
) -> Attempt:
    """``attempted_at`` (the dispatcher's clock) dates the log row; the signature's
    timestamp is the wall clock's, since the receiver checks it against its own."""
    now = attempted_at
    headers = signed_headers(secrets, webhook_id, datetime.now(UTC), body)
    headers["content-type"] = content_type
    headers["user-agent"] = USER_AGENT
    started = time.perf_counter()

    def elapsed_ms() -> float:
        return round((time.perf_counter() - started) * 1000.0, 2)

    try:
        async with (
            asyncio.timeout(timeout_s),
            client.stream("POST", url, content=body.encode(), headers=headers) as answer,
        ):
            content = b""
            async for chunk in answer.aiter_bytes():
                content += chunk
                if len(content) >= excerpt_bytes:
                    break
    except SsrfRefused as exc:
        return Attempt(AttemptResult("refused", now, error=exc.reason, latency_ms=elapsed_ms()))
    except (TimeoutError, httpx.TimeoutException):
        why = f"no complete answer within {timeout_s:g} s"
        return Attempt(AttemptResult("timeout", now, error=why, latency_ms=elapsed_ms()))
    except httpx.HTTPError as exc:
        return Attempt(
            AttemptResult(
                "error", now, error=f"{type(exc).__name__}: {exc}"[:500], latency_ms=elapsed_ms()
            )
        )
    code = answer.status_code
    outcome = "delivered" if 200 <= code < 300 else "failed"
    error: str | None = None
    if 300 <= code < 400:
        error = f"redirect to {answer.headers.get('location', '?')!r} not followed"
    elif outcome == "failed":
        error = f"HTTP {code}"
    return Attempt(
        AttemptResult(
            outcome,
            now,
            status_code=code,
            latency_ms=elapsed_ms(),
            response_excerpt=_excerpt(content, excerpt_bytes),
            error=error,
        ),
        retry_after=answer.headers.get("retry-after"),
        gone=code == 410,
    )
