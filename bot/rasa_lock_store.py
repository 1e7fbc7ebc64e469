"""Rasa lock stores whose every change of a conversation's lock is one atomic transaction.

Rasa 3.6's lock stores issue, finish and clean up tickets by read, change in Python,
write: two processes taking a ticket for the same conversation at the same moment can both
read the same lock, issue the same ticket number and then process the conversation at the
same time (Rasa's docs: only Rasa Pro's ConcurrentRedisLockStore is safe across replicas).
Here each read-modify-write of a lock is one transaction, so tickets are unique and a lock
is only deleted when nobody holds a ticket for it:

- `AtomicRedisLockStore`: Rasa's Redis lock store, each change an optimistic Redis
  transaction (WATCH, MULTI/EXEC, retried when another replica changed the lock meanwhile).
  For several Rasa replicas (endpoints.scale.yml, endpoints.postgres.yml).

      lock_store:
        type: bot.rasa_lock_store.AtomicRedisLockStore   # then url, port, db as for type: redis

- `SQLiteLockStore`: the locks in a SQLite file, each change one `BEGIN IMMEDIATE`
  transaction. For the Sanic workers of one Rasa on one machine (`SANIC_WORKERS`; the
  embedded profile, endpoints.yml), which need a lock store shared between processes and
  may not need a Redis server for it.

      lock_store:
        type: bot.rasa_lock_store.SQLiteLockStore
        db: var/locks.db

Imports Rasa, like bot/rasa_tracker_store.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Tuple

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

_KEEP = object()  # "do not write": the lock is absent and stays absent
Change = Callable[[TicketLock | None], Tuple[Any, Any]]  # lock -> (lock | None (delete) | _KEEP, result)


class _AtomicTickets:
    """Rasa's ticket operations, each one call of `_atomically` (which the store implements)."""

    def _atomically(self, conversation_id: str, change: Change) -> Any:
        raise NotImplementedError

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> Tuple[Any, Any]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return int(self._atomically(conversation_id, issue))
        except Exception as e:
            raise LockError(f"Error while acquiring lock. Error:\n{e}") from e

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> Tuple[Any, Any]:
            if lock is None:
                return _KEEP, None
            lock.remove_expired_tickets()
            return lock, None

        self._atomically(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: TicketLock | None) -> Tuple[Any, Any]:
            if lock is None:
                return _KEEP, None
            lock.remove_ticket_for(ticket_number)
            return lock, None

        self._atomically(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        def finish_and_delete_if_unused(lock: TicketLock | None) -> Tuple[Any, Any]:
            if lock is None:
                return _KEEP, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._atomically(conversation_id, finish_and_delete_if_unused)


class AtomicRedisLockStore(_AtomicTickets, RedisLockStore):  # type: ignore[misc]  # Rasa is untyped here
    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        """Rasa creates a lock store named by module path with `endpoint_config=`; as for type: redis."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs}
        super().__init__(**kwargs)

    def _atomically(self, conversation_id: str, change: Change) -> Any:
        key = self.key_prefix + conversation_id
        result: Any = None

        def transaction(pipe: Any) -> None:
            nonlocal result
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            new, result = change(lock)
            pipe.multi()
            if new is None:
                pipe.delete(key)
            elif new is not _KEEP:
                pipe.set(key, new.dumps())

        self.red.transaction(transaction, key)
        return result


class SQLiteLockStore(_AtomicTickets, LockStore):  # type: ignore[misc]  # Rasa is untyped here
    """Ticket locks in one SQLite file, shared by every process on the machine that opens it.

    Each process (a Sanic worker is forked after start-up) opens its own connection on first
    use. A lock holds tickets that expire (Rasa's `TICKET_LOCK_LIFETIME`), so a worker killed
    while it held one delays that conversation by at most the lifetime and blocks nothing else.
    Locks need no durability: the file is in WAL mode with `synchronous=NORMAL`. Rasa calls the
    store from its event loop only; the connection is still used by one thread at a time.
    """

    BUSY_TIMEOUT_S = 10.0  # another process's lock transaction takes microseconds

    def __init__(self, endpoint_config: EndpointConfig | None = None, db: str = "var/locks.db") -> None:
        if endpoint_config is not None:
            db = str(endpoint_config.kwargs.get("db", db))
        self.path = Path(db)
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._mutex = threading.RLock()
        super().__init__()
        self._db()  # fail at start-up, not at the first message, when the file cannot be opened

    def _db(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=self.BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS locks (conversation_id TEXT PRIMARY KEY, lock TEXT NOT NULL)"
            )
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        with self._mutex:
            row = (
                self._db()
                .execute("SELECT lock FROM locks WHERE conversation_id = ?", (conversation_id,))
                .fetchone()
            )
        return TicketLock.from_dict(json.loads(row[0])) if row else None

    def delete_lock(self, conversation_id: str) -> None:
        with self._mutex:
            deleted = (
                self._db().execute("DELETE FROM locks WHERE conversation_id = ?", (conversation_id,)).rowcount
            )
        self._log_deletion(conversation_id, deletion_successful=bool(deleted))

    def save_lock(self, lock: TicketLock) -> None:
        with self._mutex:
            self._db().execute(
                "INSERT OR REPLACE INTO locks (conversation_id, lock) VALUES (?, ?)",
                (lock.conversation_id, lock.dumps()),
            )

    def _atomically(self, conversation_id: str, change: Change) -> Any:
        with self._mutex:
            db = self._db()
            db.execute(
                "BEGIN IMMEDIATE"
            )  # the write lock first: nobody changes this lock between read and write
            try:
                lock = self.get_lock(conversation_id)
                new, result = change(lock)
                if new is None:
                    if lock is not None:
                        self.delete_lock(conversation_id)
                elif new is not _KEEP:
                    self.save_lock(new)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return result
