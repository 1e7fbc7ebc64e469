"""Our lock stores, each with two processes of several tasks on one conversation.

`AtomicRedisLockStore` against the real Redis (Rasa's replicas), `SQLiteLockStore` on a
file (the Sanic workers of one Rasa). Rasa's own `RedisLockStore` fails the ticket test (a
ticket issued twice in 19 of 20 rounds here): it changes the lock by GET and SET with
nothing atomic in between; the base `LockStore`'s read, change, save on a SQLite file would
race the same way.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_service
from tests.live import ROOT, SCALE_ENV

PROCESSES, TASKS = 2, 3
KINDS = ("redis", "sqlite")


def _store(kind: str, path: str) -> Any:  # imports Rasa in the child process too
    from bot.rasa_lock_store import AtomicRedisLockStore, SQLiteLockStore

    if kind == "redis":
        return AtomicRedisLockStore(host="127.0.0.1", port=6379, db=1)
    return SQLiteLockStore(db=path)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "redis":
        require_service("Redis", 6379)
    return request.param, str(tmp_path / "locks.db")


def _take_tickets(
    kind: tuple[str, str],
    conversation_id: str,
    start: multiprocessing.synchronize.Barrier,
    out: multiprocessing.Queue,
) -> None:  # type: ignore[type-arg]
    store = _store(*kind)

    async def take() -> int:
        await asyncio.to_thread(start.wait)
        return int(await asyncio.to_thread(store.issue_ticket, conversation_id))

    async def main() -> list[int]:
        return list(await asyncio.gather(*(take() for _ in range(TASKS))))

    out.put(asyncio.run(main()))


def _count_under_lock(
    kind: tuple[str, str], conversation_id: str, start: multiprocessing.synchronize.Barrier, counter: str
) -> None:
    """Read a counter file, yield, write it back plus one: correct only if nobody else is inside."""
    store = _store(*kind)
    path = Path(counter)

    async def one() -> None:
        await asyncio.to_thread(start.wait)
        async with store.lock(conversation_id, wait_time_in_seconds=0.01):
            value = int(path.read_text() or 0) if path.exists() else 0
            await asyncio.sleep(0.02)
            path.write_text(str(value + 1))

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(TASKS)))

    asyncio.run(main())


def _run(target, *args) -> None:  # type: ignore[no-untyped-def]
    processes = [multiprocessing.Process(target=target, args=args) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0


@pytest.mark.parametrize("round_", range(5))
def test_tickets_taken_at_once_by_two_processes_are_unique(kind: tuple[str, str], round_: int) -> None:
    conversation_id = f"lock-test-{uuid.uuid4().hex}"
    start, out = multiprocessing.Barrier(PROCESSES * TASKS), multiprocessing.Queue()
    try:
        _run(_take_tickets, kind, conversation_id, start, out)
        tickets = [t for _ in range(PROCESSES) for t in out.get(timeout=10)]
        assert sorted(tickets) == list(range(PROCESSES * TASKS))
    finally:
        _store(*kind).delete_lock(conversation_id)


def test_one_holder_at_a_time_across_processes(kind: tuple[str, str], tmp_path: Path) -> None:
    conversation_id = f"lock-test-{uuid.uuid4().hex}"
    store, counter = _store(*kind), tmp_path / "counter"
    try:
        _run(
            _count_under_lock, kind, conversation_id, multiprocessing.Barrier(PROCESSES * TASKS), str(counter)
        )
        assert int(counter.read_text()) == PROCESSES * TASKS  # no update lost
        assert store.get_lock(conversation_id) is None  # the last one out deleted the lock
    finally:
        store.delete_lock(conversation_id)


def test_the_sqlite_lock_file_holds_only_held_locks(tmp_path: Path) -> None:
    store = _store("sqlite", str(tmp_path / "locks.db"))
    first = store.issue_ticket("a")
    second = store.issue_ticket("a")
    assert (first, second) == (0, 1)
    store.cleanup("a", first)  # someone is still waiting: the lock stays
    assert store.get_lock("a") is not None
    store.cleanup("a", second)
    with sqlite3.connect(tmp_path / "locks.db") as db:
        assert db.execute("SELECT count(*) FROM locks").fetchone() == (0,)


def test_a_failed_change_leaves_the_lock_as_it_was(tmp_path: Path) -> None:
    store = _store("sqlite", str(tmp_path / "locks.db"))
    store.issue_ticket("a")

    def broken(lock: Any) -> Any:
        raise RuntimeError("in the middle")

    with pytest.raises(RuntimeError):
        store._atomically("a", broken)
    assert store.issue_ticket("a") == 1  # the transaction was rolled back and the next one works


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("endpoints.scale.yml", "AtomicRedisLockStore"),
        ("endpoints.postgres.yml", "AtomicRedisLockStore"),
        ("endpoints.yml", "SQLiteLockStore"),
    ],
)
def test_the_endpoints_files_name_our_lock_stores(
    name: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rasa.core.lock_store import LockStore
    from rasa.core.utils import number_of_sanic_workers
    from rasa.utils.endpoints import read_endpoint_config

    if expected == "AtomicRedisLockStore":
        require_service("Redis", 6379)
    for key, value in {**SCALE_ENV, "TRAENINGSGUIDEN_ACTION_TOKEN": "t" * 40, "SANIC_WORKERS": "2"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(
        ROOT
    )  # endpoints.yml names var/locks.db relative to the checkout, as make run starts Rasa
    config = read_endpoint_config(str(Path(ROOT) / name), "lock_store")
    assert type(LockStore.create(config)).__name__ == expected
    assert number_of_sanic_workers(config) == 2  # Rasa accepts several workers with it
