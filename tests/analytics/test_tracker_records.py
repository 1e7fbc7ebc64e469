"""Records from Rasa's tracker store at volume: a conversation is summarised again only when
its events changed (every analyst page asks for every record of the period)."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from bot.analytics import store as store_module
from bot.analytics.records import summarise
from bot.analytics.store import TrackerEvents
from tests.analytics.events import Conversation
from tests.web.test_analyst_pages import save_tracker

CONVERSATIONS = 300


def conversation(i: int, start: float) -> Conversation:
    return (
        Conversation(start + 100 * i, channel="citizen", municipality="ballerup")
        .user(f"besked {i}")
        .action("action_out_of_scope")
        .reply("Det kan jeg desværre ikke svare på.")
        .action("action_listen")
    )


def test_records_summarise_only_the_conversations_whose_events_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    start = time.time() - 100 * CONVERSATIONS - 3600
    for i in range(CONVERSATIONS):
        save_tracker(url, f"c{i:03}", conversation(i, start))
    summarised: list[str] = []

    def counted(sender_id: str, events: Any) -> Any:
        summarised.append(sender_id)
        return summarise(sender_id, events)

    monkeypatch.setattr(store_module, "summarise", counted)
    tracker = TrackerEvents(url)
    try:
        first = tracker.records()
        assert len(summarised) == CONVERSATIONS
        assert sorted(r.sender_id for r in first) == [f"c{i:03}" for i in range(CONVERSATIONS)]
        assert all(
            r.turns == 1
            and [n.text for n in r.not_understood] == [f"besked {r.sender_id[1:].lstrip('0') or 0}"]
            for r in first
        )

        summarised.clear()
        assert tracker.records() == first
        assert summarised == [], "nothing changed: no conversation is summarised again"

        more = conversation(7, start).user("endnu en besked")  # c007's next turn, as Rasa appends it
        with tracker.engine.begin() as conn:
            conn.execute(
                tracker.table.insert().values(
                    sender_id="c007",
                    type_name="user",
                    timestamp=more.events[-1]["timestamp"],
                    data=json.dumps(more.events[-1], ensure_ascii=False),
                )
            )
        summarised.clear()
        by_sender = {r.sender_id: r for r in tracker.records()}
        assert summarised == ["c007"]
        assert by_sender["c007"].turns == 2
        assert by_sender["c008"] == next(r for r in first if r.sender_id == "c008")

        tracker.delete_conversation("c009")
        tracker.delete_conversations(["c010", "c011"])
        summarised.clear()
        left = {r.sender_id for r in tracker.records()}
        assert summarised == []
        assert left == {f"c{i:03}" for i in range(CONVERSATIONS)} - {"c009", "c010", "c011"}
        since = dt.datetime.fromtimestamp(start + 100 * 200, dt.timezone.utc)  # the period still applies
        assert {r.sender_id for r in tracker.records(since=since)} == {
            f"c{i:03}" for i in range(200, CONVERSATIONS)
        }
    finally:
        tracker.close()
