"""bot/conversation.py, properties of `Questionnaire.turn` with any text, intent and entities.

From every kind of state (nothing said, a question pending, a handoff waiting, an outcome, each
draft step, a saved draft, staff mode) and for any message, NLU guess and entities (payloads with
wrong types included), a turn never raises, always answers, never with an empty text, and never
repeats a CPR number: not in a reply's text, buttons or data, nor in the draft it keeps.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.conversation import INTENT_HANDLERS, Questionnaire, Result, State, Turn
from bot.drafts.dialogue import STEPS, DraftService
from bot.drafts.store import DraftStore
from bot.privacy import mask_cpr
from bot.questions import questions
from bot.state import DraftState, draft_to_json
from tests.properties.strategies import hostile_text, huge_text, json_values, messages, payload

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
REHAB = ("jeg er 80 og lige kommet hjem fra sygehuset", "ja", "Ballerup")
FIELD_ANSWERS = {
    "person_name": "Else Testesen",
    "date_of_birth": "1.2.1946",
    "phone": "12 34 56 78",
    "email": "spring over",
    "need_description": "Jeg skal træne gang.",
    "diagnoses": "ved ikke",
    "current_care": "nej",
    "training_method": "ABM",
}


def _inform(fact: str, choice: str) -> Turn:
    entities = ({"entity": "fact", "value": fact}, {"entity": "choice", "value": choice})
    return Turn(payload("inform", {"fact": fact, "choice": choice}), "inform", entities)


def _states() -> dict[str, State]:
    """One state of every kind, reached by talking to the questionnaire (no store needed before saving)."""
    q = Questionnaire(now=NOW, drafts=None)
    found: dict[str, State] = {"start": State(), "staff start": State(staff=True)}
    state = q.turn(State(), Turn(REHAB[0], "inform", confidence=0.99)).state
    found["question pending"] = state
    found["staff question pending"] = dataclasses.replace(state, staff=True)
    found["handoff waiting"] = q.turn(State(), Turn("tal med en medarbejder", "handoff")).state
    for text in REHAB[1:]:
        state = q.turn(state, Turn(text)).state
    found["outcome"] = dataclasses.replace(state, draft=DraftState())
    for _ in range(len(STEPS)):
        step = str(state.draft.step)
        found[f"draft {step}"] = state
        if step == "review":
            break
        if step in FIELD_ANSWERS:
            state = q.turn(state, Turn(FIELD_ANSWERS[step])).state
        else:
            state = q.turn(state, _inform(step, "self" if step == "applicant_relation" else "yes")).state
    found["draft saved"] = dataclasses.replace(
        state, draft=DraftState(reference="TG-2026-000001", url="http://x/udkast/t")
    )
    return found


STATES = _states()
NAMES = sorted({*questions(), *(s.name for s in STEPS), "review", "__class__"})

entity_names = st.one_of(
    st.sampled_from(["fact", "choice", "municipality", "who", "age"]), st.text(max_size=10)
)
entity_values = st.one_of(st.sampled_from(NAMES), json_values)
entities = st.lists(st.fixed_dictionaries({"entity": entity_names, "value": entity_values}), max_size=4)
intents = st.one_of(st.none(), st.sampled_from(sorted(INTENT_HANDLERS)), st.text(max_size=20))


@st.composite
def payload_turns(draw: st.DrawFn) -> Turn:
    """A button payload as Rasa parses it, `/inform{...}`, with any (wrongly typed) values."""
    intent = draw(st.sampled_from(["inform", "correct", "affirm", "delete_draft", "handoff", "restart"]))
    found = draw(
        st.dictionaries(
            st.sampled_from(["fact", "choice", "municipality", "who", "age", "x"]), entity_values, max_size=3
        )
    )
    text = payload(intent, found) if draw(st.booleans()) else draw(hostile_text)
    return Turn(
        text, intent, tuple({"entity": k, "value": v} for k, v in found.items()), draw(st.floats(0, 1))
    )


turns = st.one_of(
    st.builds(Turn, text=messages, intent=intents, entities=entities, confidence=st.floats(0, 1)),
    payload_turns(),
)


def pending(state: State) -> str:
    return str(state.draft.step or state.pending or "age")


def turns_in(name: str) -> st.SearchStrategy[tuple[str, list[Turn]]]:
    """Turns from the state `name`; half of them buttons of its pending question with any value."""
    buttons = st.builds(
        _inform, st.just(pending(STATES[name])), st.one_of(messages, st.sampled_from(["yes", "no", "save"]))
    )
    return st.tuples(st.just(name), st.lists(st.one_of(turns, buttons), min_size=1, max_size=4))


conversations = st.sampled_from(sorted(STATES)).flatmap(turns_in)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DraftStore]:
    path: Path = tmp_path_factory.mktemp("properties") / "drafts.db"
    store = DraftStore(f"sqlite:///{path}", key=Fernet.generate_key())
    yield store
    store.close()


def _said(result: Result) -> list[str]:
    """Everything the bot shows or keeps from this turn, as text."""
    said: list[str] = []
    for reply in result.replies:
        said.append(reply.text)
        said += [b.label for b in reply.buttons]
        said += [json.dumps(b.entities, ensure_ascii=False) for b in reply.buttons]
        said.append(json.dumps(reply.custom, ensure_ascii=False, default=str))
    said.append(json.dumps(draft_to_json(result.state.draft), ensure_ascii=False, default=str))
    return said


def check(result: Result) -> None:
    assert result.replies, "no reply"
    assert all(reply.text.strip() for reply in result.replies), [r.text for r in result.replies]
    leaked = [said for said in _said(result) if mask_cpr(said)[1]]
    assert not leaked, leaked


@given(conversations)
@example(  # a yes/no draft step took any button value: the review showed it, CPR number and all
    ("draft municipality_may_obtain", [_inform("municipality_may_obtain", "cpr 010190-1234")])
)
@example(("draft draft_consent", [_inform("draft_consent", "<script>010190-1234")]))
def test_a_turn_never_raises_always_answers_and_never_repeats_a_cpr_number(
    store: DraftStore, conversation: tuple[str, list[Turn]]
) -> None:
    name, sequence = conversation
    q = Questionnaire(
        now=NOW,
        drafts=DraftService(store=lambda: store, base_url="http://127.0.0.1:8080", conversation_id="prop-1"),
    )
    state = STATES[name]
    for turn in sequence:
        result = q.turn(state, turn)
        check(result)
        state = result.state


@given(st.sampled_from(sorted(STATES)), hostile_text)
def test_typed_text_in_a_draft_field_is_kept_only_if_it_is_safe(name: str, text: str) -> None:
    state = STATES[name]
    result = Questionnaire(now=NOW, drafts=None).turn(state, Turn(text))
    check(result)
    fields: dict[str, Any] = dict(result.state.draft.fields)
    for value in fields.values():
        assert not isinstance(value, str) or not any(ord(c) < 32 and c not in "\n\t" for c in value)


@settings(max_examples=25)  # each turn reads 100 KB several times (about 2 s here)
@given(st.sampled_from(sorted(STATES)), huge_text, intents)
def test_a_100_kb_message_is_answered_in_every_state(name: str, text: str, intent: str | None) -> None:
    check(Questionnaire(now=NOW, drafts=None).turn(STATES[name], Turn(text, intent)))
