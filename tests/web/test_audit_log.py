"""The audit log of analysts' reads (issue 10), through the real aiohttp app on real SQLite files.

Every read of a transcript and every CSV export writes one row (who, when, which conversation or
which export, no content) before anything is sent; the admin role reads the log at
/analyse/adgangslog; if the row cannot be written, nothing is shown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from html import unescape
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from bot.analytics.audit import AuditEntry, AuditLog
from bot.config import Settings
from bot.web import auth
from bot.web.app import create_app
from tests.analytics.events import Conversation
from tests.web.test_analyst_pages import ingest, save_tracker
from tests.web.test_auth import log_in

T = TypeVar("T")
PASSWORD = "en lang og hemmelig kode 9"
SECRET = "Min datter Åse har leddegigt og falder tit"  # what a citizen said: never in the audit log
SENDER = "web-3f9c2a7e-audit"
ROLES = {"lars": {"analyst"}, "ida": {"admin"}, "mona": {"analyst", "admin"}, "anne": {"staff"}}


def write_accounts(path: Path) -> None:
    auth.save_accounts(
        path,
        {
            name: auth.Account(
                name, name.title(), name[:2].upper(), frozenset(roles), auth.hash_password(PASSWORD)
            )
            for name, roles in ROLES.items()
        },
    )


def settings(tmp_path: Path, *, consumer: bool = False) -> Settings:
    accounts = tmp_path / "accounts.yml"
    if not accounts.exists():
        write_accounts(accounts)
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'drafts.db'}",
        key=Fernet.generate_key(),
        accounts_file=str(accounts),
        session_key=Fernet.generate_key(),
        tracker_database_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        analytics_database_url=f"sqlite:///{tmp_path / 'analytics.db'}" if consumer else None,
    )


def run(config: Settings, scenario: Callable[[TestClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with TestClient(TestServer(create_app(config))) as client:
            return await scenario(client)

    return asyncio.run(main())


async def get(client: TestClient, path: str) -> tuple[int, str, str]:
    async with client.get(path, allow_redirects=False) as response:
        return response.status, response.content_type, await response.text()


def rows(config: Settings) -> list[dict[str, Any]]:
    """The audit table as stored, every column."""
    engine = sa.create_engine(config.audit_database_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM audit_log ORDER BY id"))]
    finally:
        engine.dispose()


def seeded(tmp_path: Path) -> Settings:
    config = settings(tmp_path)
    conversation = (
        Conversation(time.time() - 3600, channel="citizen", municipality="ballerup")
        .user(SECRET)
        .action("action_out_of_scope")
    )
    save_tracker(config.tracker_database_url, SENDER, conversation)
    return config


def test_reading_a_transcript_writes_one_row_naming_the_reader_and_the_conversation(tmp_path: Path) -> None:
    config = seeded(tmp_path)
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)

    async def scenario(client: TestClient) -> tuple[int, str]:
        await log_in(client, "lars", PASSWORD)
        await get(client, "/analyse/samtaler")  # the list is not a read of a conversation
        status, _, html = await get(client, f"/analyse/samtaler/{SENDER}")
        return status, html

    status, html = run(config, scenario)
    assert status == 200 and SECRET in unescape(html), "the analyst reads the transcript"
    (row,) = rows(config)
    assert (row["username"], row["roles"], row["what"], row["conversation_id"]) == (
        "lars",
        "analyst",
        "transcript",
        SENDER,
    )
    assert row["export"] is None and row["filters"] is None
    assert (
        before
        <= dt.datetime.fromisoformat(str(row["at"]))
        <= dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    )
    stored = " ".join(str(v) for v in row.values())
    assert all(word not in stored for word in ("Åse", "leddegigt", "datter")), "no content"


@pytest.mark.parametrize("export", ["samtaler.csv", "ikke-forstaaet.csv", "overblik.csv", "tragt.csv"])
def test_an_export_writes_one_row_with_its_file_and_filters(tmp_path: Path, export: str) -> None:
    config = settings(tmp_path, consumer=True)
    ingest(
        str(config.analytics_database_url),
        {
            SENDER: Conversation(time.time() - 3600, channel="citizen")
            .user(SECRET)
            .action("action_out_of_scope")
        },
    )

    async def scenario(client: TestClient) -> tuple[int, str, str]:
        await log_in(client, "mona", PASSWORD)
        return await get(client, f"/analyse/{export}?since=2026-01-01&channel=citizen&outcome=bogus")

    status, content_type, _ = run(config, scenario)
    assert status == 200 and content_type == "text/csv"
    (row,) = rows(config)
    assert (row["username"], row["roles"], row["what"], row["export"]) == (
        "mona",
        "admin,analyst",
        "export",
        export,
    )
    assert row["conversation_id"] is None
    assert parse_qs(row["filters"]) == {"since": ["2026-01-01"], "channel": ["citizen"], "outcome": ["bogus"]}
    assert SECRET not in " ".join(str(v) for v in row.values())


def test_the_admin_sees_every_read_newest_first_with_no_content(tmp_path: Path) -> None:
    config = seeded(tmp_path)

    async def scenario(client: TestClient) -> tuple[int, str]:
        await log_in(client, "lars", PASSWORD)
        await get(client, f"/analyse/samtaler/{SENDER}")
        await get(client, "/analyse/samtaler.csv?channel=staff")
        client.session.cookie_jar.clear()
        status, location = await log_in(client, "ida", PASSWORD)
        assert (status, location) == (303, "/analyse/adgangslog"), "the admin's home page"
        status, _, html = await get(client, "/analyse/adgangslog")
        return status, html

    status, html = run(config, scenario)
    assert status == 200
    page = unescape(html)
    assert "<h1>Adgangslog</h1>" in page and "<caption>" in page
    table = page.split('<table id="audit-log">', 1)[1].split("</table>", 1)[0]
    what = re.findall(r'<tr data-what="(\w+)">', table)
    assert what == ["export", "transcript"], "newest first"
    assert "Hentede samtaler.csv" in table and "Kanal: Medarbejder" in table
    assert "Åbnede en samtale" in table and SENDER in table and "Analytiker" in table
    assert SECRET not in page
    nav = page.split('<nav aria-label="Analyse">', 1)[1].split("</nav>", 1)[0]
    assert "Adgangslog" in nav and "Samtaler" not in nav, "an admin alone is offered the audit log only"


def test_an_analyst_without_admin_gets_the_danish_403_and_no_link(tmp_path: Path) -> None:
    config = seeded(tmp_path)

    async def scenario(client: TestClient) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
        await log_in(client, "lars", PASSWORD)
        return await get(client, "/analyse/adgangslog"), await get(client, "/analyse/samtaler")

    (status, _, html), (_, _, conversations) = run(config, scenario)
    assert status == 403 and "Ingen adgang" in html and SENDER not in html
    assert "/analyse/adgangslog" not in conversations


@pytest.mark.parametrize("path", [f"/analyse/samtaler/{SENDER}", "/analyse/samtaler.csv"])
def test_an_admin_without_analyst_reads_nothing_and_writes_no_row(tmp_path: Path, path: str) -> None:
    config = seeded(tmp_path)

    async def scenario(client: TestClient) -> tuple[int, str, str]:
        await log_in(client, "ida", PASSWORD)
        return await get(client, path)

    status, _, html = run(config, scenario)
    assert status == 403 and SECRET not in unescape(html)
    assert not AuditLog(config.audit_database_url).exists(), "no row, not even the table"


def test_the_log_filters_by_user_and_by_conversation_and_pages_like_the_conversations(tmp_path: Path) -> None:
    config = settings(tmp_path)
    log = AuditLog(config.audit_database_url)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    for i in range(120):
        log.record(
            AuditEntry(
                at=start + dt.timedelta(minutes=i),
                username="lars" if i % 2 else "mona",
                roles=("analyst",),
                what="transcript",
                conversation_id=f"c{i % 3}",
            )
        )
    log.close()
    base = "/analyse/adgangslog?bruger=lars"

    async def scenario(client: TestClient) -> list[str]:
        await log_in(client, "ida", PASSWORD)
        pages = [
            base,
            f"{base}&side=2",
            "/analyse/adgangslog?bruger=mona&samtale=c0",
            "/analyse/adgangslog?bruger=nobody",
        ]
        return [(await get(client, p))[2] for p in pages]

    first, second, both, nobody = (unescape(p) for p in run(config, scenario))

    def times(html: str) -> list[str]:
        return re.findall(r'<time datetime="([^"]+)"', html)

    assert "Viser 1-50 af 60 opslag." in first and "Viser 51-60 af 60 opslag." in second
    assert len(times(first)) == 50 and len(times(second)) == 10
    assert times(first) + times(second) == sorted(times(first) + times(second), reverse=True)
    assert "<td>mona</td>" not in first + second
    found = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert found, "a link to the next page"
    link = urlsplit(found.group(1))
    assert (link.path, parse_qs(link.query)) == ("/analyse/adgangslog", {"bruger": ["lars"], "side": ["2"]})
    assert '<option value="lars" selected>lars</option>' in first, "the chosen user stays chosen"
    # mona read c0 at i = 0, 6, 12, ... (even and a multiple of 3): 20 reads
    assert "Viser 1-20 af 20 opslag." in both and set(re.findall(r">(c\d)</a>", both)) == {"c0"}
    assert "Ingen opslag passer til filtrene." in nobody


def refuse_inserts(config: Settings) -> None:
    """Make the database itself refuse every new audit row (as a full disk or a revoked grant would)."""
    engine = sa.create_engine(config.audit_database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit log is read-only'); END"
            )
        )
    engine.dispose()


@pytest.mark.parametrize("path", [f"/analyse/samtaler/{SENDER}", "/analyse/samtaler.csv"])
def test_when_the_row_cannot_be_written_nothing_is_shown(tmp_path: Path, path: str) -> None:
    config = seeded(tmp_path)

    async def scenario(client: TestClient) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
        await log_in(client, "lars", PASSWORD)
        shown = await get(client, path)  # the table exists now, with one row
        refuse_inserts(config)
        return shown, await get(client, path)

    (status, _, _), (refused, content_type, html) = run(config, scenario)
    assert status == 200
    assert refused == 503 and content_type == "text/html"
    assert "Vi kan ikke skrive i adgangsloggen lige nu" in unescape(html)
    assert SECRET not in unescape(html) and SENDER not in html
    assert len(rows(config)) == 1, "only the first read is logged, and only it was shown"
