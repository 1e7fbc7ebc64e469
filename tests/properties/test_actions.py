"""actions/actions.py, properties: `action_turn` with any message metadata, intent and entities.

Found by `make fuzz` (bench/fuzz.py): REST metadata is the sender's JSON, and
`{"metadata": {"municipality": ["x"]}}` made the action raise (`unhashable type: 'list'`). Rasa then
lost the turn's events and logged the action server's error body, which held the whole tracker with
the citizen's unmasked text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionTurn
from tests.properties.strategies import json_values, messages

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
metadata = st.one_of(
    st.dictionaries(
        st.sampled_from(["municipality", "channel", "staff_initials", "x"]), json_values, max_size=3
    ),
    st.fixed_dictionaries(
        {"channel": st.just("staff"), "staff_initials": json_values, "municipality": json_values}
    ),
    json_values,
)
entities = st.lists(
    st.dictionaries(st.sampled_from(["entity", "value", "start"]), json_values, max_size=3), max_size=3
)


class _Clocked(ActionTurn):
    clock = staticmethod(lambda: NOW)


@given(
    messages, st.one_of(st.none(), st.text(max_size=15), st.just("inform")), json_values, entities, metadata
)
@example("Ballerup", "inform", 0.99, [], {"municipality": ["x"]})
@example("hej", "greet", 0.99, [], {"municipality": {"$ne": 1}, "channel": "staff", "staff_initials": ["x"]})
def test_action_turn_answers_any_message_and_metadata(
    text: str, intent: str | None, confidence: Any, found: list[Any], meta: Any
) -> None:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": found,
        "metadata": meta,
    }
    tracker = Tracker("prop-sender", {}, message, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(_Clocked().run(dispatcher, tracker, {}))
    assert any((m.get("text") or "").strip() for m in dispatcher.messages)
    assert {e["name"] for e in events if e.get("event") == "slot"} >= {"facts", "pending", "draft"}
