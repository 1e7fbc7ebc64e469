"""bot/rasa_tracker_store.py: the per-process cache of stored conversations (issue 9) answers exactly
what Rasa's own SQLTrackerStore reads from the database, on SQLite and on PostgreSQL.

Every retrieve is compared with Rasa's full read (a plain `SQLTrackerStore` on the same database):
after this store's saves, after another store instance (another Sanic worker or replica) appended
events, after a new session, after retention deleted the conversation (and the same sender id
wrote again, reusing SQLite's row ids), after a row was deleted in the middle. The counts of
incremental and full reads show the cache was used where it may be, and not where it may not.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    EntitiesAdded,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from bot.analytics.store import TrackerEvents
from bot.rasa_tracker_store import MaskingSQLTrackerStore
from tests.conftest import require_service

DOMAIN = Domain.load("domain.yml")


class Db:
    """One database (a SQLite file, or a PostgreSQL schema of the test's own) and its URL."""

    def __init__(self, url: str) -> None:
        self.url = url

    def store(self, **kwargs: Any) -> MaskingSQLTrackerStore:
        return MaskingSQLTrackerStore(DOMAIN, host=self.url, **kwargs)

    def rasa(self) -> SQLTrackerStore:
        """Rasa's own store on the same database: the reference every retrieve is compared with."""
        return SQLTrackerStore(DOMAIN, host=self.url)

    def raw(self, sql: str, **params: Any) -> list[Any]:
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as conn:
                result = conn.execute(sa.text(sql), params)
                return list(result.fetchall()) if result.returns_rows else []
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        yield Db(f"sqlite:///{tmp_path / 'tracker.db'}")
        return
    require_service("PostgreSQL", 5432)
    from tests.live import pg_schema

    with pg_schema("trackercache") as (_, url):
        yield Db(url)


def turn(text: str, n: int, **extra_slots: Any) -> list[Event]:
    """One turn as Rasa logs it: the message, the action, a reply, slot events, listening."""
    return [
        UserUttered(
            text,
            {"name": "inform", "confidence": 0.9},
            [{"entity": "age", "value": n, "start": 0, "end": 1}],
            parse_data={
                "text": text,
                "intent": {"name": "inform", "confidence": 0.9},
                "entities": [{"entity": "age", "value": n, "start": 0, "end": 1}],
                "intent_ranking": [
                    {"name": "inform", "confidence": 0.9},
                    {"name": "deny", "confidence": 0.1},
                ],
            },
            input_channel="rest",
            metadata={"municipality": "ballerup"},
        ),
        DefinePrevUserUtteredFeaturization(False),
        ActionExecuted("action_turn", policy="RulePolicy", confidence=1.0),
        BotUttered(f"Svar på: {text}", {"custom": {"question": {"fact": f"f{n}", "options": [1, 2]}}}),
        SlotSet("facts", {f"f{i}": {"value": i} for i in range(n + 1)}),
        SlotSet("order", [f"f{i}" for i in range(n + 1)]),
        SlotSet("misses", 0.0),
        *(SlotSet(name, value) for name, value in extra_slots.items()),
        ActionExecuted("action_listen"),
    ]


def session_start() -> list[Event]:
    return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]


def state(tracker: DialogueStateTracker | None) -> Any:
    """Everything a tracker holds: each event in full, the state Rasa derives from them."""
    if tracker is None:
        return None
    return (
        tracker.sender_id,
        [type(e).__name__ for e in tracker.events],
        [e.as_dict() for e in tracker.events],
        tracker.current_state(EventVerbosity.ALL),
    )


def same_as_rasa(
    store: MaskingSQLTrackerStore, reference: SQLTrackerStore, sender: str
) -> DialogueStateTracker | None:
    ours = asyncio.run(store.retrieve(sender))
    assert state(ours) == state(asyncio.run(reference.retrieve(sender)))
    return ours


def play(store: MaskingSQLTrackerStore, sender: str, events: list[Event]) -> DialogueStateTracker:
    """One turn as Rasa's processor does it: retrieve (or a new tracker), add the events, save."""
    tracker = asyncio.run(store.retrieve(sender)) or DialogueStateTracker(sender, DOMAIN.slots)
    for event in events:
        tracker.update(event)
    asyncio.run(store.save(tracker))
    return tracker


def rows(db: Db, sender: str) -> int:
    return int(db.raw("SELECT count(*) FROM events WHERE sender_id = :s", s=sender)[0][0])


