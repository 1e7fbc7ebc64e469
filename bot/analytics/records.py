"""One compact record per conversation, computed from Rasa's events (pure, no Rasa import).

`summarise` reads event dicts as Rasa writes them to the SQL tracker store and
publishes them to an event broker. What it reads, and why it is robust:

- user events: `text`, `parse_data.intent.name`, `metadata.channel` ("citizen"/"staff")
  and `metadata.municipality`, as the web page sends them;
- bot events: `data.custom.question.fact` (a question asked), `data.custom.outcome`
  (the outcome payload), `data.custom.draft.reference` (a draft saved);
- action events: `action_handoff` (the citizen asked for a person), `action_clarify`
  followed by `misses` > 0 (a real miss: the clarify action first tries the
  text as an answer), `action_out_of_scope`; since issue 13 one action, `action_turn`, runs
  every turn and the slot `handled_as` names the core's handler, read as those actions
  (`handoff`, `out_of_scope`, `not_understood` for a miss, with or without a pending question);
- slot events: `pending`, `draft.step` (the question left open),
  `order` (questions answered), `facts.municipality`. The slots are named like the fields
  of `bot.state.State`; conversations stored before that have `pending_question`,
  `answer_order` and `fallback_count` (`bot.state.OLD_SLOT_NAMES`), read the same.

Privacy: every text is CPR-masked again here and draft links lose their token.
Answers typed into a draft's personal fields (name, birth date, health details)
are never counted as "not understood" and never shown in a transcript.
`minimise` reduces events to what `summarise` needs, for the analytics consumer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any, Iterable, Literal, Mapping, Sequence

from bot.drafts.dialogue import PERSONAL_FIELDS
from bot.drafts.urls import PREFIX
from bot.privacy import mask_cpr
from bot.state import OLD_SLOT_NAMES

Channel = Literal["citizen", "staff"]
NotUnderstoodKind = Literal["fallback", "out_of_scope"]
Event = Mapping[str, Any]
CHANNELS: tuple[Channel, ...] = ("citizen", "staff")
HIDDEN = "[svar til udkastet er skjult]"
TOKEN_MASK = "[link fjernet]"
_TOKEN = re.compile(rf"{re.escape(PREFIX)}/[A-Za-z0-9_-]{{16,}}")
_SLOTS_KEPT = ("handled_as", "pending", "misses", "order", *OLD_SLOT_NAMES)
# `handled_as` (the core's handler under the one action_turn) -> the action of the per-intent design
_HANDLED_AS = {
    "handoff": "action_handoff",
    "out_of_scope": "action_out_of_scope",
    "not_understood": "action_clarify",
}
# Draft steps whose answers are personal (name, birth date, contact, health): never shown.
PRIVATE_STEPS = frozenset(PERSONAL_FIELDS) - {"applicant_relation", "municipality_may_obtain"}


def clean_text(text: str) -> str:
    """Text safe for analysts: CPR numbers masked, draft links without their token."""
    return _TOKEN.sub(f"{PREFIX}/{TOKEN_MASK}", mask_cpr(text)[0])


# Conversation ids are made by channels (random hex on our page) and look up rows: never text to mask.
IDENTIFIERS = frozenset({"sender_id", "conversation_id"})


def clean(value: Any) -> Any:
    """`clean_text` applied to every string inside a JSON-like value, conversation ids excepted."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k in IDENTIFIERS else clean(v) for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class NotUnderstood:
    """A message the bot could not use: masked text, kind and the question open at the time."""

    text: str
    kind: NotUnderstoodKind
    question: str | None


@dataclasses.dataclass(frozen=True)
class ConversationRecord:
    """The compact summary of one conversation (one Rasa sender id)."""

    sender_id: str
    municipality: str | None
    channel: Channel
    started: dt.datetime
    last_event: dt.datetime
    duration_seconds: float
    turns: int
    questions_answered: int
    questions_reached: tuple[str, ...]
    outcome: str | None
    fallbacks: int
    handoff_requested: bool
    draft_created: bool
    draft_references: tuple[str, ...]
    last_question: str | None  # the question left open when the citizen stopped writing
    # started / last_event: the first and last message (user or bot); without messages, any event
    not_understood: tuple[NotUnderstood, ...]

    @property
    def completed(self) -> bool:
        return self.outcome is not None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["started"] = self.started.isoformat()
        data["last_event"] = self.last_event.isoformat()
        data["questions_reached"] = list(self.questions_reached)
        data["draft_references"] = list(self.draft_references)
        data["not_understood"] = [dataclasses.asdict(n) for n in self.not_understood]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationRecord:
        channel: Channel = "staff" if data["channel"] == "staff" else "citizen"
        return cls(
            sender_id=str(data["sender_id"]),
            municipality=data.get("municipality"),
            channel=channel,
            started=dt.datetime.fromisoformat(data["started"]),
            last_event=dt.datetime.fromisoformat(data["last_event"]),
            duration_seconds=float(data["duration_seconds"]),
            turns=int(data["turns"]),
            questions_answered=int(data["questions_answered"]),
            questions_reached=tuple(data["questions_reached"]),
            outcome=data.get("outcome"),
            fallbacks=int(data["fallbacks"]),
            handoff_requested=bool(data["handoff_requested"]),
            draft_created=bool(data["draft_created"]),
            draft_references=tuple(data["draft_references"]),
            last_question=data.get("last_question"),
            not_understood=tuple(NotUnderstood(**n) for n in data["not_understood"]),
        )


