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
import uuid
from typing import Iterator

import pytest

from tests.conftest import require_service
from tests.live import (
    MODEL,
    SCALE_ENV,
    Servers,
    assert_processed_one_at_a_time,
    pg_schema,
    send_at_once,
    write_endpoints,
)

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


@pytest.mark.parametrize("burst", range(3))  # a race shows in some bursts, not all: three are seconds
def test_one_conversation_on_two_replicas_is_processed_one_message_at_a_time(
    replicas: tuple[Servers, Servers, str], burst: int
) -> None:
    a, b, url = replicas
    sender = f"replicas-{burst}-{uuid.uuid4().hex[:8]}"
    targets = [(a if i % 2 == 0 else b, text) for i, text in enumerate(MESSAGES)]
    results = send_at_once(targets, sender)
    assert_processed_one_at_a_time(url, sender, targets, results)
