"""The analytics consumer against the real RabbitMQ: Rasa's own PikaEventBroker publishes.

A broker restart in the middle of the stream loses nothing and counts nothing twice;
events published twice (a lost publisher confirm) or redelivered before their ack
(stored, then the broker went away) are stored once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.analytics.records import summarise
from bot.analytics.store import AnalyticsStore
from tests.analytics.events import Conversation, event_count
from tests.analytics.rabbit import (
    ConsumerThread,
    delete_queue_and_exchange,
    queue_depth,
    restart_rabbitmq,
    wait_until,
)
from tests.conftest import require_service


class SlowAckStore(AnalyticsStore):
    """Commits, then waits before the consumer may ack: a restart falls in between."""

    def ingest(self, body: Any) -> bool:
        stored = super().ingest(body)
        time.sleep(0.05)
        return stored


def conversations(n: int) -> dict[str, list[dict[str, Any]]]:
    made = {}
    for i in range(n):
        c = Conversation(
            time.time() - 3600 + i, channel="staff" if i % 3 == 0 else "citizen", municipality="ballerup"
        )
        c.user(f"min mor på {70 + i} år, cpr 010150-{1000 + i}").action("action_triage").ask("hospital_stay")
        c.slots(pending="hospital_stay")
        c.user("ssss", "nlu_fallback").action("action_clarify").bot("Jeg er ikke sikker").slots(
            pending="hospital_stay", misses=1
        )
        if i % 2:
            c.user("nej", "deny").action("action_triage").outcome("maintenance_training").slots(
                order=["age", "hospital_stay"]
            )
        made[f"rmq-{uuid.uuid4().hex[:8]}-{i}"] = c.events
    return made


async def publish(
    queue: str, exchange: str, batches: list[list[dict[str, Any]]], *, restart_after: int
) -> None:
    from rasa.core.brokers.pika import PikaEventBroker

    broker = PikaEventBroker(
        "127.0.0.1",
        "guest",
        "guest",
        queues=[queue],
        exchange_name=exchange,
        event_loop=asyncio.get_running_loop(),
        retry_delay_in_seconds=1,
    )
    await broker.connect()
    restart: asyncio.Future[None] | None = None
    for number, batch in enumerate(batches):
        for body in batch:
            broker.publish(body)
        await asyncio.sleep(0.05)
        if number == restart_after:
            restart = asyncio.ensure_future(asyncio.to_thread(restart_rabbitmq))
    assert restart is not None
    await restart
    deadline = time.monotonic() + 60
    while (broker._unpublished_events or broker._background_tasks) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert not broker._unpublished_events, "Rasa's broker still holds unpublished events"
    await broker.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_broker_restart_loses_nothing_and_counts_nothing_twice(tmp_path: Path, database: str) -> None:
    require_service("RabbitMQ", 5672)
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'analytics.db'}"
    else:
        require_service("PostgreSQL", 5432)
        url = "postgresql://postgres@127.0.0.1:5432/test"
    store = SlowAckStore(url, table_prefix=prefix)
    queue, exchange = f"tg_test_{prefix}", f"tg-test-{prefix}"
    made = conversations(12)
    bodies = [{"sender_id": sender, **event} for sender, events in made.items() for event in events]
    # Every 10th event is published twice, as Rasa does when a publisher confirm is lost.
    batches = [bodies[i : i + 10] + bodies[i : i + 1] for i in range(0, len(bodies), 10)]
    consumer = ConsumerThread(store, queue, exchange).start()
    try:
        asyncio.run(publish(queue, exchange, batches, restart_after=len(batches) // 2))
        wait_until(lambda: event_count(store) >= len(bodies), seconds=90, what="every event stored")
        wait_until(lambda: queue_depth(queue) == 0, seconds=60, what="the queue drained")
    finally:
        consumer.stop()
        delete_queue_and_exchange(queue, exchange)
    assert consumer.error is None
    assert event_count(store) == len(bodies)
    # The database is the truth; the in-memory counters only show both paths ran (aio-pika
    # cancels a handler when the channel closes, possibly after its commit, before its count).
    assert consumer.consumer.stored <= len(bodies)
    assert consumer.consumer.duplicates >= len(batches) // 2
    records = {r.sender_id: r for r in store.records()}
    expected = {sender: summarise(sender, events) for sender, events in made.items()}
    assert records.keys() == expected.keys()
    for sender, record in records.items():
        differing = {
            f.name: (getattr(record, f.name), getattr(expected[sender], f.name))
            for f in dataclasses.fields(record)
            if getattr(record, f.name) != getattr(expected[sender], f.name)
        }
        assert not differing, (sender, differing)
    assert sum(r.fallbacks for r in records.values()) == 12
    assert sum(r.completed for r in records.values()) == 6
    with store.engine.connect() as conn:
        raw = json.dumps([list(map(str, row)) for row in conn.execute(sa.select(store.events))])
        raw += json.dumps([list(map(str, row)) for row in conn.execute(sa.select(store.conversations))])
    assert "010150" not in raw and "min mor" not in raw  # masked, and understood texts not kept
    assert "ssss" in raw  # the not-understood text is kept for analysts
    store.events.metadata.drop_all(store.engine)
    store.close()
