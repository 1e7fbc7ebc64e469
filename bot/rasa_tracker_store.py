"""Rasa's SQL tracker store with CPR numbers masked before anything is persisted.

Masking happens here, at the store, so no channel can bypass it: every event is
masked before it is written (and before it is streamed to an event broker).
The in-memory tracker of the running turn is not changed. Imports Rasa, like
bot/rasa_channel.py; the masking itself is `bot.privacy.mask_cpr`.

A save costs O(new events), not O(conversation): Rasa's own `save` reads the whole
stored conversation back to find what to stream to the broker, and masking the
tracker before it meant serialising every event on every turn. Here the events not
yet stored are found by one count (as Rasa's `_additional_events` does), masked,
written in one transaction and then published to the broker, in that order.

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

import dataclasses
import datetime as dt
import itertools
import json
import logging
from typing import Any, Dict, List

import sqlalchemy as sa  # type: ignore[import-untyped]  # 1.4 ships no types
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
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


class MaskingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        withhold_broker_events()
        super().__init__(*args, **kwargs)
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
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        except sa.exc.SQLAlchemyError as e:
            raise _unavailable("retrieve", e) from None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Mask, store and publish the events of `tracker` that are not stored yet."""
        try:
            new = self._store_new_events(tracker)
        except sa.exc.SQLAlchemyError as e:
            raise _unavailable("save", e) from None
        if self.event_broker is not None:
            for data in new:
                self.event_broker.publish({"sender_id": tracker.sender_id, **data})

    def _store_new_events(self, tracker: DialogueStateTracker) -> List[Dict[str, Any]]:
        """The events not stored yet, masked and written in one transaction."""
        with self.session_scope() as session:
            stored = self._event_query(
                session, tracker.sender_id, fetch_events_from_all_sessions=False
            ).count()
            new: List[Dict[str, Any]] = [
                mask_json(event.as_dict()) for event in itertools.islice(tracker.events, stored, None)
            ]
            for data in new:
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=data["event"],
                        timestamp=data.get("timestamp"),
                        intent_name=(data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
        return new
