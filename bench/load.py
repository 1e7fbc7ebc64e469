"""Load test: citizens through whole conversations over REST, ours against the `rasa init` bot.

    .venv/bin/python bench/load.py                       (make load; needs models/current.tar.gz)
    .venv/bin/python bench/load.py --concurrency 1 2 --conversations 4 --targets embedded "rasa init"

In one run, for each target and each concurrency (1, 10, 50, 200 by default), plays
conversations over Rasa's REST channel and prints messages ok/failed, messages per second,
p50/p95/p99 per message, events lost and duplicated in the tracker store, peak memory, model
load time, and our figures as a ratio to the `rasa init` bot's. The same figures go to
results/load.json. It measures and never asserts a time: the exit code is 1 only when a step
failed (a server that did not start, a message without an answer, an event lost). All traffic
goes to 127.0.0.1; every wait and loop is bounded. See bench/README.md, "Load test".

Targets:
  embedded   our bot as `make run` starts it: action server, Rasa, SQLite tracker store
  scaled     our bot on endpoints.scale.yml: PostgreSQL tracker store (a schema of its own),
             Redis lock store, RabbitMQ broker (a queue of its own); one Rasa replica, or the
             replicas given with --scaled-urls (messages spread round robin over them)
  rasa init  the bot `rasa init` creates (cached in --init-dir), in-memory tracker, no actions
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

import aio_pika
import aiohttp
import sqlalchemy as sa
import yaml
from _servers import (
    LOCALHOST,
    REPO,
    CommandFailed,
    bench_env,
    free_port,
    machine_busy_cpu_s,
    own_cpu_s,
    rss_mb,
    run_command,
    server,
    tree_cpu_s,
    wait_http_ok,
    wait_log_count,
)

PY = str(REPO / ".venv" / "bin" / "python")
RASA = str(REPO / ".venv" / "bin" / "rasa")
MODEL = REPO / "models" / "current.tar.gz"
RESULTS = REPO / "results" / "load.json"
LOGS = REPO / "results" / "load_logs"
RASA_VERSION = metadata.version("rasa")
DEFAULT_INIT_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "traeningsguiden-bench"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"  # the scaled profile's services on this machine
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
SCALE_ENV = {
    "TRACKER_HOST": LOCALHOST, "TRACKER_PORT": "5432", "TRACKER_DB": "test", "TRACKER_USER": "postgres",
    "REDIS_HOST": LOCALHOST, "REDIS_PORT": "6379",
    "RABBITMQ_HOST": LOCALHOST, "RABBITMQ_PORT": "5672", "RABBITMQ_USER": "guest", "RABBITMQ_PASSWORD": "guest",
}

TARGETS = ("embedded", "scaled", "rasa init")
REFERENCE = "rasa init"
DEFAULT_CONCURRENCY = (1, 10, 50, 200)
SERVER_START_TIMEOUT_S = 300
INIT_TIMEOUT_S = 1800  # `rasa init --no-prompt` trains its model: a few minutes on 2 cores
REQUEST_TIMEOUT_S = 120.0
MAX_TURNS = 40  # a conversation that has not ended after this many messages is stuck
MEMORY_SAMPLE_S = 0.5

# --------------------------------------------------------------------------- citizens

Answer = str  # typed text, or "=value": the button with that value, sent as the page sends it


@dataclass(frozen=True)
class Citizen:
    """One kind of citizen: what they say first, how they answer each question, how they end.

    `answers` maps a question's fact (from `custom.question` in the bot's answer) to typed text,
    or to "=value" for the button with that value. A question the citizen has no answer for gets
    the button "no" (or the first button; a typed "50" for a number, "ved ikke" for text).
    `ends`: "outcome" (answers the draft offer with `answers["draft_offer"]`, a no), "draft"
    (fills in and saves the draft), "early" (leaves after `early_after` messages) or "script"
    (sends `opening` and nothing else: the `rasa init` bot's conversations).
    """

    name: str
    opening: tuple[str, ...]
    answers: Mapping[str, Answer] = field(default_factory=dict)
    correction: str | None = None  # sent once, instead of the answer to the second question
    ends: str = "outcome"
    early_after: int = 3
    rephrase: str | None = None  # said when the opening got no question (not understood)


DRAFT_ANSWERS: Mapping[str, Answer] = {
    "draft_offer": "ja",
    "draft_consent": "=yes",
    "applicant_relation": "=relative",
    "person_name": "Karen Jensen",
    "date_of_birth": "3.4.1945",
    "phone": "12 34 56 78",
    "email": "spring over",
    "need_description": "Har brug for træning efter et fald i hjemmet.",
    "diagnoses": "ved ikke",
    "current_care": "hjemmehjælp to gange om ugen",
    "municipality_may_obtain": "ja",
    "training_method": "ABM-metoden",
    "review": "=save",
}
DECLINE = {"draft_offer": "nej tak"}

OURS: tuple[Citizen, ...] = (
    Citizen(
        "parent, child with CP, correction",
        ("min søn på 8 har cerebral parese, kan han få træning?",),
        {"hospital_stay": "nej", "special_training_need": "=yes", "school_trains": "nej",
         "already_free_physio": "=no", "municipality": "Hjørring", **DECLINE},
        correction="nej vent, han er 9",
    ),
    Citizen(
        "80-year-old after hospital, draft",
        ("jeg er 80 og lige kommet hjem fra sygehuset",),
        {"rehab_plan": "=yes", "municipality": "=ballerup", **DRAFT_ANSWERS, "applicant_relation": "=self"},
        ends="draft",
    ),
    Citizen(
        "relative of a mother of 84",
        ("hej", "min mor på 84 bliver dårligere gående, kan hun få træning"),
        {"hospital_stay": "=no", "goal": "bevare det hun kan", "already_free_physio": "nej",
         "diagnosis_type": "=other", "can_train_alone": "nej", "risk_of_loss": "=yes",
         "needs_therapist": "ja", "municipality": "Brønderslev", **DECLINE},
    ),
    Citizen(
        "parent, no diacritics, correction, draft",
        ("min datter paa 6 har cp, vi vil gerne hjemmetraene hende",),
        {"age": "6", "hospital_stay": "nej", "child_disability": "ja", "significant_permanent": "=yes",
         "special_day_offer": "ja", "parents_can_train": "ja", "municipality": "aarhus",
         **DRAFT_ANSWERS, "applicant_relation": "=parent"},
        correction="nej vent, hun er 7",
        ends="draft",
        rephrase="vi vil gerne hjemmetræne vores datter",
    ),
    Citizen(
        "sclerosis, typos, leaves early",
        ("jeg har sklerose, kan jeg faa vederlagsfri fysiotrapi",),
        {"age": "54", "hospital_stay": "nej"},
        ends="early",
        early_after=3,
        rephrase="jeg har sclerose, kan jeg få vederlagsfri fysioterapi?",
    ),
    Citizen(
        "72-year-old who trains alone",
        ("jeg er 72 og kan selv træne, men vil gerne have vedligeholdende træning",),
        {"hospital_stay": "nej", "goal": "=maintain", "already_free_physio": "nej",
         "diagnosis_type": "andet", "can_train_alone": "=yes", "municipality": "Brønderslev", **DECLINE},
    ),
)

# The `rasa init` bot (moodbot): greet, mood_great / mood_unhappy, affirm / deny, goodbye.
RASA_INIT: tuple[Citizen, ...] = (
    Citizen("great", ("hi", "I am feeling great", "bye"), ends="script"),
    Citizen("unhappy, helped", ("hello there", "I am sad", "yes", "goodbye"), ends="script"),
    Citizen("unhappy, not helped", ("hey", "very unhappy", "no", "see you later"), ends="script"),
)


def inform(fact: str, value: str) -> str:
    """A button's payload as the page sends it."""
    return "/inform" + json.dumps({"fact": fact, "choice": value}, ensure_ascii=False)


def answer_for(citizen: Citizen, question: Mapping[str, Any]) -> tuple[str, bool]:
    """What the citizen sends to `question`; and whether the citizen's script had an answer for it."""
    fact = str(question.get("fact"))
    scripted = citizen.answers.get(fact)
    if scripted is not None:
        return (inform(fact, scripted[1:]) if scripted.startswith("=") else scripted), True
    values = [str(option.get("value")) for option in question.get("options") or []]
    if values:
        return inform(fact, "no" if "no" in values else values[0]), False
    return ("50" if question.get("kind") == "number" else "ved ikke"), False


def customs(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`custom` of every message of one answer, merged (later wins).

    The bot sends either a text message and a separate custom message, or one message with
    text, buttons and custom together: both shapes read the same here."""
    merged: dict[str, Any] = {}
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, Mapping):
            merged.update(custom)
    return merged


# --------------------------------------------------------------------------- the player


@dataclass
class Conversation:
    """What one conversation did: a message counts as ok with HTTP 200 and a non-empty answer."""

    sender: str
    citizen: str
    expected: str
    latencies_s: list[float] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    unscripted: int = 0  # questions the script had no answer for (a button "no" was pressed)
    rephrased: bool = False
    corrected: bool = False
    outcome: str | None = None  # the offer of `custom.outcome`
    draft: bool = False  # `custom.draft` came: the draft was saved
    ended: str = ""  # outcome, draft, early, script, or what went wrong
    error: str | None = None

    @property
    def ok(self) -> int:
        return len(self.latencies_s)

    def reached_expected_end(self) -> bool:
        return self.error is None and self.ended == self.expected


class Client:
    """Sends one message and reads the answer; spreads messages over one or more Rasa URLs."""

    def __init__(self, session: aiohttp.ClientSession, urls: Sequence[str]) -> None:
        if not urls:
            raise ValueError("no Rasa URL")
        for url in urls:
            if not url.startswith(f"http://{LOCALHOST}:"):
                raise ValueError(f"only {LOCALHOST} is load-tested, not {url}")
        self.session, self.urls, self._next = session, [u.rstrip("/") for u in urls], 0

    def url(self) -> str:
        url = self.urls[self._next % len(self.urls)]
        self._next += 1
        return f"{url}/webhooks/rest/webhook"

    async def send(self, conversation: Conversation, text: str) -> list[dict[str, Any]] | None:
        """The answer's messages, or None (counted as failed, the reason kept) on any failure."""
        conversation.sent += 1
        started = time.perf_counter()
        try:
            async with self.session.post(self.url(), json={"sender": conversation.sender, "message": text}) as r:
                body = await r.read()
                status = r.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return self._failed(conversation, f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - started
        if status != 200:
            return self._failed(conversation, f"HTTP {status}")
        try:
            messages = json.loads(body)
        except ValueError:
            return self._failed(conversation, "answer is not JSON")
        if not isinstance(messages, list) or not messages:
            return self._failed(conversation, f"empty answer to {text[:40]!r}")
        conversation.latencies_s.append(elapsed)
        return messages

    @staticmethod
    def _failed(conversation: Conversation, reason: str) -> None:
        conversation.failed += 1
        conversation.error = conversation.error or reason
        conversation.ended = "failed"
        return None


def level_prefix(run_id: str, slug: str, position: int, concurrency: int) -> str:
    """The sender ids' prefix of one level: the level's position in the run too, so that a
    concurrency given twice (`--concurrency 200 200`, to see whether memory settles) plays new
    conversations instead of continuing the first level's, which had ended."""
    return f"load-{run_id}-{slug}-{position}-c{concurrency}"


async def play(client: Client, citizen: Citizen, sender: str) -> Conversation:
    """One citizen through one whole conversation; the next answer follows the bot's question."""
    conv = Conversation(sender=sender, citizen=citizen.name, expected=citizen.ends)
    messages: list[dict[str, Any]] | None = None
    for text in citizen.opening:
        messages = await client.send(conv, text)
        if messages is None:
            return conv
    if citizen.ends == "script":
        conv.ended = "script"
        return conv
    assert messages is not None  # every citizen of ours says something first
    questions_seen = 0
    while conv.sent < MAX_TURNS:
        custom = customs(messages)
        question = custom.get("question") if isinstance(custom.get("question"), Mapping) else None
        if isinstance(custom.get("outcome"), Mapping):
            conv.outcome = str(custom["outcome"].get("offer"))
        if isinstance(custom.get("draft"), Mapping):
            conv.draft, conv.ended = True, "draft"
            return conv
        if citizen.ends == "early" and conv.sent >= citizen.early_after:
            conv.ended = "early"
            return conv
        if question is None:
            if conv.outcome is not None:  # the outcome, and no draft offer (or it was answered)
                conv.ended = "outcome"
                return conv
            if citizen.rephrase and not conv.rephrased:  # not understood: the citizen says it again
                conv.rephrased = True
                messages = await client.send(conv, citizen.rephrase)
                if messages is None:
                    return conv
                continue
            conv.ended, conv.error = "stuck", f"neither a question nor an outcome after {conv.sent} messages"
            return conv
        questions_seen += 1
        if citizen.correction and not conv.corrected and questions_seen == 2:
            conv.corrected = True
            text = citizen.correction
        else:
            text, scripted = answer_for(citizen, question)
            conv.unscripted += not scripted
            if question.get("fact") == "draft_offer" and citizen.ends == "outcome":
                messages = await client.send(conv, text)  # declines the draft: the conversation ends
                if messages is not None:
                    conv.ended = "outcome"
                return conv
        messages = await client.send(conv, text)
        if messages is None:
            return conv
    conv.ended, conv.error = "stuck", f"not ended after {MAX_TURNS} messages"
    return conv


@dataclass
class Level:
    """One concurrency level of one target: its conversations and wall time."""

    concurrency: int
    conversations: list[Conversation] = field(default_factory=list)
    wall_s: float = 0.0
    not_started: int = 0  # conversations skipped because the level's time ran out


async def drive(urls: Sequence[str], citizens: Sequence[Citizen], *, conversations: int, concurrency: int,
                prefix: str, time_limit_s: float, request_timeout_s: float = REQUEST_TIMEOUT_S) -> Level:
    """`conversations` conversations, `concurrency` at a time, citizens in turn.

    No conversation starts after `time_limit_s`; those are counted as not started."""
    level = Level(concurrency=concurrency)
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=request_timeout_s)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        client = Client(session, urls)

        async def one(index: int) -> None:
            async with gate:
                if time.perf_counter() - started > time_limit_s:
                    level.not_started += 1
                    return
                citizen = citizens[index % len(citizens)]
                level.conversations.append(await play(client, citizen, f"{prefix}-{index}"))

        await asyncio.gather(*(one(i) for i in range(conversations)))
    level.wall_s = time.perf_counter() - started
    return level


# --------------------------------------------------------------------------- events in the tracker store


@dataclass(frozen=True)
class StoredEvents:
    """User events of the run's senders in the tracker store, against the messages answered."""

    answered: int
    stored: int
    lost: int  # answered messages with no user event
    duplicated: int  # user events whose message id is stored more than once


def count_user_events(url: str, senders: Mapping[str, int], *, connect_args: Mapping[str, Any] | None = None,
                      ) -> StoredEvents:
    """Compare the user events stored per sender (Rasa's SQL `events` table) with `senders`
    (sender -> messages answered). Works on SQLite and PostgreSQL (sqlalchemy URL)."""
    engine = sa.create_engine(url, connect_args=dict(connect_args or {}))
    stored: dict[str, list[str]] = {}
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT sender_id, data FROM events WHERE type_name = 'user' AND sender_id IN :senders")
                .bindparams(sa.bindparam("senders", expanding=True)),
                {"senders": list(senders)},
            )
            for sender_id, data in rows:
                stored.setdefault(sender_id, []).append(str(json.loads(data).get("message_id")))
    finally:
        engine.dispose()
    lost = duplicated = 0
    for sender, answered in senders.items():
        ids = stored.get(sender, [])
        duplicated += len(ids) - len(set(ids))
        lost += max(0, answered - len(set(ids)))
    return StoredEvents(answered=sum(senders.values()), stored=sum(len(v) for v in stored.values()),
                        lost=lost, duplicated=duplicated)


# --------------------------------------------------------------------------- memory


class PeakMemory:
    """Samples the resident memory (with child processes) of named processes in a thread."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self.peak_mb = {name: 0.0 for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            for name, pid in self.pids.items():
                self.peak_mb[name] = max(self.peak_mb[name], rss_mb(pid))
            if self._stop.wait(MEMORY_SAMPLE_S):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# --------------------------------------------------------------------------- targets


@dataclass
class Target:
    """A running bot: where to send messages, which processes to watch, where its events are."""

    name: str
    urls: list[str]
    citizens: tuple[Citizen, ...]
    pids: dict[str, int] = field(default_factory=dict)
    startup_s: float | None = None
    tracker_url: str | None = None  # sqlalchemy URL of Rasa's SQL tracker store, None: in memory
    tracker_connect_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    tmp: Path
    env: dict[str, str]
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    started: float = field(default_factory=time.perf_counter)
    machine_cpu_at_start: float = field(default_factory=machine_busy_cpu_s)
    own_cpu_at_start: float = field(default_factory=own_cpu_s)
    results: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def log(self, name: str) -> Path:
        return self.tmp / f"{name.replace(' ', '_')}.log"


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def our_env(run: Run, workdir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The action server's and Rasa's environment: drafts in `workdir`, a fresh draft key."""
    from cryptography.fernet import Fernet

    return {
        **run.env,
        "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": f"sqlite:///{workdir / 'drafts.db'}",
        "TRAENINGSGUIDEN_DRAFT_KEY": Fernet.generate_key().decode(),
        "TRAENINGSGUIDEN_BASE_URL": f"http://{LOCALHOST}:8080",
        "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": f"sqlite:///{workdir / 'tracker.db'}",
        **extra,
    }


@contextlib.contextmanager
def our_bot(run: Run, name: str, endpoints: dict[str, Any], env: dict[str, str],
            tracker_url: str, connect_args: Mapping[str, Any] | None = None, *, workers: int = 1) -> Iterator[Target]:
    """The action server and one Rasa with `endpoints` and `workers` Sanic workers; the action URL
    is filled in here. Start-up ends when every worker has loaded the model and serves."""
    slug = name.replace(" ", "_")
    actions_port, rasa_port = free_port(), free_port()
    endpoints["action_endpoint"]["url"] = f"http://{LOCALHOST}:{actions_port}/webhook"
    path = run.tmp / f"endpoints_{slug}.yml"
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    actions_log, rasa_log = run.log(f"{slug}_actions"), run.log(f"{slug}_rasa")
    started = time.perf_counter()
    with server([PY, "-m", "actions.server", "--actions", "actions", "--port", str(actions_port)],
                actions_log, env) as actions, \
         server([RASA, "run", "--model", str(MODEL), "--endpoints", str(path), "--credentials",
                 "credentials.yml", "-i", LOCALHOST, "--port", str(rasa_port)], rasa_log,
                {**env, "SANIC_WORKERS": str(workers)}) as rasa:
        progress(f"{name}: starting the action server and Rasa ({workers} worker{'s' * (workers > 1)})")
        wait_http_ok(f"http://{LOCALHOST}:{actions_port}/health", actions, actions_log, SERVER_START_TIMEOUT_S)
        wait_http_ok(f"http://{LOCALHOST}:{rasa_port}/webhooks/rest/", rasa, rasa_log, SERVER_START_TIMEOUT_S)
        wait_log_count(rasa_log, "Rasa server is up and running.", workers, rasa, SERVER_START_TIMEOUT_S)
        yield Target(name, [f"http://{LOCALHOST}:{rasa_port}"], OURS,
                     pids={"rasa": rasa.pid, "actions": actions.pid},
                     startup_s=time.perf_counter() - started, tracker_url=tracker_url,
                     tracker_connect_args=dict(connect_args or {}))


def our_endpoints(source: str) -> dict[str, Any]:
    endpoints: dict[str, Any] = yaml.safe_load((REPO / source).read_text(encoding="utf-8"))
    return endpoints


@contextlib.contextmanager
def embedded(run: Run, args: argparse.Namespace) -> Iterator[Target]:
    """As `make run`: endpoints.yml with its SQLite tracker and lock stores moved to temporary files,
    --rasa-workers Sanic workers (make run's 2 by default)."""
    workdir = run.tmp / "embedded"
    workdir.mkdir()
    endpoints = our_endpoints("endpoints.yml")
    endpoints["tracker_store"]["db"] = str(workdir / "tracker.db")
    endpoints["lock_store"]["db"] = str(workdir / "locks.db")
    env = our_env(run, workdir, {})
    with our_bot(run, "embedded", endpoints, env, f"sqlite:///{workdir / 'tracker.db'}",
                 workers=args.rasa_workers) as target:
        yield target


@contextlib.contextmanager
def scaled(run: Run, args: argparse.Namespace) -> Iterator[Target]:
    """endpoints.scale.yml as shipped, with a PostgreSQL schema, a queue and an exchange of its own
    (all removed at the end). With --scaled-urls, the replicas already running are used instead."""
    if args.scaled_urls:
        yield Target("scaled", list(args.scaled_urls), OURS, tracker_url=args.scaled_tracker_url)
        return
    schema = f"load_{run.run_id}"
    queue, exchange = f"tg_load_{run.run_id}", f"tg-load-{run.run_id}"
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    workdir = run.tmp / "scaled"
    workdir.mkdir()
    endpoints = our_endpoints("endpoints.scale.yml")
    endpoints["tracker_store"]["query"] = {"options": f"-csearch_path={schema}"}
    endpoints["event_broker"]["queues"] = [queue]
    endpoints["event_broker"]["exchange_name"] = exchange
    env = our_env(run, workdir, {**SCALE_ENV, "TRAENINGSGUIDEN_TRACKER_DATABASE_URL": url,
                                 "TRAENINGSGUIDEN_DRAFT_DATABASE_URL": url,
                                 "TRAENINGSGUIDEN_ANALYTICS_DATABASE_URL": url})
    try:
        with our_bot(run, "scaled", endpoints, env, url, workers=args.scaled_workers) as target:
            yield target
    finally:
        delete_queue_and_exchange(queue, exchange)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def delete_queue_and_exchange(queue: str, exchange: str) -> None:
    """The run's RabbitMQ queue and exchange (nothing consumes them: the events are counted in PostgreSQL)."""
    async def delete() -> None:
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(queue)
            await channel.exchange_delete(exchange)

    asyncio.run(delete())


def rasa_init_bot(run: Run, init_dir: Path) -> Path:
    """The `rasa init` project, created and trained once (`rasa init --no-prompt`), then reused."""
    project = init_dir / f"rasa-init-{RASA_VERSION}"
    if any((project / "models").glob("*.tar.gz")):
        return project
    building = project.with_name(project.name + ".tmp")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)  # rasa init wants the directory to exist
    progress(f"creating and training the rasa init bot in {project} (once; a few minutes)")
    run_command([RASA, "init", "--no-prompt", "--init-dir", str(building)], run.log("rasa_init_create"),
                run.env, INIT_TIMEOUT_S)
    if not any((building / "models").glob("*.tar.gz")):
        raise CommandFailed(f"rasa init trained no model in {building}")
    shutil.rmtree(project, ignore_errors=True)
    building.rename(project)
    return project


