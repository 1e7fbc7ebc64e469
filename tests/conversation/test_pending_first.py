"""Issue 13 through the real bot: the pending question decides what a message means.

The three cases seen on main (a name taken for goodbye, the review button's label typed taken
for delete-draft, an answer not understood that lost the question), typed button labels, and
free-text answers per option to representative questions, none of which may end in goodbye,
delete-draft or the fallback.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot import wording
from bot.drafts.texts import text as draft_text
from tests.conversation.test_live import DRAFT_ANSWERS, ROUTES, answer_until_outcome, custom
from tests.live import Servers

pytestmark = pytest.mark.rasa

STAFF = {"channel": "staff", "staff_initials": "TG"}  # the staff panel shows the facts as understood
NEVER = (
    wording.text("turn.goodbye"),
    wording.text("fallback.first"),
    wording.text("fallback.second"),
    wording.text("fallback.second_answer"),
    draft_text("dialogue.no_draft"),
)


def said(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def asked(messages: list[dict[str, Any]]) -> str | None:
    question = custom(messages, "question")
    return question["fact"] if question else None


def to_draft_step(servers: Servers, sender: str, step: str) -> list[dict[str, Any]]:
    """A rehabilitation outcome, then the draft dialogue answered up to `step`."""
    first, answers, _ = ROUTES[1]
    answer_until_outcome(servers, sender, first, answers)
    messages = servers.send(sender, DRAFT_ANSWERS["draft_offer"])
    for _ in range(20):
        if asked(messages) == step:
            return messages
        messages = servers.send(sender, DRAFT_ANSWERS[str(asked(messages))])
    raise AssertionError(f"never asked {step}")


def test_karen_jensen_asked_for_the_name_is_the_name(servers: Servers, sender: str) -> None:
    to_draft_step(servers, sender, "person_name")
    messages = servers.send(sender, "Karen Jensen")
    assert wording.text("turn.goodbye") not in said(messages)
    assert asked(messages) == "date_of_birth"


def test_the_review_buttons_label_typed_saves_the_draft(servers: Servers, sender: str) -> None:
    review = to_draft_step(servers, sender, "review")
    assert custom(review, "draft_review")
    messages = servers.send(sender, "Gem udkastet")
    draft = custom(messages, "draft")
    assert draft and draft["reference"].startswith("TG-"), said(messages)
    assert draft_text("dialogue.no_draft") not in said(messages)


@pytest.mark.parametrize("typed", ["gem udkastet", "GEM UDKASTET", "Gem udkaste"])
def test_the_review_label_typed_any_way_saves(servers: Servers, sender: str, typed: str) -> None:
    to_draft_step(servers, sender, "review")
    assert custom(servers.send(sender, typed), "draft")


REHAB_WITHOUT_HOSPITAL = "min mor på 80 har brug for noget træning"  # no fall: the goal is asked
TO_CAN_IMPROVE = {"hospital_stay": "nej", "goal": "få noget tilbage", "who": "jeg er hendes datter"}


def to_question(
    servers: Servers,
    sender: str,
    first: str,
    answers: dict[str, str],
    fact: str,
    metadata: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    messages = servers.send(sender, first, metadata)
    for _ in range(12):
        if asked(messages) == fact:
            return messages
        messages = servers.send(sender, answers[str(asked(messages))], metadata)
    raise AssertionError(f"never asked {fact}")


def test_an_answer_not_understood_gets_the_question_again_with_buttons(servers: Servers, sender: str) -> None:
    to_question(servers, sender, REHAB_WITHOUT_HOSPITAL, TO_CAN_IMPROVE, "can_improve")
    messages = servers.send(sender, "hun vil gerne kunne gå igen")
    assert wording.text("fallback.first") not in said(messages)
    if asked(messages) == "can_improve":  # not understood: said so, and asked again with its buttons
        assert said(messages).startswith(wording.text("turn.not_understood"))
        assert [b["title"] for m in messages for b in m.get("buttons", [])] == ["Ja", "Nej", "Ved ikke"]
    else:  # understood as a yes
        assert asked(messages) is not None


@pytest.mark.parametrize(
    ("typed", "then"),
    [("ved ikke", "regain_alone"), ("NEJ", "regain_alone"), ("Ja", "regain_alone")],
)
def test_a_yes_no_label_typed_is_the_button(servers: Servers, sender: str, typed: str, then: str) -> None:
    to_question(servers, sender, REHAB_WITHOUT_HOSPITAL, TO_CAN_IMPROVE, "can_improve")
    messages = servers.send(sender, typed)
    assert asked(messages) != "can_improve" and not any(t in said(messages) for t in NEVER)


@pytest.mark.parametrize(
    ("typed", "value"),
    [("Bevare det, der er", "maintain"), ("faa noget tilbage", "regain"), ("Bevare det der er", "maintain")],
)
def test_a_choice_label_typed_is_the_button(servers: Servers, sender: str, typed: str, value: str) -> None:
    to_question(servers, sender, REHAB_WITHOUT_HOSPITAL, TO_CAN_IMPROVE, "goal", STAFF)
    messages = servers.send(sender, typed, STAFF)
    facts = {f["fact"]: f["value"] for f in custom(messages, "staff")["facts"]}
    assert facts["goal"] == wording.option_label("goal", value)


# -- free-text answers per option -----------------------------------------------------------------

FREE_TEXT: dict[str, dict[str, list[str]]] = {
    "hospital_stay": {
        "yes": ["ja", "ja det har hun", "jo, hun var indlagt i en uge", "ja, hun har været indlagt", "ja på Aalborg sygehus", "jep"],
        "no": ["nej", "nej det har hun ikke", "nej, hun har ikke været indlagt", "nej kun hos lægen", "nope", "nej ikke for det"],
        "dont_know": ["ved ikke", "det ved jeg ikke", "aner det ikke", "jeg er ikke sikker", "måske", "vd ikke"],
    },
    "goal": {
        "regain": ["få noget tilbage", "hun skal kunne gå igen som før", "genvinde det hun har mistet",
                   "komme tilbage til hvor hun var før faldet", "blive bedre igen", "genoptræne efter faldet"],
        "maintain": ["bevare det hun kan", "holde det ved lige", "at hun ikke bliver dårligere", "vedligeholde",
                     "beholde det hun kan i dag", "bevare hendes funktioner"],
        "dont_know": ["ved ikke", "det ved jeg ikke", "aner det ikke", "jeg er ikke sikker", "måske begge dele", "vd ikke"],
    },
    "motivated": {
        "yes": ["ja", "ja hun vil gerne", "ja, hun er meget motiveret", "jo hun har lyst", "ja bestemt", "helt sikkert"],
        "no": ["nej", "nej hun gider ikke", "nej, hun har ikke lyst", "nej ikke rigtig", "nope", "nej det har hun ikke"],
        "illness": ["nej, men det skyldes sygdommen", "nej det er på grund af hendes depression",
                    "hun har ikke lyst pga sygdommen", "nej, det er demensen", "det skyldes sygdommen",
                    "nej men det er sygdommen"],
        "dont_know": ["ved ikke", "det ved jeg ikke", "aner det ikke", "jeg er ikke sikker", "måske", "vd ikke"],
    },
}  # fmt: skip
TO_MOTIVATED = {**TO_CAN_IMPROVE, "can_improve": "ja", "regain_alone": "nej"}


@pytest.mark.parametrize("fact", sorted(FREE_TEXT))
def test_free_text_answers_per_option_are_understood(servers: Servers, sender: str, fact: str) -> None:
    """Each answer, then the Ret button for the same question: never goodbye, delete-draft or the fallback."""
    answers = {k: v for k, v in TO_MOTIVATED.items() if k != fact}
    to_question(servers, sender, REHAB_WITHOUT_HOSPITAL, answers, fact, STAFF)
    wrong = []
    for value, texts in FREE_TEXT[fact].items():
        for text in texts:
            messages = servers.send(sender, text, STAFF)
            facts = {f["fact"]: f["value"] for f in custom(messages, "staff")["facts"]}
            if facts.get(fact) != wording.option_label(fact, value) or any(t in said(messages) for t in NEVER):
                wrong.append((text, facts.get(fact), said(messages)[:80]))
            again = servers.send(sender, f'/correct{{"fact": "{fact}"}}', STAFF)
            assert asked(again) == fact
    assert not wrong, wrong


@pytest.mark.parametrize(
    "name", ["Karen Jensen", "Tak Nguyen", "Farvel Hansen", "Slet Andersen", "hej", "Bo"]
)
def test_names_are_names_whatever_nlu_thinks(servers: Servers, sender: str, name: str) -> None:
    to_draft_step(servers, sender, "person_name")
    messages = servers.send(sender, name)
    assert asked(messages) == "date_of_birth" and not any(t in said(messages) for t in NEVER)