def test_a_conversation_is_read_incrementally_and_equals_rasas_full_read(db: Db) -> None:
    store, reference = db.store(), db.rasa()
    sender = f"c-{uuid.uuid4().hex}"
    assert asyncio.run(store.retrieve(sender)) is None
    play(store, sender, session_start())
    for n in range(6):
        text = "min søn er 8, cpr 010116-1234" if n == 0 else f"besked {n}"
        play(store, sender, turn(text, n))
        ours = same_as_rasa(store, reference, sender)
        assert ours is not None and ours.get_slot("order") == [f"f{i}" for i in range(n + 1)]
    assert store.reads["full"] == 1 and store.reads["incremental"] >= 7
    assert rows(db, sender) == 3 + 6 * len(turn("x", 0))
    first = next(e for e in ours.events if isinstance(e, UserUttered))
    assert first.text == "min søn er 8, cpr [CPR-nummer fjernet]"  # masked as stored
    assert "010116" not in str(db.raw("SELECT data FROM events WHERE sender_id = :s", s=sender))


def test_each_retrieve_is_a_fresh_tracker_that_rasa_may_change(db: Db) -> None:
    """Rasa changes the tracker it gets, and some events in it (entities, featurization, metadata)."""
    store, reference = db.store(), db.rasa()
    sender = f"fresh-{uuid.uuid4().hex}"
    play(store, sender, session_start() + turn("hej", 1))
    first = asyncio.run(store.retrieve(sender))
    assert first is not None
    latest = first.latest_message
    assert latest is not None
    first.update(EntitiesAdded([{"entity": "x", "value": "y"}]))
    latest.entities.append({"entity": "z", "value": 1})
    latest.parse_data["intent"]["name"] = "changed"  # type: ignore[index]
    latest.metadata["model_id"] = "changed"
    first.update(SlotSet("facts", {"changed": True}))
    first.get_slot("order").append("changed")
    for event in first.events:
        event.timestamp = 0.0
    second = same_as_rasa(store, reference, sender)
    assert second is not None and second is not first
    assert second.latest_message is not latest and second.get_slot("facts") != {"changed": True}
    assert store.reads["incremental"] >= 1


def test_events_another_process_appended_are_read_and_not_stored_twice(db: Db) -> None:
    """Two workers (or replicas) serve one conversation: each sees what the other stored."""
    a, b, reference = db.store(), db.store(), db.rasa()
    sender = f"two-{uuid.uuid4().hex}"
    play(a, sender, session_start() + turn("hej", 0))
    play(b, sender, turn("fra den anden", 1))  # b reads a's events (its first, full read) and adds
    same_as_rasa(a, reference, sender)
    assert a.reads["incremental"] >= 1
    play(a, sender, turn("igen her", 2))
    play(b, sender, turn("og der", 3))
    play(b, sender, turn("og der igen", 4))
    tracker = same_as_rasa(a, reference, sender)
    same_as_rasa(b, reference, sender)
    assert rows(db, sender) == 3 + 5 * len(turn("x", 0))  # each event stored once
    assert tracker is not None and [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        "hej",
        "fra den anden",
        "igen her",
        "og der",
        "og der igen",
    ]


def test_a_save_of_a_tracker_behind_the_database_stores_what_rasa_would(db: Db) -> None:
    """Another process saved in between (no lock): the save counts the rows as Rasa's does."""
    a, b, reference = db.store(), db.store(), db.rasa()
    rasa_sender, our_sender = f"r-{uuid.uuid4().hex}", f"o-{uuid.uuid4().hex}"
    for sender, store in ((rasa_sender, reference), (our_sender, a)):
        asyncio.run(
            store.save(
                DialogueStateTracker.from_events(sender, session_start() + turn("hej", 0), DOMAIN.slots)
            )
        )
        tracker = asyncio.run(store.retrieve(sender))
        assert tracker is not None
        other = asyncio.run((reference if store is reference else b).retrieve(sender))
        assert other is not None
        for event in turn("den anden", 1):
            other.update(event)
        asyncio.run((reference if store is reference else b).save(other))
        for event in turn("min", 2) + turn("min igen", 3):
            tracker.update(event)
        asyncio.run(store.save(tracker))
    assert rows(db, our_sender) == rows(db, rasa_sender)
    ours = same_as_rasa(a, reference, our_sender)
    theirs = asyncio.run(reference.retrieve(rasa_sender))
    assert ours is not None and theirs is not None
    assert [e.as_dict()["event"] for e in ours.events] == [e.as_dict()["event"] for e in theirs.events]


def test_a_new_session_is_read_as_rasa_reads_it(db: Db) -> None:
    """Only the events since the latest session start, whoever wrote it."""
    a, b, reference = db.store(), db.store(), db.rasa()
    sender = f"s-{uuid.uuid4().hex}"
    play(a, sender, session_start() + turn("første", 0) + turn("anden", 1))
    play(a, sender, session_start() + turn("ny session", 2, topic="skole"))
    tracker = same_as_rasa(a, reference, sender)
    assert tracker is not None and [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        "ny session"
    ]
    play(b, sender, turn("hos b", 3))
    play(b, sender, session_start() + turn("tredje session", 4))
    tracker = same_as_rasa(a, reference, sender)
    assert tracker is not None and [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        "tredje session"
    ]
    play(a, sender, turn("videre", 5))
    same_as_rasa(a, reference, sender)
    same_as_rasa(b, reference, sender)
    assert a.reads["full"] == 1


