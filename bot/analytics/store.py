"""Where conversation records come from, and how conversations are deleted.

- `TrackerEvents`: Rasa's SQL tracker store (`events` table, SQLite or PostgreSQL),
  read to build records and transcripts; written only to delete (retention, forget).
- `AnalyticsStore`: the analytics consumer's own tables: minimised events, one row
  per event key (idempotent), one record per conversation, and one row per message
  the consumer dead-lettered (when, why, how many tries; no content).

Both are blocking (SQLAlchemy 1.4); call them from a thread in async code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import sqlalchemy as sa  # type: ignore[import-untyped]  # 1.4 ships no types
from sqlalchemy.engine import Connection  # type: ignore[import-untyped]
from sqlalchemy.exc import IntegrityError  # type: ignore[import-untyped]

from bot.analytics.records import ConversationRecord, blank_understood, minimise, summarise
from bot.db import engine_for
from bot.drafts.store import REFERENCE

_TABLE_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$|^$")
_CHUNK = 500


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class TrackerEvents:
    """Rasa's `events` table (the columns SQLTrackerStore creates).

    `records` keeps each conversation's record with the number of its events and its last
    event id, and summarises again only the conversations whose events changed: Rasa only
    appends, and deletes whole conversations. Every analyst page asks for every record of
    the period; rebuilding them all from the raw events took most of each page's time at fuzz
    scale (about 6 s per page over 10,000 messages, four pages at once).
    """

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.engine = engine_for(url)
        self.table = sa.Table(
            "events",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("sender_id", sa.String(255), nullable=False),
            sa.Column("type_name", sa.String(255), nullable=False),
            sa.Column("timestamp", sa.Float),
            sa.Column("intent_name", sa.String(255)),
            sa.Column("action_name", sa.String(255)),
            sa.Column("data", sa.Text),
            schema=schema,
        )
        self._records: dict[str, tuple[tuple[int, int], ConversationRecord]] = {}
        self._records_lock = threading.Lock()
        self._refresh_lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    def exists(self) -> bool:
        """Whether Rasa has created its table (an SQLite file is not created by asking)."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            if not Path(url.database).exists():
                return False
        return bool(sa.inspect(self.engine).has_table("events", schema=self.table.schema))

    def senders(self, *, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[str]:
        """Conversations with events in [since, until) (all when both are None)."""
        if not self.exists():
            return []
        t = self.table
        query = sa.select(t.c.sender_id).group_by(t.c.sender_id)
        if since is not None:
            query = query.having(sa.func.max(t.c.timestamp) >= since.timestamp())
        if until is not None:
            query = query.having(sa.func.min(t.c.timestamp) < until.timestamp())
        with self.engine.connect() as conn:
            return [row.sender_id for row in conn.execute(query)]

    def events(self, sender_id: str) -> list[dict[str, Any]]:
        """Every event of one conversation, in the order Rasa wrote them."""
        return self._events([sender_id]).get(sender_id, [])

    def _events(self, senders: list[str]) -> dict[str, list[dict[str, Any]]]:
        t = self.table
        found: dict[str, list[dict[str, Any]]] = {}
        if not senders or not self.exists():
            return found
        with self.engine.connect() as conn:
            for chunk in _chunks(senders):
                rows = conn.execute(
                    sa.select(t.c.sender_id, t.c.data).where(t.c.sender_id.in_(chunk)).order_by(t.c.id)
                )
                for row in rows:
                    found.setdefault(row.sender_id, []).append(json.loads(row.data))
        return found

    def records(
        self, *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[ConversationRecord]:
        """Records of the conversations active in [since, until); filter by `started` afterwards.

        One grouped query says which conversations changed since the last call (their event
        count or last id differs); only their events are read and summarised.
        """
        if not self.exists():
            return []
        t = self.table
        query = sa.select(t.c.sender_id, sa.func.count(), sa.func.max(t.c.id)).group_by(t.c.sender_id)
        if since is not None:
            query = query.having(sa.func.max(t.c.timestamp) >= since.timestamp())
        if until is not None:
            query = query.having(sa.func.min(t.c.timestamp) < until.timestamp())
        # One caller at a time: pages asked for at once wait for one summary instead of each making it.
        with self._refresh_lock, self.engine.connect() as conn:
            versions = {row[0]: (int(row[1]), int(row[2])) for row in conn.execute(query)}
            with self._records_lock:
                known = dict(self._records)
            changed = [s for s, version in versions.items() if s not in known or known[s][0] != version]
            by_sender = self._events(changed)
            fresh = {s: (versions[s], summarise(s, by_sender[s])) for s in changed if s in by_sender}
            with self._records_lock:
                self._records.update(fresh)
        known.update(fresh)
        return [known[s][1] for s in versions if s in known]

    def _forget_records(self, senders: Iterable[str]) -> None:
        with self._records_lock:
            for sender in senders:
                self._records.pop(sender, None)

    def senders_with_draft(self, reference: str) -> list[str]:
        """Conversations whose events mention a draft reference (the bot's message saving it)."""
        if not REFERENCE.match(reference) or not self.exists():
            return []
        t = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.c.sender_id).where(t.c.data.contains(f'"{reference}"')).distinct()
            )
            return [row.sender_id for row in rows]

    def delete_conversation(self, sender_id: str) -> int:
        """Delete every event of one conversation; the number of rows deleted."""
        if not self.exists():
            return 0
        self._forget_records([sender_id])
        with self.engine.begin() as conn:
            return int(conn.execute(self.table.delete().where(self.table.c.sender_id == sender_id)).rowcount)

    def expired(self, cutoff: dt.datetime) -> list[str]:
        """Conversations whose last event is older than `cutoff`."""
        if not self.exists():
            return []
        t = self.table
        query = (
            sa.select(t.c.sender_id)
            .group_by(t.c.sender_id)
            .having(sa.func.max(t.c.timestamp) < cutoff.timestamp())
        )
        with self.engine.connect() as conn:
            return [row.sender_id for row in conn.execute(query)]

    def delete_conversations(self, senders: Iterable[str]) -> int:
        listed = list(senders)
        self._forget_records(listed)
        deleted = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(listed):
                deleted += int(
                    conn.execute(self.table.delete().where(self.table.c.sender_id.in_(chunk))).rowcount
                )
        return deleted


