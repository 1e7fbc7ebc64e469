"""bot/rasa_speedups.py: Rasa validates action answers and resolves event types as before, only cheaper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses

from bot import rasa_speedups

PROJECT = Path(__file__).resolve().parents[2]
VALID: dict[str, Any] = {
    "events": [
        {"event": "slot", "name": "handled_as", "value": "triage"},
        {"event": "slot", "name": "facts", "value": {"age": 9}},
    ],
    "responses": [{"text": "Hvor gammel er han?", "buttons": [], "custom": {"question": {"fact": "age"}}}],
}
INVALID = [
    {"events": [{"event": "slot", "value": 1}]},  # a slot event without a name
    {"events": "slot"},
    {"responses": [1]},
    [],
]


def action() -> RemoteAction:
    rasa_speedups.install()
    return RemoteAction("action_turn", None)


def test_a_valid_answer_passes() -> None:
    assert action()._validate_action_result(VALID) is True


@pytest.mark.parametrize("result", INVALID)
def test_an_invalid_answer_fails_as_in_rasa(result: Any) -> None:
    with pytest.raises(ValidationError) as ours:
        action()._validate_action_result(result)
    with pytest.raises(ValidationError) as rasas:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    assert ours.value.message.startswith(rasas.value.message)
    assert "Failed to validate Action server response" in ours.value.message


def test_every_event_type_resolves_to_the_same_class_as_rasas_walk() -> None:
    rasa_speedups.install()
    for cls in all_subclasses(Event):
        expected = next(c for c in all_subclasses(Event) if c.type_name == cls.type_name)
        assert Event.resolve_by_type(cls.type_name) is expected
        assert Event.resolve_by_type(cls.type_name) is expected  # remembered: the same answer


def test_unknown_event_types_keep_rasas_answers() -> None:
    rasa_speedups.install()
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("slot") is SlotSet


def test_events_round_trip() -> None:
    rasa_speedups.install()
    events = [
        UserUttered("hej", {"name": "greet", "confidence": 1.0}),
        ActionExecuted("action_turn"),
        SlotSet("facts", {"age": 9}),
    ]
    assert [Event.from_parameters(e.as_dict()) for e in events] == events


def test_our_rest_channel_installs_it_when_rasa_builds_its_blueprint() -> None:
    code = (
        "from rasa.core.actions.action import RemoteAction\n"
        "from bot import rasa_speedups\nfrom bot.rasa_channel import SafeRestInput\n"
        "assert RemoteAction._validate_action_result is not rasa_speedups.validate_action_result\n"
        "async def handle(message): pass\n"
        "SafeRestInput().blueprint(handle)\n"
        "assert RemoteAction._validate_action_result is rasa_speedups.validate_action_result\n"
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=PROJECT, check=True, capture_output=True)
