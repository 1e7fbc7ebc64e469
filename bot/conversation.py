"""The questionnaire as a plain state machine: a turn in, replies and a new state out.

Rasa sends every message to one action (`actions/`), which only translates the tracker to
`State`/`Turn`, calls `Questionnaire.turn` once and turns the replies into messages and slot
events; the web page and staff mode can drive the same code.

`Questionnaire.turn` dispatches by data (`INTENT_HANDLERS`, intent -> handler) with the
pending question first: while a question is pending (`State.pending` or a draft step), a
button's payload, a button's label typed, or a navigation command (copy_da.yml `turn.commands`)
is obeyed; otherwise the message is read as the answer to that question, then as facts said
in passing, and only then as a new intent, which wins only when NLU is `CONFIDENT`.
A message that answers nothing is "not understood": said, and the question asked again; the
second miss offers a person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from functools import cache
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

from rapidfuzz import fuzz

from bot import wording
from bot.datafiles import lookup
from bot.drafts.dialogue import DraftDialogue, DraftService, can_offer
from bot.parse import MAX_MESSAGE, extract_facts, home_training_wanted, parse_age, parse_choice, parse_yes_no
from bot.privacy import mask_cpr
from bot.questions import RELATIONS, Answer, question, questions
from bot.replies import Button, Reply
from bot.rules import Ask, Decision, Outcome, Topic, age_group, decide
from bot.state import DraftState, State
from bot.text import fold, strip_markup

TOPIC_INTENTS: Mapping[str, Topic] = {
    "ask_maintenance_training": "maintenance_training",
    "ask_free_physiotherapy": "free_physiotherapy",
    "ask_rehabilitation": "rehabilitation",
    "ask_home_training": "home_training",
}
_TOPIC_WORDS: tuple[tuple[str, Topic], ...] = (  # home training: bot.parse.home_training_wanted
    ("vederlagsfri", "free_physiotherapy"),
    ("gratis fys", "free_physiotherapy"),
    ("genoptraen", "rehabilitation"),
    ("vedligehold", "maintenance_training"),
)
_YES_NO_INTENTS = {"affirm": "yes", "deny": "no", "dont_know": "dont_know"}

CONFIDENT = 0.8
"""NLU confidence from which an intent that is no answer (goodbye, thanks, greet, delete-draft,
handoff, out-of-scope, 'why', navigation) wins over a pending question the text does not answer.
Below it the message is "not understood" and the question is asked again."""
SIMILAR = 0.85
"""How alike (0..1) a typed text and a button label must be to count as that button (typos)."""

INTENT_HANDLERS: Mapping[str, str] = {
    **{intent: "answer" for intent in ("inform", "affirm", "deny", "dont_know", "correct", *TOPIC_INTENTS)},
    "ask_training_general": "training_general",
    "go_back": "go_back",
    "show_answers": "show_answers",
    "start_over": "start_over",
    "ask_why": "explain",
    "greet": "greet",
    "goodbye": "goodbye",
    "thanks": "thanks",
    "handoff": "handoff",
    "out_of_scope": "out_of_scope",
    "delete_draft": "delete_draft",
    "nlu_fallback": "not_understood",
}
"""Every intent in domain.yml (and Rasa's nlu_fallback) -> the handler that takes it (`_HANDLERS`)."""
_CORRECTION = re.compile(r"^(nej )?(vent|rettelse|undskyld|jeg mener|jeg tog fejl|det var forkert|forkert)\b")


@dataclasses.dataclass(frozen=True)
class Turn:
    text: str
    intent: str | None = None
    entities: Sequence[Mapping[str, Any]] = ()
    confidence: float = 1.0  # NLU's confidence in `intent` (a button's payload: 1.0)


@dataclasses.dataclass(frozen=True)
class Result:
    state: State
    replies: tuple[Reply, ...]
    handler: str | None = None  # which handler took the turn (set by `Questionnaire.turn`)
    decision: Decision | None = None  # the rules' decision on the facts after the turn (made once per turn)

    @property
    def outcome(self) -> Outcome | None:
        return self.state.outcome


def _topic_in(text: str) -> Topic:
    """A route named in the text (when NLU chose another intent, e.g. inform)."""
    if home_training_wanted(text):
        return "home_training"
    folded = fold(text)
    return next((topic for word, topic in _TOPIC_WORDS if word in folded), None)


def _entity(turn: Turn, name: str) -> str | None:
    for entity in turn.entities:
        if entity.get("entity") == name and entity.get("value") is not None:
            return str(entity["value"])
    return None


def _valid(fact: str, value: Answer) -> bool:
    spec = question(fact)
    if isinstance(value, int):
        return spec.kind == "number" and (spec.min or 0) <= value <= (spec.max or 10**6)
    return value in spec.options


def _interpret(fact: str, turn: Turn, text: str) -> tuple[Answer | None, str | None]:
    """The answer to the pending question, or the name of the invalid-answer message."""
    spec = question(fact)
    if spec.kind == "yes_no":
        value = _YES_NO_INTENTS.get(turn.intent or "") or parse_yes_no(text)
        return (value, None) if value else (None, "yes_no")
    if spec.kind == "number":
        age = parse_age(text, bare=True)
        if age == "out_of_range":
            return None, "number_range"
        if isinstance(age, int):
            return age, None
        group = parse_choice(fact, text)
        return (group, None) if group else (None, "number")
    if turn.intent == "dont_know" and "dont_know" in spec.options:
        return "dont_know", None
    choice = _typed_label(fact, text) or parse_choice(fact, text)
    if choice is None and {"yes", "no"} <= set(spec.options):
        choice = _YES_NO_INTENTS.get(turn.intent or "") or parse_yes_no(text)
    if choice is None and "dont_know" in spec.options and parse_yes_no(text) == "dont_know":
        choice = "dont_know"  # "det ved jeg ikke" to a choice question without yes/no
    return (choice, None) if choice else (None, "choice")


def _typed_label(fact: str, text: str) -> str | None:
    """A button's label typed instead of clicked ("Nej, men det skyldes sygdommen") is that button."""
    return typed_label(text, ((value, wording.option_label(fact, value)) for value in question(fact).options))


T = TypeVar("T")
_NOT_WORD = re.compile(r"[^a-z0-9 ]+")


def _label_key(text: str) -> str:
    """A label as compared: folded, no punctuation, 'aa'/'oe'/'ae' as typed without diacritics."""
    key = _NOT_WORD.sub(" ", fold(text)).replace("aa", "a").replace("oe", "o").replace("ae", "e")
    return " ".join(key.split())


def similarity(a: str, b: str) -> float:
    """How alike two label keys are, 0..1 (the one place that chooses the fuzzy matcher)."""
    return float(fuzz.ratio(a, b)) / 100


def typed_label(text: str, labels: Iterable[tuple[T, str]]) -> T | None:
    """The value whose label the whole message is: any case, with or without diacritics, or with a
    small typo (labels of five letters or more, same numbers, one clear best match)."""
    key = _label_key(text)
    if not key:
        return None
    scored: list[tuple[float, int, T]] = []
    for i, (value, label) in enumerate(labels):
        label_key = _label_key(label)
        if key == label_key:
            return value
        if len(label_key) >= 5 and re.findall(r"\d+", key) == re.findall(r"\d+", label_key):
            scored.append((similarity(key, label_key), i, value))
    scored.sort(key=lambda item: (-item[0], item[1]))
    if scored and scored[0][0] >= SIMILAR and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][2]
    return None