def event_key(body: Mapping[str, Any]) -> str:
    """The idempotency key of a published event: SHA-256 of its canonical JSON.

    Rasa publishes `{"sender_id": ..., **event.as_dict()}` with a float timestamp;
    a redelivered or republished event has the same key, another event does not.
    """
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AnalyticsStore:
    """The consumer's tables: `{prefix}events` (minimised, by key), `{prefix}conversations`
    and `{prefix}dead_letters` (messages given up on; no content)."""

    def __init__(self, url: str, *, table_prefix: str = "analytics_") -> None:
        if not _TABLE_PREFIX.match(table_prefix):
            raise ValueError("table_prefix: lower-case letters, digits and _ only")
        self.engine = engine_for(url)
        metadata = sa.MetaData()
        self.events = sa.Table(
            f"{table_prefix}events",
            metadata,
            sa.Column("event_key", sa.String(64), primary_key=True),
            sa.Column("sender_id", sa.String(255), nullable=False, index=True),
            sa.Column("timestamp", sa.Float, nullable=False),
            sa.Column("data", sa.Text, nullable=False),
        )
        self.conversations = sa.Table(
            f"{table_prefix}conversations",
            metadata,
            sa.Column("sender_id", sa.String(255), primary_key=True),
            sa.Column("started", sa.DateTime, nullable=False, index=True),
            sa.Column("last_event", sa.DateTime, nullable=False, index=True),
            sa.Column("municipality", sa.String(64)),
            sa.Column("channel", sa.String(16), nullable=False),
            sa.Column("outcome", sa.String(32)),
            sa.Column("turns", sa.Integer, nullable=False),
            sa.Column("record", sa.Text, nullable=False),
        )
        self.dead_letters = sa.Table(
            f"{table_prefix}dead_letters",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("dead_lettered_at", sa.DateTime, nullable=False, index=True),
            sa.Column("message_key", sa.String(64), nullable=False),  # SHA-256 of the body, as in the header
            sa.Column("error", sa.String(128), nullable=False),  # an exception class name
            sa.Column("attempts", sa.Integer, nullable=False),
        )
        self._metadata = metadata
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def reachable(self) -> bool:
        """Whether the database answers at all (`SELECT 1`): tells an outage from a bad message."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def record_dead_letter(self, *, message_key: str, error: str, attempts: int, at: dt.datetime) -> None:
        """Note a message the consumer moved to its dead-letter queue (no content kept)."""
        with self.engine.begin() as conn:
            conn.execute(
                self.dead_letters.insert().values(
                    dead_lettered_at=_naive(at), message_key=message_key, error=error[:128], attempts=attempts
                )
            )

    def dead_letter_count(self, *, since: dt.datetime | None = None, until: dt.datetime | None = None) -> int:
        """Messages dead-lettered in [since, until) (all when both are None)."""
        d = self.dead_letters
        query = sa.select(sa.func.count()).select_from(d)
        if since is not None:
            query = query.where(d.c.dead_lettered_at >= _naive(since))
        if until is not None:
            query = query.where(d.c.dead_lettered_at < _naive(until))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def ingest(self, body: Mapping[str, Any]) -> bool:
        """Store one published event and refresh its conversation's record, in one transaction.

        Returns False (and changes nothing) for an event already stored, so a
        redelivery after a broker restart is not counted twice.
        """
        sender = body.get("sender_id")
        if not isinstance(sender, str) or not sender:
            raise ValueError("a Rasa event body has a sender_id")
        key = event_key(body)
        reduced = minimise(body)
        try:
            with self.engine.begin() as conn:
                if conn.execute(
                    sa.select(self.events.c.event_key).where(self.events.c.event_key == key)
                ).first():
                    return False
                conn.execute(
                    self.events.insert().values(
                        event_key=key,
                        sender_id=sender,
                        timestamp=float(body.get("timestamp") or 0.0),
                        data=json.dumps(reduced or {}, ensure_ascii=False),
                    )
                )
                self._refresh(conn, sender)
        except IntegrityError:  # the same event, stored by a concurrent consumer
            with self.engine.connect() as conn:
                if conn.execute(
                    sa.select(self.events.c.event_key).where(self.events.c.event_key == key)
                ).first():
                    return False
            raise
        return True

    def _refresh(self, conn: Connection, sender: str) -> None:
        e = self.events
        rows = conn.execute(
            sa.select(e.c.event_key, e.c.data).where(e.c.sender_id == sender).order_by(e.c.timestamp)
        ).all()
        keys = [row.event_key for row in rows]
        stored = [json.loads(row.data) for row in rows]
        kept = [(k, d) for k, d in zip(keys, stored, strict=True) if d]
        blanked = blank_understood([d for _, d in kept])
        # `blank_understood` sorts by timestamp, as the query did: the order is the same.
        for (k, before), after in zip(kept, blanked, strict=True):
            if after != before:
                conn.execute(
                    e.update().where(e.c.event_key == k).values(data=json.dumps(after, ensure_ascii=False))
                )
        record = summarise(sender, blanked)
        c = self.conversations
        conn.execute(c.delete().where(c.c.sender_id == sender))
        conn.execute(
            c.insert().values(
                sender_id=sender,
                started=_naive(record.started),
                last_event=_naive(record.last_event),
                municipality=record.municipality,
                channel=record.channel,
                outcome=record.outcome,
                turns=record.turns,
                record=json.dumps(record.to_dict(), ensure_ascii=False),
            )
        )

    def records(
        self, *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[ConversationRecord]:
        c = self.conversations
        query = sa.select(c.c.record)
        if since is not None:
            query = query.where(c.c.last_event >= _naive(since))
        if until is not None:
            query = query.where(c.c.started < _naive(until))
        with self.engine.connect() as conn:
            return [ConversationRecord.from_dict(json.loads(row.record)) for row in conn.execute(query)]

    def delete_conversation(self, sender_id: str) -> int:
        """Delete a conversation's events and record; the number of rows deleted."""
        with self.engine.begin() as conn:
            deleted = conn.execute(self.events.delete().where(self.events.c.sender_id == sender_id)).rowcount
            deleted += conn.execute(
                self.conversations.delete().where(self.conversations.c.sender_id == sender_id)
            ).rowcount
        return int(deleted)

    def delete_older_than(self, cutoff: dt.datetime) -> int:
        """Delete conversations whose last event is older than `cutoff`; how many conversations."""
        c = self.conversations
        with self.engine.begin() as conn:
            senders = [
                row.sender_id
                for row in conn.execute(sa.select(c.c.sender_id).where(c.c.last_event < _naive(cutoff)))
            ]
            for chunk in _chunks(senders):
                conn.execute(self.events.delete().where(self.events.c.sender_id.in_(chunk)))
                conn.execute(c.delete().where(c.c.sender_id.in_(chunk)))
            conn.execute(
                self.dead_letters.delete().where(self.dead_letters.c.dead_lettered_at < _naive(cutoff))
            )
            # events of conversations whose record never got written (should not happen)
            conn.execute(
                self.events.delete()
                .where(self.events.c.timestamp < cutoff.timestamp())
                .where(~self.events.c.sender_id.in_(sa.select(c.c.sender_id)))
            )
        return len(senders)
