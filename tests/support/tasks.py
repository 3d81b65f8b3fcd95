"""Checks on asyncio tasks the tests start."""

from __future__ import annotations

import asyncio


async def assert_ends_when_cancelled(
    task: asyncio.Task[None], what: str, *, inner: tuple[str, ...] = ()
) -> None:
    """``task`` was just cancelled: it must end. Python 3.11's ``asyncio.wait_for`` lost a
    cancellation that came as the awaited thing completed, and a loop around it went on;
    whoever awaited it after cancelling hung. If it goes on, it and the tasks named
    ``inner`` (a task group's children, which a second cancellation of the group does not
    reach) are cancelled again so the session's loop is left clean."""
    done, _ = await asyncio.wait([task], timeout=5)
    if not done:
        for other in asyncio.all_tasks():
            if other.get_name() in inner:
                other.cancel()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert done, f"{what} went on after it was cancelled"
    assert task.cancelled(), f"{what} ended without being cancelled"