def moment(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)


def _custom(event: Event) -> Mapping[str, Any]:
    data = event.get("data") or {}
    custom = data.get("custom") if isinstance(data, Mapping) else None
    return custom if isinstance(custom, Mapping) else {}


def _intent(event: Event) -> str | None:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    name = intent.get("name") if isinstance(intent, Mapping) else None
    return str(name) if name else None


def _metadata(event: Event) -> Mapping[str, Any]:
    metadata = event.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


@dataclasses.dataclass
class _Pending:
    """A user message whose handling (next action) has not been seen yet."""

    text: str
    question: str | None
    private: bool
    action: str | None = None


class Walker:
    """Walks the events once; every rule of `summarise` is in `feed` (also used by transcripts)."""

    def __init__(self, sender_id: str) -> None:
        self.sender_id = sender_id
        self.first: float | None = None
        self.last: float | None = None
        self.first_message: float | None = None
        self.last_message: float | None = None
        self.turns = 0
        self.channel: Channel = "citizen"
        self.metadata_municipality: str | None = None
        self.facts_municipality: str | None = None
        self.outcome_municipality: str | None = None
        self.outcome: str | None = None
        self.reached: list[str] = []
        self.answered = 0
        self.pending_question: str | None = None
        self.draft_step: str | None = None
        self.handoff = False
        self.drafts: list[str] = []
        self.not_understood: list[NotUnderstood] = []
        self.message: _Pending | None = None

    @property
    def open_question(self) -> str | None:
        return self.draft_step or self.pending_question

    def feed(self, event: Event) -> None:
        kind = event.get("event")
        timestamp = event.get("timestamp")
        if isinstance(timestamp, int | float):
            self.first = timestamp if self.first is None else min(self.first, timestamp)
            self.last = timestamp if self.last is None else max(self.last, timestamp)
        if kind == "user":
            self._user(event, timestamp)
        elif kind == "bot":
            self._bot(event, timestamp)
        elif kind == "action":
            self._action(str(event.get("name")))
        elif kind == "slot":
            self._slot(str(event.get("name")), event.get("value"))

    def _touch(self, timestamp: Any) -> None:
        if isinstance(timestamp, int | float):
            if self.first_message is None:
                self.first_message = timestamp
            self.last_message = timestamp

    def _user(self, event: Event, timestamp: Any) -> None:
        self.turns += 1
        self._touch(timestamp)
        metadata = _metadata(event)
        if metadata.get("channel") in CHANNELS:
            self.channel = metadata["channel"]
        if isinstance(metadata.get("municipality"), str) and metadata["municipality"]:
            self.metadata_municipality = metadata["municipality"]
        private = self.draft_step in PRIVATE_STEPS
        self.message = _Pending(
            text=clean_text(str(event.get("text") or "")), question=self.open_question, private=private
        )

    def _bot(self, event: Event, timestamp: Any) -> None:
        self._touch(timestamp)
        custom = _custom(event)
        question = custom.get("question")
        if isinstance(question, Mapping) and question.get("fact"):
            fact = str(question["fact"])
            if fact not in self.reached:
                self.reached.append(fact)
        outcome = custom.get("outcome")
        if isinstance(outcome, Mapping) and outcome.get("offer"):
            self.outcome = str(outcome["offer"])
            if outcome.get("municipality"):
                self.outcome_municipality = str(outcome["municipality"])
        draft = custom.get("draft")
        if isinstance(draft, Mapping) and draft.get("reference"):
            reference = str(draft["reference"])
            if reference not in self.drafts:
                self.drafts.append(reference)

    def _action(self, name: str) -> None:
        if name == "action_listen":
            return
        message = self.message
        if name == "action_handoff" and not (message is not None and message.private):
            self.handoff = True  # a draft answer NLU took for "handoff" is still the answer
        if message is not None and message.action is None:
            message.action = name
            if name == "action_out_of_scope" and not message.private:
                self._missed(message, "out_of_scope")

    def _slot(self, name: str, value: Any) -> None:
        name = OLD_SLOT_NAMES.get(name, name)
        message = self.message
        if name == "handled_as" and message is not None and message.action == "action_turn":
            message.action = None
            self._action(_HANDLED_AS.get(str(value), "action_turn"))
        elif name == "pending":
            self.pending_question = str(value) if value else None
        elif name == "draft":
            step = value.get("step") if isinstance(value, Mapping) else None
            self.draft_step = str(step) if step else None
        elif name == "order":
            self.answered = len(value) if isinstance(value, list) else 0
        elif name == "facts" and isinstance(value, Mapping):
            municipality = value.get("municipality")
            self.facts_municipality = str(municipality) if municipality else self.facts_municipality
        elif name == "misses":
            message = self.message
            if (
                message is not None
                and message.action == "action_clarify"
                and isinstance(value, int | float)
                and value > 0
                and not message.private
            ):
                self._missed(message, "fallback")
                message.action = "counted"

    def _missed(self, message: _Pending, kind: NotUnderstoodKind) -> None:
        self.not_understood.append(NotUnderstood(message.text, kind, message.question))

    def record(self) -> ConversationRecord:
        first = self.first_message if self.first_message is not None else self.first or 0.0
        last = self.last_message if self.last_message is not None else self.last or first
        municipality = self.outcome_municipality or self.facts_municipality or self.metadata_municipality
        return ConversationRecord(
            sender_id=self.sender_id,
            municipality=municipality,
            channel=self.channel,
            started=moment(first),
            last_event=moment(last),
            duration_seconds=round(max(0.0, last - first), 3),
            turns=self.turns,
            questions_answered=self.answered,
            questions_reached=tuple(self.reached),
            outcome=self.outcome,
            fallbacks=len(self.not_understood),
            handoff_requested=self.handoff,
            draft_created=bool(self.drafts),
            draft_references=tuple(self.drafts),
            last_question=self.open_question,
            not_understood=tuple(self.not_understood),
        )


