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
from typing import Any, Callable, Dict, List, Mapping

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.config import Settings, base_url_from_env
from bot.conversation import Questionnaire, Result, Turn
from bot.drafts.dialogue import DraftService
from bot.drafts.model import validate_staff_initials
from bot.drafts.store import DraftStore
from bot.municipality import profiles
from bot.replies import Reply
from bot.staff import staff_panel
from bot.state import OLD_SLOT_NAMES, SLOTS, State, from_slots, to_slots

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
    config = Settings.from_env()
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
        base_url=base_url_from_env(),  # not all of Settings.from_env(), every call
        conversation_id=tracker.sender_id,
        staff_initials=staff_initials(tracker),
    )


_RENAMED = frozenset(OLD_SLOT_NAMES.values())


def slots_of(tracker: Tracker) -> Dict[str, Any]:
    """The state's slots (`bot.state.SLOTS`), plus those a conversation begun before the slots were
    renamed still has under an old name (`OLD_SLOT_NAMES`): the domain no longer has them, so
    Rasa keeps them only as events. A slot set under its new name since wins."""
    old: Dict[str, Any] = {}
    for event in tracker.events:  # the session's every event, once: only slot events are read
        kind = event.get("event")
        if kind == "slot":
            name = event.get("name")
            if name in OLD_SLOT_NAMES:
                old[name] = event.get("value")
            elif old and name in _RENAMED:
                old = {k: v for k, v in old.items() if OLD_SLOT_NAMES[k] != name}
        elif kind in ("restart", "session_started"):
            old.clear()
    return {**old, **{name: tracker.get_slot(name) for name in SLOTS}}


def state_from(tracker: Tracker, *, today: dt.date) -> State:
    """The questionnaire state kept in slots (`bot.state.from_slots`); staff mode from the message's
    channel; the municipality from the embedding site when not answered."""
    slots = slots_of(tracker)
    metadata = metadata_of(tracker)
    municipality = metadata.get("municipality")
    facts = dict(slots.get("facts") or {})
    if isinstance(municipality, str) and municipality in profiles() and "municipality" not in facts:
        slots["facts"] = {**facts, "municipality": municipality}  # the embedding municipal site says where we are
    return from_slots(slots, today=today, staff=metadata.get("channel") == "staff")


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


def send(
    dispatcher: CollectingDispatcher,
    replies: tuple[Reply, ...],
    *,
    staff: Mapping[str, Any] | None = None,
) -> None:
    """One message per reply: its text, buttons and custom data together (README: REST contract).

    The staff panel rides in `custom.staff` of the turn's last message.
    """
    for index, reply in enumerate(replies):
        buttons = [
            {"title": b.label, "payload": payload_of(b.intent, dict(b.entities))} for b in reply.buttons
        ]
        custom = dict(reply.custom or {})
        if staff is not None and index == len(replies) - 1:
            custom["staff"] = dict(staff)
        dispatcher.utter_message(text=reply.text, buttons=buttons, json_message=custom or None)
    if not replies and staff is not None:
        dispatcher.utter_message(json_message={"staff": dict(staff)})


def events_for(result: Result) -> List[EventType]:
    """The handler that took the turn, and the whole new state (`bot.state.to_slots`)."""
    slots = to_slots(result.state)
    return [SlotSet("handled_as", result.handler), *(SlotSet(name, slots[name]) for name in SLOTS)]


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
        now = self.clock()
        state = state_from(tracker, today=now.date())
        questionnaire = Questionnaire(now=now, drafts=draft_service(tracker))
        result = questionnaire.turn(state, turn_from(tracker))
        panel = None
        if result.state.staff:
            read_aloud = next((r.text for r in result.replies if r.custom and "outcome" in r.custom), None)
            panel = staff_panel(result.state, result.decision, read_aloud=read_aloud)
        send(dispatcher, result.replies, staff=panel)
        logger.info(
            "%s: %s pending=%s outcome=%s",
            self.name(),
            result.handler,
            result.state.pending,
            result.outcome.offer if result.outcome else None,
        )
        return events_for(result)


class ActionTurn(_QuestionnaireAction, Action):
    def name(self) -> str:
        return "action_turn"


def _previous(action_name: str) -> type[ActionTurn]:
    """`action_turn` under a name of the per-intent design (see PREVIOUS_NAMES)."""
    return type(f"Previous_{action_name}", (ActionTurn,), {"name": lambda self: action_name})


PREVIOUS_ACTIONS = tuple(_previous(name) for name in PREVIOUS_NAMES)