def test_a_deleted_conversation_is_never_read_from_the_cache(db: Db) -> None:
    """Retention (`python -m bot retention`, forget) deletes the rows; the cache must not bring them back,
    not even when the same sender id writes as many events again (SQLite reuses the deleted row ids)."""
    a, b, reference = db.store(), db.store(), db.rasa()
    sender = f"del-{uuid.uuid4().hex}"
    play(a, sender, session_start() + turn("gammel samtale, cpr 010116-1234", 0))
    assert asyncio.run(a.retrieve(sender)) is not None
    ids_before = [r[0] for r in db.raw("SELECT id FROM events WHERE sender_id = :s ORDER BY id", s=sender)]
    tracker_events = TrackerEvents(db.url)
    assert tracker_events.delete_conversation(sender) == len(ids_before)
    # written again by another process before this one reads: as many events, of the same types
    time.sleep(0.01)
    again = DialogueStateTracker.from_events(sender, session_start() + turn("ny samtale", 0), DOMAIN.slots)
    asyncio.run(b.save(again))
    ids_after = [r[0] for r in db.raw("SELECT id FROM events WHERE sender_id = :s ORDER BY id", s=sender)]
    if db.url.startswith("sqlite"):
        assert ids_after == ids_before  # the same ids, so only the last row's timestamp differs
    tracker = same_as_rasa(a, reference, sender)
    assert tracker is not None and [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        "ny samtale"
    ]
    assert a.reads["full"] == 2
    tracker_events.delete_conversation(sender)
    assert same_as_rasa(a, reference, sender) is None
    # deleted between this store's retrieve and its save: the save stores what Rasa's would
    play(a, sender, session_start() + turn("tredje", 1))
    held = asyncio.run(a.retrieve(sender))
    assert held is not None
    tracker_events.delete_conversation(sender)
    for event in turn("efter sletningen", 8):
        held.update(event)
    asyncio.run(a.save(held))
    assert rows(db, sender) == len(held.events)
    same_as_rasa(a, reference, sender)
    tracker_events.close()


def test_a_row_deleted_in_the_middle_is_noticed(db: Db) -> None:
    a, reference = db.store(), db.rasa()
    sender = f"mid-{uuid.uuid4().hex}"
    play(a, sender, session_start() + turn("en", 0) + turn("to", 1))
    assert asyncio.run(a.retrieve(sender)) is not None
    db.raw(
        "DELETE FROM events WHERE id = (SELECT min(id) FROM events WHERE sender_id = :s AND type_name = 'user')",
        s=sender,
    )
    tracker = same_as_rasa(a, reference, sender)
    assert tracker is not None and [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["to"]
    play(a, sender, turn("tre", 2))
    same_as_rasa(a, reference, sender)


def test_a_row_rasa_cannot_read_fails_the_retrieve_as_rasas_and_the_save_counts_as_rasas(db: Db) -> None:
    a, reference = db.store(), db.rasa()
    stored = {}
    for store in (a, reference):
        sender = f"bad-{uuid.uuid4().hex}"
        play(store, sender, session_start() + turn("en", 0))
        held = asyncio.run(store.retrieve(sender))
        assert held is not None
        db.raw(
            "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'bot', :t, NULL)",
            s=sender,
            t=time.time(),
        )
        with pytest.raises(TypeError):  # json.loads(None); (text that is not JSON: Rasa exits)
            asyncio.run(store.retrieve(sender))
        for event in turn("to", 1):
            held.update(event)
        asyncio.run(store.save(held))  # Rasa's save does not read the rows: neither does this one
        stored[store] = rows(db, sender)
    assert stored[a] == stored[reference]
    assert a.reads["counted"] == 1


def test_the_cache_is_bounded_and_an_evicted_conversation_is_read_in_full(db: Db) -> None:
    store, reference = db.store(cached_senders=2), db.rasa()
    senders = [f"lru{i}-{uuid.uuid4().hex}" for i in range(4)]
    for sender in senders:
        play(store, sender, session_start() + turn("hej", 0))
    assert len(store.cached) == 2
    for sender in senders:
        play(store, sender, turn("igen", 1))
        same_as_rasa(store, reference, sender)
    assert len(store.cached) <= 2
    tiny = db.store(cached_bytes=1)  # nothing fits: every read is a full read
    for sender in senders:
        same_as_rasa(tiny, reference, sender)
    assert len(tiny.cached) == 0 and tiny.reads["incremental"] == 0


def test_the_full_tracker_of_all_sessions_is_rasas(db: Db) -> None:
    store, reference = db.store(), db.rasa()
    sender = f"all-{uuid.uuid4().hex}"
    play(store, sender, session_start() + turn("en", 0))
    play(store, sender, session_start() + turn("to", 1))
    assert state(asyncio.run(store.retrieve_full_tracker(sender))) == state(
        asyncio.run(reference.retrieve_full_tracker(sender))
    )
