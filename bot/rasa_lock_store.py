"""Rasa's Redis lock store with every change of a conversation's lock in one Redis transaction.

Rasa 3.6's `RedisLockStore` issues, finishes and cleans up tickets by GET, change in
Python, SET: two replicas taking a ticket for the same conversation at the same moment
can both read the same lock, issue the same ticket number and then process the
conversation at the same time (Rasa's docs: only Rasa Pro's ConcurrentRedisLockStore is
safe across replicas). Here each read-modify-write is an optimistic Redis transaction
(WATCH, MULTI/EXEC, retried when another replica changed the lock meanwhile), so tickets
are unique and a lock is only deleted when nobody holds a ticket for it.

    lock_store:
      type: bot.rasa_lock_store.AtomicRedisLockStore   # then url, port, db as for type: redis

Imports Rasa, like bot/rasa_tracker_store.py.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Tuple

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

_KEEP = object()  # "do not write": the lock is absent and stays absent
Change = Callable[[TicketLock | None], Tuple[Any, Any]]  # lock -> (lock | None (delete) | _KEEP, result)


class AtomicRedisLockStore(RedisLockStore):  # type: ignore[misc]  # Rasa is untyped here
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
