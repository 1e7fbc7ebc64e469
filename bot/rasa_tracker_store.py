"""Rasa's SQL tracker store with CPR numbers masked before anything is persisted.

Masking happens here, at the store, so no channel can bypass it: every event is
masked before it is written (and before it is streamed to an event broker).
The in-memory tracker of the running turn is not changed. Imports Rasa, like
bot/rasa_channel.py; the masking itself is `bot.privacy.mask_cpr`.

A save costs O(new events), not O(conversation): Rasa's own `save` reads the whole
stored conversation back to find what to stream to the broker, and masking the
tracker before it meant serialising every event on every turn. Here the events not
yet stored are found by counting the stored ones (as Rasa's `_additional_events` does), masked,
written in one transaction and then published to the broker, in that order.

A retrieve costs O(new events) too, mostly (issue 9): Rasa read the session's rows through its
ORM, parsed the JSON of each and deserialised every event on every message (16 ms at 20 turns).
The store keeps, per sender, what it last read or wrote (`StoredConversation`: the latest
session's events, deserialised and pickled, never a live object Rasa could change) and checks
it against the database on every use, in one statement: the count and sum of the sender's row
ids up to the last one known, that last row's type and timestamp, and the rows after it. Several
Sanic workers and replicas share the database, and retention deletes conversations: any
difference (a row deleted, a row id given again by SQLite after a deletion, a row committed late
below the last id) means a full read, as Rasa's. Rows after the last known id (another worker's
turn, a new session) are read and added. The tracker handed out is built anew each time by
replaying the events, as Rasa's `from_dict` does, and equals Rasa's full read
(tests/bot/test_rasa_tracker_store_cache.py compares them). A save uses the same check instead
of Rasa's count of the session's rows (its own rows are read by the next check, as another
worker's are) and writes its rows in one executemany instead of one ORM object each. The cache is
per process and bounded (`cached_senders`, `cached_bytes`, settable in endpoints.yml), least
recently used first out.

A database error is not swallowed. Rasa wraps every tracker store in its
`FailSafeTrackerStore`, which catches any `Exception`: a failed read starts a new
conversation (the citizen is greeted as if new, the answers given so far ignored) and a
failed write keeps the turn in the process's memory only (lost on restart, invisible to the
other replicas). Here a database error becomes `TrackerStoreUnavailable`, a `BaseException`
on purpose, so it passes Rasa's wrapper and ends the turn before any action runs (read) or
before anything is published (write; the write is one transaction, so nothing of the turn is
kept). `bot.rasa_channel.SafeRestInput` answers that turn with the Danish technical-error
text and the municipality's number. Each failure logs one ERROR line (the operation and the
error's class, never the SQL parameters, which hold the citizen's text) and is counted in
`STORE_HEALTH`, which the channel serves at GET /webhooks/rest/health. The engine pings a
pooled connection before use, so the first turn after a database restart works.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import itertools
import json
import logging
import pickle
from typing import Any, Dict, List, Sequence, Tuple

import sqlalchemy as sa  # type: ignore[import-untyped]  # 1.4 ships no types
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.privacy import mask_cpr


def mask_json(value: Any) -> Any:
    """Every string inside a JSON-like value with CPR numbers masked: keys too (REST metadata is the
    sender's), and a number that is a CPR number (`/inform{"choice": 3112901234}`) becomes the mask."""
    if isinstance(value, str):
        return mask_cpr(value)[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        masked, found = mask_cpr(json.dumps(value))
        return masked if found else value
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    if isinstance(value, dict):
        return {mask_json(k) if isinstance(k, str) else k: mask_json(v) for k, v in value.items()}
    return value


class WithholdBrokerEvents(logging.Filter):
    """Rasa's Pika broker logs a failed event in full at ERROR (text, metadata): keep only that it failed.

    Installed on the `rasa.core.brokers.pika` logger by `MaskingSQLTrackerStore`, so a
    RabbitMQ outage does not copy citizens' messages into the logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if "rasa_event" in str(record.msg):
            failed = "publish.failed" in str(record.msg)
            record.msg = (
                "pika.events.publish.failed: an event could not be published yet; Rasa keeps it and "
                "retries on reconnect (event withheld from the log: it may hold a citizen's text)"
                if failed
                else "pika.events.publish: event withheld from the log"
            )
            record.args = ()
        return True


_BROKER_LOGGER = "rasa.core.brokers.pika"


def withhold_broker_events() -> None:
    """Install `WithholdBrokerEvents` once on Rasa's Pika broker logger."""
    broker_log = logging.getLogger(_BROKER_LOGGER)
    if not any(isinstance(f, WithholdBrokerEvents) for f in broker_log.filters):
        broker_log.addFilter(WithholdBrokerEvents())


log = logging.getLogger(__name__)


class TrackerStoreUnavailable(BaseException):
    """The tracker store's database failed; the turn was not read or not stored.

    A `BaseException`, not an `Exception`: Rasa's `FailSafeTrackerStore` catches every
    `Exception` and carries on with a new conversation or per-process memory.
    `bot.rasa_channel.one_message_per_reply` catches it and answers the turn.
    """


@dataclasses.dataclass
class StoreHealth:
    """What an operator sees of tracker-store failures in this Rasa process."""

    errors: int = 0
    last_error_at: str | None = None
    last_error: str | None = None  # the exception's class name only

    def failed(self, error: BaseException) -> None:
        self.errors += 1
        self.last_error_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.last_error = type(error).__name__

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


STORE_HEALTH = StoreHealth()


def _unavailable(operation: str, error: sa.exc.SQLAlchemyError) -> TrackerStoreUnavailable:
    """Count and log the failure (no SQL, no parameters: they hold the citizen's text)."""
    STORE_HEALTH.failed(error)
    cause = type(getattr(error, "orig", None) or error).__name__
    log.error(
        "tracker_store.%s.failed: the conversation database did not answer (%s, %s); the turn is "
        "answered with the technical-error text and nothing of it is kept (failures so far: %d)",
        operation,
        type(error).__name__,
        cause,
        STORE_HEALTH.errors,
    )
    return TrackerStoreUnavailable(f"tracker store {operation} failed: {type(error).__name__}")


Row = Tuple[int, Any, str, Any]
"""One stored event as the cache reads it: id, timestamp, type_name, data (JSON text, or None)."""


def _in_session(timestamp: Any, start: float | None) -> bool:
    """Rasa's session filter (`_event_query`): `timestamp >= session_start OR session_start IS NULL`."""
    return start is None or (timestamp is not None and timestamp >= start)


def _events_of(data: Sequence[Any]) -> List[Event | None]:
    """Each row's event as Rasa's `_retrieve` reads it (`json.loads`, `deserialise_events`); None for
    a row Rasa skips. Raises as Rasa's read would (a row without data, JSON that is not)."""
    read: List[Event | None] = []
    for text in data:
        events = deserialise_events([json.loads(text)])
        read.append(events[0] if events else None)
    return read


@dataclasses.dataclass
class _Chunk:
    """Consecutive rows of the latest session: their timestamps, and their events pickled (one list
    item per row, None for a row Rasa skips). Pickled as they are deserialised, before any replay
    (replaying changes events: `DefinePrevUserUtteredFeaturization` sets a flag on the message)."""

    timestamps: List[Any]
    events: bytes

    @classmethod
    def of(cls, timestamps: List[Any], events: List[Event | None]) -> _Chunk:
        return cls(timestamps, pickle.dumps(events, protocol=pickle.HIGHEST_PROTOCOL))

    def unpickled(self) -> List[Event | None]:
        events: List[Event | None] = pickle.loads(self.events)  # our own bytes, made in this process
        return events


@dataclasses.dataclass
class StoredConversation:
    """What one process last read of one sender's rows; used only while the database `agrees`."""

    rows: int = 0  # the sender's rows, every session; all of them have ids <= last_id
    id_sum: int = 0  # the sum of their ids
    last_id: int = 0  # 0: no rows
    last_type: str | None = None
    last_timestamp: Any = None
    start: float | None = None  # the latest session start: max timestamp of the session_started rows
    chunks: List[_Chunk] = dataclasses.field(default_factory=list)  # the rows since `start`, by id

    @property
    def session_rows(self) -> int:
        """What Rasa's `_additional_events` counts: the rows of the latest session."""
        return sum(len(chunk.timestamps) for chunk in self.chunks)

    @property
    def size(self) -> int:
        """Bytes held, about."""
        return 200 + sum(len(chunk.events) + 8 * len(chunk.timestamps) + 60 for chunk in self.chunks)

    def events(self) -> List[Event]:
        """New objects, each time: the session's events as Rasa's full read deserialises them."""
        return [event for chunk in self.chunks for event in chunk.unpickled() if event is not None]

    def agrees(self, count: int, id_sum: Any, last_type: Any, last_timestamp: Any) -> bool:
        """Whether the database's rows up to `last_id` are still the ones this was made of: none
        deleted, none added below the last id, and the last row not one deleted and written anew
        (SQLite gives a deleted row's id again; the timestamp tells them apart)."""
        if count != self.rows or (id_sum or 0) != self.id_sum:
            return False
        return self.last_id == 0 or (last_type == self.last_type and last_timestamp == self.last_timestamp)

    def add(self, rows: Sequence[Row]) -> List[Event]:
        """Rows after `last_id`, in id order; the live events of those in the latest session (for a
        tracker handed out now). Nothing is changed if reading them raises."""
        start = self.start
        for _, timestamp, type_name, _ in rows:
            if type_name == SessionStarted.type_name and timestamp is not None:
                start = timestamp if start is None else max(start, timestamp)
        kept = [i for i, row in enumerate(rows) if _in_session(row[1], start)]
        read = _events_of([rows[i][3] for i in kept])
        chunk = _Chunk.of([rows[i][1] for i in kept], read) if kept else None
        if start != self.start:
            self._trim(start)
        self.start = start
        if chunk is not None:
            self.chunks.append(chunk)
        self.rows += len(rows)
        self.id_sum += sum(row[0] for row in rows)
        if rows:
            self.last_id, self.last_timestamp, self.last_type = rows[-1][0], rows[-1][1], rows[-1][2]
        return [event for event in read if event is not None]

    def _trim(self, start: float | None) -> None:
        """Keep the rows of the session that begins at `start` (a later one than the cached)."""
        trimmed: List[_Chunk] = []
        for chunk in self.chunks:
            keep = [_in_session(timestamp, start) for timestamp in chunk.timestamps]
            if all(keep):
                trimmed.append(chunk)
            elif any(keep):
                events = [e for e, k in zip(chunk.unpickled(), keep, strict=True) if k]
                trimmed.append(
                    _Chunk.of([t for t, k in zip(chunk.timestamps, keep, strict=True) if k], events)
                )
        self.chunks = trimmed


_CHECK = sa.text(
    """
SELECT 0 AS part, known.n AS id, last.timestamp AS timestamp, last.type_name AS type_name,
       NULL AS data, known.id_sum AS id_sum
FROM (SELECT count(*) AS n, sum(id) AS id_sum FROM events WHERE sender_id = :sender AND id <= :last) AS known
LEFT JOIN events AS last ON last.id = :last AND last.sender_id = :sender
UNION ALL
SELECT 1, id, timestamp, type_name, data, NULL FROM events WHERE sender_id = :sender AND id > :last
ORDER BY 1, 2
"""
)
"""One statement (one snapshot of the database): whether the rows up to `:last` are still the cached
ones, and the rows after it."""

_FULL_READ = sa.text(
    """
SELECT e.id, e.timestamp, e.type_name,
       CASE WHEN s.start IS NULL OR e.timestamp >= s.start THEN e.data END AS data
FROM events AS e
CROSS JOIN (
    SELECT max(timestamp) AS start FROM events WHERE sender_id = :sender AND type_name = :started
) AS s
WHERE e.sender_id = :sender
ORDER BY e.id
"""
)
"""Every row of the sender (ids, timestamps, types), with the data of the latest session's only:
Rasa's `_event_query` filter, without its ORM objects (half of the time of Rasa's read)."""


class MaskingSQLTrackerStore(SQLTrackerStore):
    def __init__(
        self, *args: Any, cached_senders: int = 1000, cached_bytes: int = 32 * 2**20, **kwargs: Any
    ) -> None:
        withhold_broker_events()
        super().__init__(*args, **kwargs)
        self.cached: collections.OrderedDict[str, StoredConversation] = collections.OrderedDict()
        self.cached_senders = int(cached_senders)
        self.cached_bytes = int(cached_bytes)
        self._cached_size = 0
        # retrieves answered from the cache ("incremental") or read in full ("full"); saves that
        # counted the stored rows with Rasa's query, the cache not agreeing ("counted")
        self.reads: collections.Counter[str] = collections.Counter()
        # Rasa's engine keeps pooled connections that a database restart breaks: the first turn
        # after it would fail. Each pooled connection is pinged before use. A SQLite file gets one
        # kept connection in write-ahead-log mode (see `_sqlite_engine`).
        url = self.engine.url
        self.engine.dispose()
        if url.get_backend_name() == "sqlite":
            self.engine = self._sqlite_engine(url)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    @staticmethod
    def _sqlite_engine(url: Any) -> Any:
        """One kept SQLite connection in write-ahead-log mode instead of a new one per call.

        SQLAlchemy 1.4 gives a SQLite file a `NullPool`: Rasa opened and closed a connection for
        every retrieve and every save, and a save's commit went through the rollback journal
        (several fsyncs, while Rasa's event loop waits). WAL (kept in the file) makes a commit one
        fsync of the log; `synchronous` stays FULL, so a saved message survives a power cut. Rasa
        calls the store from its event loop thread only; the pool still hands one connection to
        one session at a time.
        """
        engine = sa.create_engine(
            url,
            poolclass=sa.pool.QueuePool,
            pool_size=1,
            max_overflow=4,
            pool_pre_ping=True,
            connect_args={"check_same_thread": False},
        )
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        try:
            if fetch_events_from_all_sessions:  # Rasa's HTTP API and `rasa export`: Rasa's read, uncached
                return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
            with self.session_scope() as session:
                conversation = self._checked(session, sender_id)
                if conversation is not None:
                    events = conversation.events()
                else:
                    conversation, events = self._read_in_full(session, sender_id)
        except sa.exc.SQLAlchemyError as e:
            raise _unavailable("retrieve", e) from None
        if not (self.domain and conversation.session_rows):  # as Rasa's `_retrieve`
            return None
        return DialogueStateTracker.from_events(sender_id, events, self.domain.slots)

    # --- the cache: one StoredConversation per sender, checked against the database on every use ---

    def _checked(self, session: Any, sender_id: str) -> StoredConversation | None:
        """The cached conversation brought up to date, or None when it is not cached or the database
        no longer agrees with it."""
        conversation = self.cached.get(sender_id)
        if conversation is None:
            return None
        result = session.execute(_CHECK, {"sender": sender_id, "last": conversation.last_id})
        (_, count, last_timestamp, last_type, _, id_sum), *new = result.fetchall()
        self._forget(sender_id)
        if not conversation.agrees(count, id_sum, last_type, last_timestamp):
            return None
        try:
            conversation.add([(row[1], row[2], row[3], row[4]) for row in new])
        except Exception:  # a row Rasa cannot read: a retrieve reads in full and fails as Rasa's does,
            return None  # a save counts as Rasa's does
        self._remember(sender_id, conversation)
        self.reads["incremental"] += 1
        return conversation

    def _read_in_full(self, session: Any, sender_id: str) -> Tuple[StoredConversation, List[Event]]:
        rows = session.execute(
            _FULL_READ, {"sender": sender_id, "started": SessionStarted.type_name}
        ).fetchall()
        conversation = StoredConversation()
        events = conversation.add([tuple(row) for row in rows])
        self._remember(sender_id, conversation)
        self.reads["full"] += 1
        return conversation, events

    def _remember(self, sender_id: str, conversation: StoredConversation) -> None:
        """Cache it (most recently used), then drop the least recently used over the bounds."""
        self._forget(sender_id)
        size = conversation.size
        if size > self.cached_bytes:
            return
        self.cached[sender_id] = conversation
        self._cached_size += size
        while len(self.cached) > self.cached_senders or self._cached_size > self.cached_bytes:
            _, evicted = self.cached.popitem(last=False)
            self._cached_size -= evicted.size

    def _forget(self, sender_id: str) -> None:
        conversation = self.cached.pop(sender_id, None)
        if conversation is not None:
            self._cached_size -= conversation.size

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Mask, store and publish the events of `tracker` that are not stored yet."""
        try:
            new = self._store_new_events(tracker)
        except sa.exc.SQLAlchemyError as e:
            raise _unavailable("save", e) from None
        if self.event_broker is not None:
            for data in new:
                self.event_broker.publish({"sender_id": tracker.sender_id, **data})

    @staticmethod
    def _row(sender_id: str, data: Dict[str, Any]) -> Dict[str, Any]:
        """The row Rasa's `save` writes for an event."""
        return {
            "sender_id": sender_id,
            "type_name": data["event"],
            "timestamp": data.get("timestamp"),
            "intent_name": (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    def _store_new_events(self, tracker: DialogueStateTracker) -> List[Dict[str, Any]]:
        """The events not stored yet, masked and written in one transaction."""
        sender_id = tracker.sender_id
        with self.session_scope() as session:
            conversation = self._checked(session, sender_id)
            if conversation is not None:
                stored = conversation.session_rows
            else:
                stored = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count()
                self.reads["counted"] += 1
            new: List[Dict[str, Any]] = [
                mask_json(event.as_dict()) for event in itertools.islice(tracker.events, stored, None)
            ]
            if new:  # one executemany: Rasa's ORM objects cost 3 ms of CPU per save, for ids unused
                session.execute(
                    self.SQLEvent.__table__.insert(),
                    [self._row(sender_id, data) for data in new],
                )
            session.commit()
        return new
