"""CPU per tracker-store retrieve and save as a conversation grows (issue 9).

    PYTHONPATH=. .venv/bin/python bench/tracker_store_cpu.py [--conversations 20] [--turns 20]
        [--workers 2] [--backends sqlite postgresql]

Drives `bot.rasa_tracker_store.MaskingSQLTrackerStore` as Rasa's processor does for each message:
one `retrieve` (None at the first message: a new tracker), the turn's events added to the tracker,
one `save`. The events are shaped as Rasa 3.6 stores ours (about 14 per message: the message
with its parse data and intent ranking, featurization, `action_turn`, the reply with buttons and
custom data, the state slots, `action_listen`), after a session start; or, with `--replay DB`, the
turns of the longest conversation in a real tracker store (a SQLite file, e.g. the tracker.db of a
short `make run` conversation or of tests/conversation/test_workers.py), played in a cycle with
new timestamps. `--workers 2` plays each
conversation's turns alternately on two store instances, as two Sanic workers (or replicas) of
one database do. Prints the median CPU ms of this process per retrieve and per save at turn 1,
5, 10 and 20 (`time.process_time`; PostgreSQL's own CPU is not in it), on a SQLite file in a
temporary directory and on a PostgreSQL schema of its own (127.0.0.1:5432, dropped at the end;
skipped when PostgreSQL is not running). No network, no model; about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import socket
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List

import sqlalchemy as sa  # type: ignore[import-untyped]  # 1.4 ships no types

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
REPORTED_TURNS = (1, 5, 10, 20)
INTENTS = (
    "inform",
    "affirm",
    "deny",
    "greet",
    "goodbye",
    "thanks",
    "out_of_scope",
    "help",
    "restart",
    "nlu_fallback",
)


def turn_events(n: int, facts: Dict[str, Any]) -> List[Any]:
    """Turn `n` of a conversation, as Rasa logs it for our bot."""
    from rasa.shared.core.events import (
        ActionExecuted,
        BotUttered,
        DefinePrevUserUtteredFeaturization,
        SlotSet,
        UserUttered,
    )

    text = f"ja, min søn er {n % 17 + 1} år og har brug for hjælp i skolen ({n})"
    ranking = [{"name": name, "confidence": round(0.9 / (k + 1), 6)} for k, name in enumerate(INTENTS)]
    metadata = {"municipality": "ballerup", "channel": "citizen"}
    intent = {"name": "inform", "confidence": 0.9}
    facts[f"fact_{n}"] = {"value": n % 2 == 0, "answered_at": n}
    return [
        UserUttered(
            text,
            intent,
            [],
            parse_data={
                "intent": intent,
                "entities": [],
                "text": text,
                "message_id": uuid.uuid4().hex,
                "metadata": metadata,
                "intent_ranking": ranking,
            },
            input_channel="rest",
            message_id=uuid.uuid4().hex,
            metadata=metadata,
        ),
        DefinePrevUserUtteredFeaturization(False),
        ActionExecuted("action_turn", policy="RulePolicy", confidence=1.0),
        BotUttered(
            f"Tak. Har barnet brug for hjælp til at komme i skole? (spørgsmål {n + 1})",
            {
                "buttons": [{"title": "Ja", "payload": "/affirm"}, {"title": "Nej", "payload": "/deny"}],
                "custom": {"question": {"fact": f"fact_{n + 1}", "kind": "yes_no", "options": []}},
            },
        ),
        SlotSet("handled_as", "questionnaire"),
        SlotSet("facts", dict(facts)),
        SlotSet("order", list(facts)),
        SlotSet("pending", f"fact_{n + 1}"),
        SlotSet("misses", 0.0),
        SlotSet("draft", {"step": None, "answers": len(facts)}),
        SlotSet("topic", "skole"),
        ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0),
        DefinePrevUserUtteredFeaturization(False),
    ]


def recorded_turns(db: str) -> List[List[Dict[str, Any]]]:
    """The longest conversation of a tracker store, cut into turns (each starting with a message)."""
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        sender = conn.execute(
            sa.text(
                "SELECT sender_id FROM events WHERE type_name = 'user' GROUP BY sender_id ORDER BY count(*) DESC"
            )
        ).scalar()
        rows = conn.execute(
            sa.text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
        ).fetchall()
    engine.dispose()
    turns: List[List[Dict[str, Any]]] = []
    for type_name, data in rows:
        if type_name == "user":
            turns.append([])
        if turns and type_name != "session_started":
            turns[-1].append(json.loads(data))
    return turns


def replayed(turns: List[List[Dict[str, Any]]]) -> Callable[[int, Dict[str, Any]], List[Any]]:
    """Turn `n` of the recorded ones (in a cycle), as new events with new timestamps."""
    from rasa.shared.core.events import deserialise_events

    def events(n: int, _: Dict[str, Any]) -> List[Any]:
        now = time.time()
        recorded = turns[(n - 1) % len(turns)]
        return deserialise_events([{**e, "timestamp": now + i * 1e-4} for i, e in enumerate(recorded)])

    return events


def cpu_ms(operation: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """CPU ms of this process for one store operation, and its result."""
    start = time.process_time()
    result = asyncio.run(operation(*args))
    return (time.process_time() - start) * 1000, result


def play(
    stores: List[Any], conversations: int, turns: int, make_turn: Callable[[int, Dict[str, Any]], List[Any]]
) -> Dict[str, Dict[int, List[float]]]:
    """Every conversation's turns, alternating over `stores`; CPU ms per operation by turn."""
    from rasa.shared.core.events import ActionExecuted, SessionStarted
    from rasa.shared.core.trackers import DialogueStateTracker

    slots = stores[0].domain.slots
    times: Dict[str, Dict[int, List[float]]] = {"retrieve": {}, "save": {}}
    for _ in range(conversations):
        sender = uuid.uuid4().hex
        facts: Dict[str, Any] = {}
        for n in range(1, turns + 1):
            store = stores[(n - 1) % len(stores)]
            ms, tracker = cpu_ms(store.retrieve, sender)
            times["retrieve"].setdefault(n, []).append(ms)
            if tracker is None:
                tracker = DialogueStateTracker(sender, slots)
                for event in (
                    ActionExecuted("action_session_start"),
                    SessionStarted(),
                    ActionExecuted("action_listen"),
                ):
                    tracker.update(event)
            for event in make_turn(n, facts):
                tracker.update(event)
            ms, _ = cpu_ms(store.save, tracker)
            times["save"].setdefault(n, []).append(ms)
    return times


