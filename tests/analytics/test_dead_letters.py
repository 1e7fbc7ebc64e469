"""Dead letters: the consumer gives up on a poison message after a few tries, not on an outage.

Against the real RabbitMQ and the real analytics store; each test has its own queue,
exchange and tables. The poison is a real one: a Rasa-looking event whose `parse_data`
is a string makes `AnalyticsStore.ingest` raise AttributeError on every try.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from bot.analytics import queries
from bot.analytics.consumer import Attempts, Consumer, dead_letter_queue, message_key
from bot.analytics.store import AnalyticsStore
from bot.config import ANALYTICS_MAX_ATTEMPTS_ENV as MAX_ATTEMPTS_ENV
from bot.config import Settings
from tests.analytics.events import event_count
from tests.analytics.rabbit import (
    ConsumerThread,
    delete_queue_and_exchange,
    publish,
    queue_depth,
    take,
    wait_until,
)
from tests.conftest import require_service

UTC = dt.timezone.utc
POISON = json.dumps({"sender_id": "poison", "event": "user", "timestamp": 1.0, "parse_data": "zz"}).encode()


def good(sender: str, number: int) -> bytes:
    return json.dumps(
        {"sender_id": sender, "event": "action", "timestamp": time.time() + number, "name": "action_listen"}
    ).encode()


@pytest.fixture
def names() -> Iterator[tuple[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    queue, exchange = f"tg_test_dead_{suffix}", f"tg-test-dead-{suffix}"
    yield queue, exchange
    delete_queue_and_exchange(queue, exchange)


# --- without RabbitMQ -------------------------------------------------------------------------


def test_tries_are_counted_per_message_and_the_oldest_are_forgotten_past_the_limit() -> None:
    attempts = Attempts(limit=2)
    assert [attempts.failed("a"), attempts.failed("a"), attempts.failed("b")] == [1, 2, 1]
    attempts.failed("c")  # "a" is the least recently failed: forgotten
    assert len(attempts) == 2
    assert attempts.failed("c") == 2  # "c" was kept
    assert attempts.failed("a") == 1  # counted afresh; "b" is forgotten now
    attempts.forget("a")
    assert len(attempts) == 1
    assert attempts.failed("b") == 1


def test_the_pause_before_a_retry_doubles_up_to_its_ceiling(tmp_path: Path) -> None:
    store = AnalyticsStore(f"sqlite:///{tmp_path / 'a.db'}")
    consumer = Consumer(store, retry_seconds=2.0, max_retry_seconds=10.0)
    assert [consumer.pause(n) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 10.0, 10.0]
    with pytest.raises(ValueError):
        Consumer(store, max_attempts=0)
    store.close()


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 3), ("", 3), ("5", 5), ("1", 1), ("0", None), ("tre", None)]
)
def test_max_attempts_is_a_setting_defaulting_to_three(value: str | None, expected: int | None) -> None:
    env = {} if value is None else {MAX_ATTEMPTS_ENV: value}
    if expected is None:
        with pytest.raises(ValueError, match=MAX_ATTEMPTS_ENV):
            Settings.from_env(env)
    else:
        assert Settings.from_env(env).analytics_max_attempts == expected


def test_the_overview_count_reads_dead_letters_in_the_period_and_is_zero_without_the_consumer(
    tmp_path: Path,
) -> None:
    store = AnalyticsStore(f"sqlite:///{tmp_path / 'a.db'}")
    day = dt.datetime(2026, 11, 2, 12, tzinfo=UTC)
    for hours in (0, 1, 30):
        store.record_dead_letter(
            message_key="k" * 64, error="AttributeError", attempts=3, at=day + dt.timedelta(hours=hours)
        )
    assert queries.dead_lettered(store) == 3
    assert queries.dead_lettered(store, since=day, until=day + dt.timedelta(days=1)) == 2
    assert queries.dead_lettered(store, since=day + dt.timedelta(days=1)) == 1
    assert queries.dead_lettered(None, since=day) == 0
    # retention removes the notes with the conversations of the same age
    store.delete_older_than(day + dt.timedelta(days=1))
    assert queries.dead_lettered(store) == 1
    with store.engine.connect() as conn:
        columns = set(conn.execute(sa.select(store.dead_letters)).keys())
    assert columns == {"id", "dead_lettered_at", "message_key", "error", "attempts"}  # no content
    store.close()


# --- with RabbitMQ ----------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_poison_message_is_dead_lettered_after_three_tries_counted_and_does_not_block_the_rest(
    tmp_path: Path, names: tuple[str, str], database: str
) -> None:
    require_service("RabbitMQ", 5672)
    queue, exchange = names
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'analytics.db'}"
    else:
        require_service("PostgreSQL", 5432)
        url = "postgresql://postgres@127.0.0.1:5432/test"
    store = AnalyticsStore(url, table_prefix=prefix)
    consumer = ConsumerThread(store, queue, exchange, retry_seconds=0.05).start()
    try:
        after = [good("after-poison", n) for n in range(5)]
        publish(queue, exchange, [good("before-poison", 0), POISON, *after], headers={"origin": "test"})
        wait_until(lambda: event_count(store) == 6, seconds=60, what="the good events stored")
        wait_until(lambda: queue_depth(queue) == 0, seconds=60, what="the queue drained")
        letters = take(dead_letter_queue(queue))
    finally:
        consumer.stop()
    assert consumer.error is None
    assert len(letters) == 1
    letter = letters[0]
    assert letter.body == POISON  # unchanged (already CPR-masked by the tracker store)
    assert letter.headers == {
        "origin": "test",
        "x-error": "AttributeError",
        "x-attempts": 3,
        "x-message-key": message_key(POISON),
    }
    assert event_count(store, "after-poison") == 5
    assert consumer.consumer.dead_lettered == 1 and len(consumer.consumer.attempts) == 0
    assert queries.dead_lettered(store) == 1
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(store.dead_letters)).one()
    assert (row.error, row.attempts, row.message_key) == ("AttributeError", 3, message_key(POISON))
    store.events.metadata.drop_all(store.engine)
    store.close()


def test_a_message_that_is_not_a_rasa_event_is_dead_lettered_at_once(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    require_service("RabbitMQ", 5672)
    queue, exchange = names
    store = AnalyticsStore(f"sqlite:///{tmp_path / 'analytics.db'}")
    consumer = ConsumerThread(store, queue, exchange, retry_seconds=5.0).start()
    try:
        publish(queue, exchange, [b"not json", b"[1, 2]", json.dumps({"event": "user"}).encode()])
        wait_until(lambda: consumer.consumer.dead_lettered == 3, seconds=30, what="three dead letters")
        letters = take(dead_letter_queue(queue))
    finally:
        consumer.stop()
    assert [(m.body, m.headers["x-attempts"]) for m in letters] == [
        (b"not json", 1),
        (b"[1, 2]", 1),
        (b'{"event": "user"}', 1),
    ]
    assert [m.headers["x-error"] for m in letters] == ["JSONDecodeError", "NotARasaEvent", "ValueError"]
    assert queries.dead_lettered(store) == 3
    store.close()


def test_a_message_that_fails_once_then_succeeds_is_stored_once_and_not_dead_lettered(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    require_service("RabbitMQ", 5672)
    queue, exchange = names
    store = AnalyticsStore(f"sqlite:///{tmp_path / 'analytics.db'}")
    with store.engine.begin() as conn:  # the record table is missing: storing fails, the database answers
        conn.execute(sa.text("ALTER TABLE analytics_conversations RENAME TO away"))
    consumer = ConsumerThread(store, queue, exchange, retry_seconds=1.0).start()
    try:
        publish(queue, exchange, [good("flaky", 0)])
        wait_until(lambda: len(consumer.consumer.attempts) == 1, seconds=30, what="a failed try")
        with store.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE away RENAME TO analytics_conversations"))
        wait_until(lambda: consumer.consumer.stored == 1, seconds=30, what="the event stored")
        wait_until(lambda: queue_depth(queue) == 0, seconds=30, what="the queue drained")
    finally:
        consumer.stop()
    assert event_count(store, "flaky") == 1
    assert len(consumer.consumer.attempts) == 0  # forgotten once stored
    assert consumer.consumer.dead_lettered == 0 and queue_depth(dead_letter_queue(queue)) == 0
    assert queries.dead_lettered(store) == 0
    store.close()


def test_a_database_outage_longer_than_the_tries_does_not_dead_letter_a_good_message(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    require_service("RabbitMQ", 5672)
    queue, exchange = names
    folder = tmp_path / "db"
    store = AnalyticsStore(f"sqlite:///{folder / 'analytics.db'}")
    consumer = ConsumerThread(store, queue, exchange, retry_seconds=0.05, max_retry_seconds=0.2).start()
    try:
        folder.rename(tmp_path / "away")  # the database cannot be opened: down
        publish(queue, exchange, [good("patient", 0)])
        wait_until(lambda: consumer.consumer._outage >= 6, seconds=30, what="six failed tries in an outage")
        assert consumer.consumer.dead_lettered == 0 and len(consumer.consumer.attempts) == 0
        (tmp_path / "away").rename(folder)
        wait_until(
            lambda: consumer.consumer.stored == 1, seconds=30, what="the event stored after the outage"
        )
    finally:
        consumer.stop()
    assert event_count(store, "patient") == 1
    assert queue_depth(dead_letter_queue(queue)) == 0 and queries.dead_lettered(store) == 0
    store.close()