@contextlib.contextmanager
def rasa_init(run: Run, args: argparse.Namespace) -> Iterator[Target]:
    """The `rasa init` bot served by `rasa run`: in-memory tracker store, no action server."""
    project = rasa_init_bot(run, args.init_dir)
    model = max((project / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    port = free_port()
    log = run.log("rasa_init_rasa")
    started = time.perf_counter()
    with server([RASA, "run", "--model", str(model), "--endpoints", str(project / "endpoints.yml"),
                 "--credentials", str(project / "credentials.yml"), "-i", LOCALHOST, "--port", str(port)],
                log, run.env) as rasa:  # its own endpoints.yml (all commented out), never ours
        progress("rasa init: starting Rasa")
        wait_http_ok(f"http://{LOCALHOST}:{port}/webhooks/rest/", rasa, log, SERVER_START_TIMEOUT_S)
        yield Target(REFERENCE, [f"http://{LOCALHOST}:{port}"], RASA_INIT, pids={"rasa": rasa.pid},
                     startup_s=time.perf_counter() - started)


STARTERS: dict[str, Callable[[Run, argparse.Namespace], contextlib.AbstractContextManager[Target]]] = {
    "embedded": embedded, "scaled": scaled, REFERENCE: rasa_init,
}


# --------------------------------------------------------------------------- figures


def percentiles_ms(latencies_s: Sequence[float]) -> dict[str, float | None]:
    if len(latencies_s) < 2:
        only = latencies_s[0] * 1000 if latencies_s else None
        return {"p50_ms": only, "p95_ms": only, "p99_ms": only}
    cuts = statistics.quantiles(latencies_s, n=100, method="inclusive")
    return {"p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000, "p99_ms": cuts[98] * 1000}


def level_figures(level: Level) -> dict[str, Any]:
    convs = level.conversations
    latencies = [s for c in convs for s in c.latencies_s]
    ok = len(latencies)
    errors: dict[str, int] = {}
    for conv in convs:
        if conv.error:
            errors[conv.error] = errors.get(conv.error, 0) + 1
    ends: dict[str, int] = {}
    for conv in convs:
        ends[conv.ended] = ends.get(conv.ended, 0) + 1
    return {
        "concurrency": level.concurrency,
        "conversations": len(convs),
        "conversations_not_started": level.not_started,
        "conversations_as_scripted": sum(c.reached_expected_end() for c in convs),
        "ends": ends,
        "outcomes": sum(c.outcome is not None for c in convs),
        "drafts": sum(c.draft for c in convs),
        "corrections": sum(c.corrected for c in convs),
        "rephrased": sum(c.rephrased for c in convs),
        "unscripted_answers": sum(c.unscripted for c in convs),
        "messages_ok": ok,
        "messages_failed": sum(c.failed for c in convs),
        "wall_s": level.wall_s,
        "messages_per_s": ok / level.wall_s if level.wall_s > 0 else None,
        **percentiles_ms(latencies),
        "errors": errors,
    }


def ratios(results: Mapping[str, Any]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Ours / rasa init at the same concurrency: throughput (higher is better) and p95 (lower is better)."""
    reference = {lv["concurrency"]: lv for lv in (results.get(REFERENCE) or {}).get("levels", [])}
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for name, target in results.items():
        if name == REFERENCE or not target:
            continue
        for lv in target.get("levels", []):
            ref = reference.get(lv["concurrency"])
            if not ref:
                continue
            out.setdefault(name, {})[str(lv["concurrency"])] = {
                "throughput": _ratio(lv.get("messages_per_s"), ref.get("messages_per_s")),
                "p95": _ratio(lv.get("p95_ms"), ref.get("p95_ms")),
            }
    return out


def _ratio(ours: float | None, reference: float | None) -> float | None:
    return ours / reference if ours is not None and reference else None


# --------------------------------------------------------------------------- running


def measure_target(run: Run, name: str, args: argparse.Namespace) -> dict[str, Any]:
    slug = name.replace(" ", "_")
    with STARTERS[name](run, args) as target:
        figures: dict[str, Any] = {"urls": target.urls, "startup_s": target.startup_s, "levels": []}
        progress(f"{name}: warm-up, each citizen once (not counted)")
        warm = asyncio.run(drive(target.urls, target.citizens, conversations=len(target.citizens),
                                 concurrency=1, prefix=f"load-{run.run_id}-{slug}-warm", time_limit_s=600))
        figures["warmup"] = level_figures(warm)
        figures["first_message_ms"] = (warm.conversations[0].latencies_s[0] * 1000
                                       if warm.conversations and warm.conversations[0].latencies_s else None)
        for position, concurrency in enumerate(args.concurrency, start=1):
            count = args.conversations or max(10, 2 * concurrency)
            progress(f"{name}: {count} conversations, {concurrency} at a time")
            cpu_before = {role: tree_cpu_s(pid) for role, pid in target.pids.items()}
            with PeakMemory(target.pids) as memory:
                level = asyncio.run(drive(target.urls, target.citizens, conversations=count,
                                          concurrency=concurrency,
                                          prefix=level_prefix(run.run_id, slug, position, concurrency),
                                          time_limit_s=args.level_time_limit_s,
                                          request_timeout_s=args.request_timeout_s))
            lv = level_figures(level)
            lv["peak_rss_mb"] = dict(memory.peak_mb)
            # CPU per answered message, by process (with its workers): what the machine's load
            # does not change much, unlike msg/s
            lv["cpu_ms_per_message"] = {
                role: (tree_cpu_s(pid) - cpu_before[role]) * 1000 / lv["messages_ok"] if lv["messages_ok"] else None
                for role, pid in target.pids.items()
            }
            if target.tracker_url:
                stored = count_user_events(target.tracker_url, {c.sender: c.ok for c in level.conversations},
                                           connect_args=target.tracker_connect_args)
                lv.update(events_answered=stored.answered, events_stored=stored.stored,
                          events_lost=stored.lost, events_duplicated=stored.duplicated)
            figures["levels"].append(lv)
            for problem in level_problems(name, lv):
                run.errors.append(problem)
                print(f"!! {problem}", file=sys.stderr, flush=True)
        return figures


def level_problems(name: str, lv: Mapping[str, Any]) -> list[str]:
    """What makes a level a failed step: failed messages, lost or duplicated events, stuck scripts."""
    where = f"{name} at {lv['concurrency']}"
    problems = []
    if lv["messages_failed"]:
        problems.append(f"{where}: {lv['messages_failed']} messages failed: {lv['errors']}")
    elif lv["conversations_as_scripted"] != lv["conversations"]:
        problems.append(f"{where}: {lv['conversations'] - lv['conversations_as_scripted']} conversations "
                        f"did not end as scripted: {lv['errors'] or lv['ends']}")
    if lv.get("events_lost") or lv.get("events_duplicated"):
        problems.append(f"{where}: {lv.get('events_lost')} events lost, {lv.get('events_duplicated')} duplicated")
    return problems


# --------------------------------------------------------------------------- report


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def report(results: Mapping[str, Any], errors: Sequence[str]) -> str:
    targets: Mapping[str, Any] = results.get("targets") or {}
    lines = [f"Træningsguiden load test: {results['host']['cpus']} CPUs, rasa {results['rasa_version']}, "
             f"{fmt(results.get('duration_s'), 0)} s in all; conversations closed-loop (no think time)", ""]
    busy = results["host"].get("other_processes_cpu_s", 0.0) / max(results.get("duration_s") or 1.0, 1.0)
    if busy > 0.1 and (results.get("duration_s") or 0) > 60:
        lines += [f"!! Other processes used {busy:.2f} CPU cores on average during the run: "
                  "the timings are pessimistic.", ""]
    headers = ["target", "conc", "convs", "ok/failed", "msg/s", "p50 ms", "p95 ms", "p99 ms",
               "lost/dup", "outc/draft", "Rasa MB", "actions MB", "Rasa CPU ms", "actions CPU ms"]
    rows: list[list[str]] = []
    for name, target in targets.items():
        if not target:
            continue
        for lv in target["levels"]:
            rss = lv.get("peak_rss_mb") or {}
            cpu = lv.get("cpu_ms_per_message") or {}
            lost = (f"{lv['events_lost']}/{lv['events_duplicated']}" if "events_lost" in lv else "-")
            skipped = f"+{lv['conversations_not_started']}" if lv["conversations_not_started"] else ""
            rows.append([name, str(lv["concurrency"]), f"{lv['conversations']}{skipped}",
                         f"{lv['messages_ok']}/{lv['messages_failed']}", fmt(lv["messages_per_s"]),
                         fmt(lv["p50_ms"], 0), fmt(lv["p95_ms"], 0), fmt(lv["p99_ms"], 0), lost,
                         f"{lv['outcomes']}/{lv['drafts']}" if name != REFERENCE else "-", fmt(rss.get("rasa"), 0), fmt(rss.get("actions"), 0),
                         fmt(cpu.get("rasa")), fmt(cpu.get("actions"))])
    if rows:
        widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
        lines += ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))]
        lines += ["  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                  for r in rows]
        lines += ["", "lost/dup: answered messages with no user event in the tracker store / user events "
                  "stored twice. MB: peak resident memory with child processes during the level. CPU ms: CPU "
                  "time of the process and its workers per answered message. convs +N: N not started within "
                  "--level-time-limit-s.", ""]
    for name, target in targets.items():
        if target:
            lines.append(f"{name}: model load (start-up) {fmt(target['startup_s'])} s, first message "
                         f"{fmt(target.get('first_message_ms'), 0)} ms (warm-up, not counted)")
    for name, by_level in (results.get("ratios") or {}).items():
        lines += ["", f"{name} / rasa init (throughput: higher is better; p95: lower is better):"]
        lines += [f"  at {conc:>3}: throughput {fmt(r['throughput'], 2)}x, p95 {fmt(r['p95'], 2)}x"
                  for conc, r in by_level.items()]
    if errors:
        lines += ["", "Errors:", *(f"  - {e}" for e in errors)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=list(DEFAULT_CONCURRENCY),
                        help="conversations at a time, one level each")
    parser.add_argument("--conversations", type=int,
                        help="conversations per level (default: twice the concurrency, at least 10)")
    parser.add_argument("--level-time-limit-s", type=float, default=600.0,
                        help="no conversation of a level starts after this (the others are not started)")
    parser.add_argument("--request-timeout-s", type=float, default=REQUEST_TIMEOUT_S,
                        help="a message not answered within this is failed")
    parser.add_argument("--init-dir", type=Path, default=DEFAULT_INIT_DIR,
                        help="where the rasa init bot is created once and reused")
    parser.add_argument("--scaled-urls", nargs="+",
                        help="Rasa replicas already running the scaled profile (e.g. make run-scaled): "
                             "messages are spread over them round robin instead of starting one Rasa")
    parser.add_argument("--rasa-workers", type=int, default=int(os.environ.get("SANIC_WORKERS") or 2),
                        help="Sanic workers of the embedded target's Rasa (default: SANIC_WORKERS or 2, as make run)")
    parser.add_argument("--scaled-workers", type=int, default=1,
                        help="Sanic workers of the scaled target's one Rasa (Redis lock store)")
    parser.add_argument("--scaled-tracker-url",
                        help="with --scaled-urls: sqlalchemy URL of their tracker store, to count events")
    args = parser.parse_args(argv)
    if any(c < 1 for c in args.concurrency) or (args.conversations is not None and args.conversations < 1):
        parser.error("concurrency and conversations must be at least 1")
    if args.rasa_workers < 1 or args.scaled_workers < 1:
        parser.error("workers must be at least 1")
    return args


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_all(run: Run, args: argparse.Namespace) -> None:
    targets: dict[str, Any] = {}
    run.results["targets"] = targets
    order = [REFERENCE, *(t for t in TARGETS if t != REFERENCE)]  # the reference first
    for name in [t for t in order if t in args.targets]:
        if name != REFERENCE and not MODEL.exists():
            run.errors.append(f"{name}: {MODEL.relative_to(REPO)} is missing: run `make train` first")
            continue
        try:
            targets[name] = measure_target(run, name, args)
        except (CommandFailed, OSError, ValueError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            run.errors.append(f"{name}: {exc}")
            print(f"!! {name}: {exc}", file=sys.stderr, flush=True)
        except (sa.exc.SQLAlchemyError, aio_pika.exceptions.AMQPError) as exc:  # PostgreSQL, RabbitMQ
            run.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            print(f"!! {name}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    run.results["ratios"] = ratios(targets)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, raise_on_sigterm)  # so `finally` stops the servers
    os.chdir(REPO)
    shutil.rmtree(LOGS, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="load-") as tmp_name:
        tmp = Path(tmp_name)
        env = bench_env(tmp / "cache")
        run = Run(tmp=tmp, env=env)
        run.results.update(
            started_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            host={"cpus": os.cpu_count()}, rasa_version=RASA_VERSION, run_id=run.run_id,
            concurrency=args.concurrency, conversations=args.conversations,
            citizens={"ours": [c.name for c in OURS], REFERENCE: [c.name for c in RASA_INIT]},
        )
        try:
            run_all(run, args)
        except KeyboardInterrupt:
            run.errors.append("interrupted")
        run.results["duration_s"] = time.perf_counter() - run.started
        machine = machine_busy_cpu_s() - run.machine_cpu_at_start
        run.results["host"]["other_processes_cpu_s"] = max(0.0, machine - (own_cpu_s() - run.own_cpu_at_start))
        run.results["errors"] = run.errors
        if run.errors:
            LOGS.mkdir(parents=True, exist_ok=True)
            for log in tmp.glob("*.log"):
                shutil.copy(log, LOGS / log.name)
            print(f"Logs of the servers: {LOGS.relative_to(REPO)}/", file=sys.stderr)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(run.results, indent=2, ensure_ascii=False) + "\n")
    print(report(run.results, run.errors))
    print(f"Written to {RESULTS.relative_to(REPO)}")
    if "interrupted" in run.errors:
        return 130
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
