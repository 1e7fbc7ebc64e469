"""The jobs the web app repeats while it runs (bot.web.background)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.drafts.store import DraftStore
from bot.web.background import delete_expired_drafts, repeating
from tests.drafts.helpers import NOW, sample_input


def test_expired_drafts_are_deleted_by_the_settings_clock(caplog: pytest.LogCaptureFixture) -> None:
    store = DraftStore("sqlite://", key=Fernet.generate_key(), retention_days=30)
    store.create(sample_input(), "old", NOW)
    kept = store.create(sample_input(), "new", NOW + dt.timedelta(days=20))
    with caplog.at_level(logging.INFO, logger="bot.web.background"):
        delete_expired_drafts(store, Settings(clock=lambda: NOW + dt.timedelta(days=31)))
    assert "deleted 1 expired drafts" in caplog.text
    assert store.get_by_token(kept.token, NOW + dt.timedelta(days=31)) is not None
    store.close()


def test_a_failing_job_is_logged_and_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    def job() -> None:
        runs.append(1)
        raise RuntimeError("the database is away")

    async def main() -> None:
        async with repeating(job, every=0.01, what="testing the job"):
            for _ in range(200):
                if len(runs) >= 2:
                    return
                await asyncio.sleep(0.01)

    with caplog.at_level(logging.ERROR, logger="bot.web.background"):
        asyncio.run(main())
    assert len(runs) >= 2 and "testing the job failed" in caplog.text
