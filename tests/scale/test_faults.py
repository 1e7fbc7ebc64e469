"""Faults survived, scaled profile: each part killed or stopped for real in the middle of a conversation.

`endpoints.scale.yml` as shipped (PostgreSQL tracker store in a schema of this test's own,
the Redis lock store, the RabbitMQ broker with this test's queue and exchange), drafts on
PostgreSQL as `make run-scaled` puts them, the citizen talking through our web app
(`POST /api/besked`, municipality Brønderslev). Each test drives a conversation to the
draft's last step ("Gem udkastet"), breaks one part, sends that message while the part is
down, brings the part back and sends it again. Asserted each time:

- while down, the citizen gets a Danish answer with Brønderslev's phone number (RabbitMQ
  only feeds analytics: the bot answers normally and the events are published afterwards);
- after recovery the conversation goes on where it was: the pending step is still the
  review, and answering it saves the draft;
- PostgreSQL's events table holds every message that reached a working store exactly once,
  in order, with unique message ids; the conversation's drafts are one, complete (reference
  set, opens as a page), never a half-written one.

Every service is restored in a `finally` and answers before the test returns. Restarting
PostgreSQL, Redis or RabbitMQ disturbs other users of this machine's services for seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
import redis
import sqlalchemy as sa

from bot.drafts.store import DraftStore
from bot.privacy import mask_cpr
from tests.analytics.conftest import PG_URL
from tests.analytics.rabbit import delete_queue_and_exchange, queue_depth, wait_until
from tests.conftest import require_service
from tests.conversation.test_live import DRAFT_ANSWERS
from tests.live import MODEL, SCALE_ENV, Servers, fetch, pg_schema, post_json, write_endpoints

pytestmark = pytest.mark.rasa

KOMMUNE = "broenderslev"
PHONE = "99 45 44 20"  # bot/data/municipalities/broenderslev.yml
FIRST = "jeg er 80 og lige kommet hjem fra sygehuset"
ANSWERS = {"rehab_plan": "ja", **DRAFT_ANSWERS}
SAVE = DRAFT_ANSWERS["review"]
# Technical or English text a citizen must never get
NOT_FOR_CITIZENS = (
    "Traceback",
    "Exception",
    "Error",
    "error",
    "None",
    "null",
    "Internal Server",
    "sorry",
    "Sorry",
)

PG_CLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect"]
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
    "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip  # the machine's own start command (it keeps nothing on disk)


class Scaled:
    """The scaled profile's servers, this test's schema and queue, and the citizen's side of the chat."""

    def __init__(self, servers: Servers, url: str, queue: str) -> None:
        self.servers, self.url, self.queue = servers, url, queue
        self.engine = sa.create_engine(url, pool_pre_ping=True)

    def say(self, sender: str, message: str) -> tuple[int, list[dict[str, Any]]]:
        """What the citizen's page gets for one message: the status and the messages."""
        status, body = post_json(
            f"http://127.0.0.1:{self.servers.web_port}/api/besked",
            {"sender": sender, "message": message, "kommune": KOMMUNE},
        )
        return status, list(json.loads(body)["messages"])

    def user_events(self, sender: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' ORDER BY id"),
                {"s": f"web-{sender}"},
            ).all()
        return [json.loads(data) for (data,) in rows]

    def drafts(self, sender: str) -> list[dict[str, Any]]:
        store = DraftStore(self.url, key=self.servers.draft_key.encode())
        try:
            with store.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(store.table).where(
                        store.table.c.owner_hash == store.owner_hash(f"web-{sender}")
                    )
                ).all()
        finally:
            store.engine.dispose()
        return [dict(row._mapping) for row in rows]


def pending(messages: list[dict[str, Any]]) -> str | None:
    """The step the conversation waits for: a question's fact, the review, or the draft offer."""
    customs = [m.get("custom") or {} for m in messages]
    for c in reversed(customs):
        if "draft_review" in c:
            return "review"
        if "question" in c:
            return str(c["question"]["fact"])
        if "outcome" in c:
            return "draft_offer"
    return None


def to_the_review(scaled: Scaled, sender: str) -> list[str]:
    """Answer every step up to the draft's review; the messages sent."""
    sent = [FIRST]
    status, messages = scaled.say(sender, FIRST)
    for _ in range(25):
        assert status == 200, messages
        step = pending(messages)
        assert step is not None, messages
        if step == "review":
            return sent
        sent.append(ANSWERS[step])
        status, messages = scaled.say(sender, ANSWERS[step])
    raise AssertionError("no review after 25 answers")


