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
"""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any, Dict, List

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
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


class MaskingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        withhold_broker_events()
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            self._pool_sqlite()

    def _pool_sqlite(self) -> None:
        """One kept SQLite connection in write-ahead-log mode instead of a new one per call.

        SQLAlchemy 1.4 gives a SQLite file a `NullPool`: Rasa opened and closed a connection for
        every retrieve and every save, and a save's commit went through the rollback journal
        (several fsyncs, while Rasa's event loop waits). WAL (kept in the file) makes a commit one
        fsync of the log; `synchronous` stays FULL, so a saved message survives a power cut. Rasa
        calls the store from its event loop thread only; the pool still hands one connection to
        one session at a time.
        """
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(
            url, poolclass=sa.pool.QueuePool, pool_size=1, max_overflow=4,
            connect_args={"check_same_thread": False},
        )
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        self.sessionmaker.configure(bind=self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Mask, store and publish the events of `tracker` that are not stored yet."""
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
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
        if self.event_broker is not None:
            for data in new:
                self.event_broker.publish({"sender_id": tracker.sender_id, **data})
