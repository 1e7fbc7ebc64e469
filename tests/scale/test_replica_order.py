"""Two Rasa replicas share one conversation: Rasa's Redis lock store processes its messages one at a time.

Replica A and replica B (each with its own action server, as `make run-scaled` runs them)
use `endpoints.postgres.yml` as shipped: the PostgreSQL tracker store (a schema of this
test's own) and the Redis lock store. Six messages of one conversation are posted at
once from six threads, alternately to A and B. PostgreSQL's events table must then hold
each message exactly once, each followed by its own `action_turn`, the very bot messages
its HTTP answer carried and `action_listen` before the next message begins: processed one
at a time, in the order stored, none lost, none duplicated. Nothing is timed.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from tests.conftest import require_service
from tests.live import MODEL, SCALE_ENV, Servers, pg_schema, write_endpoints

pytestmark = pytest.mark.rasa

# distinct texts, so each stored user event names the request that sent it; no CPR numbers
MESSAGES = ["hej", "min mor er 82 år", "hun har lige været indlagt", "ja", "Ballerup", "ved ikke"]


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Servers, Servers, str]]:
    require_service("PostgreSQL", 5432)
    require_service("Redis", 6379)
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing")
    with pg_schema("replicas") as (schema, url):
        pair: list[Servers] = []
        for name in ("a", "b"):
            servers = Servers(
                tmp_path_factory.mktemp(f"replica_{name}"),
                {**SCALE_ENV, "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": url},
            )
            # endpoints.postgres.yml as shipped, with this replica's action server and this test's schema
            endpoints = write_endpoints(servers, "endpoints.postgres.yml", schema)
            assert endpoints["lock_store"]["type"] == "bot.rasa_lock_store.AtomicRedisLockStore"
            pair.append(servers)
        with contextlib.ExitStack() as stack:
            a, b = (stack.enter_context(servers.running()) for servers in pair)
            yield a, b, url


def send_at_once(
    targets: list[tuple[Servers, str]], sender: str
) -> list[tuple[list[dict[str, Any]], float, float]]:
    """Post every (replica, text) from its own thread, released together; each answer with its start and end."""
    barrier = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)

    def post(i: int, servers: Servers, text: str) -> None:
        barrier.wait()
        started = time.monotonic()
        try:
            results[i] = (servers.send(sender, text, {"channel": "citizen"}), started, time.monotonic())
        except Exception as e:  # reported by the assertion below, with the text that failed
            results[i] = e

    threads = [threading.Thread(target=post, args=(i, s, t)) for i, (s, t) in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    failed = {text: r for (_, text), r in zip(targets, results, strict=True) if not isinstance(r, tuple)}
    assert not failed, failed
    return results


def stored_events(url: str, sender: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT id, data FROM events WHERE sender_id = :sender ORDER BY id"),
                {"sender": sender},
            ).all()
    finally:
        engine.dispose()
    return [json.loads(data) for _, data in rows]


def turns(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The stored events cut before each user message; the events before the first are dropped."""
    cut: list[list[dict[str, Any]]] = []
    for event in events:
        if event["event"] == "user":
            cut.append([])
        if cut:
            cut[-1].append(event)
    return cut


@pytest.mark.parametrize("burst", range(3))  # a race shows in some bursts, not all: three are seconds
def test_one_conversation_on_two_replicas_is_processed_one_message_at_a_time(
    replicas: tuple[Servers, Servers, str], burst: int
) -> None:
    a, b, url = replicas
    sender = f"replicas-{burst}-{uuid.uuid4().hex[:8]}"
    targets = [(a if i % 2 == 0 else b, text) for i, text in enumerate(MESSAGES)]
    results = send_at_once(targets, sender)
    answers = {text: answer for (_, text), (answer, _, _) in zip(targets, results, strict=True)}
    # the requests really were in flight together: the first to end ended after another began
    # (an order of events, not a duration)
    first_end = min(ended for _, _, ended in results)
    assert sum(started < first_end for _, started, _ in results) >= 2

    events = stored_events(url, sender)
    stored = turns(events)
    said = [turn[0]["text"] for turn in stored]
    assert sorted(said) == sorted(MESSAGES)  # every message once: none lost, none duplicated
    timestamps = [event["timestamp"] for event in events]
    assert timestamps == sorted(timestamps)  # stored in the order they were processed
    for turn in stored:
        text = turn[0]["text"]
        actions = [e["name"] for e in turn if e["event"] == "action"]
        assert actions == ["action_turn", "action_listen"], (text, actions)  # no other message's turn inside
        assert turn[-1]["event"] == "action" and turn[-1]["name"] == "action_listen", text
        bot_texts = [e["text"] for e in turn if e["event"] == "bot" and e.get("text")]
        answered = [m["text"] for m in answers[text] if m.get("text")]
        assert bot_texts and bot_texts == answered, text  # its own replies, all of them, nobody else's