def _ordered(events: Iterable[Event]) -> list[Event]:
    """Events by timestamp, stable (a broker may redeliver out of order)."""
    listed = list(events)
    return sorted(listed, key=lambda e: float(e.get("timestamp") or 0.0))


def summarise(sender_id: str, events: Iterable[Event]) -> ConversationRecord:
    """The record of one conversation from its Rasa event dicts (full or `minimise`d)."""
    summary = Walker(sender_id)
    for event in _ordered(events):
        summary.feed(event)
    return summary.record()


def minimise(event: Event) -> dict[str, Any] | None:
    """Only what `summarise` reads, cleaned; None for events it ignores.

    User texts are kept (masked) because "not understood" needs them; the
    consumer blanks those that turned out to be understood (`blank_understood`).
    """
    kind = event.get("event")
    base: dict[str, Any] = {"event": kind, "timestamp": event.get("timestamp")}
    if kind == "user":
        metadata = _metadata(event)
        base["text"] = clean_text(str(event.get("text") or ""))
        base["parse_data"] = {"intent": {"name": _intent(event)}}
        base["metadata"] = {k: metadata[k] for k in ("channel", "municipality") if k in metadata}
        return base
    if kind == "bot":
        custom = _custom(event)
        kept: dict[str, Any] = {}
        if isinstance(custom.get("question"), Mapping):
            kept["question"] = {"fact": custom["question"].get("fact")}
        if isinstance(custom.get("outcome"), Mapping):
            outcome = custom["outcome"]
            kept["outcome"] = {"offer": outcome.get("offer"), "municipality": outcome.get("municipality")}
        if isinstance(custom.get("draft"), Mapping):
            kept["draft"] = {"reference": custom["draft"].get("reference")}
        if isinstance(custom.get("handoff"), Mapping):
            kept["handoff"] = {}
        base["data"] = {"custom": kept or None}  # kept without text: its time ends the conversation
        return base
    if kind == "action":
        base["name"] = event.get("name")  # action_listen included: it ends the bot's turn
        return base
    if kind == "slot":
        name, value = event.get("name"), event.get("value")
        if name in _SLOTS_KEPT:
            base.update(name=name, value=value)
        elif name == "draft":
            step = value.get("step") if isinstance(value, Mapping) else None
            base.update(name=name, value={"step": step})
        elif name == "facts":
            municipality = value.get("municipality") if isinstance(value, Mapping) else None
            base.update(name=name, value={"municipality": municipality} if municipality else {})
        else:
            return None
        return base
    return None


def _ends_turn(event: Event) -> bool:
    return event.get("event") == "user" or (
        event.get("event") == "action" and event.get("name") == "action_listen"
    )


def blank_understood(events: Sequence[Event]) -> list[dict[str, Any]]:
    """`events` (minimised, in timestamp order) with the text of understood user messages removed.

    A message keeps its text only when it was not understood, or while the
    bot's turn after it is incomplete (its `action_listen` has not arrived: a
    clarify action is a miss only by the `misses` slot that follows it).
    The result has one event for each event given, in the same order.
    """
    ordered = [dict(e) for e in events]
    missed = {(n.text, n.question) for n in summarise("", ordered).not_understood}
    summary = Walker("")
    result: list[dict[str, Any]] = []
    for position, event in enumerate(ordered):
        question = summary.open_question
        private = summary.draft_step in PRIVATE_STEPS
        summary.feed(event)
        if event.get("event") == "user" and event.get("text"):
            handled = any(_ends_turn(e) for e in ordered[position + 1 :])
            if private or (handled and (event["text"], question) not in missed):
                event = {**event, "text": ""}
        result.append(event)
    return result