@cache
def commands() -> tuple[tuple[str, str], ...]:
    """(intent, words) for the commands that work whatever is pending (copy_da.yml `turn.commands`)."""
    found = lookup(wording.COPY_FILE, "turn.commands")
    return tuple((str(intent), str(words)) for intent, all_words in found.items() for words in all_words)


def _entities(turn: Turn) -> dict[str, str]:
    return {str(e["entity"]): str(e["value"]) for e in turn.entities if e.get("value") is not None}


def _entity_facts(turn: Turn) -> dict[str, Answer]:
    facts: dict[str, Answer] = {}
    municipality = _entity(turn, "municipality")
    if municipality and _valid("municipality", municipality):
        facts["municipality"] = municipality
    who = _entity(turn, "who")
    if who in RELATIONS:
        facts["who"] = who
    age = _entity(turn, "age")
    if age is not None:
        parsed = parse_age(age, bare=True)
        if isinstance(parsed, int):
            facts["age"] = parsed
    return facts


class Questionnaire:
    """Turns answers into the next question or an outcome."""

    def __init__(self, *, now: dt.datetime, drafts: DraftService | None = None) -> None:
        self.now = now
        self.drafts = DraftDialogue(now=now, service=drafts)

    # -- one turn ----------------------------------------------------------------------
    def turn(self, state: State, turn: Turn) -> Result:
        """One message, whatever NLU made of it: the handler `route` chooses, run once."""
        handler, routed = self.route(state, turn)
        result = _HANDLERS[handler](self, state, routed)
        after = result.state
        decision = (
            result.decision or after.outcome or decide(after.facts, topic=after.topic, today=self.now.date())
        )
        return dataclasses.replace(result, handler=result.handler or handler, decision=decision)

    def route(self, state: State, turn: Turn) -> tuple[str, Turn]:
        """The handler for a message, and the turn it gets (a typed label becomes its button).

        1. a button's payload ("/intent{...}") does what it says;
        2. the label of a button of the pending question, typed, is that button;
        3. a navigation command ("tilbage", "start forfra", "dine svar", "stop", ...) is obeyed;
        4. nothing pending: the intent decides;
        5. a question pending: an answer-like intent, or a text that answers it or states facts,
           is the answer; another intent wins if NLU is CONFIDENT; else "not understood".
        """
        intent = turn.intent if turn.intent is not None and turn.intent in INTENT_HANDLERS else "nlu_fallback"
        if turn.text.startswith("/"):
            return INTENT_HANDLERS[intent], turn
        pressed = self._pressed(state, turn.text)
        if pressed is not None:
            entities = tuple({"entity": k, "value": v} for k, v in pressed.entities.items())
            return INTENT_HANDLERS[pressed.intent], Turn(turn.text, pressed.intent, entities)
        command = typed_label(turn.text, commands())
        if command is not None:
            return INTENT_HANDLERS[command], Turn(turn.text, command)
        wanted = INTENT_HANDLERS[intent]
        if wanted == "delete_draft" and not _DELETE_WORDS.search(fold(turn.text)):
            wanted = "not_understood"  # NLU alone never deletes: "Gem udkastet" once read as delete_draft
        if not self._pending(state):
            if wanted in _NAVIGATION and not state.order and self._states_facts(state, turn):
                return "answer", turn  # "jeg vil gerne have min kondition tilbage" is no "go back"
            if turn.intent in _ANSWER_INTENTS and not self._states_facts(state, turn):
                return "not_understood", turn  # an "answer" to nothing that says nothing: "ssss"
            return wanted, turn
        if wanted == "answer" or self._answers(state, turn):
            return "answer", turn
        if wanted != "not_understood" and turn.confidence >= CONFIDENT:
            return wanted, turn
        return "answer", turn  # the answer handler says it did not understand (handler "not_understood")

    def _states_facts(self, state: State, turn: Turn) -> bool:
        """Whether the message states facts or names a route (an opening that NLU took for navigation)."""
        _, text = self._screen(turn.text)
        return bool(extract_facts(text)) or _topic_in(text) is not None

    def _pending(self, state: State) -> bool:
        return bool(state.pending or state.draft.step)

    def _pending_replies(self, state: State) -> list[Reply]:
        """The pending question (or draft step) again, with its buttons; nothing if none."""
        if state.draft.step:
            return self.drafts.ask_again(state.draft, state.facts)
        return self._ask_replies(state, state.pending)

    def _pressed(self, state: State, text: str) -> Button | None:
        """The pending question's button whose label the message is."""
        buttons = [b for r in self._pending_replies(state) for b in r.buttons]
        return typed_label(text, ((b, b.label) for b in buttons))

    def _answers(self, state: State, turn: Turn) -> bool:
        """Whether the message can be the answer to the pending question, or states facts."""
        _, text = self._screen(turn.text)
        if state.draft.step:
            return self.drafts.reads(state.draft, text, turn.intent, _entities(turn))
        if state.pending is None:
            return False
        if _interpret(state.pending, turn, text)[0] is not None:
            return True
        stated = extract_facts(text, pending=state.pending)
        return any(state.facts.get(fact) != value for fact, value in stated.items())

    def _missed(self, state: State, notices: Sequence[Reply], message: str) -> Result:
        """Not understood while a question is pending: say so and ask again; the second miss offers a person."""
        missed = dataclasses.replace(state, misses=state.misses + 1)
        if missed.misses >= 2:
            offer = self._handoff_turn(missed)
            replies = (*notices, Reply(wording.text("fallback.second_answer")), *offer.replies)
            return Result(offer.state, replies, "not_understood")
        return Result(missed, (*notices, Reply(message), *self._pending_replies(missed)), "not_understood")

    # -- handlers ----------------------------------------------------------------------
    def greet(self, state: State) -> Result:
        if self._pending(state):
            return Result(state, (Reply(wording.text("turn.greet_again")), *self._pending_replies(state)))
        return Result(state, (Reply(wording.text("turn.greet")),))

    def goodbye(self, state: State) -> Result:
        return Result(state, (Reply(wording.text("turn.goodbye")),))

    def thanks(self, state: State) -> Result:
        return Result(state, (Reply(wording.text("turn.thanks")), *self._pending_replies(state)))

    def training_general(self, state: State, turn: Turn) -> Result:
        """'Hvilken træning kan jeg få?': what the bot helps with, then the questions (or the pending one)."""
        said = Reply(wording.text("turn.training_general"))
        if self._pending(state):
            return Result(state, (said, *self._pending_replies(state)))
        result = self.answer(state, turn)
        return Result(result.state, (said, *result.replies), decision=result.decision)

    def answer(self, state: State, turn: Turn) -> Result:
        """A message that answers the pending question, states facts or corrects them."""
        if state.draft.step:
            return self._draft_turn(state, turn)
        notices, text = self._screen(turn.text)
        facts = dict(state.facts)
        order = list(state.order)
        topic = TOPIC_INTENTS.get(turn.intent or "", state.topic)
        topic = topic if turn.intent in TOPIC_INTENTS else _topic_in(text) or topic
        correcting = turn.intent == "correct" or bool(_CORRECTION.match(fold(text)))

        # A button names its fact; "Ret" buttons send a fact without a value.
        button_fact, button_value = _entity(turn, "fact"), _entity(turn, "choice")
        if button_fact in questions() and button_value is None and turn.intent == "correct":
            return self._reask(state, button_fact, notices)
        stated = {**extract_facts(text, pending=state.pending), **_entity_facts(turn)}
        changed: dict[str, Answer] = {}
        invalid: str | None = None
        if button_fact in questions() and button_value is not None:
            value: Answer = button_value
            if question(button_fact).kind == "number" and button_value.isdigit():
                value = int(button_value)
            if _valid(button_fact, value):
                changed[button_fact] = value
            else:
                invalid = question(button_fact).kind
        elif state.pending and not (correcting and stated):
            value_or_none, invalid = _interpret(state.pending, turn, text)
            if value_or_none is not None:
                changed[state.pending] = value_or_none
                if state.pending == "age" and isinstance(value_or_none, int) and not re.search(r"\d", text):
                    notices.append(Reply(wording.text("acknowledge.age_words", age=value_or_none)))
        for fact, value in stated.items():
            if fact not in facts or (correcting and facts[fact] != value):
                changed.setdefault(fact, value)
        if not changed and invalid and topic == state.topic:
            if invalid == "number_range":  # understood, but not a possible age: no miss
                replies = [*notices, Reply(wording.text(f"invalid_answer.{invalid}"))]
                return Result(state, (*replies, *self._ask_replies(state, state.pending)))
            helps = [f"• {line}" for line in wording.option_help(state.pending)] if state.pending else []
            return self._missed(
                state, notices, "\n".join([wording.text(f"invalid_answer.{invalid}"), *helps])
            )
        corrected = [f for f in changed if f in facts and facts[f] != changed[f]]
        for fact, value in changed.items():
            facts[fact] = value
            if fact in order:
                order.remove(fact)
            order.append(fact)
        if corrected:
            notices.append(Reply(wording.text("navigation.correction_noted")))
        new_state = dataclasses.replace(state, facts=facts, order=tuple(order), topic=topic, misses=0)
        return self._advance(new_state, notices)

    def delete_draft(self, state: State) -> Result:
        draft, replies = self.drafts.delete(state.draft)
        after = dataclasses.replace(state, draft=draft)
        return Result(after, (*replies, *self._pending_replies(after)))

    def _draft_turn(self, state: State, turn: Turn) -> Result:
        notices, text = self._screen(turn.text)
        entities = _entities(turn)
        if not self.drafts.reads(state.draft, text, turn.intent, entities):
            return self._missed(state, notices, wording.text("turn.not_understood"))
        draft, replies = self.drafts.answer(
            state.draft, state.facts, state.outcome, turn.text, turn.intent, entities
        )
        return Result(dataclasses.replace(state, draft=draft, misses=0), tuple(replies))

    def start_over(self, state: State) -> Result:
        """Forget every answer; keep only who is on the line (citizen or staff)."""
        return Result(State(staff=state.staff), (Reply(wording.text("navigation.start_over")),))

    def go_back(self, state: State) -> Result:
        if state.draft.step:
            went_back = self.drafts.back(state.draft, state.facts)
            if went_back is not None:
                draft, replies = went_back
                return Result(
                    dataclasses.replace(state, draft=draft),
                    (Reply(wording.text("navigation.back")), *replies),
                )
            state = dataclasses.replace(
                state, draft=DraftState(), outcome=None
            )  # back from the offer: the questions
        if not state.order:
            return Result(
                state,
                (Reply(wording.text("navigation.nothing_to_undo")), *self._ask_replies(state, state.pending)),
            )
        last = state.order[-1]
        facts = {k: v for k, v in state.facts.items() if k != last}
        new_state = dataclasses.replace(state, facts=facts, order=state.order[:-1], pending=last)
        return Result(
            new_state, (Reply(wording.text("navigation.back")), *self._ask_replies(new_state, last))
        )

    def summary(self, state: State) -> Result:
        if not state.order:
            return Result(
                state,
                (Reply(wording.text("navigation.summary_empty")), *self._ask_replies(state, state.pending)),
            )
        lines = [wording.text("navigation.summary_title")]
        buttons = []
        for fact in state.order:
            asked = wording.question_message(fact, state.facts).text
            lines.append(f"• {asked} {wording.answer_label(fact, state.facts[fact])}")
            buttons.append(
                Button(wording.text("navigation.correct_button", question=asked), "correct", {"fact": fact})
            )
        if state.draft.step:  # mid-draft: the answers to read, then the draft step again
            shown = Reply("\n".join(lines), (), {"summary": dict(state.facts)})
            return Result(state, (shown, *self.drafts.ask_again(state.draft, state.facts)))
        return Result(state, (Reply("\n".join(lines), tuple(buttons), {"summary": dict(state.facts)}),))

    def out_of_scope(self, state: State) -> Result:
        """Not about training: say so and ask the pending question again."""
        return Result(state, (Reply(wording.text("navigation.out_of_scope")), *self.repeat(state).replies))

    def explain(self, state: State) -> Result:
        if state.pending is None or state.draft.step:
            return Result(state, (Reply(wording.text("navigation.why_none")), *self._pending_replies(state)))
        why = f"{wording.text('navigation.why_prefix')} {wording.why_question(state.pending)}"
        return Result(state, (Reply(why), *self._ask_replies(state, state.pending)))

    def repeat(self, state: State) -> Result:
        return Result(state, tuple(self._pending_replies(state)))

    def _handoff_turn(self, state: State, turn: Turn | None = None) -> Result:
        """A person offered; with the municipality known, the pending question follows.

        A first message that states facts ("jeg er 40 og har været indlagt ...") and that NLU read as
        a wish for a person also starts the questionnaire: the contact, then the first question.
        """
        offer = self.handoff(state)
        if offer.state.handoff_waiting:  # the municipality is asked first
            return offer
        if (
            turn
            and not self._pending(state)
            and not turn.text.startswith("/")
            and self._states_facts(state, turn)
        ):
            answered = self.answer(offer.state, turn)
            return Result(answered.state, (*offer.replies, *answered.replies), decision=answered.decision)
        return Result(offer.state, (*offer.replies, *self._pending_replies(offer.state)))

    def handoff(self, state: State) -> Result:
        municipality = state.facts.get("municipality")
        if municipality is None:
            waiting = dataclasses.replace(state, handoff_waiting=True, pending="municipality")
            return Result(
                waiting,
                (
                    Reply(wording.text("contact.handoff_ask_municipality")),
                    *self._ask_replies(waiting, "municipality"),
                ),
            )
        message = wording.handoff_message(str(municipality), self._contact_area(state), self.now)
        return Result(
            dataclasses.replace(state, handoff_waiting=False),
            (Reply(message.text, custom={"handoff": message.payload}),),
        )

    def not_understood(self, state: State, turn: Turn) -> Result:
        """Nothing pending and not understood: use it if it states facts, else clarify (with suggestions)."""
        if state.pending or turn.text.strip():
            attempt = self.answer(state, turn)
            if attempt.state.facts != state.facts:
                return attempt
        misses = state.misses + 1
        new_state = dataclasses.replace(state, misses=misses)
        if misses >= 2:
            offer = self.handoff(new_state)
            return Result(offer.state, (Reply(wording.text("fallback.second")), *offer.replies))
        buttons = tuple(
            Button(wording.text(f"fallback.suggestions.{intent}"), intent, {})
            for intent in (*TOPIC_INTENTS, "handoff")
        )
        return Result(new_state, (Reply(wording.text("fallback.first"), buttons),))

    # -- helpers -----------------------------------------------------------------------
    def _screen(self, raw: str) -> tuple[list[Reply], str]:
        notices: list[Reply] = []
        text, had_cpr = mask_cpr(strip_markup(raw))
        if had_cpr:
            notices.append(Reply(wording.text("invalid_answer.cpr")))
        if len(text) > MAX_MESSAGE:
            text = text[:MAX_MESSAGE]
            notices.append(Reply(wording.text("invalid_answer.too_long", limit=MAX_MESSAGE)))
        return notices, text

    def _reask(self, state: State, fact: str, notices: list[Reply]) -> Result:
        facts = {k: v for k, v in state.facts.items() if k != fact}
        order = tuple(f for f in state.order if f != fact)
        new_state = dataclasses.replace(state, facts=facts, order=order, pending=fact)
        return Result(new_state, (*notices, *self._ask_replies(new_state, fact)))

    def _ask_replies(self, state: State, fact: str | None) -> list[Reply]:
        if fact is None:
            return []
        message = wording.question_message(fact, state.facts, staff=state.staff, topic=state.topic)
        buttons = tuple(
            Button(label, "inform", {"fact": fact, "choice": value}) for value, label in message.options
        )
        return [Reply(message.text, buttons, {"question": message.payload()})]

    def _contact_area(self, state: State) -> str:
        age = state.facts.get("age")
        if age is not None and age_group(age) == "child":
            return "home_training" if state.topic == "home_training" else "children"
        return "adults"

    def _advance(self, state: State, notices: list[Reply]) -> Result:
        if state.handoff_waiting and "municipality" in state.facts:
            handed = self.handoff(state)
            state, notices = handed.state, [*notices, *handed.replies]
        decision = decide(state.facts, topic=state.topic, today=self.now.date())
        if isinstance(decision, Ask):
            asked = dataclasses.replace(state, pending=decision.fact, outcome=None)
            return Result(asked, (*notices, *self._ask_replies(asked, decision.fact)), decision=decision)
        message = wording.outcome_message(
            decision, state.facts, self.now
        )  # the payload, rendered for the reply
        done = dataclasses.replace(state, pending=None, outcome=decision)
        replies = [*notices, Reply(message.text, custom={"outcome": message.payload})]
        if can_offer(decision) and not state.draft.reference:
            draft, offer = self.drafts.offer(decision)
            done = dataclasses.replace(done, draft=draft)
            replies += offer
        return Result(done, tuple(replies), decision=decision)