def assert_phone_answer(status: int, messages: list[dict[str, Any]]) -> None:
    """A Danish 'try again or call' with the municipality's number, and nothing else."""
    texts = [m.get("text") or "" for m in messages]
    assert messages and all(texts), (status, messages)
    said = " ".join(texts)
    assert PHONE in said and "Prøv igen" in said, said
    assert not any(word in said for word in NOT_FOR_CITIZENS), said
    assert not any((m.get("custom") or {}).keys() & {"question", "draft", "draft_review"} for m in messages)


def save_the_draft(scaled: Scaled, sender: str, sent: list[str]) -> dict[str, Any]:
    """The review is (still) pending: answering it saves the draft, once and whole."""
    status, messages = scaled.say(sender, SAVE)
    sent.append(SAVE)
    assert status == 200, messages
    draft = [(m.get("custom") or {})["draft"] for m in messages if "draft" in (m.get("custom") or {})]
    assert draft and draft[0]["reference"].startswith("TG-"), messages
    rows = scaled.drafts(sender)
    assert len(rows) == 1 and rows[0]["reference"] == draft[0]["reference"], rows
    assert fetch(draft[0]["url"])[0] == 200  # complete: it decrypts and renders
    return dict(draft[0])


def assert_events(scaled: Scaled, sender: str, stored: list[str]) -> None:
    """Each message that reached a working store once, in order; message ids unique."""
    events = scaled.user_events(sender)
    assert [e["text"] for e in events] == [mask_cpr(text)[0] for text in stored]
    ids = [e["message_id"] for e in events]
    assert len(set(ids)) == len(ids) and all(ids)


def rasa_health(scaled: Scaled) -> dict[str, Any]:
    """Rasa's REST channel's health: this process's tracker-store failures (bot/rasa_channel.py)."""
    status, body, _ = fetch(f"http://127.0.0.1:{scaled.servers.rasa_port}/webhooks/rest/health")
    assert status == 200, body
    return dict(json.loads(body))


def rasa_log_size(scaled: Scaled) -> int:
    return (scaled.servers.workdir / "rasa.log").stat().st_size


def rasa_log_since(scaled: Scaled, offset: int) -> str:
    with (scaled.servers.workdir / "rasa.log").open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace")


def answers_on(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def wait_for_service(check: Callable[[], bool], what: str) -> None:
    wait_until(check, seconds=120, what=what)


def pg_answers() -> bool:
    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(sa.text("SELECT 1")).scalar_one() == 1)
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def redis_answers() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping())
    except redis.exceptions.ConnectionError:
        return False


def pg_cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run([*PG_CLUSTER, version, "main", action], check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def postgresql_down() -> Iterator[None]:
    pg_cluster("stop")
    try:
        yield
    finally:
        if not answers_on(5432):
            pg_cluster("start")
        wait_for_service(pg_answers, "PostgreSQL answering again")


@contextlib.contextmanager
def redis_down() -> Iterator[None]:
    with contextlib.suppress(redis.exceptions.ConnectionError):
        redis.Redis(host="127.0.0.1", port=6379).shutdown(nosave=True)
    wait_until(lambda: not answers_on(6379), seconds=30, what="Redis stopped")
    try:
        yield
    finally:
        if not answers_on(6379):
            subprocess.run(REDIS_START, check=True, capture_output=True, timeout=60)
        wait_for_service(redis_answers, "Redis answering again")


@contextlib.contextmanager
def rabbitmq_down() -> Iterator[None]:
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
    try:
        yield
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
        subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True, timeout=120)
        wait_for_service(lambda: answers_on(5672), "RabbitMQ answering again")


def alive(proc: subprocess.Popen[bytes] | None) -> bool:
    return proc is not None and proc.poll() is None


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scaled]:
    for name, port in (("PostgreSQL", 5432), ("RabbitMQ", 5672), ("Redis", 6379)):
        require_service(name, port)
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing")
    suffix = uuid.uuid4().hex[:10]
    queue, exchange = f"tg_faults_{suffix}", f"tg-faults-{suffix}"
    with pg_schema("faults") as (schema, url):
        servers = Servers(
            tmp_path_factory.mktemp("faults"),
            {
                **SCALE_ENV,
                "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": url,
                "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": url,  # as scripts/run_scaled.sh puts them
                "TRAENINGSGUIDEN_ANALYTICS_DATABASE_URL": url,
                "TRAENINGSGUIDEN_RATE_LIMIT_PER_MINUTE": "10000",
            },
        )
        write_endpoints(servers, "endpoints.scale.yml", schema, queue=queue, exchange=exchange)
        try:
            with servers.running():
                yield Scaled(servers, url, queue)
        finally:
            with contextlib.suppress(Exception):
                delete_queue_and_exchange(queue, exchange)


