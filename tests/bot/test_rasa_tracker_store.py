"""CPR numbers are masked before Rasa's SQL tracker store writes a row (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

import bot.rasa_tracker_store as tracker_store_module
from bot.privacy import mask_cpr
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


def _turn(text: str) -> list[Any]:
    return [
        UserUttered(
            text,
            {"name": "inform", "confidence": 1.0},
            parse_data={"text": text, "intent": {"name": "inform"}},
        ),
        ActionExecuted("action_turn"),
        BotUttered(f"Svar på: {text}"),
        ActionExecuted("action_listen"),
    ]


def test_a_save_masks_and_writes_only_the_events_it_adds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cost of a save follows the new events, not the conversation (issue 9): a long conversation,
    a CPR number in its first message, and the last save reads only the last turn's strings."""
    store = store_for("sqlite", tmp_path)
    masked: list[str] = []

    def counting_mask(text: str) -> tuple[str, bool]:
        masked.append(text)
        return mask_cpr(text)

    monkeypatch.setattr(tracker_store_module, "mask_cpr", counting_mask)
    tracker = DialogueStateTracker.from_events("long", [ActionExecuted("action_listen")], DOMAIN.slots)
    for i in range(30):
        for event in _turn("cpr 010116-1234" if i == 0 else f"besked nummer {i}"):
            tracker.update(event)
        masked.clear()
        asyncio.run(store.save(tracker))
    assert "besked nummer 29" in masked and "Svar på: besked nummer 29" in masked
    assert not any("besked nummer 28" in text or "010116" in text for text in masked)
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT type_name, intent_name, action_name, data FROM events WHERE sender_id = 'long'")
        ).fetchall()
    assert len(rows) == 1 + 30 * 4  # each event written once
    assert [r[0] for r in rows[1:5]] == ["user", "action", "bot", "action"]
    assert rows[1][1] == "inform" and rows[2][2] == "action_turn"
    assert "010116" not in " ".join(r[3] for r in rows)
    restored = asyncio.run(store.retrieve("long"))
    assert restored is not None and len(restored.events) == len(tracker.events)


def test_the_event_broker_gets_each_new_event_once_and_masked(tmp_path: Path) -> None:
    """With a broker configured, each save publishes exactly its new events, masked, after storing them."""
    broker = SQLEventBroker(db=str(tmp_path / "broker.db"))
    store = MaskingSQLTrackerStore(
        DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"), event_broker=broker
    )
    tracker = DialogueStateTracker.from_events("brokered", [ActionExecuted("action_listen")], DOMAIN.slots)
    for text in ("min datter er 8, cpr 0202161234", "nej"):
        for event in _turn(text):
            tracker.update(event)
        asyncio.run(store.save(tracker))
    with broker.engine.connect() as conn:
        published = [
            json.loads(row[0]) for row in conn.execute(sa.text("SELECT data FROM events ORDER BY id"))
        ]
    assert [e["event"] for e in published] == ["action", *["user", "action", "bot", "action"] * 2]
    assert all(e["sender_id"] == "brokered" for e in published)
    assert "0202161234" not in json.dumps(published) and "CPR-nummer fjernet" in published[1]["text"]


def test_a_database_error_passes_rasas_fail_safe_wrapper_instead_of_a_new_conversation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Rasa wraps every store in FailSafeTrackerStore, which turns a failed read into a new
    conversation and a failed write into per-process memory; ours ends the turn instead."""
    from rasa.core.tracker_store import FailSafeTrackerStore

    from bot.rasa_tracker_store import STORE_HEALTH, TrackerStoreUnavailable

    store = store_for("sqlite", tmp_path)
    wrapped = FailSafeTrackerStore(store)  # as rasa.core.agent.Agent wraps it
    sender = f"store-down-{uuid.uuid4().hex}"
    said = "min mor på 82 er faldet, cpr 010140-1234"
    tracker = DialogueStateTracker.from_events(
        sender,
        [ActionExecuted("action_listen"), UserUttered(said, {"name": "inform", "confidence": 1.0})],
        DOMAIN.slots,
    )
    asyncio.run(wrapped.save(tracker))
    with store.engine.begin() as conn:  # a real database error: the events table is gone
        conn.execute(sa.text("ALTER TABLE events RENAME TO events_away"))
    before = STORE_HEALTH.errors
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(wrapped.retrieve(sender))  # Rasa's own store: None, a new conversation
    tracker.update(BotUttered("Tak"))
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(wrapped.save(tracker))  # Rasa's own store: kept in this process's memory
    assert wrapped._fallback_tracker_store is None  # nothing went to memory
    assert STORE_HEALTH.errors == before + 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 2 and all("tracker_store." in e for e in errors)
    assert not any("mor" in e or "010140" in e or sender in e for e in errors)
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE events_away RENAME TO events"))
    restored = asyncio.run(wrapped.retrieve(sender))  # the database back: the stored turn, not half the next
    assert restored is not None and [e.type_name for e in restored.events][-1] == "user"


def test_sqlite_store_keeps_its_connection_journals_ahead_and_stays_durable(tmp_path: Path) -> None:
    """A pooled connection in WAL mode, synchronous FULL (a saved message survives a power cut);
    what the store saves, another connection reads, and the store reads it back."""
    store = store_for("sqlite", tmp_path)
    assert type(store.engine.pool).__name__ == "QueuePool"
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    for text in ("hej", "min søn er 8"):
        tracker = asyncio.run(store.retrieve("wal")) or DialogueStateTracker("wal", DOMAIN.slots)
        for event in _turn(text):
            tracker.update(event)
        asyncio.run(store.save(tracker))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM events WHERE sender_id = 'wal'").scalar() == 8
    engine.dispose()
    restored = asyncio.run(store.retrieve("wal"))
    assert restored is not None and [e.text for e in restored.events if isinstance(e, UserUttered)] == [
        "hej",
        "min søn er 8",
    ]