# Navigation intents that mean nothing before the first answer (nothing to go back to, show or explain).
_NAVIGATION = frozenset({"go_back", "show_answers", "explain"})
# Intents that answer a question; with no question pending they must at least state a fact.
_ANSWER_INTENTS = frozenset({"inform", "affirm", "deny", "dont_know", "correct"})
# A destructive intent from NLU needs a destructive word in the message itself.
_DELETE_WORDS = re.compile(r"\b(slet\w*|fjern\w*|glem\w*|annuller\w*|kassér|kasser|smid\w* ud|delete)\b")

Handler = Callable[[Questionnaire, State, Turn], Result]
_HANDLERS: Mapping[str, Handler] = {
    "answer": Questionnaire.answer,
    "training_general": Questionnaire.training_general,
    "not_understood": Questionnaire.not_understood,
    "go_back": lambda q, state, turn: q.go_back(state),
    "show_answers": lambda q, state, turn: q.summary(state),
    "start_over": lambda q, state, turn: q.start_over(state),
    "explain": lambda q, state, turn: q.explain(state),
    "greet": lambda q, state, turn: q.greet(state),
    "goodbye": lambda q, state, turn: q.goodbye(state),
    "thanks": lambda q, state, turn: q.thanks(state),
    "handoff": Questionnaire._handoff_turn,
    "out_of_scope": lambda q, state, turn: q.out_of_scope(state),
    "delete_draft": lambda q, state, turn: q.delete_draft(state),
}
