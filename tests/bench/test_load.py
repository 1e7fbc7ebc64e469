"""bench/load.py: its conversation player against the real bot, and how it reads answers and events."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sqlite3
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

from tests.live import MODEL, Servers

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def load() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))  # load.py imports its sibling _servers
    try:
        spec = importlib.util.spec_from_file_location("bench_load", BENCH / "load.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_load"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop("bench_load", None)


QUESTION = {"fact": "rehab_plan", "kind": "yes_no", "options": [{"value": "yes", "label": "Ja"}]}


def test_custom_is_read_from_a_separate_message_and_from_one_message(load: ModuleType) -> None:
    """Both shapes of an answer: text then a custom message, or text, buttons and custom in one."""
    separate = [{"text": "Har sygehuset lavet en plan?", "buttons": []}, {"custom": {"question": QUESTION}}]
    one = [{"text": "Har sygehuset lavet en plan?", "buttons": [], "custom": {"question": QUESTION}}]
    assert load.customs(separate) == load.customs(one) == {"question": QUESTION}
    assert load.customs([{"text": "Hej"}]) == {}


def test_answers_are_typed_text_or_the_pages_button_payload(load: ModuleType) -> None:
    citizen = load.Citizen("x", ("hej",), {"rehab_plan": "=yes", "municipality": "Ballerup"})
    assert load.answer_for(citizen, QUESTION) == ('/inform{"fact": "rehab_plan", "choice": "yes"}', True)
    assert load.answer_for(citizen, {"fact": "municipality", "options": []}) == ("Ballerup", True)
    unscripted = {"fact": "goal", "options": [{"value": "regain"}, {"value": "no"}]}
    assert load.answer_for(citizen, unscripted) == ('/inform{"fact": "goal", "choice": "no"}', False)
    assert load.answer_for(citizen, {"fact": "age", "kind": "number", "options": []}) == ("50", False)


def test_events_lost_and_duplicated_are_counted_per_sender(load: ModuleType, tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, data TEXT)")
        rows = [("a", "user", "m1"), ("a", "user", "m2"), ("a", "bot", "b1"),  # a: 2 answered, 2 stored
                ("b", "user", "m3"), ("b", "user", "m3"),  # b: 2 answered, 1 stored twice
                ("other", "user", "m9")]  # not this run's
        conn.executemany("INSERT INTO events (sender_id, type_name, data) VALUES (?, ?, ?)",
                         [(s, t, json.dumps({"message_id": m})) for s, t, m in rows])
    stored = load.count_user_events(f"sqlite:///{db}", {"a": 2, "b": 2, "c": 1})
    assert (stored.answered, stored.stored, stored.lost, stored.duplicated) == (5, 4, 2, 1)


def test_a_concurrency_given_twice_plays_new_conversations(load: ModuleType) -> None:
    # `--concurrency 200 200 200` (to see whether memory settles) reused the first level's
    # sender ids: the later levels continued ended conversations and 134 of 400 "did not end as
    # scripted" (2026-12-02)
    prefixes = [load.level_prefix("run1", "scaled", position, concurrency)
                for position, concurrency in enumerate([10, 200, 200, 200], start=1)]
    assert len(set(prefixes)) == 4
    assert all(prefix.startswith("load-run1-scaled-") for prefix in prefixes)


def test_ratios_compare_each_target_with_rasa_init_at_the_same_concurrency(load: ModuleType) -> None:
    results = {
        "rasa init": {"levels": [{"concurrency": 10, "messages_per_s": 40.0, "p95_ms": 400.0}]},
        "embedded": {"levels": [{"concurrency": 10, "messages_per_s": 60.0, "p95_ms": 200.0},
                                {"concurrency": 50, "messages_per_s": 50.0, "p95_ms": 900.0}]},
    }
    assert load.ratios(results) == {"embedded": {"10": {"throughput": 1.5, "p95": 0.5}}}


def test_failed_messages_stuck_scripts_and_lost_events_fail_the_run(load: ModuleType) -> None:
    clean = {"concurrency": 10, "messages_failed": 0, "errors": {}, "conversations": 20,
             "conversations_as_scripted": 20, "ends": {"outcome": 20}, "events_lost": 0, "events_duplicated": 0}
    assert load.level_problems("embedded", clean) == []
    for broken in ({"messages_failed": 1, "errors": {"HTTP 500": 1}}, {"conversations_as_scripted": 19},
                   {"events_lost": 1}, {"events_duplicated": 2}):
        assert len(load.level_problems("embedded", {**clean, **broken})) == 1, broken


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does)")
    with Servers(tmp_path_factory.mktemp("load")).running() as running:
        yield running


@pytest.mark.rasa
def test_citizens_play_whole_conversations_and_every_message_is_stored(
    load: ModuleType, servers: Servers
) -> None:
    """Each citizen once, two at a time, against the real bot: every message answered, every
    conversation ends as its script says (outcomes, drafts, an early leave), nothing lost."""
    citizens = load.OURS
    level = asyncio.run(load.drive([f"http://127.0.0.1:{servers.rasa_port}"], citizens,
                                   conversations=len(citizens), concurrency=2,
                                   prefix=f"smoke-{uuid.uuid4().hex[:8]}", time_limit_s=600))
    figures = load.level_figures(level)
    assert figures["messages_failed"] == 0, figures["errors"]
    assert [(c.citizen, c.ended, c.error) for c in level.conversations
            if not c.reached_expected_end()] == []
    assert figures["conversations"] == len(citizens) and figures["conversations_not_started"] == 0
    ends = {c.ends for c in citizens}
    assert {"outcome", "draft", "early"} <= ends
    assert figures["drafts"] == sum(c.ends == "draft" for c in citizens)
    assert figures["outcomes"] >= sum(c.ends in ("outcome", "draft") for c in citizens)
    assert figures["corrections"] == sum(c.correction is not None for c in citizens)
    stored = load.count_user_events(f"sqlite:///{servers.tracker_db}",
                                    {c.sender: c.ok for c in level.conversations})
    assert stored.answered == figures["messages_ok"] > 0
    assert (stored.lost, stored.duplicated, stored.stored) == (0, 0, stored.answered)
