"""Jobs the web app repeats while it runs: deleting what is past its retention period.

- `delete_expired_drafts`: drafts past their deletion date (the store of `bot.web.drafts`);
- `delete_old_conversations`: conversations idle longer than `conversation_retention_days`
  in Rasa's tracker store and the analytics tables, and audit rows older than
  `audit_retention_days` (the stores of `bot.web.analyst`).

Each part opens its stores in its clean-up context and runs its job there with `repeating`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Callable

from bot.analytics.retention import Stores, purge
from bot.config import Settings
from bot.drafts.store import DraftStore

log = logging.getLogger(__name__)


def delete_expired_drafts(store: DraftStore, settings: Settings) -> None:
    deleted = store.delete_expired(settings.clock())
    if deleted:
        log.info("deleted %d expired drafts", deleted)


def delete_old_conversations(stores: Stores, settings: Settings) -> None:
    purge(
        stores,
        now=settings.clock(),
        conversation_days=settings.conversation_retention_days,
        audit_days=settings.audit_retention_days,
    )


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
