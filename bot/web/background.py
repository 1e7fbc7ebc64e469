"""Jobs the web app repeats while it runs (deleting what is past its retention period)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Callable

log = logging.getLogger(__name__)


async def _repeat(job: Callable[[], object], every: float, what: str) -> None:
    while True:
        try:
            await asyncio.to_thread(job)  # database work: never on the event loop
        except Exception:
            log.exception("%s failed", what)
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def repeating(job: Callable[[], object], *, every: float, what: str) -> AsyncIterator[None]:
    """Run `job` in a thread now and every `every` seconds until the block ends; a failure is logged."""
    task = asyncio.create_task(_repeat(job, every, what))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
