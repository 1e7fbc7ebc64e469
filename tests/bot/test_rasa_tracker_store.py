"""CPR numbers are masked before Rasa's SQL tracker store writes a row (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_tracker_store import MaskingSQLTrackerStore
from tests.conftest import require_service

DOMAIN = Domain.load("domain.yml")


def store_for(backend: str, tmp_path: Path) -> MaskingSQLTrackerStore:
    if backend == "sqlite":
        return MaskingSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    require_service("PostgreSQL", 5432)
    return MaskingSQLTrackerStore(
        DOMAIN, dialect="postgresql", host="127.0.0.1", port=5432, db="test", username="postgres"
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_raw_rows_hold_no_cpr_number(backend: str, tmp_path: Path) -> None:
    store = store_for(backend, tmp_path)
    sender = f"cpr-test-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_listen"),
            UserUttered(
                "min søn er 8, cpr 010116-1234",
                {"name": "inform", "confidence": 1.0},
                parse_data={"text": "min søn er 8, cpr 010116-1234", "intent": {"name": "inform"}},
            ),
            BotUttered("Tak"),
        ],
        DOMAIN.slots,
    )
    asyncio.run(store.save(tracker))
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT data FROM events WHERE sender_id = :s"), {"s": sender}).fetchall()
    raw = " ".join(row[0] for row in rows)
    assert len(rows) == 3
    assert "010116" not in raw and "CPR-nummer fjernet" in raw
    restored = asyncio.run(store.retrieve(sender))
    assert restored is not None and restored.latest_message is not None
    assert restored.latest_message.text == "min søn er 8, cpr [CPR-nummer fjernet]"
    assert tracker.latest_message is not None and "010116" in (tracker.latest_message.text or "")


def test_tracker_without_cpr_is_saved_as_is(tmp_path: Path) -> None:
    store = store_for("sqlite", tmp_path)
    tracker = DialogueStateTracker.from_events("plain", [UserUttered("hej")], DOMAIN.slots)
    asyncio.run(store.save(tracker))
    restored = asyncio.run(store.retrieve("plain"))
    assert restored is not None and restored.latest_message is not None
    assert restored.latest_message.text == "hej"
