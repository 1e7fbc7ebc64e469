"""`bot.state`: the typed state and its one codec to Rasa's slots (round trips, and slots written
before typed state: old names, the outcome as its Danish payload, the draft as a dict). No Rasa."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from bot import wording
from bot.conversation import Questionnaire, Turn
from bot.drafts.dialogue import DraftService
from bot.drafts.store import DraftStore
from bot.rules import Ask, Outcome, decide
from bot.state import SLOTS, DraftState, State, from_slots, municipality_from_events, to_slots
from tests.scenarios import runner

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
CASES = runner.load_cases()
REHAB_FACTS = {
    "age": 80,
    "who": "relative",
    "hospital_stay": "yes",
    "rehab_plan": "yes",
    "municipality": "ballerup",
}
FILLED = {"person_name": "Else Hansen", "date_of_birth": "1946-02-01", "phone": "12345678", "email": None}


def through_slots(state: State, today: dt.date) -> State:
    """As Rasa keeps it: to slot values, to JSON and back, and read again."""
    slots = json.loads(json.dumps(to_slots(state), ensure_ascii=False))
    return from_slots(slots, today=today, staff=state.staff)


def rehab_outcome() -> Outcome:
    outcome = decide(REHAB_FACTS, today=NOW.date())
    assert isinstance(outcome, Outcome)
    return outcome


def scenario_states() -> list[Any]:
    """Real states: every scenario case asked its first question, and finished with its outcome."""
    params = []
    for case in CASES:
        facts = dict(case.facts)
        outcome = decide(facts, topic=case.topic, today=case.today)  # type: ignore[arg-type]
        assert isinstance(outcome, Outcome)
        first = decide({}, topic=case.topic, today=case.today)  # type: ignore[arg-type]
        assert isinstance(first, Ask)
        asking = State(topic=case.topic, pending=first.fact, misses=1)  # type: ignore[arg-type]
        draft = (
            DraftState(step="draft_offer", offer=outcome.offer) if outcome.offer != "none" else DraftState()
        )
        done = State(facts=facts, order=tuple(facts), topic=case.topic, outcome=outcome, draft=draft)  # type: ignore[arg-type]
        params += [pytest.param(asking, case.today, id=f"{case.id}-asking")]
        params += [pytest.param(done, case.today, id=f"{case.id}-outcome")]
    return params


DRAFTS = [
    DraftState(),
    DraftState(step="person_name", offer="rehabilitation"),
    DraftState(step="review", offer="home_training", fields={**FILLED, "training_method": "Øvelser hjemme"}),
    DraftState(step="phone", offer="rehabilitation", fields=FILLED, reviewing=True),
    DraftState(reference="TG-2026-000001", url="http://127.0.0.1:8080/udkast/abc"),
]


@pytest.mark.parametrize(("state", "today"), scenario_states())
def test_a_scenario_state_comes_back_from_its_slots_unchanged(state: State, today: dt.date) -> None:
    assert through_slots(state, today) == state


@pytest.mark.parametrize("draft", DRAFTS)
@pytest.mark.parametrize("staff", [False, True])
def test_a_draft_state_comes_back_from_its_slots_unchanged(draft: DraftState, staff: bool) -> None:
    state = State(
        facts=REHAB_FACTS,
        order=tuple(REHAB_FACTS),
        outcome=rehab_outcome(),
        draft=draft,
        staff=staff,
        handoff_waiting=True,
    )
    assert through_slots(state, NOW.date()) == state


def test_the_slots_are_named_like_the_state_fields_and_the_domain_has_them() -> None:
    fields = [f.name for f in dataclasses.fields(State) if f.name != "staff"]  # staff: the channel's
    assert list(SLOTS) == fields == list(to_slots(State()))
    domain = yaml.safe_load((Path(__file__).parents[2] / "domain.yml").read_text(encoding="utf-8"))
    assert set(domain["slots"]) == {*SLOTS, "handled_as"}


def test_the_draft_slot_keeps_its_shape() -> None:
    """Analytics reads `draft.step`; an action server before typed state wrote the offer among the fields."""
    draft = DraftState(step="person_name", offer="rehabilitation", fields={"applicant_relation": "self"})
    assert to_slots(State(draft=draft))["draft"] == {
        "step": "person_name",
        "fields": {"offer": "rehabilitation", "applicant_relation": "self"},
    }
    assert to_slots(State())["draft"] == {}


# -- slots written before typed state (a conversation in progress during the deploy) ------------------


def old_slots(**changes: Any) -> dict[str, Any]:
    """The slots as main wrote them before typed state: old names, custom.outcome, the draft dict."""
    outcome = wording.outcome_message(rehab_outcome(), REHAB_FACTS, NOW).payload
    return {
        "facts": dict(REHAB_FACTS),
        "answer_order": list(REHAB_FACTS),
        "pending_question": None,
        "topic": None,
        "fallback_count": 1.0,
        "handoff_waiting": False,
        "outcome": json.loads(json.dumps(outcome)),
        "draft": {"step": "review", "fields": {"offer": "rehabilitation", **FILLED}},
        **changes,
    }


def test_old_slots_are_read_with_the_outcome_decided_again_from_the_facts() -> None:
    state = from_slots(old_slots(), today=NOW.date())
    assert state == State(
        facts=REHAB_FACTS,
        order=tuple(REHAB_FACTS),
        misses=1,
        outcome=rehab_outcome(),
        draft=DraftState(step="review", offer="rehabilitation", fields=FILLED),
    )


def test_an_old_pending_question_is_read() -> None:
    slots = old_slots(pending_question="rehab_plan", answer_order=["age", "who"], outcome=None, draft={})
    state = from_slots(slots, today=NOW.date())
    assert state.pending == "rehab_plan" and state.order == ("age", "who") and state.outcome is None


def test_an_outcome_slot_that_cannot_be_read_is_decided_again() -> None:
    """A typed outcome with parts missing (hand-edited, or a later schema) does not stop the conversation."""
    slots = old_slots(outcome={"offer": "rehabilitation", "contact_area": "adults"})
    assert from_slots(slots, today=NOW.date()).outcome == rehab_outcome()


def test_an_old_outcome_the_facts_no_longer_reach_is_none() -> None:
    slots = old_slots(facts={"age": 80}, draft={})
    assert from_slots(slots, today=NOW.date()).outcome is None


def test_a_slot_under_its_new_name_wins_over_its_old_name() -> None:
    slots = old_slots(pending_question="rehab_plan", pending="hospital_stay", order=["age"], misses=0.0)
    state = from_slots(slots, today=NOW.date())
    assert (state.pending, state.order, state.misses) == ("hospital_stay", ("age",), 0)


def test_a_draft_begun_before_the_deploy_is_saved_after_it(tmp_path: Path) -> None:
    """At the review when the deploy came: "Gem udkastet" saves it, with the outcome decided again."""
    store = DraftStore(f"sqlite:///{tmp_path / 'drafts.db'}", key=Fernet.generate_key())
    service = DraftService(store=lambda: store, base_url="http://127.0.0.1:8080", conversation_id="conv-1")
    slots = old_slots(
        draft={
            "step": "review",
            "fields": {
                "offer": "rehabilitation",
                **FILLED,
                "need_description": "Træning efter et fald",
                "municipality_may_obtain": "yes",
            },
        }
    )
    state = from_slots(slots, today=NOW.date())
    result = Questionnaire(now=NOW, drafts=service).turn(
        state, Turn("Gem udkastet", "inform", confidence=0.9)
    )
    assert result.state.draft.reference is not None and result.state.draft.reference.startswith("TG-")
    saved = store.get_by_reference(result.state.draft.reference, NOW)
    assert saved is not None and saved.input.offer == "rehabilitation"
    assert saved.input.legal_basis == [ref.payload() for ref in rehab_outcome().legal_basis]


def test_the_municipality_answered_is_read_from_the_stored_events() -> None:
    """For the web app's answer while Rasa is down: the last `facts` slot since a restart or new session."""
    facts = {"event": "slot", "name": "facts", "value": {"age": 80, "municipality": "ballerup"}}
    later = {"event": "slot", "name": "facts", "value": {"age": 80, "municipality": "other"}}
    assert municipality_from_events([facts]) == "ballerup"
    assert municipality_from_events([facts, {"event": "slot", "name": "pending", "value": None}]) == "ballerup"
    assert municipality_from_events([facts, later]) is None
    assert municipality_from_events([facts, {"event": "restart"}]) is None
    assert municipality_from_events([facts, {"event": "session_started"}]) is None
    assert municipality_from_events([]) is None
