"""Tracker stores for analytics tests: Rasa's own SQL store on SQLite or on a fresh PostgreSQL schema."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bot.drafts.store import DraftStore
from bot.rasa_tracker_store import MaskingSQLTrackerStore
from tests.conftest import require_service
from tests.live import PG_URL


class Backend:
    """One tracker database: Rasa writes it, `url` reads it (SQLite file or PostgreSQL schema)."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        from rasa.shared.core.domain import Domain

        self.kind = kind
        self.domain = Domain.load("domain.yml")
        if kind == "sqlite":
            self.url = f"sqlite:///{tmp_path / 'tracker.db'}"
            self.rasa = MaskingSQLTrackerStore(self.domain, dialect="sqlite", db=str(tmp_path / "tracker.db"))
            self.schema: str | None = None
        else:
            require_service("PostgreSQL", 5432)
            self.schema = f"analytics_{uuid.uuid4().hex[:12]}"
            with sa.create_engine(PG_URL).begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {self.schema}"))
            self.url = f"{PG_URL}?options=-csearch_path%3D{self.schema}"
            self.rasa = MaskingSQLTrackerStore(
                self.domain,
                dialect="postgresql",
                host="127.0.0.1",
                port=5432,
                db="test",
                username="postgres",
                query={"options": f"-csearch_path={self.schema}"},
            )
        self.draft_url = self.url
        self.draft_prefix = f"t{uuid.uuid4().hex[:8]}_"

    def save(self, sender: str, events: Sequence[dict[str, Any]]) -> None:
        """Save a conversation through Rasa's tracker store (masking included)."""
        from rasa.shared.core.trackers import DialogueStateTracker

        tracker = DialogueStateTracker.from_dict(sender, list(events), self.domain.slots)
        asyncio.run(self.rasa.save(tracker))

    def drafts(self) -> DraftStore:
        return DraftStore(self.draft_url, key=Fernet.generate_key(), table_prefix=self.draft_prefix)

    def raw(self, sql: str, **params: Any) -> list[Any]:
        with self.rasa.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).fetchall())

    def close(self) -> None:
        self.rasa.engine.dispose()
        if self.schema:
            with sa.create_engine(PG_URL).begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {self.schema} CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = Backend(request.param, tmp_path)
    try:
        yield made
    finally:
        made.close()


# --- a database seeded through the real bot (Rasa, action server, web app, RabbitMQ consumer) ---

ANALYST_PASSWORD = "lang analyse kode 7"
STAFF_PASSWORD = "lang personale kode 8"


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from bot.analytics.store import AnalyticsStore
    from bot.web import auth
    from tests.analytics.rabbit import ConsumerThread, delete_queue_and_exchange
    from tests.analytics.seed import Seed, Seeder, add_event_broker, reachable, seed
    from tests.live import MODEL, Servers

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does)")
    workdir = tmp_path_factory.mktemp("analytics-live")
    accounts = workdir / "accounts.yml"
    auth.save_accounts(
        accounts,
        {
            "lars": auth.Account(
                "lars", "Lars Holm", "LH", frozenset({"analyst"}), auth.hash_password(ANALYST_PASSWORD)
            ),
            "anne": auth.Account(
                "anne", "Anne Berg", "AB", frozenset({"staff"}), auth.hash_password(STAFF_PASSWORD)
            ),
        },
    )
    servers = Servers(
        workdir,
        {
            "TRAENINGSGUIDEN_ACCOUNTS": str(accounts),
            "TRAENINGSGUIDEN_SESSION_KEY": Fernet.generate_key().decode(),
        },
    )
    consumer = queue = exchange = None
    if reachable(5672):
        suffix = uuid.uuid4().hex[:8]
        queue, exchange = f"tg_seed_{suffix}", f"tg-seed-{suffix}"
        add_event_broker(servers, queue, exchange)
        store = AnalyticsStore(f"sqlite:///{workdir / 'analytics.db'}")
        consumer = ConsumerThread(store, queue, exchange).start()
    elif __import__("os").environ.get("CI") == "true":
        pytest.fail("RabbitMQ on 127.0.0.1:5672 is required under CI")
    try:
        with servers.running():
            seeder = Seeder(servers)
            seed(seeder, restart_midway=consumer is not None)
            yield Seed(servers, seeder.observed, workdir, consumer, queue)
    finally:
        if consumer is not None:
            consumer.stop()
            consumer.consumer.store.close()
            delete_queue_and_exchange(str(queue), str(exchange))
