"""The analyst overview through the real aiohttp app, with the consumer's tables on SQLite."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from bot.analytics.store import AnalyticsStore
from bot.config import Settings
from bot.web.app import create_app
from tests.web.test_auth import ANALYST_PASSWORD, log_in, write_accounts


def overview_html(tmp_path: Path, *, analytics_url: str | None) -> str:
    accounts = tmp_path / "accounts.yml"
    write_accounts(accounts)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'drafts.db'}",
        key=Fernet.generate_key(),
        accounts_file=str(accounts),
        session_key=Fernet.generate_key(),
        tracker_database_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        analytics_database_url=analytics_url,
    )

    async def main() -> str:
        async with TestClient(TestServer(create_app(settings))) as client:
            status, _ = await log_in(client, "lars", ANALYST_PASSWORD, "/analyse")
            assert status == 303
            async with client.get("/analyse") as response:
                assert response.status == 200
                return await response.text()

    return asyncio.run(main())


def test_the_overview_shows_how_many_events_the_consumer_set_aside(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    store = AnalyticsStore(url)
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(2):
        store.record_dead_letter(message_key=f"k{i}", error="IntegrityError", attempts=3, at=now)
    store.close()
    html = overview_html(tmp_path, analytics_url=url)
    assert 'data-figure="dead_letters"' in html
    assert "lagt til side i perioden: 2." in html


def test_without_the_consumer_there_is_no_dead_letter_line(tmp_path: Path) -> None:
    html = overview_html(tmp_path, analytics_url=None)
    assert "dead_letters" not in html and "lagt til side" not in html
