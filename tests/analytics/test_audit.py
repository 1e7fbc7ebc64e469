"""The audit log's table on SQLite and PostgreSQL (the same SQLAlchemy code), and its retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from bot.analytics.audit import AuditEntry, AuditLog, AuditWriteError
from bot.analytics.retention import Stores, purge
from bot.analytics.store import TrackerEvents
from bot.config import Settings
from bot.web.app import create_app
from tests.analytics.conftest import Backend
from tests.analytics.test_retention import DAY, count, plain

NOW = dt.datetime.now(dt.timezone.utc)
PROJECT = Path(__file__).resolve().parents[2]


def read(at: dt.datetime, username: str = "lars", conversation: str = "c1") -> AuditEntry:
    return AuditEntry(
        at=at, username=username, roles=("analyst",), what="transcript", conversation_id=conversation
    )


def test_rows_come_back_newest_first_filtered_and_counted(backend: Backend) -> None:
    log = AuditLog(backend.url, table_prefix=backend.draft_prefix)
    assert log.entries() == [] and log.count() == 0 and log.usernames() == []
    export = AuditEntry(
        at=NOW,
        username="mona",
        roles=("admin", "analyst"),
        what="export",
        export="samtaler.csv",
        filters=(("since", "2026-01-01"), ("channel", "citizen")),
    )
    log.record(read(NOW - dt.timedelta(hours=2)))
    log.record(export)
    log.record(read(NOW - dt.timedelta(hours=1), conversation="c2"))
    newest = log.entries()
    assert [e.what for e in newest] == ["export", "transcript", "transcript"]
    assert newest[0] == export, "as written, the time in UTC"
    assert [e.conversation_id for e in log.entries(username="lars")] == ["c2", "c1"]
    assert log.count(username="lars") == 2 and log.count(conversation_id="c1") == 1
    assert [e.conversation_id for e in log.entries(offset=1, limit=1)] == ["c2"]
    assert log.usernames() == ["lars", "mona"]
    log.close()


def test_an_entry_names_a_conversation_or_an_export_never_both() -> None:
    with pytest.raises(ValueError):
        AuditEntry(at=NOW, username="lars", roles=(), what="transcript")
    with pytest.raises(ValueError):
        AuditEntry(at=NOW, username="lars", roles=(), what="export", export="x.csv", conversation_id="c")


def test_opening_the_log_creates_no_database_file(tmp_path: Path) -> None:
    path = tmp_path / "var" / "tracker.db"
    log = AuditLog(f"sqlite:///{path}")
    assert log.entries() == [] and log.delete_older_than(NOW) == 0 and not path.exists()
    log.record(read(NOW))
    assert path.exists() and log.count() == 1
    log.close()


def test_a_write_that_fails_raises_audit_write_error(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "audit.db").mkdir()  # a directory where the database file should be
    log = AuditLog(f"sqlite:///{tmp_path / 'ro' / 'audit.db'}")
    with pytest.raises(AuditWriteError):
        log.record(read(NOW))
    log.close()


def test_a_dropped_table_refuses_one_write_and_is_made_again_for_the_next(tmp_path: Path) -> None:
    log = AuditLog(f"sqlite:///{tmp_path / 'audit.db'}")
    log.record(read(NOW))
    log.table.drop(log.engine)  # e.g. a restore from a backup taken before the first read
    with pytest.raises(AuditWriteError):
        log.record(read(NOW))
    log.record(read(NOW, conversation="c2"))
    assert [e.conversation_id for e in log.entries()] == ["c2"]
    log.close()


def test_retention_deletes_audit_rows_past_their_own_period_only(backend: Backend) -> None:
    log = AuditLog(backend.url)
    for days in (200, 181, 179, 10):
        log.record(read(NOW - dt.timedelta(days=days), conversation=f"c{days}"))
    stores = Stores(TrackerEvents(backend.url), audit=log)
    untouched = purge(stores, now=NOW, conversation_days=90)  # no audit period: the log is left alone
    assert untouched.audit_rows == 0 and log.count() == 4
    deleted = purge(stores, now=NOW, conversation_days=90, audit_days=180)
    assert deleted.audit_rows == 2
    assert [e.conversation_id for e in log.entries()] == ["c10", "c179"]
    stores.close()


def test_the_web_app_deletes_old_audit_rows_while_it_runs(backend: Backend, tmp_path: Path) -> None:
    log = AuditLog(backend.url)
    log.record(read(NOW - dt.timedelta(days=200), conversation="old"))
    log.record(read(NOW - dt.timedelta(days=100), conversation="kept"))
    recent = f"new-{uuid.uuid4().hex}"
    backend.save(recent, plain(time.time() - 100 * DAY).events)  # older than the conversations' 90 days
    config = Settings(
        database_url=f"sqlite:///{tmp_path / 'drafts.db'}",
        key=Fernet.generate_key(),
        session_key=Fernet.generate_key(),
        accounts_file=str(tmp_path / "accounts.yml"),
        tracker_database_url=backend.url,  # the embedded profile: the audit log lives beside Rasa's events
        conversation_retention_days=90,
        audit_retention_days=180,
    )

    async def run_app_until_deleted() -> None:
        async with TestClient(TestServer(create_app(config))):
            for _ in range(200):  # the job runs once at start-up, in a thread
                if log.count() == 1 and count(backend, recent) == 0:
                    return
                await asyncio.sleep(0.05)

    asyncio.run(run_app_until_deleted())
    assert [e.conversation_id for e in log.entries()] == ["kept"], "kept longer than the conversations"
    assert count(backend, recent) == 0
    log.close()


def test_the_retention_command_deletes_old_audit_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    log = AuditLog(url)
    log.record(read(NOW - dt.timedelta(days=31), conversation="old"))
    log.record(read(NOW - dt.timedelta(days=29), conversation="kept"))
    env = {
        **os.environ,
        "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": url,
        "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": f"sqlite:///{tmp_path / 'drafts.db'}",
        "TRAENINGSGUIDEN_DRAFT_KEY": Fernet.generate_key().decode(),
        "TRAENINGSGUIDEN_AUDIT_RETENTION_DAYS": "30",
    }
    env.pop("TRAENINGSGUIDEN_ANALYTICS_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "retention"], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "audit=1" in done.stdout
    assert [e.conversation_id for e in log.entries()] == ["kept"]
    log.close()
