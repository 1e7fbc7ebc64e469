"""Every button's label typed as text means the same as clicking it (issue 13).

Generated from the data: bot/data/questions.yml with the labels in bot/data/copy_da.yml
(the questionnaire) and bot/data/copy_drafts_da.yml (the draft dialogue), for every
question and every button, typed as is, in lower and upper case, without diacritics and with
a small typo, and classified by NLU as anything (here: a confident goodbye or delete-draft,
or the fallback). Through the core; tests/conversation/test_pending_first.py types a subset
to the real bot.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography.fernet import Fernet

from bot import wording
from bot.conversation import Questionnaire, Result, Turn
from bot.drafts.dialogue import PERSONAL_FIELDS, RELATIONS, STEPS, DraftService
from bot.drafts.store import DraftStore
from bot.drafts.texts import text as draft_text
from bot.questions import questions
from bot.rules import Outcome, decide
from bot.state import DraftState, State
from tests.drafts.helpers import filled_fields

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
INTENTS = (("nlu_fallback", 0.2), ("goodbye", 0.99), ("delete_draft", 0.99))
_PLAIN = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "Ae", "Ø": "O", "Å": "A", "é": "e"})


def variants(label: str) -> Iterator[tuple[str, str]]:
    """How a citizen types a label: as shown, case changed, no diacritics, one letter missing."""
    yield "as shown", label
    yield "lower", label.lower()
    yield "upper", label.upper()
    yield "no diacritics", label.translate(_PLAIN).lower()
    letters = [i for i, c in enumerate(label) if c.isalpha()]
    if len(letters) >= 6:  # short labels ("Ja", "Nej") get no typo: "Ne" is not "Nej"
        i = letters[len(letters) // 2]
        yield "typo", label[:i] + label[i + 1 :]


def questionnaire_buttons() -> Iterator[Any]:
    for fact, spec in questions().items():
        for value in spec.options:
            label = wording.option_label(fact, value)
            for how, typed in variants(label):
                for intent, confidence in INTENTS:
                    yield pytest.param(
                        fact, value, typed, intent, confidence, id=f"{fact}-{value}-{how}-{intent}"
                    )


@pytest.mark.parametrize(("fact", "value", "typed", "intent", "confidence"), list(questionnaire_buttons()))
def test_a_questionnaire_label_typed_is_the_button(
    fact: str, value: str, typed: str, intent: str, confidence: float
) -> None:
    state = State(pending=fact)
    result = Questionnaire(now=NOW).turn(state, Turn(typed, intent, confidence=confidence))
    assert result.state.facts.get(fact) == value, [r.text for r in result.replies]


# -- the draft dialogue ---------------------------------------------------------------------------

FACTS = {"age": 80, "hospital_stay": "yes", "rehab_plan": "yes", "municipality": "ballerup"}
OUTCOME = decide(FACTS, today=NOW.date())
assert isinstance(OUTCOME, Outcome) and OUTCOME.offer == "rehabilitation"
FILLED = filled_fields(applicant_relation="relative")  # FACTS has no `who`: the relation is asked


def draft_buttons() -> Iterator[Any]:
    """(step, label, expected) for every button a draft step shows, from copy_drafts_da.yml."""
    for step in STEPS:
        if step.kind == "yes_no":
            for value in ("yes", "no"):
                yield step.name, draft_text(f"values.{value}"), value
        elif step.name == "applicant_relation":
            for relation in RELATIONS:
                yield step.name, draft_text(f"relations.{relation}"), relation
    yield "review", draft_text("dialogue.save"), "save"
    for name in PERSONAL_FIELDS:
        if name in FILLED and name != "municipality_may_obtain":
            yield (
                "review",
                draft_text("dialogue.correct", field=draft_text(f"fields.{name}")),
                f"correct:{name}",
            )


def draft_params() -> Iterator[Any]:
    for step, label, expected in draft_buttons():
        for how, typed in variants(label):
            for intent, confidence in INTENTS:
                yield pytest.param(
                    step, typed, expected, intent, confidence, id=f"{step}-{expected}-{how}-{intent}"
                )


@pytest.fixture()
def store(tmp_path: Path) -> DraftStore:
    return DraftStore(f"sqlite:///{tmp_path / 'drafts.db'}", key=Fernet.generate_key())


@pytest.mark.parametrize(("step", "typed", "expected", "intent", "confidence"), list(draft_params()))
def test_a_draft_label_typed_is_the_button(
    store: DraftStore, step: str, typed: str, expected: str, intent: str, confidence: float
) -> None:
    names = [s.name for s in STEPS]
    before = {k: v for k, v in FILLED.items() if names.index(k) < names.index(step)}
    state = State(
        facts=FACTS,
        order=tuple(FACTS),
        outcome=OUTCOME,
        draft=DraftState(step=step, offer="rehabilitation", fields=before),
    )
    service = DraftService(store=lambda: store, base_url="http://127.0.0.1:8080", conversation_id="conv-1")
    result: Result = Questionnaire(now=NOW, drafts=service).turn(
        state, Turn(typed, intent, confidence=confidence)
    )
    draft = result.state.draft
    if expected == "save":
        assert (draft.reference or "").startswith("TG-"), [r.text for r in result.replies]
    elif expected.startswith("correct:"):
        assert draft.step == expected.split(":")[1] and draft.reviewing
    elif step in ("draft_offer", "draft_consent") and expected == "no":
        assert draft == DraftState() and "Intet er gemt" in result.replies[0].text
    else:
        assert draft.fields[step] == expected, [r.text for r in result.replies]
