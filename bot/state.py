"""The conversation's state between turns, typed, and its one codec to Rasa's slots.

`State` is what `bot.conversation.Questionnaire.turn` reads and returns: the answers so far,
the question pending, the rules' `Outcome` as `bot.rules.decide` made it, and the draft
dialogue's `DraftState`. Danish payloads (`custom.outcome`, ...) are rendered from it only when
a reply is made; nothing reads them back.

Between turns Rasa keeps the state in slots, one slot per field, named like the field
(domain.yml). `to_slots` and `from_slots` are the only translation. `from_slots` also reads
what the earlier slots held, so a conversation that began before a deploy goes on after it:
the old names (`answer_order`, `pending_question`, `fallback_count`: `OLD_SLOT_NAMES`) and the
outcome as its Danish payload, which is decided again from the facts (`outcome_from_json`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from typing import Any, Mapping, Sequence, cast

from bot.legal import LegalRef
from bot.questions import Answer
from bot.rules import OFFERS, Criterion, Offer, Outcome, Topic, decide

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DraftState:
    """Where the draft dialogue (`bot.drafts.dialogue`) stands; `DraftState()` is no draft at all."""

    step: str | None = None  # the draft step asked (`bot.drafts.dialogue.STEPS`); None: none pending
    offer: Offer | None = None  # what the draft applies for: the outcome's offer when it was offered
    fields: Mapping[str, str | None] = dataclasses.field(default_factory=dict)  # the answers so far
    reviewing: bool = False  # a field corrected from the review: the review comes next
    reference: str | None = None  # the saved draft (TG-...), which "slet mit udkast" may delete
    url: str | None = None  # its link, as told to the citizen


@dataclasses.dataclass(frozen=True)
class State:
    facts: Mapping[str, Answer] = dataclasses.field(default_factory=dict)
    order: tuple[str, ...] = ()  # the facts in the order answered (corrections last)
    pending: str | None = None  # the question asked and not yet answered
    topic: Topic = None
    misses: int = 0  # messages not understood in a row
    handoff_waiting: bool = False  # a person was asked for before the municipality was known
    staff: bool = False  # staff mode (from the message's channel; never a slot)
    outcome: Outcome | None = None
    draft: DraftState = dataclasses.field(default_factory=DraftState)


SLOTS = ("facts", "order", "pending", "topic", "misses", "handoff_waiting", "outcome", "draft")
"""The slots that hold `State` (domain.yml), each named like its field; `staff` is no slot."""
OLD_SLOT_NAMES: Mapping[str, str] = {
    "answer_order": "order",
    "pending_question": "pending",
    "fallback_count": "misses",
}
"""Slot names before they matched the fields (old name -> field), still read by `from_slots`."""


# -- the outcome -----------------------------------------------------------------------------------
def outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    """The typed outcome as JSON (the `outcome` slot; the draft store's idempotency key hashes it)."""
    return {
        "offer": outcome.offer,
        "variant": outcome.variant,
        "reasons": list(outcome.reasons),
        "criteria": [{"id": c.id, "status": c.status} for c in outcome.criteria],
        "next_steps": list(outcome.next_steps),
        "legal_basis": [json.loads(ref.json()) for ref in outcome.legal_basis],
        "contact_area": outcome.contact_area,
        "municipality": outcome.municipality,
        "age_group": outcome.age_group,
        "why_not": dict(outcome.why_not),
        "provision": outcome.provision,
        "unknowns": list(outcome.unknowns),
    }


def outcome_from_json(
    value: Any, facts: Mapping[str, Answer], *, topic: Topic, today: dt.date
) -> Outcome | None:
    """The outcome `outcome_to_json` wrote. An older slot's Danish payload, or a slot that cannot be
    read, is decided again from the facts (the rules are pure: the same facts, the same outcome)."""
    if not isinstance(value, Mapping) or not value.get("offer"):
        return None
    if "contact_area" in value:
        try:
            return _outcome(value)
        except (KeyError, TypeError, ValueError):  # ValueError: pydantic's ValidationError
            logger.warning("outcome slot unreadable; decided again from the facts")
    decision = decide(facts, topic=topic, today=today)  # custom.outcome, as the slot held it before
    return decision if isinstance(decision, Outcome) else None


def _outcome(value: Mapping[str, Any]) -> Outcome:
    return Outcome(
        offer=value["offer"],
        variant=str(value["variant"]),
        reasons=tuple(value["reasons"]),
        criteria=tuple(Criterion(c["id"], c["status"]) for c in value["criteria"]),
        next_steps=tuple(value["next_steps"]),
        legal_basis=tuple(LegalRef.parse_obj(ref) for ref in value["legal_basis"]),
        contact_area=value["contact_area"],
        municipality=value["municipality"],
        age_group=value["age_group"],
        why_not=dict(value["why_not"]),
        provision=value["provision"],
        unknowns=tuple(value["unknowns"]),
    )


# -- the draft -------------------------------------------------------------------------------------
def draft_to_json(draft: DraftState) -> dict[str, Any]:
    """The `draft` slot, shaped as it always was (analytics reads its `step`): {} for no draft."""
    if draft == DraftState():
        return {}
    data: dict[str, Any] = {"step": draft.step, "fields": {**_offer(draft.offer), **draft.fields}}
    if draft.reviewing:
        data["reviewing"] = True
    if draft.reference is not None:
        data.update(reference=draft.reference, url=draft.url)
    return data


def draft_from_json(value: Any) -> DraftState:
    if not isinstance(value, Mapping):
        return DraftState()
    fields = {str(k): None if v is None else str(v) for k, v in (value.get("fields") or {}).items()}
    offer = fields.pop("offer", None)
    return DraftState(
        step=str(value["step"]) if value.get("step") else None,
        offer=offer if offer in OFFERS else None,
        fields=fields,
        reviewing=bool(value.get("reviewing")),
        reference=str(value["reference"]) if value.get("reference") else None,
        url=str(value["url"]) if value.get("url") else None,
    )


def _offer(offer: Offer | None) -> dict[str, str]:
    return {} if offer is None else {"offer": offer}


# -- the state -------------------------------------------------------------------------------------
def to_slots(state: State) -> dict[str, Any]:
    """Slot name -> JSON value for every slot in `SLOTS`."""
    return {
        "facts": dict(state.facts),
        "order": list(state.order),
        "pending": state.pending,
        "topic": state.topic,
        "misses": float(state.misses),  # a float slot
        "handoff_waiting": state.handoff_waiting,
        "outcome": None if state.outcome is None else outcome_to_json(state.outcome),
        "draft": draft_to_json(state.draft),
    }


def from_slots(slots: Mapping[str, Any], *, today: dt.date, staff: bool = False) -> State:
    """The state in `slots` (by field name, or by an old name when the field's slot is unset).

    `today` decides an outcome again when the slot holds an old Danish payload."""
    renamed = {field: slots.get(old) for old, field in OLD_SLOT_NAMES.items()}

    def slot(name: str) -> Any:
        value = slots.get(name)
        return renamed.get(name) if value is None else value

    facts = dict(slot("facts") or {})
    topic = cast(Topic, slot("topic")) if slot("topic") in OFFERS and slot("topic") != "none" else None
    pending = slot("pending")
    return State(
        facts=facts,
        order=tuple(str(fact) for fact in slot("order") or ()),
        pending=str(pending) if pending else None,
        topic=topic,
        misses=int(slot("misses") or 0),
        handoff_waiting=bool(slot("handoff_waiting")),
        staff=staff,
        outcome=outcome_from_json(slot("outcome"), facts, topic=topic, today=today),
        draft=draft_from_json(slot("draft")),
    )


def municipality_in(facts: Any) -> str | None:
    """The municipality answered in a conversation (the `facts` slot's), if any; 'other' is none."""
    named = facts.get("municipality") if isinstance(facts, Mapping) else None
    return named if isinstance(named, str) and named != "other" else None


def municipality_from_events(events: Sequence[Mapping[str, Any]]) -> str | None:
    """The municipality answered in a conversation, read from its stored events (the last `facts`
    slot since the last restart or new session): for the answer when Rasa itself is down."""
    for event in reversed(events):
        kind = event.get("event")
        if kind in ("restart", "session_started"):
            return None
        if kind == "slot" and event.get("name") == "facts":
            return municipality_in(event.get("value"))
    return None