def report(name: str, times: Dict[str, Dict[int, List[float]]], turns: int) -> None:
    shown = [n for n in REPORTED_TURNS if n <= turns]
    print(f"\n{name}: median CPU ms of this process (of {len(times['save'][1])} conversations)")
    print("| turn | " + " | ".join(str(n) for n in shown) + " |")
    print("| --- |" + " --- |" * len(shown))
    for op in ("retrieve", "save"):
        print(f"| {op} | " + " | ".join(f"{statistics.median(times[op][n]):.2f}" for n in shown) + " |")


def postgres_running() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument(
        "--workers", type=int, default=1, help="store instances taking turns, as Sanic workers"
    )
    parser.add_argument("--replay", metavar="DB", help="play the turns of a real tracker store (SQLite file)")
    parser.add_argument(
        "--backends", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    args = parser.parse_args()

    from rasa.shared.core.domain import Domain

    from bot import rasa_speedups
    from bot.rasa_tracker_store import MaskingSQLTrackerStore

    rasa_speedups.install()  # as in `rasa run` (bot/rasa_channel.py): event classes remembered by type name
    domain = Domain.load(str(Path(__file__).resolve().parent.parent / "domain.yml"))
    make_turn = turn_events
    if args.replay:
        recorded = recorded_turns(args.replay)
        make_turn = replayed(recorded)
        events = sum(len(t) for t in recorded)
        print(f"replaying {len(recorded)} recorded turns, {events / len(recorded):.1f} events per turn")
    for backend in args.backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="tracker-cpu-") as tmp:
                url = f"sqlite:///{Path(tmp) / 'tracker.db'}"
                stores = [MaskingSQLTrackerStore(domain, host=url) for _ in range(args.workers)]
                times = play(stores, args.conversations, args.turns, make_turn)
                for store in stores:
                    store.engine.dispose()
            report(f"SQLite file, {args.workers} store instance(s)", times, args.turns)
            continue
        if not postgres_running():
            print("\nPostgreSQL: not running on 127.0.0.1:5432, skipped")
            continue
        schema = f"tracker_cpu_{secrets.token_hex(4)}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        try:
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            stores = [MaskingSQLTrackerStore(domain, host=url) for _ in range(args.workers)]
            times = play(stores, args.conversations, args.turns, make_turn)
            for store in stores:
                store.engine.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
        report(f"PostgreSQL, {args.workers} store instance(s)", times, args.turns)


if __name__ == "__main__":
    main()