@pytest.fixture()
def sender() -> str:
    return secrets.token_urlsafe(24)


def test_action_server_killed_and_restarted(scaled: Scaled, sender: str) -> None:
    sent = to_the_review(scaled, sender)
    assert alive(scaled.servers.actions)
    scaled.servers.kill_actions()  # SIGKILL, as a crash or the OOM killer: no clean shutdown
    try:
        assert_phone_answer(*scaled.say(sender, SAVE))
        sent.append(SAVE)  # Rasa stored the message; the action did not run
    finally:
        scaled.servers.start_actions()
    assert scaled.drafts(sender) == []
    save_the_draft(scaled, sender, sent)
    assert_events(scaled, sender, sent)


def test_rasa_killed_and_restarted(scaled: Scaled, sender: str) -> None:
    sent = to_the_review(scaled, sender)
    assert alive(scaled.servers.rasa)
    scaled.servers.kill_rasa()
    try:
        status, messages = scaled.say(sender, SAVE)  # our web app answers for the dead Rasa
        assert status == 503
        assert_phone_answer(status, messages)
    finally:
        scaled.servers.start_rasa()
    assert scaled.drafts(sender) == []
    save_the_draft(scaled, sender, sent)
    assert_events(scaled, sender, sent)


def test_postgresql_restarted(scaled: Scaled, sender: str) -> None:
    """Rasa's own store would greet the citizen as new here (and keep the turn in memory only)."""
    sent = to_the_review(scaled, sender)
    logged = rasa_log_size(scaled)
    with postgresql_down():
        assert_phone_answer(*scaled.say(sender, SAVE))  # nothing of it kept: not in `sent`
    assert scaled.drafts(sender) == []
    save_the_draft(scaled, sender, sent)  # the first turn after the restart already works
    assert_events(scaled, sender, sent)
    health = rasa_health(scaled)  # for an operator: this Rasa process's store failures
    assert health["status"] == "degraded" and health["tracker_store"]["errors"] >= 1
    said = rasa_log_since(scaled, logged)
    failures = [line for line in said.splitlines() if "tracker_store.retrieve.failed" in line]
    assert len(failures) == 1 and "ERROR" in failures[0]
    assert SAVE not in said and sender not in said  # no citizen's text, no conversation id


def test_redis_stopped_and_started(scaled: Scaled, sender: str) -> None:
    sent = to_the_review(scaled, sender)
    logged = rasa_log_size(scaled)
    with redis_down():
        assert_phone_answer(*scaled.say(sender, SAVE))  # no lock, no turn: nothing kept
    said = rasa_log_since(scaled, logged)
    assert "ERROR    bot.rasa_channel  - rest.turn.failed: LockError" in said  # one line, the class only
    assert SAVE not in said  # Rasa's own route logs the citizen's text with the failure
    assert scaled.drafts(sender) == []
    save_the_draft(scaled, sender, sent)
    assert_events(scaled, sender, sent)


def test_rabbitmq_stopped_and_started(scaled: Scaled, sender: str) -> None:
    """The broker only feeds analytics: the citizen is answered as usual while it is down, and
    every event stored reaches the queue once it is back."""
    sent = to_the_review(scaled, sender)
    # This test's events only: a replica SIGKILLed by an earlier test may have stored events it
    # had not yet published (the broker is fed after the store commits; see docs/deploy.md).
    stored_before, depth_before = settled_counts(scaled)
    with rabbitmq_down():
        draft = save_the_draft(scaled, sender, sent)
    assert draft["reference"].startswith("TG-")
    status, messages = scaled.say(sender, "tak")
    sent.append("tak")
    assert status == 200 and messages and all(m.get("text") for m in messages)
    assert_events(scaled, sender, sent)
    with scaled.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one() - stored_before
    wait_until(
        lambda: queue_depth(scaled.queue) - depth_before >= stored,
        seconds=120,
        what="every stored event published",
    )
    assert queue_depth(scaled.queue) - depth_before == stored  # none lost, none twice


def settled_counts(scaled: Scaled) -> tuple[int, int]:
    """Events stored and queue depth, once the depth has stopped moving (Rasa publishes after it stores)."""
    depth = -1
    while (now := queue_depth(scaled.queue)) != depth:
        depth = now
        time.sleep(2)
    with scaled.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one(), depth
