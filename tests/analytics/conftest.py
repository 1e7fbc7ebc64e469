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

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


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
