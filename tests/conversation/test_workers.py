"""One Rasa with two Sanic workers on the embedded profile, as `make run` starts it: one
conversation's messages, sent at once, are processed one at a time, in order.

endpoints.yml as shipped (the SQLite tracker store and the SQLite lock store, files of this
test's own) and `SANIC_WORKERS=2`. Six messages of one conversation are posted at once from
six threads; the two workers share the listening socket, so both take some. The tracker
store must then hold each message exactly once, each followed by its own `action_turn`, the
very bot messages its HTTP answer carried and `action_listen` before the next message begins
(the checks of tests/scale/test_replica_order.py). Nothing is timed.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.conversation.test_live import ROUTES, answer_until_outcome
from tests.live import MODEL, ROOT, Servers, assert_processed_one_at_a_time, send_at_once

pytestmark = pytest.mark.rasa

WORKERS = 2
MESSAGES = ["hej", "min mor er 82 år", "hun har lige været indlagt", "ja", "Ballerup", "ved ikke"]


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does)")
    servers = Servers(tmp_path_factory.mktemp("workers"), {"SANIC_WORKERS": str(WORKERS)})
    endpoints: dict[str, Any] = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    assert endpoints["lock_store"]["type"] == "bot.rasa_lock_store.SQLiteLockStore"
    endpoints["action_endpoint"]["url"] = servers.actions_url
    endpoints["tracker_store"]["db"] = str(servers.tracker_db)
    endpoints["lock_store"]["db"] = str(servers.workdir / "locks.db")
    servers.endpoints.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    with servers.running() as running:
        assert running.rasa_workers_started() == WORKERS
        yield running


def rasa_pids(servers: Servers) -> set[int]:
    """Rasa's process and its children (Sanic forks one per worker)."""
    assert servers.rasa is not None
    children = Path(f"/proc/{servers.rasa.pid}/task/{servers.rasa.pid}/children").read_text().split()
    return {servers.rasa.pid, *map(int, children)}


def test_rasa_runs_the_workers_asked_for(workers: Servers) -> None:
    assert len(rasa_pids(workers)) == 1 + WORKERS  # Sanic's main process and one per worker


@pytest.mark.parametrize("burst", range(3))  # a race shows in some bursts, not all
def test_one_conversation_on_two_workers_is_processed_one_message_at_a_time(workers: Servers, burst: int) -> None:
    sender = f"workers-{burst}-{uuid.uuid4().hex[:8]}"
    targets = [(workers, text) for text in MESSAGES]
    results = send_at_once(targets, sender)
    assert_processed_one_at_a_time(f"sqlite:///{workers.tracker_db}", sender, targets, results)


@pytest.mark.parametrize(("first", "answers", "offer"), ROUTES[:2], ids=[r[2] for r in ROUTES[:2]])
def test_whole_conversations_go_on_across_workers(
    workers: Servers, first: str, answers: dict[str, str], offer: str
) -> None:
    """Each message on a fresh connection, so the kernel hands them to either worker: each
    conversation still reaches its outcome, as on one worker."""
    sender = f"workers-route-{uuid.uuid4().hex[:8]}"
    assert answer_until_outcome(workers, sender, first, answers)["offer"] == offer
