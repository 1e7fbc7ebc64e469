"""The one Rasa action: tracker -> `bot.conversation.Questionnaire.turn` -> messages and slot events.

Every intent (and nlu_fallback, and the RulePolicy's core fallback) runs `action_turn`; which
handler takes the message is the core's choice (`Questionnaire.route`: the pending question
first). The action is async, short and idempotent (RASA_NOTES: lock vs. action timeout): it
reads slots, calls the core once, and returns the full new state.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from typing import Any, Callable, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.conversation import Questionnaire, Reply, Result, State, Turn
from bot.drafts.dialogue import DraftService
from bot.drafts.model import validate_staff_initials
from bot.drafts.store import DraftStore
from bot.municipality import profiles
from bot.rules import OFFERS
from bot.staff import staff_panel
from bot.web.app import WebConfig

logger = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
# The actions of the per-intent design, run as the same turn: a Rasa still running the previous
# model (during a deploy) and the issue-10 replay of a forged call name them; not in domain.yml.
PREVIOUS_NAMES = (
    "action_triage",
    "action_go_back",
    "action_show_answers",
    "action_explain_question",
    "action_out_of_scope",
    "action_handoff",
    "action_clarify",
    "action_start_over",
    "action_delete_draft",
)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@functools.lru_cache(maxsize=1)
def draft_store() -> DraftStore:
    """One draft store per action server process, opened on first use (not at import)."""
    config = WebConfig.from_env()
    return DraftStore(config.database_url, retention_days=config.retention_days)


def metadata_of(tracker: Tracker) -> Dict[str, Any]:
    """What our web app adds to every message: municipality, channel (citizen/staff), staff initials."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


def staff_initials(tracker: Tracker) -> str | None:
    """The initials of the staff member on the line; None for citizens (or invalid initials)."""
    metadata = metadata_of(tracker)
    initials = metadata.get("staff_initials")
    if metadata.get("channel") != "staff" or not isinstance(initials, str):
        return None
    return initials.upper() if validate_staff_initials(initials) is None else None


def draft_service(tracker: Tracker) -> DraftService:
    return DraftService(
        store=draft_store,
        base_url=WebConfig.from_env().base_url,
        conversation_id=tracker.sender_id,
        staff_initials=staff_initials(tracker),
    )


def state_from(tracker: Tracker) -> State:
    """The questionnaire state kept in slots; staff mode from the message's channel."""
    facts = dict(tracker.get_slot("facts") or {})
    metadata = metadata_of(tracker)
    municipality = metadata.get("municipality")
    if isinstance(municipality, str) and municipality in profiles() and "municipality" not in facts:
        facts["municipality"] = municipality  # the embedding municipal site says where we are
    topic = tracker.get_slot("topic")
    outcome = tracker.get_slot("outcome")
    return State(
        outcome=outcome,
        facts=facts,
        order=tuple(tracker.get_slot("answer_order") or ()),
        pending=tracker.get_slot("pending_question"),
        topic=topic if topic in OFFERS else None,
        misses=int(tracker.get_slot("fallback_count") or 0),
        handoff_waiting=bool(tracker.get_slot("handoff_waiting")),
        draft=dict(tracker.get_slot("draft") or {}),
        staff=metadata.get("channel") == "staff",
    )


def turn_from(tracker: Tracker) -> Turn:
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    confidence = intent.get("confidence")
    return Turn(
        text=message.get("text") or "",
        intent=intent.get("name"),
        entities=message.get("entities") or [],
        confidence=float(confidence) if isinstance(confidence, (int, float)) else 1.0,
    )


def payload_of(intent: str, entities: Dict[str, str]) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def send(dispatcher: CollectingDispatcher, replies: tuple[Reply, ...]) -> None:
    for reply in replies:
        buttons = [
            {"title": b.label, "payload": payload_of(b.intent, dict(b.entities))} for b in reply.buttons
        ]
        dispatcher.utter_message(text=reply.text, buttons=buttons)
        if reply.custom is not None:
            dispatcher.utter_message(json_message=dict(reply.custom))


def events_for(result: Result) -> List[EventType]:
    after = result.state
    events: List[EventType] = [
        SlotSet("handled_as", result.handler),
        SlotSet("facts", dict(after.facts)),
        SlotSet("answer_order", list(after.order)),
        SlotSet("pending_question", after.pending),
        SlotSet("topic", after.topic),
        SlotSet("fallback_count", float(after.misses)),
        SlotSet("handoff_waiting", after.handoff_waiting),
        SlotSet("outcome", None if after.outcome is None else dict(after.outcome)),
        SlotSet("draft", dict(after.draft)),
    ]
    return events


class _QuestionnaireAction:
    """Mixin: build state and turn, run one core turn, send replies, set slots.

    Not an `Action` itself: rasa_sdk registers every `Action` subclass it finds.
    """

    clock: Clock = staticmethod(utc_now)

    def name(self) -> str:
        raise NotImplementedError

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        state = state_from(tracker)
        questionnaire = Questionnaire(now=self.clock(), drafts=draft_service(tracker))
        result = questionnaire.turn(state, turn_from(tracker))
        send(dispatcher, result.replies)
        if result.state.staff:
            read_aloud = next((r.text for r in result.replies if r.custom and "outcome" in r.custom), None)
            panel = staff_panel(result.state, today=self.clock().date(), read_aloud=read_aloud)
            dispatcher.utter_message(json_message={"staff": panel})
        logger.info(
            "%s: %s pending=%s outcome=%s",
            self.name(),
            result.handler,
            result.state.pending,
            (result.outcome or {}).get("offer"),
        )
        return events_for(result)


class ActionTurn(_QuestionnaireAction, Action):
    def name(self) -> str:
        return "action_turn"


def _previous(action_name: str) -> type[ActionTurn]:
    """`action_turn` under a name of the per-intent design (see PREVIOUS_NAMES)."""
    return type(f"Previous_{action_name}", (ActionTurn,), {"name": lambda self: action_name})


PREVIOUS_ACTIONS = tuple(_previous(name) for name in PREVIOUS_NAMES)
